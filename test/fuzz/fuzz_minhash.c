/*
 * fuzz_minhash.c
 *	  libFuzzer target for the near-duplicate core: sketch, simhash, exact
 *	  similarity, shared passages (checking their offsets stay inside both
 *	  inputs and are ordered) and the minhash text parser, on arbitrary
 *	  bytes.  The first byte picks the parameters; the rest is split in two
 *	  documents at its middle.  Built and run by "make fuzz".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minhash.h"
#include "passages.h"
#include "shingle.h"
#include "simhash.h"
#include "unionfind.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static AaMinhashHeader header_a,
				header_b;
	static uint32_t values_a[256],
				values_b[256];
	const char *a;
	const char *b;
	size_t		alen,
				blen;
	int			shingle_size,
				num_perm,
				min_words;
	double		jaccard,
				containment;
	uint64_t	fingerprint;
	AaPassage  *passages = NULL;
	size_t		count = 0;
	AaMinhashHeader parsed;
	uint32_t   *parsed_values = NULL;
	const char *detail;

	if (size < 1)
		return 0;
	shingle_size = 1 + (data[0] & 7);
	num_perm = 1 + ((data[0] >> 3) & 7) * 32;
	min_words = 1 + (data[0] >> 6);
	a = (const char *) data + 1;
	alen = (size - 1) / 2;
	b = a + alen;
	blen = size - 1 - alen;

	if (aa_minhash_build(a, alen, num_perm, shingle_size, 0, &header_a, values_a) != AA_DUP_OK ||
		aa_minhash_build(b, blen, num_perm, shingle_size, 0, &header_b, values_b) != AA_DUP_OK)
		abort();
	jaccard = aa_minhash_similarity(&header_a, values_a, &header_b, values_b);
	containment = aa_minhash_containment(&header_a, values_a, &header_b, values_b);
	if (jaccard < 0 || jaccard > 1 || containment < 0 || containment > 1)
		abort();
	if (aa_exact_similarity(a, alen, b, blen, shingle_size, &jaccard, &containment) != AA_DUP_OK ||
		jaccard < 0 || jaccard > 1 || containment < 0 || containment > 1)
		abort();
	if (aa_simhash_compute(a, alen, shingle_size, &fingerprint) != AA_DUP_OK)
		abort();

	if (aa_passages_find(a, alen, b, blen, min_words, &passages, &count) != AA_DUP_OK)
		abort();
	for (size_t i = 0; i < count; i++)
	{
		if (passages[i].a_byte_start + passages[i].a_byte_len > alen ||
			passages[i].b_byte_start + passages[i].b_byte_len > blen ||
			passages[i].word_count < (size_t) min_words ||
			(i > 0 && passages[i].a_byte_start < passages[i - 1].a_byte_start + passages[i - 1].a_byte_len))
			abort();
	}
	free(passages);

	if (aa_minhash_from_text((const char *) data, size, &parsed, &parsed_values, &detail) == AA_DUP_OK)
	{
		char	   *text = malloc(aa_minhash_text_length(&parsed) + 1);

		aa_minhash_to_text(&parsed, parsed_values, text, aa_minhash_text_length(&parsed) + 1);
		free(text);
		free(parsed_values);
	}
	return 0;
}
