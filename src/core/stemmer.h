/*-------------------------------------------------------------------------
 *
 * stemmer.h
 *	  Languages, per-language Snowball stemmers with their stopwords, and a
 *	  bounded cache of recent stems.
 *
 * One AaStemmer wraps one libstemmer object (UTF-8), the language's
 * stopword list and a cache from the word as written to its lower-cased
 * stem.  News vocabulary is Zipfian, so most words are found in the cache
 * and never reach libstemmer a second time.  An AaStemmerSet holds at most
 * one AaStemmer per language, created on first use; a backend keeps one set
 * for its lifetime and frees it with aa_stemmer_set_destroy.
 *
 * All memory comes from malloc and is returned by the destroy functions.
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_STEMMER_H
#define AA_STEMMER_H

#include <stdbool.h>
#include <stddef.h>

/* Words longer than this many bytes are lower-cased but not stemmed. */
#define AA_STEM_MAX_WORD_BYTES 1000

typedef struct AaLanguage
{
	const char *algorithm;		/* libstemmer's name, e.g. "english" */
	const char *iso_code;		/* ISO 639-1 alias, e.g. "en", or NULL */
	const char *case_locale;	/* ICU locale for lower-casing */
} AaLanguage;

typedef enum AaStemStatus
{
	AA_STEM_OK = 0,
	AA_STEM_NO_MEMORY,
	AA_STEM_UNKNOWN_LANGUAGE,
	AA_STEM_STOPWORDS_UNREADABLE
} AaStemStatus;

typedef struct AaStemmer AaStemmer;
typedef struct AaStemmerSet AaStemmerSet;

/* Result of stemming one word; text stays valid until the next call. */
typedef struct AaStemResult
{
	const char *text;
	size_t		len;
	bool		is_stopword;
} AaStemResult;

/* The languages libstemmer offers, in its own order. */
extern int	aa_language_count(void);
extern const AaLanguage *aa_language_at(int index);

/*
 * Index of a language given by algorithm name or ISO code, compared
 * case-insensitively and ignoring surrounding blanks; -1 if unknown.
 */
extern int	aa_language_lookup(const char *name, size_t len);

/* A comma-separated list of every accepted name, malloc'ed; NULL on OOM. */
extern char *aa_language_names(void);

/*
 * A set of stemmers.  stopword_dir is the folder holding PostgreSQL's
 * <language>.stop files (copied); NULL means no stopwords at all.
 */
extern AaStemmerSet *aa_stemmer_set_create(const char *stopword_dir);
extern void aa_stemmer_set_destroy(AaStemmerSet *set);

/*
 * The stemmer for language index lang, created on first use.  Returns
 * NULL and sets *status when memory runs out or the stopword file exists
 * but cannot be read.
 */
extern AaStemmer *aa_stemmer_set_get(AaStemmerSet *set, int lang,
									 AaStemStatus *status);

/*
 * Lower-case and stem one word, consulting the cache first.  Stopwords
 * are recognised on the lower-cased form (as PostgreSQL does) and are
 * still stemmed, so callers can choose to keep them.
 */
extern AaStemStatus aa_stemmer_stem(AaStemmer *stemmer, const char *word,
									size_t len, AaStemResult *result);

/* Number of distinct words currently cached; for tests. */
extern size_t aa_stemmer_cache_entries(const AaStemmer *stemmer);

#endif							/* AA_STEMMER_H */
