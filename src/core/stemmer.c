/*-------------------------------------------------------------------------
 *
 * stemmer.c
 *	  Snowball stemmers per language, stopwords and a bounded stem cache.
 *
 * libstemmer does the stemming itself; this file decides which algorithm a
 * name means, lower-cases words the way the language wants, recognises
 * PostgreSQL's stopwords and remembers recent results.  The cache is an
 * open-addressing hash table keyed by the word exactly as it was written,
 * so a cache hit costs one hash and one comparison: no lower-casing, no
 * stemming.  It holds at most AA_STEM_CACHE_ENTRIES words and is simply
 * emptied when full, which keeps a backend's memory bounded however many
 * different words it meets.
 *
 *-------------------------------------------------------------------------
 */
#include "stemmer.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <xxhash.h>

#include "casefold.h"

/* Cache geometry: slots is a power of two, at least twice the entries. */
#define AA_STEM_CACHE_ENTRIES 16384
#define AA_STEM_CACHE_SLOTS 32768
#define AA_STEM_CACHE_MAX_KEY 128

/* Stopword table geometry; PostgreSQL's longest list has under 600 words. */
#define AA_STOPWORD_SLOTS 4096

typedef struct CacheEntry
{
	uint64_t	hash;
	uint32_t	key_offset;
	uint32_t	stem_offset;
	uint16_t	key_len;
	uint16_t	stem_len;
	bool		is_stopword;
} CacheEntry;

struct AaStemmer
{
	struct sb_stemmer *snowball;
	const AaLanguage *language;

	/* stopwords: open addressing over offsets into stopword_text */
	AaBuf		stopword_text;
	uint32_t   *stopword_slots; /* offset + 1, 0 = empty */
	size_t		stopword_count;

	/* stem cache */
	uint32_t   *slots;			/* entry index + 1, 0 = empty */
	CacheEntry *entries;
	size_t		nentries;
	AaBuf		arena;			/* keys and stems, back to back */

	/* scratch for the current word */
	AaBuf		lowered;
	AaBuf		result;
};

struct AaStemmerSet
{
	char	   *stopword_dir;
	int			nlanguages;
	AaStemmer **stemmers;
};

/* ISO 639-1 codes and lower-casing locales of the algorithms we know. */
static const AaLanguage known_languages[] = {
	{"arabic", "ar", ""},
	{"armenian", "hy", ""},
	{"basque", "eu", ""},
	{"catalan", "ca", ""},
	{"danish", "da", ""},
	{"dutch", "nl", ""},
	{"english", "en", ""},
	{"finnish", "fi", ""},
	{"french", "fr", ""},
	{"german", "de", ""},
	{"greek", "el", "el"},
	{"hindi", "hi", ""},
	{"hungarian", "hu", ""},
	{"indonesian", "id", ""},
	{"irish", "ga", "ga"},
	{"italian", "it", ""},
	{"lithuanian", "lt", "lt"},
	{"nepali", "ne", ""},
	{"norwegian", "no", ""},
	{"porter", NULL, ""},
	{"portuguese", "pt", ""},
	{"romanian", "ro", ""},
	{"russian", "ru", ""},
	{"serbian", "sr", ""},
	{"spanish", "es", ""},
	{"swedish", "sv", ""},
	{"tamil", "ta", ""},
	{"turkish", "tr", "tr"},
	{"yiddish", "yi", ""},
};

/* The languages of the linked libstemmer, built on first use. */
static AaLanguage *languages = NULL;
static int	nlanguages = -1;

/*
 * Build the language table from sb_stemmer_list(), so that it always
 * matches the libstemmer we run with; algorithms we have no ISO code for
 * still appear, without one.
 */
static void
init_languages(void)
{
	const char **list;
	int			count = 0;
	int			i;

	if (nlanguages >= 0)
		return;
	list = sb_stemmer_list();
	while (list[count] != NULL)
		count++;
	languages = calloc(count > 0 ? count : 1, sizeof(AaLanguage));
	if (languages == NULL)
		return;					/* retried on the next call */
	for (i = 0; i < count; i++)
	{
		size_t		k;

		languages[i].algorithm = list[i];
		languages[i].iso_code = NULL;
		languages[i].case_locale = "";
		for (k = 0; k < sizeof(known_languages) / sizeof(known_languages[0]); k++)
		{
			if (strcmp(known_languages[k].algorithm, list[i]) == 0)
			{
				languages[i] = known_languages[k];
				break;
			}
		}
	}
	nlanguages = count;
}

/* Number of languages; 0 if the table could not be built. */
int
aa_language_count(void)
{
	init_languages();
	return nlanguages < 0 ? 0 : nlanguages;
}

/* The language at index, or NULL when out of range. */
const AaLanguage *
aa_language_at(int index)
{
	if (index < 0 || index >= aa_language_count())
		return NULL;
	return &languages[index];
}

/* Case-insensitive comparison of name[0 .. len) with a NUL-terminated key. */
static bool
name_matches(const char *name, size_t len, const char *key)
{
	size_t		i;

	if (key == NULL || strlen(key) != len)
		return false;
	for (i = 0; i < len; i++)
	{
		if (tolower((unsigned char) name[i]) != key[i])
			return false;
	}
	return true;
}

/* Look a language up by algorithm name or ISO code.  See stemmer.h. */
int
aa_language_lookup(const char *name, size_t len)
{
	int			count = aa_language_count();
	int			i;

	while (len > 0 && isspace((unsigned char) name[0]))
	{
		name++;
		len--;
	}
	while (len > 0 && isspace((unsigned char) name[len - 1]))
		len--;
	for (i = 0; i < count; i++)
	{
		if (name_matches(name, len, languages[i].algorithm) ||
			name_matches(name, len, languages[i].iso_code))
			return i;
	}
	return -1;
}

/* "arabic (ar), armenian (hy), ..., porter, ..." for error hints. */
char *
aa_language_names(void)
{
	int			count = aa_language_count();
	size_t		size = 1;
	char	   *names;
	int			i;

	for (i = 0; i < count; i++)
		size += strlen(languages[i].algorithm) + 8;
	names = malloc(size);
	if (names == NULL)
		return NULL;
	names[0] = '\0';
	for (i = 0; i < count; i++)
	{
		if (i > 0)
			strcat(names, ", ");
		strcat(names, languages[i].algorithm);
		if (languages[i].iso_code != NULL)
		{
			strcat(names, " (");
			strcat(names, languages[i].iso_code);
			strcat(names, ")");
		}
	}
	return names;
}

/* Hash of a word; the same function serves the cache and the stopwords. */
static uint64_t
hash_word(const char *word, size_t len)
{
	return XXH3_64bits(word, len);
}

/* True when the lower-cased word is in the stopword table. */
static bool
is_stopword(const AaStemmer *stemmer, const char *word, size_t len)
{
	size_t		mask = AA_STOPWORD_SLOTS - 1;
	size_t		slot;

	if (stemmer->stopword_count == 0)
		return false;
	slot = (size_t) hash_word(word, len) & mask;
	while (stemmer->stopword_slots[slot] != 0)
	{
		const char *candidate = stemmer->stopword_text.data +
			stemmer->stopword_slots[slot] - 1;

		if (strlen(candidate) == len && memcmp(candidate, word, len) == 0)
			return true;
		slot = (slot + 1) & mask;
	}
	return false;
}

/*
 * Read PostgreSQL's <language>.stop file: one lower-case word per line.
 * A missing file means the language has no stopwords, which is not an
 * error; a file that exists but cannot be read is.
 */
static AaStemStatus
load_stopwords(AaStemmer *stemmer, const char *dir)
{
	char		path[4096];
	char		line[256];
	FILE	   *file;
	size_t		mask = AA_STOPWORD_SLOTS - 1;

	if (dir == NULL)
		return AA_STEM_OK;
	if ((size_t) snprintf(path, sizeof(path), "%s/%s.stop", dir,
						  stemmer->language->algorithm) >= sizeof(path))
		return AA_STEM_STOPWORDS_UNREADABLE;
	file = fopen(path, "r");
	if (file == NULL)
		return errno == ENOENT ? AA_STEM_OK : AA_STEM_STOPWORDS_UNREADABLE;

	stemmer->stopword_slots = calloc(AA_STOPWORD_SLOTS, sizeof(uint32_t));
	if (stemmer->stopword_slots == NULL)
	{
		fclose(file);
		return AA_STEM_NO_MEMORY;
	}
	while (fgets(line, sizeof(line), file) != NULL)
	{
		size_t		len = strcspn(line, "\r\n");
		size_t		offset = stemmer->stopword_text.len;
		size_t		slot;

		/* trailing blanks are not part of the word */
		while (len > 0 && isspace((unsigned char) line[len - 1]))
			len--;
		if (len == 0 || is_stopword(stemmer, line, len))
			continue;
		if (stemmer->stopword_count >= AA_STOPWORD_SLOTS / 2)
			break;				/* longer than any list PostgreSQL ships */
		if (!aa_buf_reserve(&stemmer->stopword_text, offset + len + 1))
		{
			fclose(file);
			return AA_STEM_NO_MEMORY;
		}
		memcpy(stemmer->stopword_text.data + offset, line, len);
		stemmer->stopword_text.data[offset + len] = '\0';
		stemmer->stopword_text.len = offset + len + 1;

		slot = (size_t) hash_word(line, len) & mask;
		while (stemmer->stopword_slots[slot] != 0)
			slot = (slot + 1) & mask;
		stemmer->stopword_slots[slot] = (uint32_t) offset + 1;
		stemmer->stopword_count++;
	}
	if (ferror(file))
	{
		fclose(file);
		return AA_STEM_STOPWORDS_UNREADABLE;
	}
	fclose(file);
	return AA_STEM_OK;
}

/* Free one stemmer and everything it owns. */
static void
stemmer_destroy(AaStemmer *stemmer)
{
	if (stemmer == NULL)
		return;
	if (stemmer->snowball != NULL)
		sb_stemmer_delete(stemmer->snowball);
	aa_buf_free(&stemmer->stopword_text);
	free(stemmer->stopword_slots);
	free(stemmer->slots);
	free(stemmer->entries);
	aa_buf_free(&stemmer->arena);
	aa_buf_free(&stemmer->lowered);
	aa_buf_free(&stemmer->result);
	free(stemmer);
}

/* Create the stemmer for one language, with its stopwords and cache. */
static AaStemmer *
stemmer_create(const AaLanguage *language, const char *stopword_dir,
			   AaStemStatus *status)
{
	AaStemmer  *stemmer = calloc(1, sizeof(AaStemmer));

	*status = AA_STEM_NO_MEMORY;
	if (stemmer == NULL)
		return NULL;
	stemmer->language = language;
	stemmer->snowball = sb_stemmer_new(language->algorithm, "UTF_8");
	stemmer->slots = calloc(AA_STEM_CACHE_SLOTS, sizeof(uint32_t));
	stemmer->entries = malloc(AA_STEM_CACHE_ENTRIES * sizeof(CacheEntry));
	if (stemmer->snowball == NULL || stemmer->slots == NULL ||
		stemmer->entries == NULL)
	{
		/* libstemmer returns NULL only when malloc fails for a known name */
		stemmer_destroy(stemmer);
		return NULL;
	}
	*status = load_stopwords(stemmer, stopword_dir);
	if (*status != AA_STEM_OK)
	{
		stemmer_destroy(stemmer);
		return NULL;
	}
	return stemmer;
}

/* Create an empty set; see stemmer.h. */
AaStemmerSet *
aa_stemmer_set_create(const char *stopword_dir)
{
	AaStemmerSet *set = calloc(1, sizeof(AaStemmerSet));

	if (set == NULL)
		return NULL;
	set->nlanguages = aa_language_count();
	set->stemmers = calloc(set->nlanguages > 0 ? set->nlanguages : 1,
						   sizeof(AaStemmer *));
	if (stopword_dir != NULL)
		set->stopword_dir = strdup(stopword_dir);
	if (set->stemmers == NULL ||
		(stopword_dir != NULL && set->stopword_dir == NULL))
	{
		aa_stemmer_set_destroy(set);
		return NULL;
	}
	return set;
}

/* Free every stemmer of the set, and the set. */
void
aa_stemmer_set_destroy(AaStemmerSet *set)
{
	int			i;

	if (set == NULL)
		return;
	if (set->stemmers != NULL)
	{
		for (i = 0; i < set->nlanguages; i++)
			stemmer_destroy(set->stemmers[i]);
	}
	free(set->stemmers);
	free(set->stopword_dir);
	free(set);
}

/* The stemmer for a language, created on first use. */
AaStemmer *
aa_stemmer_set_get(AaStemmerSet *set, int lang, AaStemStatus *status)
{
	*status = AA_STEM_OK;
	if (lang < 0 || lang >= set->nlanguages)
	{
		*status = AA_STEM_UNKNOWN_LANGUAGE;
		return NULL;
	}
	if (set->stemmers[lang] == NULL)
		set->stemmers[lang] = stemmer_create(aa_language_at(lang),
											 set->stopword_dir, status);
	return set->stemmers[lang];
}

/* Forget every cached stem; the memory is kept for reuse. */
static void
cache_clear(AaStemmer *stemmer)
{
	memset(stemmer->slots, 0, AA_STEM_CACHE_SLOTS * sizeof(uint32_t));
	stemmer->nentries = 0;
	stemmer->arena.len = 0;
}

/*
 * Remember word -> stem and return the new entry.  Failing to remember (no
 * memory) returns NULL and is harmless: the word is stemmed again next time.
 */
static const CacheEntry *
cache_insert(AaStemmer *stemmer, uint64_t hash, size_t slot,
			 const char *word, size_t len, const char *stem, size_t stem_len,
			 bool stop)
{
	CacheEntry *entry;
	size_t		offset;
	size_t		mask = AA_STEM_CACHE_SLOTS - 1;

	if (stemmer->nentries >= AA_STEM_CACHE_ENTRIES)
	{
		cache_clear(stemmer);
		slot = (size_t) hash & mask;
	}
	offset = stemmer->arena.len;
	if (!aa_buf_reserve(&stemmer->arena, offset + len + stem_len))
		return NULL;
	memcpy(stemmer->arena.data + offset, word, len);
	memcpy(stemmer->arena.data + offset + len, stem, stem_len);
	stemmer->arena.len = offset + len + stem_len;

	entry = &stemmer->entries[stemmer->nentries];
	entry->hash = hash;
	entry->key_offset = (uint32_t) offset;
	entry->key_len = (uint16_t) len;
	entry->stem_offset = (uint32_t) (offset + len);
	entry->stem_len = (uint16_t) stem_len;
	entry->is_stopword = stop;
	stemmer->slots[slot] = (uint32_t) ++stemmer->nentries;
	return entry;
}

/* Lower-case and stem one word.  See stemmer.h. */
AaStemStatus
aa_stemmer_stem(AaStemmer *stemmer, const char *word, size_t len,
				AaStemResult *result)
{
	size_t		mask = AA_STEM_CACHE_SLOTS - 1;
	uint64_t	hash = 0;
	size_t		slot = 0;
	bool		cacheable = len <= AA_STEM_CACHE_MAX_KEY;
	const AaBuf *lowered = &stemmer->lowered;
	const sb_symbol *stem;
	int			stem_len;

	if (cacheable)
	{
		hash = hash_word(word, len);
		slot = (size_t) hash & mask;
		while (stemmer->slots[slot] != 0)
		{
			const CacheEntry *entry = &stemmer->entries[stemmer->slots[slot] - 1];

			if (entry->hash == hash && entry->key_len == len &&
				memcmp(stemmer->arena.data + entry->key_offset, word, len) == 0)
			{
				result->text = stemmer->arena.data + entry->stem_offset;
				result->len = entry->stem_len;
				result->is_stopword = entry->is_stopword;
				return AA_STEM_OK;
			}
			slot = (slot + 1) & mask;
		}
	}

	if (!aa_lower_utf8(word, len, stemmer->language->case_locale,
					   &stemmer->lowered))
		return AA_STEM_NO_MEMORY;
	result->is_stopword = is_stopword(stemmer, lowered->data, lowered->len);

	if (lowered->len > AA_STEM_MAX_WORD_BYTES)
	{
		/* too long to stem safely (the Turkish stemmer recurses on it) */
		result->text = lowered->data;
		result->len = lowered->len;
		return AA_STEM_OK;
	}
	stem = sb_stemmer_stem(stemmer->snowball, (const sb_symbol *) lowered->data,
						   (int) lowered->len);
	if (stem == NULL)
		return AA_STEM_NO_MEMORY;
	stem_len = sb_stemmer_length(stemmer->snowball);

	if (cacheable && stem_len <= AA_STEM_CACHE_MAX_KEY * 3)
	{
		const CacheEntry *entry = cache_insert(stemmer, hash, slot, word, len,
											   (const char *) stem,
											   (size_t) stem_len,
											   result->is_stopword);

		if (entry != NULL)
		{
			result->text = stemmer->arena.data + entry->stem_offset;
			result->len = entry->stem_len;
			return AA_STEM_OK;
		}
	}

	/* not cached: copy out of libstemmer's buffer, which the next call reuses */
	if (!aa_buf_reserve(&stemmer->result, (size_t) stem_len + 1))
		return AA_STEM_NO_MEMORY;
	memcpy(stemmer->result.data, stem, stem_len);
	stemmer->result.data[stem_len] = '\0';
	stemmer->result.len = (size_t) stem_len;
	result->text = stemmer->result.data;
	result->len = stemmer->result.len;
	return AA_STEM_OK;
}

/* Number of cached words. */
size_t
aa_stemmer_cache_entries(const AaStemmer *stemmer)
{
	return stemmer->nentries;
}
