/*-------------------------------------------------------------------------
 *
 * shingle.c
 *	  Normalised words, word shingles and exact shingle-set similarity.
 *
 * See shingle.h for the normalisation rules.  Everything here is linear in
 * the input (the distinct-set step is a radix sort), allocates with malloc
 * and never reads outside the byte range it was given.
 *
 *-------------------------------------------------------------------------
 */
#include "shingle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "casefold.h"
#include "tokenizer.h"

/* Longest word (in bytes) the single-pass ASCII path takes. */
#define FAST_WORD_MAX 64

/* Below this many values an insertion sort beats the radix sort. */
#define SMALL_SORT_LIMIT 48

/* The process's interrupt check; NULL means never interrupted. */
static AaDupInterruptCheck interrupt_check = NULL;

/* Install the interrupt check of the long loops (see shingle.h). */
void
aa_dup_set_interrupt_check(AaDupInterruptCheck check)
{
	interrupt_check = check;
}

/* True when the installed check asks the current computation to stop. */
bool
aa_dup_interrupted(void)
{
	return interrupt_check != NULL && interrupt_check();
}

/*
 * Make room for at least need words in the list, growing geometrically so
 * that appending stays amortised O(1).
 */
static AaDupStatus
word_list_reserve(AaWordList *words, size_t need, int with_spans)
{
	size_t		new_capacity;
	uint64_t   *new_hashes;

	if (need <= words->capacity && (!with_spans || words->spans != NULL || need == 0))
		return AA_DUP_OK;
	new_capacity = words->capacity < 64 ? 64 : words->capacity;
	while (new_capacity < need)
	{
		if (new_capacity > SIZE_MAX / 2 / sizeof(AaWordSpan))
			return AA_DUP_NO_MEMORY;
		new_capacity *= 2;
	}
	new_hashes = realloc(words->hashes, new_capacity * sizeof(uint64_t));
	if (new_hashes == NULL)
		return AA_DUP_NO_MEMORY;
	words->hashes = new_hashes;
	if (with_spans || words->spans != NULL)
	{
		AaWordSpan *new_spans = realloc(words->spans, new_capacity * sizeof(AaWordSpan));

		if (new_spans == NULL)
			return AA_DUP_NO_MEMORY;
		words->spans = new_spans;
	}
	words->capacity = new_capacity;
	return AA_DUP_OK;
}

/*
 * Append one normalised word (its bytes already lower-cased, full stops
 * still in) to the list.  Full stops are dropped here so "U.S." hashes
 * like "US"; a word left empty is not added.
 */
static AaDupStatus
add_word(AaWordList *words, const char *lowered, size_t lowered_len,
		 int with_spans, const AaWordSpan *span, AaBuf *scratch)
{
	size_t		kept = 0;
	AaDupStatus status;

	if (!aa_buf_reserve(scratch, lowered_len + 1))
		return AA_DUP_NO_MEMORY;
	for (size_t i = 0; i < lowered_len; i++)
	{
		if (lowered[i] != '.')
			scratch->data[kept++] = lowered[i];
	}
	if (kept == 0)
		return AA_DUP_OK;

	status = word_list_reserve(words, words->count + 1, with_spans);
	if (status != AA_DUP_OK)
		return status;
	words->hashes[words->count] = XXH3_64bits(scratch->data, kept);
	if (with_spans)
		words->spans[words->count] = *span;
	words->count++;
	return AA_DUP_OK;
}

/*
 * Lower-case one piece of a word (a hyphen-free part of a WORD token) and
 * append it.  Pure ASCII, the common case, is lower-cased inline; anything
 * else goes through the shared ICU-backed aa_lower_utf8.
 */
static AaDupStatus
add_word_piece(AaWordList *words, const char *text, const AaWordSpan *span,
			   int with_spans, AaBuf *lowered, AaBuf *scratch)
{
	const unsigned char *piece = (const unsigned char *) text + span->byte_start;
	bool		ascii = true;

	for (size_t i = 0; i < span->byte_len; i++)
	{
		if (piece[i] >= 0x80)
		{
			ascii = false;
			break;
		}
	}
	if (ascii)
	{
		if (!aa_buf_reserve(lowered, span->byte_len + 1))
			return AA_DUP_NO_MEMORY;
		for (size_t i = 0; i < span->byte_len; i++)
		{
			unsigned char c = piece[i];

			lowered->data[i] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : (char) c;
		}
		lowered->len = span->byte_len;
	}
	else if (!aa_lower_utf8((const char *) piece, span->byte_len, "", lowered))
		return AA_DUP_NO_MEMORY;

	return add_word(words, lowered->data, lowered->len, with_spans, span, scratch);
}

/*
 * Normalise a pure-ASCII word without hyphens in one pass: lower-case it
 * and drop its full stops into out (room for len bytes).  Returns false,
 * leaving the general path to handle it, for anything else.
 */
static bool
fast_ascii_word(const char *word, size_t len, char *out, size_t *out_len)
{
	size_t		kept = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) word[i];

		if (c >= 0x80 || c == '-')
			return false;
		if (c == '.')
			continue;
		out[kept++] = (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : (char) c;
	}
	*out_len = kept;
	return true;
}

/*
 * Tokenize text and keep the normalised words and numbers (see shingle.h).
 * A WORD token is split at ASCII hyphens; each part keeps its own offsets,
 * found by counting UTF-8 lead bytes from the token's start.
 */
AaDupStatus
aa_words_extract(const char *text, size_t len, int with_spans, AaWordList *words)
{
	AaTokenizer tokenizer;
	AaToken		token;
	AaBuf		lowered = {0};
	AaBuf		scratch = {0};
	AaDupStatus status = AA_DUP_OK;
	char		fast_word[FAST_WORD_MAX];
	size_t		fast_len;
	size_t		tokens_seen = 0;

	words->count = 0;
	/* a guess of one word per 6 bytes saves most regrowth */
	status = word_list_reserve(words, len / 6 + 1, with_spans);
	if (status != AA_DUP_OK)
		return status;

	aa_tokenizer_init(&tokenizer, text, len);
	while (status == AA_DUP_OK && aa_tokenizer_next(&tokenizer, &token))
	{
		AaWordSpan	span;

		if (++tokens_seen % AA_DUP_CHECK_INTERVAL == 0 && aa_dup_interrupted())
		{
			status = AA_DUP_CANCELLED;
			break;
		}

		if (token.kind == AA_TOKEN_NUMBER)
		{
			span.byte_start = token.byte_start;
			span.byte_len = token.byte_len;
			span.char_start = token.char_start;
			span.char_len = token.char_len;
			status = word_list_reserve(words, words->count + 1, with_spans);
			if (status != AA_DUP_OK)
				break;
			words->hashes[words->count] = XXH3_64bits(text + token.byte_start, token.byte_len);
			if (with_spans)
				words->spans[words->count] = span;
			words->count++;
		}
		else if (token.kind == AA_TOKEN_WORD && token.byte_len <= FAST_WORD_MAX &&
				 fast_ascii_word(text + token.byte_start, token.byte_len, fast_word, &fast_len))
		{
			/* the common case: a short ASCII word without hyphens */
			if (fast_len == 0)
				continue;
			if (words->count == words->capacity)
			{
				status = word_list_reserve(words, words->count + 1, with_spans);
				if (status != AA_DUP_OK)
					break;
			}
			words->hashes[words->count] = XXH3_64bits(fast_word, fast_len);
			if (with_spans)
			{
				span.byte_start = token.byte_start;
				span.byte_len = token.byte_len;
				span.char_start = token.char_start;
				span.char_len = token.char_len;
				words->spans[words->count] = span;
			}
			words->count++;
		}
		else if (token.kind == AA_TOKEN_WORD)
		{
			const unsigned char *bytes = (const unsigned char *) text + token.byte_start;
			size_t		piece_start = 0;
			size_t		piece_char_start = 0;
			size_t		chars_seen = 0;

			/* walk the token once, cutting at each hyphen and at its end */
			for (size_t i = 0; i <= token.byte_len && status == AA_DUP_OK; i++)
			{
				if (i == token.byte_len || bytes[i] == '-')
				{
					if (i > piece_start)
					{
						span.byte_start = token.byte_start + piece_start;
						span.byte_len = i - piece_start;
						span.char_start = token.char_start + piece_char_start;
						span.char_len = chars_seen - piece_char_start;
						status = add_word_piece(words, text, &span, with_spans,
												&lowered, &scratch);
					}
					piece_start = i + 1;
					piece_char_start = chars_seen + 1;
				}
				if (i < token.byte_len && (bytes[i] & 0xC0) != 0x80)
					chars_seen++;
			}
		}
		/* punctuation, symbols and clitics are not words for shingling */
	}

	aa_buf_free(&lowered);
	aa_buf_free(&scratch);
	return status;
}

/* Release the list's arrays and leave it empty and reusable. */
void
aa_words_free(AaWordList *words)
{
	free(words->hashes);
	free(words->spans);
	words->hashes = NULL;
	words->spans = NULL;
	words->count = 0;
	words->capacity = 0;
}

/*
 * How many shingles a document of word_count words has: one per window of
 * shingle_size words, or a single short shingle when it has fewer words.
 */
size_t
aa_shingle_count(size_t word_count, int shingle_size)
{
	if (word_count == 0 || shingle_size < 1)
		return 0;
	if (word_count < (size_t) shingle_size)
		return 1;
	return word_count - (size_t) shingle_size + 1;
}

/*
 * Hash each window of shingle_size word hashes.  Hashing the words' 64-bit
 * hashes rather than their text keeps the cost per shingle constant.
 */
void
aa_shingle_window_hashes(const AaWordList *words, int shingle_size, uint64_t seed,
				  uint64_t *out)
{
	size_t		n = aa_shingle_count(words->count, shingle_size);

	if (n == 1 && words->count < (size_t) shingle_size)
	{
		out[0] = XXH3_64bits_withSeed(words->hashes, words->count * sizeof(uint64_t), seed);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = XXH3_64bits_withSeed(words->hashes + i,
									  (size_t) shingle_size * sizeof(uint64_t), seed);
}

/* Insertion sort, for the short arrays most news articles produce. */
static void
insertion_sort_u64(uint64_t *values, size_t n)
{
	for (size_t i = 1; i < n; i++)
	{
		uint64_t	v = values[i];
		size_t		j = i;

		while (j > 0 && values[j - 1] > v)
		{
			values[j] = values[j - 1];
			j--;
		}
		values[j] = v;
	}
}

/*
 * LSD radix sort on bytes, eight passes between values and a temporary
 * array: linear time on any input, unlike a quicksort an adversarial
 * document could drive quadratic.
 */
static AaDupStatus
radix_sort_u64(uint64_t *values, size_t n)
{
	uint64_t   *temp = malloc(n * sizeof(uint64_t));
	uint64_t   *from = values;
	uint64_t   *to = temp;

	if (temp == NULL)
		return AA_DUP_NO_MEMORY;
	for (int shift = 0; shift < 64; shift += 8)
	{
		size_t		counts[256] = {0};
		size_t		sum = 0;
		uint64_t   *swap;

		/* each pass is one linear sweep: check between passes */
		if (n > AA_DUP_CHECK_INTERVAL && aa_dup_interrupted())
		{
			free(temp);
			return AA_DUP_CANCELLED;
		}

		for (size_t i = 0; i < n; i++)
			counts[(from[i] >> shift) & 0xFF]++;
		for (int b = 0; b < 256; b++)
		{
			size_t		c = counts[b];

			counts[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			to[counts[(from[i] >> shift) & 0xFF]++] = from[i];
		swap = from;
		from = to;
		to = swap;
	}
	/* eight passes: the sorted data is back in values */
	free(temp);
	return AA_DUP_OK;
}

/* Sort, then squeeze out repeats (see shingle.h). */
AaDupStatus
aa_sort_distinct(uint64_t *hashes, size_t n, size_t *distinct)
{
	size_t		kept;

	*distinct = 0;
	if (n == 0)
		return AA_DUP_OK;
	if (n <= SMALL_SORT_LIMIT)
		insertion_sort_u64(hashes, n);
	else
	{
		AaDupStatus status = radix_sort_u64(hashes, n);

		if (status != AA_DUP_OK)
			return status;
	}
	kept = 1;
	for (size_t i = 1; i < n; i++)
	{
		if (hashes[i] != hashes[kept - 1])
			hashes[kept++] = hashes[i];
	}
	*distinct = kept;
	return AA_DUP_OK;
}

/* Words, shingles and the distinct sorted set, in one call (shingle.h). */
AaDupStatus
aa_shingle_set(const char *text, size_t len, int shingle_size, uint64_t seed,
			   uint64_t **out, size_t *count)
{
	AaWordList	words = {0};
	AaDupStatus status;
	size_t		n;
	uint64_t   *hashes;

	*out = NULL;
	*count = 0;
	if (shingle_size < AA_SHINGLE_SIZE_MIN || shingle_size > AA_SHINGLE_SIZE_MAX)
		return AA_DUP_BAD_PARAMETER;
	status = aa_words_extract(text, len, 0, &words);
	if (status != AA_DUP_OK)
	{
		aa_words_free(&words);
		return status;
	}
	n = aa_shingle_count(words.count, shingle_size);
	if (n == 0)
	{
		aa_words_free(&words);
		return AA_DUP_OK;
	}
	hashes = malloc(n * sizeof(uint64_t));
	if (hashes == NULL)
	{
		aa_words_free(&words);
		return AA_DUP_NO_MEMORY;
	}
	aa_shingle_window_hashes(&words, shingle_size, seed, hashes);
	aa_words_free(&words);
	status = aa_sort_distinct(hashes, n, count);
	if (status != AA_DUP_OK)
	{
		free(hashes);
		*count = 0;
		return status;
	}
	*out = hashes;
	return AA_DUP_OK;
}

/* Merge-walk two sorted distinct arrays, counting common values. */
size_t
aa_intersection_size(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t		i = 0,
				j = 0,
				common = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			common++;
			i++;
			j++;
		}
	}
	return common;
}

/*
 * Exact similarity of two texts' shingle sets; the reference that the
 * minhash estimates are measured against.  Two empty sets have Jaccard 0:
 * documents without words are never duplicates of anything.
 */
AaDupStatus
aa_exact_similarity(const char *a, size_t alen, const char *b, size_t blen,
					int shingle_size, double *jaccard, double *containment_a_in_b)
{
	uint64_t   *set_a = NULL;
	uint64_t   *set_b = NULL;
	size_t		na = 0,
				nb = 0,
				common;
	AaDupStatus status;

	*jaccard = 0.0;
	*containment_a_in_b = 0.0;
	status = aa_shingle_set(a, alen, shingle_size, 0, &set_a, &na);
	if (status == AA_DUP_OK)
		status = aa_shingle_set(b, blen, shingle_size, 0, &set_b, &nb);
	if (status == AA_DUP_OK)
	{
		common = aa_intersection_size(set_a, na, set_b, nb);
		if (na + nb - common > 0)
			*jaccard = (double) common / (double) (na + nb - common);
		if (na > 0)
			*containment_a_in_b = (double) common / (double) na;
	}
	free(set_a);
	free(set_b);
	return status;
}
