/*-------------------------------------------------------------------------
 *
 * tokenizer.h
 *	  The one tokenizer of article_analytics: UTF-8 text in, CoNLL-2003
 *	  style tokens (words, numbers, punctuation, clitics) out, with byte and
 *	  character offsets.
 *
 * Stemming, entity tagging and shingling all read their tokens from here,
 * so that a token means the same thing everywhere.  The tokenizer is a
 * streaming iterator: it allocates nothing, never reads past the length it
 * was given, and accepts any byte sequence (an invalid UTF-8 byte becomes a
 * one-byte symbol token).
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_TOKENIZER_H
#define AA_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>

typedef enum AaTokenKind
{
	AA_TOKEN_WORD,				/* contains at least one letter: "Taliban",
								 * "U.S.", "Lashkar-Gah", "F-16", "1990s" */
	AA_TOKEN_NUMBER,			/* digits with inner , . : / between digits:
								 * "1,000.5", "12:30" */
	AA_TOKEN_CLITIC,			/* split-off English clitic: "'s", "n't",
								 * "'ll", "'" of a plural possessive */
	AA_TOKEN_PUNCT				/* punctuation or symbol, one character or a
								 * run such as "..." or "--" */
} AaTokenKind;

typedef struct AaToken
{
	size_t		byte_start;		/* offset of the first byte in the input */
	size_t		byte_len;		/* length in bytes */
	size_t		char_start;		/* offset in characters (code points), 0-based */
	size_t		char_len;		/* length in characters */
	AaTokenKind kind;
} AaToken;

typedef struct AaTokenizer
{
	const unsigned char *text;
	size_t		len;
	size_t		pos;			/* next byte to look at */
	size_t		char_pos;		/* characters before pos */
	bool		has_pending;	/* a clitic split left a second token */
	AaToken		pending;
} AaTokenizer;

/* Start tokenizing text[0 .. len).  text need not be NUL-terminated. */
extern void aa_tokenizer_init(AaTokenizer *tz, const char *text, size_t len);

/* Store the next token in *tok and return true, or return false at the end. */
extern bool aa_tokenizer_next(AaTokenizer *tz, AaToken *tok);

/*
 * Decode one UTF-8 character at s[0 .. len), len >= 1.  Returns its code
 * point and stores its length in bytes in *nbytes.  An invalid or truncated
 * sequence yields U+FFFD with *nbytes = 1, so callers always advance.
 */
extern unsigned int aa_utf8_decode(const unsigned char *s, size_t len, int *nbytes);

#endif							/* AA_TOKENIZER_H */
