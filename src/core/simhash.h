/*-------------------------------------------------------------------------
 *
 * simhash.h
 *	  64-bit simhash fingerprints of word-shingle sets and their Hamming
 *	  distance.
 *
 * A second near-duplicate signature beside the minhash sketch
 * (minhash.h): one 64-bit value per document, compared by the number of
 * differing bits.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_SIMHASH_H
#define AA_SIMHASH_H

#include <stddef.h>
#include <stdint.h>

#include "shingle.h"

/*
 * 64-bit simhash (Charikar 2002) of the document's distinct shingles,
 * each weighted 1: bit i is set when more shingle hashes have bit i set
 * than not.  A document without words has simhash 0.
 */
extern AaDupStatus aa_simhash_compute(const char *text, size_t len, int shingle_size,
									  uint64_t *result);

/* Number of differing bits. */
extern int	aa_hamming64(uint64_t a, uint64_t b);

#endif							/* AA_SIMHASH_H */
