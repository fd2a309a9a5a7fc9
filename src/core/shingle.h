/*-------------------------------------------------------------------------
 *
 * shingle.h
 *	  Normalised words and word shingles of a document, the common ground
 *	  of the near-duplicate features (minhash, simhash, exact Jaccard and
 *	  containment, shared passages).
 *
 * Normalisation, decided once for every duplicate feature:
 *	- the tokens come from the shared tokenizer (tokenizer.h);
 *	- only words and numbers count: punctuation, symbols and split-off
 *	  clitics ("'s", "n't") are dropped, so that straight and curly quotes,
 *	  dashes and possessives do not break a shared run of words;
 *	- stopwords count: they carry the word order that makes a 5-word
 *	  shingle specific ("said on Thursday that the"), and dropping them
 *	  would make unrelated wire stories look alike;
 *	- words are lower-cased (aa_lower_utf8, root locale), full stops inside
 *	  a word are removed ("U.S." and "US" agree) and a hyphenated word is
 *	  split into its parts ("Lashkar-Gah" and "Lashkar Gah" agree).
 *	  Numbers are kept as written ("1.5" and "15" differ).
 *
 * A shingle is a run of shingle_size consecutive normalised words; its hash
 * is XXH3-64 of the words' own 64-bit hashes, seeded with the sketch seed.
 * A document with at least one word but fewer than shingle_size words has
 * a single shingle made of all its words, so short texts still compare.
 *
 * This file is part of the core: it includes no PostgreSQL header, uses
 * malloc/free and reports failure through AaDupStatus.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_SHINGLE_H
#define AA_SHINGLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result of the duplicate-detection core functions. */
typedef enum AaDupStatus
{
	AA_DUP_OK = 0,
	AA_DUP_NO_MEMORY,			/* malloc failed */
	AA_DUP_BAD_PARAMETER,		/* a size or count out of its range */
	AA_DUP_BAD_INPUT,			/* malformed serialized input */
	AA_DUP_CANCELLED			/* the interrupt check asked to stop */
} AaDupStatus;

/*
 * Long loops of the duplicate core (word extraction, sorting) call this
 * check every few thousand items and stop with AA_DUP_CANCELLED, freeing
 * what they allocated, when it returns true.  The PostgreSQL glue installs
 * one that reports a pending cancel or termination; by default there is
 * none.  One check serves the whole process.
 */
typedef bool (*AaDupInterruptCheck) (void);
extern void aa_dup_set_interrupt_check(AaDupInterruptCheck check);
extern bool aa_dup_interrupted(void);

/* How many items the long loops process between two interrupt checks. */
#define AA_DUP_CHECK_INTERVAL 4096

/* Shingle sizes accepted everywhere. */
#define AA_SHINGLE_SIZE_MIN 1
#define AA_SHINGLE_SIZE_MAX 32

/* Where a normalised word sits in the original text. */
typedef struct AaWordSpan
{
	size_t		byte_start;
	size_t		byte_len;
	size_t		char_start;		/* 0-based, in code points */
	size_t		char_len;
} AaWordSpan;

/*
 * The normalised words of a document: hashes[i] identifies word i (equal
 * words, equal hashes); spans[i] is where it came from, kept only when
 * asked for.
 */
typedef struct AaWordList
{
	uint64_t   *hashes;
	AaWordSpan *spans;			/* NULL unless requested */
	size_t		count;
	size_t		capacity;
} AaWordList;

/*
 * Tokenize and normalise text[0 .. len) into words (replacing the list's
 * contents; an all-zero AaWordList is a valid empty list).  with_spans
 * keeps each word's offsets.
 */
extern AaDupStatus aa_words_extract(const char *text, size_t len,
									int with_spans, AaWordList *words);
extern void aa_words_free(AaWordList *words);

/* Number of shingles (with repeats) a list of count words yields. */
extern size_t aa_shingle_count(size_t word_count, int shingle_size);

/*
 * Hash every shingle of words into out (room for aa_shingle_count(...)
 * values), in document order, repeats included.
 */
extern void aa_shingle_window_hashes(const AaWordList *words, int shingle_size,
							  uint64_t seed, uint64_t *out);

/*
 * Sort hashes[0 .. n) ascending (radix sort, linear time whatever the
 * input) and drop repeats in place; *distinct receives how many remain.
 */
extern AaDupStatus aa_sort_distinct(uint64_t *hashes, size_t n, size_t *distinct);

/*
 * The sorted distinct shingle hashes of text, in a malloc'd array that the
 * caller frees (*out is NULL when there are none).
 */
extern AaDupStatus aa_shingle_set(const char *text, size_t len, int shingle_size,
								  uint64_t seed, uint64_t **out, size_t *count);

/* Size of the intersection of two sorted distinct hash arrays. */
extern size_t aa_intersection_size(const uint64_t *a, size_t na,
								   const uint64_t *b, size_t nb);

/*
 * Exact Jaccard |A and B| / |A or B| and containment |A and B| / |A| of
 * the shingle sets of two texts (0 when the relevant set is empty).
 */
extern AaDupStatus aa_exact_similarity(const char *a, size_t alen,
									   const char *b, size_t blen,
									   int shingle_size,
									   double *jaccard, double *containment_a_in_b);

#endif							/* AA_SHINGLE_H */
