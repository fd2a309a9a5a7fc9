/*
 * test_stemmer.c
 *	  Unit tests of the stemmer core: language names, lower-casing,
 *	  stemming, stopwords, the 1000-byte cap and the bounded cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefold.h"
#include "stemmer.h"
#include "tap.h"

/* Stem word with stemmer and compare with the expected stem. */
static void
expect_stem(AaStemmer *stemmer, const char *word, const char *expected)
{
	AaStemResult result;
	AaStemStatus status = aa_stemmer_stem(stemmer, word, strlen(word), &result);
	bool		same = status == AA_STEM_OK && result.len == strlen(expected) &&
		memcmp(result.text, expected, result.len) == 0;

	if (!tap_ok(same, "stem of \"%s\" is \"%s\"", word, expected))
		printf("#   got \"%.*s\"\n", (int) result.len, result.text);
}

/* Lower-case s and compare with expected. */
static void
expect_lower(const char *s, const char *locale, const char *expected)
{
	AaBuf		buf = {0};
	bool		ok = aa_lower_utf8(s, strlen(s), locale, &buf);

	tap_ok(ok && strcmp(buf.data, expected) == 0,
		   "lower(\"%s\", \"%s\") is \"%s\"", s, locale, expected);
	aa_buf_free(&buf);
}

int
main(void)
{
	AaStemmerSet *set = aa_stemmer_set_create("/usr/share/postgresql/15/tsearch_data");
	AaStemStatus status;
	AaStemmer  *english;
	AaStemmer  *turkish;
	AaStemResult result;
	char	   *names;
	char	   *longword;
	int			i;

	tap_ok(aa_language_count() >= 28, "libstemmer offers at least 28 algorithms (%d)",
		   aa_language_count());
	tap_ok(aa_language_lookup("english", 7) >= 0, "english is known");
	tap_ok(aa_language_lookup("en", 2) == aa_language_lookup("english", 7),
		   "en is an alias of english");
	tap_ok(aa_language_lookup(" German ", 8) == aa_language_lookup("de", 2),
		   "names are case-insensitive and trimmed");
	tap_ok(aa_language_lookup("porter", 6) >= 0, "porter is known");
	tap_ok(aa_language_lookup("klingon", 7) == -1, "klingon is unknown");
	tap_ok(aa_language_lookup("", 0) == -1, "the empty name is unknown");
	names = aa_language_names();
	tap_ok(names != NULL && strstr(names, "english (en)") != NULL,
		   "the name list shows aliases");
	free(names);

	expect_lower("Hello WORLD", "", "hello world");
	expect_lower("\u00C9COLE", "", "\u00E9cole");
	expect_lower("\u039F\u0394\u039F\u03A3", "el", "\u03BF\u03B4\u03BF\u03C2");
	expect_lower("I\u0130", "tr", "\u0131i");

	tap_ok(set != NULL, "stemmer set created");
	english = aa_stemmer_set_get(set, aa_language_lookup("en", 2), &status);
	tap_ok(english != NULL && status == AA_STEM_OK, "english stemmer created");
	tap_ok(aa_stemmer_set_get(set, aa_language_lookup("en", 2), &status) == english,
		   "the same stemmer comes back");
	tap_ok(aa_stemmer_set_get(set, 999, &status) == NULL &&
		   status == AA_STEM_UNKNOWN_LANGUAGE, "out-of-range language refused");

	expect_stem(english, "Running", "run");
	expect_stem(english, "Running", "run");	/* from the cache */
	expect_stem(english, "PROVINCES", "provinc");
	expect_stem(english, "generously", "generous");
	aa_stemmer_stem(english, "the", 3, &result);
	tap_ok(result.is_stopword, "\"the\" is an English stopword");
	aa_stemmer_stem(english, "The", 3, &result);
	tap_ok(result.is_stopword, "\"The\" is a stopword once lower-cased");
	aa_stemmer_stem(english, "Taliban", 7, &result);
	tap_ok(!result.is_stopword, "\"Taliban\" is not a stopword");

	turkish = aa_stemmer_set_get(set, aa_language_lookup("tr", 2), &status);
	expect_stem(turkish, "kitaplar\u0131", "kitap");

	/* words over 1000 bytes are lower-cased, not stemmed */
	longword = malloc(3001);
	for (i = 0; i < 3000; i++)
		longword[i] = (i % 2) ? 'I' : 'a';
	longword[3000] = '\0';
	status = aa_stemmer_stem(turkish, longword, 3000, &result);
	/* Turkish lower-cases I to dotless i (two bytes): 1500 + 1500 * 2 */
	tap_ok(status == AA_STEM_OK && result.len == 4500 &&
		   memcmp(result.text, "a\xC4\xB1" "a", 4) == 0,
		   "a 3000-byte Turkish word comes back lower-cased, unstemmed");
	status = aa_stemmer_stem(english, longword, 3000, &result);
	tap_ok(status == AA_STEM_OK && result.len == 3000 && result.text[1] == 'i',
		   "a 3000-byte English word comes back lower-cased, unstemmed");
	free(longword);

	/* the cache stays bounded however many distinct words arrive */
	for (i = 0; i < 200000; i++)
	{
		char		word[32];

		snprintf(word, sizeof(word), "word%dings", i);
		if (aa_stemmer_stem(english, word, strlen(word), &result) != AA_STEM_OK)
			break;
	}
	tap_ok(i == 200000 && aa_stemmer_cache_entries(english) <= 16384,
		   "200000 distinct words leave at most 16384 cached (%zu)",
		   aa_stemmer_cache_entries(english));
	expect_stem(english, "word199999ings", "word199999");

	/* a missing stopword folder means no stopwords, not an error */
	{
		AaStemmerSet *bare = aa_stemmer_set_create("/nonexistent");
		AaStemmer  *stemmer = aa_stemmer_set_get(bare, aa_language_lookup("en", 2), &status);

		aa_stemmer_stem(stemmer, "the", 3, &result);
		tap_ok(stemmer != NULL && !result.is_stopword,
			   "without stopword files nothing is a stopword");
		aa_stemmer_set_destroy(bare);
	}

	aa_stemmer_set_destroy(set);
	return tap_done();
}
