/*-------------------------------------------------------------------------
 *
 * tokenizer.c
 *	  CoNLL-2003 style tokenization of UTF-8 news text.
 *
 * The rules follow the way the Reuters text of CoNLL-2003 was split:
 *	- whitespace separates tokens and is never part of one;
 *	- a word is a run of letters and digits, which may contain a hyphen
 *	  between two letters or digits ("Lashkar-Gah", "F-16", "1996-08-22"),
 *	  an apostrophe that is not a clitic ("O'Neill"), an ampersand between
 *	  capitals ("AT&T") and the dots of an abbreviation ("U.S.", "Ph.D.",
 *	  "Corp.", "J.");
 *	- English clitics are split off: "Taliban's" -> "Taliban" "'s",
 *	  "don't" -> "do" "n't", and likewise 'd 'm 'll 're 've;
 *	- a number keeps its inner separators between digits ("1,000.5",
 *	  "12:30", "3/4");
 *	- every other character is punctuation, one token each, except runs of
 *	  dots ("...") and of hyphens ("--"), which stay together.
 * Curly apostrophes and quotes behave like their straight forms.
 *
 * The scanner looks at most a few characters ahead, always through
 * aa_utf8_decode with the remaining length, so it never reads past the
 * input whatever the bytes are.
 *
 *-------------------------------------------------------------------------
 */
#include "tokenizer.h"

#include <string.h>

/* Code point returned by peek_char past the end of the input. */
#define END_OF_INPUT 0xFFFFFFFFu

typedef enum CharClass
{
	CC_SPACE,
	CC_LETTER,
	CC_DIGIT,
	CC_PUNCT
} CharClass;

/*
 * A position while scanning: byte offset and character offset together, so
 * that a token's character length is known without a second pass.
 */
typedef struct ScanPos
{
	size_t		byte;
	size_t		chr;
} ScanPos;

/* Abbreviations that keep their final dot, as CoNLL-2003 writes them. */
static const char *const abbreviations[] = {
	"Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft",
	"Gen", "Lt", "Col", "Maj", "Capt", "Sgt", "Cmdr", "Adm", "Brig",
	"Gov", "Sen", "Rep", "Rev", "Hon", "Pres", "Messrs",
	"Inc", "INC", "Corp", "CORP", "Ltd", "LTD", "Co", "CO", "Cos", "Bros",
	"Plc", "PLC", "Bhd", "BHD", "Pty", "Dept", "Univ", "Assn",
	"Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
	"Oct", "Nov", "Dec", "Mon", "Tue", "Tues", "Wed", "Thu", "Thur",
	"Thurs", "Fri",
	"No", "Nos", "vs", "etc", "Ave", "Blvd", "Rd", "approx", "est",
	"Ala", "Ariz", "Ark", "Calif", "Colo", "Conn", "Del", "Fla", "Ga",
	"Ill", "Ind", "Kan", "Ky", "La", "Md", "Mass", "Mich", "Minn", "Miss",
	"Mo", "Mont", "Neb", "Nev", "Okla", "Ore", "Pa", "Penn", "Tenn",
	"Tex", "Va", "Vt", "Wash", "Wis", "Wyo",
	NULL
};

/*
 * Classes of the ASCII characters, looked up rather than computed because
 * news text is mostly ASCII and classify() runs once per character.
 */
#define S CC_SPACE
#define L CC_LETTER
#define D CC_DIGIT
#define P CC_PUNCT
static const unsigned char ascii_classes[128] = {
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,	/* controls */
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* space ! " # ... / */
	D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P,	/* 0-9 : ; < = > ? */
	P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,	/* @ A-O */
	L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, P,	/* P-Z [ \ ] ^ _ */
	P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,	/* ` a-o */
	L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, S	/* p-z { | } ~ DEL */
};
#undef S
#undef L
#undef D
#undef P

/*
 * Decode one UTF-8 character.  See tokenizer.h.  Overlong forms,
 * surrogates and code points above U+10FFFF count as invalid, like
 * PostgreSQL's own verifier, so they come out as U+FFFD one byte at a time.
 */
unsigned int
aa_utf8_decode(const unsigned char *s, size_t len, int *nbytes)
{
	unsigned int c = s[0];
	unsigned int cp;
	int			need;
	int			i;

	if (c < 0x80)
	{
		*nbytes = 1;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		need = 1;
		cp = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 2;
		cp = c & 0x0F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 3;
		cp = c & 0x07;
	}
	else
	{
		*nbytes = 1;
		return 0xFFFD;
	}
	if ((size_t) need >= len)
	{
		*nbytes = 1;
		return 0xFFFD;
	}
	for (i = 1; i <= need; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
		{
			*nbytes = 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
	{
		*nbytes = 1;
		return 0xFFFD;
	}
	*nbytes = need + 1;
	return cp;
}

/*
 * Classify a code point.  Everything outside ASCII that is not a known
 * space or punctuation block counts as a letter, so scripts we know
 * nothing about (Cyrillic, Greek, Devanagari, CJK, combining marks) still
 * make words.
 */
static CharClass
classify(unsigned int c)
{
	if (c < 0x80)
		return ascii_classes[c];
	if (c == 0x85 || c == 0xA0 || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 ||
		c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF ||
		(c >= 0x80 && c < 0xA0))
		return CC_SPACE;
	if (c >= 0xA1 && c <= 0xBF)
	{
		/* ª ² ³ µ ¹ º are letter-like; the rest of Latin-1's block is not */
		if (c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 ||
			c == 0xB9 || c == 0xBA)
			return CC_LETTER;
		return CC_PUNCT;
	}
	if (c == 0xD7 || c == 0xF7 ||
		(c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) ||
		(c >= 0x20A0 && c <= 0x20CF) || (c >= 0x2100 && c <= 0x214F) ||
		(c >= 0x2190 && c <= 0x2BFF) || (c >= 0x2E00 && c <= 0x2E7F) ||
		(c >= 0x3001 && c <= 0x303F) || (c >= 0xFE10 && c <= 0xFE6F) ||
		(c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
		(c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||
		c == 0xFFFD || (c >= 0x1F000 && c <= 0x1FAFF))
		return CC_PUNCT;
	return CC_LETTER;
}

static bool
is_apostrophe(unsigned int c)
{
	return c == '\'' || c == 0x2019 || c == 0x2018 || c == 0x02BC;
}

static bool
is_joining_hyphen(unsigned int c)
{
	return c == '-' || c == 0x2010 || c == 0x2011;
}

static bool
is_alnum_class(CharClass cc)
{
	return cc == CC_LETTER || cc == CC_DIGIT;
}

/* Code point at byte offset pos, or END_OF_INPUT; *n gets its length. */
static unsigned int
peek_char(const AaTokenizer *tz, size_t pos, int *n)
{
	if (pos >= tz->len)
	{
		*n = 0;
		return END_OF_INPUT;
	}
	if (tz->text[pos] < 0x80)
	{
		*n = 1;
		return tz->text[pos];
	}
	return aa_utf8_decode(tz->text + pos, tz->len - pos, n);
}

/* Class of the character at byte offset pos; the end counts as space. */
static CharClass
class_at(const AaTokenizer *tz, size_t pos)
{
	int			n;
	unsigned int c = peek_char(tz, pos, &n);

	if (c == END_OF_INPUT)
		return CC_SPACE;
	return classify(c);
}

/* Move p past one character. */
static void
advance(const AaTokenizer *tz, ScanPos *p)
{
	int			n;

	(void) peek_char(tz, p->byte, &n);
	p->byte += n;
	p->chr++;
}

/* Lower-case ASCII letter, or 0 for anything else. */
static char
ascii_lower(unsigned int c)
{
	if (c >= 'A' && c <= 'Z')
		return (char) (c - 'A' + 'a');
	if (c >= 'a' && c <= 'z')
		return (char) c;
	return 0;
}

/*
 * If the apostrophe at byte offset pos begins an English clitic ('s 'd 'm
 * 'll 're 've) that ends the word, return the clitic's length in
 * characters including the apostrophe; otherwise 0.  When the letter after
 * the apostrophe is a lone 't', store 1 in *is_nt: the caller splits "n't".
 */
static int
clitic_after_apostrophe(const AaTokenizer *tz, size_t pos, bool *is_nt)
{
	char		letters[3];
	int			nletters = 0;
	int			n;
	size_t		p;

	*is_nt = false;
	(void) peek_char(tz, pos, &n);
	p = pos + n;
	while (nletters < 3)
	{
		unsigned int c = peek_char(tz, p, &n);
		char		lc = ascii_lower(c);

		if (lc == 0)
			break;
		letters[nletters++] = lc;
		p += n;
	}
	if (nletters == 0 || nletters == 3 || is_alnum_class(class_at(tz, p)))
		return 0;
	if (nletters == 1 && letters[0] == 't')
	{
		*is_nt = true;
		return 0;
	}
	if (nletters == 1 &&
		(letters[0] == 's' || letters[0] == 'd' || letters[0] == 'm'))
		return 2;
	if (nletters == 2 &&
		((letters[0] == 'l' && letters[1] == 'l') ||
		 (letters[0] == 'r' && letters[1] == 'e') ||
		 (letters[0] == 'v' && letters[1] == 'e')))
		return 3;
	return 0;
}

/* True when text[start .. end) is one of the abbreviations above. */
static bool
is_known_abbreviation(const AaTokenizer *tz, size_t start, size_t end)
{
	size_t		len = end - start;
	int			i;

	for (i = 0; abbreviations[i] != NULL; i++)
	{
		if (strlen(abbreviations[i]) == len &&
			memcmp(abbreviations[i], tz->text + start, len) == 0)
			return true;
	}
	return false;
}

/*
 * Scan a word or number starting at *p (an alphanumeric character) and
 * fill *tok.  May leave a clitic in tz->pending.
 */
static void
scan_word(AaTokenizer *tz, ScanPos *p, AaToken *tok)
{
	ScanPos		start = *p;
	ScanPos		segment_start = *p;	/* start of the part after the last dot */
	ScanPos		before_last = *p;	/* position of the last character taken */
	bool		has_letter = false;
	bool		has_dot = false;
	bool		segment_all_letters = true;
	int			segment_letters = 0;

	for (;;)
	{
		int			n;
		unsigned int c;
		CharClass	cc;

		/* fast path: a run of ASCII letters and digits, one byte each */
		while (p->byte < tz->len && tz->text[p->byte] < 0x80)
		{
			CharClass	ascii_class = ascii_classes[tz->text[p->byte]];

			if (ascii_class == CC_LETTER)
			{
				has_letter = true;
				segment_letters++;
			}
			else if (ascii_class == CC_DIGIT)
				segment_all_letters = false;
			else
				break;
			before_last = *p;
			p->byte++;
			p->chr++;
		}

		c = peek_char(tz, p->byte, &n);
		if (c == END_OF_INPUT)
			break;
		cc = classify(c);
		if (cc == CC_LETTER || cc == CC_DIGIT)
		{
			if (cc == CC_LETTER)
			{
				has_letter = true;
				segment_letters++;
			}
			else
				segment_all_letters = false;
			before_last = *p;
			advance(tz, p);
			continue;
		}

		/* a separator is taken only when an alphanumeric follows it */
		if (is_joining_hyphen(c) && is_alnum_class(class_at(tz, p->byte + n)))
		{
			before_last = *p;
			advance(tz, p);
			segment_start = *p;
			segment_letters = 0;
			segment_all_letters = true;
			continue;
		}
		if (is_apostrophe(c) && class_at(tz, p->byte + n) == CC_LETTER)
		{
			bool		is_nt;
			int			clitic_chars = clitic_after_apostrophe(tz, p->byte, &is_nt);

			if (clitic_chars > 0)
			{
				ScanPos		q = *p;
				int			i;

				for (i = 0; i < clitic_chars; i++)
					advance(tz, &q);
				tz->pending.byte_start = p->byte;
				tz->pending.byte_len = q.byte - p->byte;
				tz->pending.char_start = p->chr;
				tz->pending.char_len = clitic_chars;
				tz->pending.kind = AA_TOKEN_CLITIC;
				tz->has_pending = true;
				break;
			}
			if (is_nt && ascii_lower(tz->text[before_last.byte]) == 'n' &&
				before_last.byte > start.byte)
			{
				/* "don't": the word ends before the n, "n't" follows */
				ScanPos		q = *p;

				advance(tz, &q);	/* apostrophe */
				advance(tz, &q);	/* t */
				tz->pending.byte_start = before_last.byte;
				tz->pending.byte_len = q.byte - before_last.byte;
				tz->pending.char_start = before_last.chr;
				tz->pending.char_len = 3;
				tz->pending.kind = AA_TOKEN_CLITIC;
				tz->has_pending = true;
				*p = before_last;
				break;
			}
			before_last = *p;
			advance(tz, p);
			continue;
		}
		if (c == '&' && segment_all_letters && segment_letters > 0 &&
			ascii_lower(tz->text[before_last.byte]) != 0 &&
			tz->text[before_last.byte] <= 'Z')
		{
			int			m;
			unsigned int next = peek_char(tz, p->byte + n, &m);

			if (next >= 'A' && next <= 'Z')
			{
				before_last = *p;
				advance(tz, p);
				continue;
			}
		}
		if (c == ',' || c == '.' || c == ':' || c == '/')
		{
			int			m;
			unsigned int next = peek_char(tz, p->byte + n, &m);
			bool		prev_is_digit = tz->text[before_last.byte] >= '0' &&
				tz->text[before_last.byte] <= '9';

			/* 1,000.5 and 12:30 and 3/4 */
			if (prev_is_digit && next != END_OF_INPUT &&
				classify(next) == CC_DIGIT)
			{
				before_last = *p;
				advance(tz, p);
				continue;
			}
			/* U.S. and Ph.D.: short letter segments joined by dots */
			if (c == '.' && segment_all_letters && segment_letters > 0 &&
				segment_letters <= 2 && next != END_OF_INPUT &&
				classify(next) == CC_LETTER)
			{
				before_last = *p;
				advance(tz, p);
				has_dot = true;
				segment_start = *p;
				segment_letters = 0;
				segment_all_letters = true;
				continue;
			}
			/* the final dot of an abbreviation */
			if (c == '.' && has_letter && segment_all_letters &&
				((has_dot && segment_letters <= 2) ||
				 (!has_dot && segment_start.byte == start.byte &&
				  segment_letters == 1 && tz->text[start.byte] >= 'A' &&
				  tz->text[start.byte] <= 'Z') ||
				 (!has_dot && segment_start.byte == start.byte &&
				  is_known_abbreviation(tz, start.byte, p->byte))))
			{
				before_last = *p;
				advance(tz, p);
				break;
			}
		}
		break;
	}

	tok->byte_start = start.byte;
	tok->byte_len = p->byte - start.byte;
	tok->char_start = start.chr;
	tok->char_len = p->chr - start.chr;
	tok->kind = has_letter ? AA_TOKEN_WORD : AA_TOKEN_NUMBER;
}

/* Start tokenizing a buffer. */
void
aa_tokenizer_init(AaTokenizer *tz, const char *text, size_t len)
{
	memset(tz, 0, sizeof(*tz));
	tz->text = (const unsigned char *) text;
	tz->len = text ? len : 0;
}

/*
 * Produce the next token.  Whitespace is skipped; a pending clitic from
 * the previous word comes out first.
 */
bool
aa_tokenizer_next(AaTokenizer *tz, AaToken *tok)
{
	ScanPos		p;
	int			n;
	unsigned int c;
	CharClass	cc;

	if (tz->has_pending)
	{
		*tok = tz->pending;
		tz->has_pending = false;
		tz->pos = tok->byte_start + tok->byte_len;
		tz->char_pos = tok->char_start + tok->char_len;
		return true;
	}

	p.byte = tz->pos;
	p.chr = tz->char_pos;
	for (;;)
	{
		c = peek_char(tz, p.byte, &n);
		if (c == END_OF_INPUT)
		{
			tz->pos = p.byte;
			tz->char_pos = p.chr;
			return false;
		}
		cc = classify(c);
		if (cc != CC_SPACE)
			break;
		advance(tz, &p);
	}

	if (cc == CC_LETTER || cc == CC_DIGIT)
		scan_word(tz, &p, tok);
	else
	{
		ScanPos		start = p;

		advance(tz, &p);
		/* "..." and "--" stay together */
		if (c == '.' || c == '-')
		{
			for (;;)
			{
				int			m;
				unsigned int next = peek_char(tz, p.byte, &m);

				if (next != c)
					break;
				advance(tz, &p);
			}
		}
		tok->byte_start = start.byte;
		tok->byte_len = p.byte - start.byte;
		tok->char_start = start.chr;
		tok->char_len = p.chr - start.chr;
		tok->kind = AA_TOKEN_PUNCT;
	}

	if (tz->has_pending)
	{
		/* the word stopped before its clitic; resume after the clitic */
		tz->pos = tz->pending.byte_start;
		tz->char_pos = tz->pending.char_start;
	}
	else
	{
		tz->pos = p.byte;
		tz->char_pos = p.chr;
	}
	return true;
}
