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

/* Encode code point cp as UTF-8 into out; returns the byte count. */
static size_t
utf8_encode(unsigned int cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Stem every code point of U+0000-U+2FFFF (surrogates excepted), alone
 * and doubled, in every language, and a few words made of the code points
 * whose lower-case form grows the most: no stem may fail.  This is what
 * found Lithuanian's three-unit lower-casing of U+00CC, U+00CD and U+0128.
 */
static void
stem_every_code_point(AaStemmerSet *set)
{
	static const char *const words[] = {
		"\u00CC\u00CC", "\u00CD\u00CD\u00CD", "\u0128", "\u0130\u0130\u0130",
		"I\u00CCJ\u00CDK\u0128", "\u00CC\u00CC\u00CC\u00CC\u00CC\u00CC\u00CC\u00CC",
		"\u1E9E\u0149\u01F0\u0390\u03B0\u0587\u1E96\uFB00\uFB03",
		"\u00DFTRASSE", "Stra\u00DFe", "\u03A3\u039F\u03A3", "\u00CCs\u00CCs",
	};
	int			nlang = aa_language_count();
	int			lang;

	for (lang = 0; lang < nlang; lang++)
	{
		AaStemStatus status;
		AaStemmer  *stemmer = aa_stemmer_set_get(set, lang, &status);
		const char *name = aa_language_at(lang)->algorithm;
		unsigned int cp;
		unsigned int failures = 0;
		unsigned int first_failure = 0;
		size_t		w;

		if (stemmer == NULL)
		{
			tap_ok(false, "%s: stemmer created", name);
			continue;
		}
		for (cp = 0; cp <= 0x2FFFF; cp++)
		{
			char		word[8];
			size_t		len;
			AaStemResult result;

			if (cp >= 0xD800 && cp <= 0xDFFF)
				continue;
			len = utf8_encode(cp, word);
			memcpy(word + len, word, len);
			if (aa_stemmer_stem(stemmer, word, 2 * len, &result) != AA_STEM_OK)
			{
				if (failures++ == 0)
					first_failure = cp;
			}
		}
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
		{
			AaStemResult result;

			if (aa_stemmer_stem(stemmer, words[w], strlen(words[w]), &result) != AA_STEM_OK)
			{
				if (failures++ == 0)
					first_failure = 0x110000 + (unsigned int) w;
			}
		}
		tap_ok(failures == 0,
			   "%s: every code point U+0000-U+2FFFF stems without error (%u failures, first U+%04X)",
			   name, failures, first_failure);
	}
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
	/* Lithuanian keeps the dot: three code units for each of these */
	expect_lower("\u00CC\u00CC", "lt", "i\u0307\u0300i\u0307\u0300");
	expect_lower("\u00CD\u0128x", "lt", "i\u0307\u0301i\u0307\u0303x");

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

	{
		AaStemmer  *lithuanian = aa_stemmer_set_get(set, aa_language_lookup("lt", 2), &status);

		status = aa_stemmer_stem(lithuanian, "\u00CC\u00CC", 4, &result);
		tap_ok(status == AA_STEM_OK && result.len == 10 &&
			   memcmp(result.text, "i\u0307\u0300i\u0307\u0300", 10) == 0,
			   "Lithuanian stems \"\u00CC\u00CC\" (status %d)", (int) status);
	}
	stem_every_code_point(set);

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
