/*-------------------------------------------------------------------------
 *
 * simhash.c
 *	  Simhash (Charikar 2002) of a document's distinct word shingles, and
 *	  the Hamming distance between two fingerprints.
 *
 *-------------------------------------------------------------------------
 */
#include "simhash.h"

#include <stdlib.h>

/*
 * Charikar's simhash over the distinct shingles: add +1 or -1 per bit for
 * each shingle hash, keep the sign.  Distinct shingles (not counts) so a
 * repeated boilerplate line does not dominate the fingerprint.
 */
AaDupStatus
aa_simhash_compute(const char *text, size_t len, int shingle_size, uint64_t *result)
{
	uint64_t   *set = NULL;
	size_t		count = 0;
	uint64_t	ones[64] = {0};
	uint64_t	fingerprint = 0;
	AaDupStatus status;

	*result = 0;
	status = aa_shingle_set(text, len, shingle_size, 0, &set, &count);
	if (status != AA_DUP_OK)
		return status;
	/* count the set bits per position (a loop the compiler vectorizes) */
	for (size_t i = 0; i < count; i++)
	{
		uint64_t	h = set[i];

		for (int bit = 0; bit < 64; bit++)
			ones[bit] += (h >> bit) & 1;
	}
	/* bit i is set when more than half of the shingles have it set */
	for (int bit = 0; bit < 64; bit++)
	{
		if (2 * ones[bit] > count)
			fingerprint |= UINT64_C(1) << bit;
	}
	free(set);
	*result = fingerprint;
	return AA_DUP_OK;
}

/* Population count of the xor. */
int
aa_hamming64(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}
