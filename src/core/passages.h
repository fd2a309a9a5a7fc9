/*-------------------------------------------------------------------------
 *
 * passages.h
 *	  The passages two documents share: maximal runs of at least min_words
 *	  consecutive normalised words (shingle.h) found in both, in the first
 *	  document's order, with byte and character offsets in each.
 *
 * A passage runs from the first character of its first word to the last
 * character of its last word in each document, so the punctuation between
 * its words is included but quotes around it are not.  Because words are
 * normalised, "U.S." matches "US" and curly quotes match straight ones;
 * the reported text is each document's own.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_PASSAGES_H
#define AA_PASSAGES_H

#include <stddef.h>

#include "shingle.h"

#define AA_PASSAGE_MIN_WORDS_MAX 100000

typedef struct AaPassage
{
	size_t		a_byte_start;
	size_t		a_byte_len;
	size_t		a_char_start;	/* 0-based code points */
	size_t		a_char_len;
	size_t		b_byte_start;
	size_t		b_byte_len;
	size_t		b_char_start;
	size_t		b_char_len;
	size_t		word_count;		/* normalised words in the run */
} AaPassage;

/*
 * Find the shared passages of a[0 .. alen) and b[0 .. blen).  Greedy in
 * a's order: at each word of a, the longest run starting there that also
 * occurs in b (earliest in b on ties) is taken if it has at least
 * min_words words, and the scan resumes after it.  At most
 * AA_PASSAGE_CANDIDATES_MAX places in b are tried per word of a, which
 * bounds the time on repetitive input.  *out is a malloc'd array (NULL
 * when there is no passage) that the caller frees.
 */
#define AA_PASSAGE_CANDIDATES_MAX 64
extern AaDupStatus aa_passages_find(const char *a, size_t alen,
									  const char *b, size_t blen,
									  int min_words,
									  AaPassage **out, size_t *count);

#endif							/* AA_PASSAGES_H */
