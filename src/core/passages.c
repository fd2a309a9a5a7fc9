/*-------------------------------------------------------------------------
 *
 * passages.c
 *	  Shared passages of two documents (see passages.h).
 *
 * The words of b are indexed by the hash of the min_words-word window
 * starting at each position (a chained hash table in two arrays).  a is
 * scanned left to right; each window of a looks up the positions of b with
 * the same window, extends each match as far as the words agree, keeps the
 * longest, and jumps past it.  Linear in the words of both documents, up
 * to the bounded number of candidates per position.  The long loops ask
 * aa_dup_interrupted() every AA_DUP_CHECK_INTERVAL steps and stop with
 * AA_DUP_CANCELLED, freeing what they allocated.
 *
 *-------------------------------------------------------------------------
 */
#include "passages.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define NO_POSITION SIZE_MAX

/* The smaller of two sizes. */
static inline size_t
size_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Hash of the window of length words starting at word start. */
static uint64_t
window_hash(const AaWordList *words, size_t start, size_t length)
{
	return XXH3_64bits(words->hashes + start, length * sizeof(uint64_t));
}

/* Append a passage to a growing array. */
static AaDupStatus
append_passage(AaPassage **items, size_t *count, size_t *capacity, const AaPassage *p)
{
	if (*count == *capacity)
	{
		size_t		new_capacity = *capacity ? *capacity * 2 : 16;
		AaPassage  *grown = realloc(*items, new_capacity * sizeof(AaPassage));

		if (grown == NULL)
			return AA_DUP_NO_MEMORY;
		*items = grown;
		*capacity = new_capacity;
	}
	(*items)[(*count)++] = *p;
	return AA_DUP_OK;
}

/* Describe the run of words [ia, ia + length) of a and [ib, ...) of b. */
static void
describe_run(const AaWordList *wa, const AaWordList *wb, size_t ia, size_t ib,
			 size_t length, AaPassage *p)
{
	const AaWordSpan *a_first = &wa->spans[ia];
	const AaWordSpan *a_last = &wa->spans[ia + length - 1];
	const AaWordSpan *b_first = &wb->spans[ib];
	const AaWordSpan *b_last = &wb->spans[ib + length - 1];

	p->a_byte_start = a_first->byte_start;
	p->a_byte_len = a_last->byte_start + a_last->byte_len - a_first->byte_start;
	p->a_char_start = a_first->char_start;
	p->a_char_len = a_last->char_start + a_last->char_len - a_first->char_start;
	p->b_byte_start = b_first->byte_start;
	p->b_byte_len = b_last->byte_start + b_last->byte_len - b_first->byte_start;
	p->b_char_start = b_first->char_start;
	p->b_char_len = b_last->char_start + b_last->char_len - b_first->char_start;
	p->word_count = length;
}

/* Greedy left-to-right matching (see the file header). */
static AaDupStatus
find_runs(const AaWordList *wa, const AaWordList *wb, size_t window,
		  AaPassage **out, size_t *count)
{
	size_t		nb_windows = wb->count - window + 1;
	size_t		table_size = 16;
	size_t	   *heads;
	size_t	   *next;
	uint64_t   *b_window_hashes;
	size_t		capacity = 0;
	AaDupStatus status = AA_DUP_OK;
	size_t		i;
	size_t		work = 0;

	while (table_size < nb_windows * 2)
		table_size *= 2;
	heads = malloc(table_size * sizeof(size_t));
	next = malloc(nb_windows * sizeof(size_t));
	b_window_hashes = malloc(nb_windows * sizeof(uint64_t));
	if (heads == NULL || next == NULL || b_window_hashes == NULL)
	{
		free(heads);
		free(next);
		free(b_window_hashes);
		return AA_DUP_NO_MEMORY;
	}
	for (size_t t = 0; t < table_size; t++)
		heads[t] = NO_POSITION;
	/* insert from the end so each chain lists positions in ascending order */
	for (size_t j = nb_windows; j-- > 0;)
	{
		uint64_t	h = window_hash(wb, j, window);
		size_t		bucket = (size_t) (h & (table_size - 1));

		if (j % AA_DUP_CHECK_INTERVAL == 0 && aa_dup_interrupted())
		{
			status = AA_DUP_CANCELLED;
			goto done;
		}
		b_window_hashes[j] = h;
		next[j] = heads[bucket];
		heads[bucket] = j;
	}

	/*
	 * work counts the windows looked up and the words compared since the
	 * last interrupt check, so that a check comes every few thousand steps
	 * however the time is spent (many windows, or long extensions of
	 * repetitive text).
	 */
	i = 0;
	while (i + window <= wa->count)
	{
		uint64_t	h = window_hash(wa, i, window);
		size_t		bucket = (size_t) (h & (table_size - 1));
		size_t		best_length = 0;
		size_t		best_b = NO_POSITION;
		int			tried = 0;

		if (++work >= AA_DUP_CHECK_INTERVAL)
		{
			work = 0;
			if (aa_dup_interrupted())
			{
				status = AA_DUP_CANCELLED;
				goto done;
			}
		}
		for (size_t j = heads[bucket];
			 j != NO_POSITION && tried < AA_PASSAGE_CANDIDATES_MAX;
			 j = next[j])
		{
			size_t		length = 0;
			size_t		longest_possible;

			if (b_window_hashes[j] != h)
				continue;
			tried++;

			/*
			 * A candidate that cannot run longer than the best so far is
			 * not extended (it still counts as tried, so the result is
			 * the same): in repetitive text, this saves extending dozens
			 * of candidates to the end of the document.
			 */
			longest_possible = size_min(wa->count - i, wb->count - j);
			if (longest_possible <= best_length)
				continue;
			while (i + length < wa->count && j + length < wb->count &&
				   wa->hashes[i + length] == wb->hashes[j + length])
				length++;
			work += length;
			if (work >= AA_DUP_CHECK_INTERVAL)
			{
				work = 0;
				if (aa_dup_interrupted())
				{
					status = AA_DUP_CANCELLED;
					goto done;
				}
			}
			if (length > best_length)
			{
				best_length = length;
				best_b = j;
			}
		}

		if (best_length >= window)
		{
			AaPassage	p;

			describe_run(wa, wb, i, best_b, best_length, &p);
			status = append_passage(out, count, &capacity, &p);
			if (status != AA_DUP_OK)
				break;
			i += best_length;
		}
		else
			i++;
	}

done:
	free(heads);
	free(next);
	free(b_window_hashes);
	return status;
}

/* Entry point (see passages.h). */
AaDupStatus
aa_passages_find(const char *a, size_t alen, const char *b, size_t blen,
				   int min_words, AaPassage **out, size_t *count)
{
	AaWordList	wa = {0};
	AaWordList	wb = {0};
	AaDupStatus status;

	*out = NULL;
	*count = 0;
	if (min_words < 1 || min_words > AA_PASSAGE_MIN_WORDS_MAX)
		return AA_DUP_BAD_PARAMETER;
	status = aa_words_extract(a, alen, 1, &wa);
	if (status == AA_DUP_OK)
		status = aa_words_extract(b, blen, 1, &wb);
	if (status == AA_DUP_OK && wa.count >= (size_t) min_words &&
		wb.count >= (size_t) min_words)
		status = find_runs(&wa, &wb, (size_t) min_words, out, count);
	if (status != AA_DUP_OK)
	{
		free(*out);
		*out = NULL;
		*count = 0;
	}
	aa_words_free(&wa);
	aa_words_free(&wb);
	return status;
}
