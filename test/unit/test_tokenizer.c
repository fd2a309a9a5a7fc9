/*
 * test_tokenizer.c
 *	  Unit tests of the shared tokenizer: the CoNLL-2003 splitting rules the
 *	  foundation issue names, offsets, and safety on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tokenizer.h"

/*
 * Tokenize text and join the tokens with '|' into out; returns the number
 * of tokens.
 */
static int
joined_tokens(const char *text, char *out, size_t outsize)
{
	AaTokenizer tz;
	AaToken		tok;
	size_t		used = 0;
	int			count = 0;

	out[0] = '\0';
	aa_tokenizer_init(&tz, text, strlen(text));
	while (aa_tokenizer_next(&tz, &tok))
	{
		if (used + tok.byte_len + 2 >= outsize)
			break;
		if (count > 0)
			out[used++] = '|';
		memcpy(out + used, text + tok.byte_start, tok.byte_len);
		used += tok.byte_len;
		out[used] = '\0';
		count++;
	}
	return count;
}

/* Check that text splits into exactly the expected '|'-joined tokens. */
static void
expect_tokens(const char *text, const char *expected)
{
	char		got[1024];

	joined_tokens(text, got, sizeof(got));
	if (!tap_ok(strcmp(got, expected) == 0, "tokens of \"%s\"", text))
		printf("#   got:      %s\n#   expected: %s\n", got, expected);
}

/* Kind of the first token of text. */
static AaTokenKind
first_kind(const char *text)
{
	AaTokenizer tz;
	AaToken		tok;

	aa_tokenizer_init(&tz, text, strlen(text));
	aa_tokenizer_next(&tz, &tok);
	return tok.kind;
}

/*
 * Check the invariants every tokenization must keep, whatever the input:
 * tokens lie inside the input, in order, without overlap; character
 * offsets agree with a count of the UTF-8 characters decoded before them.
 */
static bool
invariants_hold(const unsigned char *text, size_t len)
{
	AaTokenizer tz;
	AaToken		tok;
	size_t		last_end = 0;
	size_t		guard = 0;

	aa_tokenizer_init(&tz, (const char *) text, len);
	while (aa_tokenizer_next(&tz, &tok))
	{
		size_t		pos = 0;
		size_t		chars = 0;

		if (tok.byte_len == 0 || tok.byte_start < last_end ||
			tok.byte_start + tok.byte_len > len || ++guard > len)
			return false;
		while (pos < tok.byte_start)
		{
			int			n;

			(void) aa_utf8_decode(text + pos, len - pos, &n);
			pos += n;
			chars++;
		}
		if (pos != tok.byte_start || chars != tok.char_start)
			return false;
		last_end = tok.byte_start + tok.byte_len;
	}
	return true;
}

int
main(void)
{
	uint32_t	seed = 12345;
	int			round;
	bool		all_ok = true;
	AaTokenizer tz;
	AaToken		tok;
	const char *curly = "Gerasimov\u2019s \u201Cvictory\u201D";

	/* the examples the issue gives */
	expect_tokens("Taliban's fighters", "Taliban|'s|fighters");
	expect_tokens("the U.S. army", "the|U.S.|army");
	expect_tokens("in Lashkar-Gah.", "in|Lashkar-Gah|.");
	expect_tokens("cost 1,000.5 dollars", "cost|1,000.5|dollars");
	expect_tokens(curly, "Gerasimov|\u2019s|\u201C|victory|\u201D");

	/* more CoNLL conventions */
	expect_tokens("don't", "do|n't");
	expect_tokens("We'll see, they're here; I'd go", "We|'ll|see|,|they|'re|here|;|I|'d|go");
	expect_tokens("O'Neill and D'Alema", "O'Neill|and|D'Alema");
	expect_tokens("the farmers' union", "the|farmers|'|union");
	expect_tokens("AT&T Corp. and Smith Inc.", "AT&T|Corp.|and|Smith|Inc.");
	expect_tokens("John J. Smith", "John|J.|Smith");
	expect_tokens("BRUSSELS 1996-08-22", "BRUSSELS|1996-08-22");
	expect_tokens("(Reuters) - Afghan", "(|Reuters|)|-|Afghan");
	expect_tokens("at 12:30 on 3/4", "at|12:30|on|3/4");
	expect_tokens("Wait... what -- no!", "Wait|...|what|--|no|!");
	expect_tokens("end.Next", "end|.|Next");
	expect_tokens("$50 or 20%", "$|50|or|20|%");
	expect_tokens("F-16s and 1990s", "F-16s|and|1990s");
	expect_tokens("\u00ABЗдравствуй, мир\u00BB", "\u00AB|Здравствуй|,|мир|\u00BB");
	expect_tokens("a\u00A0b\u3000c", "a|b|c");
	expect_tokens("ends with hyphen-", "ends|with|hyphen|-");
	expect_tokens("", "");
	expect_tokens("   \t\n ", "");

	tap_ok(first_kind("1,000") == AA_TOKEN_NUMBER, "1,000 is a number");
	tap_ok(first_kind("F-16") == AA_TOKEN_WORD, "F-16 is a word");
	tap_ok(first_kind(",") == AA_TOKEN_PUNCT, "a comma is punctuation");
	{
		char		buf[64];

		joined_tokens("it's", buf, sizeof(buf));
		aa_tokenizer_init(&tz, "it's", 4);
		aa_tokenizer_next(&tz, &tok);
		aa_tokenizer_next(&tz, &tok);
		tap_ok(tok.kind == AA_TOKEN_CLITIC, "'s is a clitic");
	}

	/* character offsets count code points, not bytes */
	aa_tokenizer_init(&tz, "\u00E9t\u00E9 \u00E0 Paris", strlen("\u00E9t\u00E9 \u00E0 Paris"));
	aa_tokenizer_next(&tz, &tok);
	aa_tokenizer_next(&tz, &tok);
	aa_tokenizer_next(&tz, &tok);
	tap_ok(tok.char_start == 6 && tok.char_len == 5 && tok.byte_start == 9,
		   "character and byte offsets after accented letters");

	/* the length given is respected: nothing past it is read */
	{
		const char *text = "alpha beta";

		aa_tokenizer_init(&tz, text, 7);
		aa_tokenizer_next(&tz, &tok);
		aa_tokenizer_next(&tz, &tok);
		tap_ok(tok.byte_start == 6 && tok.byte_len == 1 &&
			   !aa_tokenizer_next(&tz, &tok), "stops at the given length");
	}

	/* invalid UTF-8 becomes one-byte symbols, never a crash */
	{
		const unsigned char bad[] = {'a', 0xC3, ' ', 0xE2, 0x82, 'b', 0xFF, 0xF4, 0x90, 0x80, 0x80};

		tap_ok(invariants_hold(bad, sizeof(bad)), "invariants on invalid UTF-8");
	}

	/* random byte strings keep every invariant */
	for (round = 0; round < 20000 && all_ok; round++)
	{
		unsigned char buf[64];
		size_t		len = round % 64;
		size_t		i;

		for (i = 0; i < len; i++)
		{
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char) "a'.-,1 A\xC3\xA9\xE2\x80\x99&:/\xF0\x9F\x98\x80\xFF"[(seed >> 16) % 22];
		}
		all_ok = invariants_hold(buf, len);
	}
	tap_ok(all_ok, "invariants on 20000 random byte strings");

	return tap_done();
}
