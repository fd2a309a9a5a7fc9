/*-------------------------------------------------------------------------
 *
 * minhash.h
 *	  MinHash sketches of word-shingle sets: building (one-permutation
 *	  hashing with optimal densification), estimating Jaccard similarity and
 *	  containment, LSH band keys and the text form.
 *
 * A sketch is a fixed header followed by num_perm 32-bit slot values.  The
 * header records everything needed to decide whether two sketches may be
 * compared (format version, num_perm, shingle size, seed) and the number
 * of distinct shingles of the document, which turns an estimated Jaccard
 * into an estimated containment.
 *
 * Building costs O(shingles + num_perm): each shingle hash goes to one of
 * num_perm bins (one-permutation hashing, Li, Owen and Zhang 2012) and
 * empty bins borrow from a pseudo-randomly probed non-empty bin (optimal
 * densification, Shrivastava 2017), which keeps the estimator unbiased
 * with the variance of classic k-permutation minhash.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_MINHASH_H
#define AA_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#include "shingle.h"

#define AA_MINHASH_FORMAT_VERSION 1
#define AA_MINHASH_NUM_PERM_MIN 1
#define AA_MINHASH_NUM_PERM_MAX 4096
#define AA_MINHASH_DEFAULT_NUM_PERM 128
#define AA_MINHASH_DEFAULT_SHINGLE_SIZE 5

/*
 * The fixed part of a sketch, 16 bytes, laid out so that the PostgreSQL
 * glue can store it verbatim after the varlena length word.  The slot
 * values (uint32_t[num_perm]) follow it directly.
 */
typedef struct AaMinhashHeader
{
	uint8_t		version;		/* AA_MINHASH_FORMAT_VERSION */
	uint8_t		shingle_size;	/* words per shingle */
	uint16_t	num_perm;		/* number of slots (k) */
	uint32_t	seed;			/* seed of the shingle hash */
	uint32_t	num_shingles;	/* distinct shingles, saturating at
								 * UINT32_MAX */
	uint32_t	reserved;		/* zero */
} AaMinhashHeader;

/*
 * Check that num_perm and shingle_size are in range; AA_DUP_OK or
 * AA_DUP_BAD_PARAMETER.
 */
extern AaDupStatus aa_minhash_check_params(int num_perm, int shingle_size);

/*
 * Sketch text[0 .. len): fills *header and values[0 .. num_perm).
 */
extern AaDupStatus aa_minhash_build(const char *text, size_t len,
									int num_perm, int shingle_size, uint32_t seed,
									AaMinhashHeader *header, uint32_t *values);

/*
 * Sketch an already hashed multiset of shingles (repeats allowed);
 * num_distinct is stored in the header as is.  Used by aa_minhash_build
 * and by tests that control the sets exactly.
 */
extern AaDupStatus aa_minhash_from_hashes(const uint64_t *hashes, size_t n,
										  size_t num_distinct,
										  int num_perm, int shingle_size, uint32_t seed,
										  AaMinhashHeader *header, uint32_t *values);

/* True when two sketches were built with the same parameters. */
extern int	aa_minhash_compatible(const AaMinhashHeader *a, const AaMinhashHeader *b);

/*
 * Check a header read from outside (binary input, a stored datum): known
 * version, parameters in range, reserved field zero.
 */
extern AaDupStatus aa_minhash_check_header(const AaMinhashHeader *header);

/*
 * Estimated Jaccard similarity: the share of equal slots.  0 when either
 * document had no shingle.  The caller has checked compatibility.
 */
extern double aa_minhash_similarity(const AaMinhashHeader *ha, const uint32_t *va,
									const AaMinhashHeader *hb, const uint32_t *vb);

/* Number of equal slots, the raw count behind the similarity. */
extern int	aa_minhash_matches(const uint32_t *va, const uint32_t *vb, int num_perm);

/*
 * Estimated containment of a in b, |A and B| / |A|, from the estimated
 * Jaccard J and the exact set sizes: J (|A| + |B|) / ((1 + J) |A|),
 * clamped to [0, 1].
 */
extern double aa_minhash_containment(const AaMinhashHeader *ha, const uint32_t *va,
									 const AaMinhashHeader *hb, const uint32_t *vb);

/*
 * LSH band keys: band i hashes slots [i * rows, (i + 1) * rows) together
 * with i and the sketch parameters, so equal keys mean an equal band of
 * comparable sketches.  keys needs room for bands values.  bands * rows
 * must not exceed num_perm.
 */
extern AaDupStatus aa_minhash_band_keys(const AaMinhashHeader *header, const uint32_t *values,
										int bands, int rows, int64_t *keys);

/*
 * The parameter key of a sketch: one value per parameter set (version,
 * num_perm, shingle_size, seed), in the reserved range
 * [AA_MINHASH_PARAM_KEY_MIN, AA_MINHASH_PARAM_KEY_MAX] at the bottom of the
 * int64 order.  The GIN operator class indexes it beside the band keys so
 * that a query can find the rows whose sketches have other parameters (a
 * range scan of the reserved keys, skipping its own).  num_perm and
 * shingle_size are encoded exactly; version and seed through 15 hashed
 * bits.  A band key falls in the range with probability 2^-32, which
 * only makes its row a candidate for the exact recheck.
 */
#define AA_MINHASH_PARAM_KEY_MIN INT64_MIN
#define AA_MINHASH_PARAM_KEY_MAX (INT64_MIN + INT64_C(0xFFFFFFFF))
extern int64_t aa_minhash_param_key(const AaMinhashHeader *header);

/*
 * Probability that a pair of true similarity s shares at least one of
 * bands bands of rows rows: 1 - (1 - s^rows)^bands (the LSH S-curve).
 */
extern double aa_lsh_candidate_probability(double s, int bands, int rows);

/*
 * Text form: "v1;k=128;n=5;seed=0;shingles=345;" then num_perm slot values
 * as 8 lower-case hex digits each.  aa_minhash_text_length gives the
 * length without the terminating NUL.
 */
extern size_t aa_minhash_text_length(const AaMinhashHeader *header);
extern void aa_minhash_to_text(const AaMinhashHeader *header, const uint32_t *values,
							   char *out, size_t out_size);

/*
 * Parse the text form.  On success *values is a malloc'd array of
 * header->num_perm values that the caller frees.  AA_DUP_BAD_INPUT for
 * anything malformed; *error_detail then points to a static description.
 */
extern AaDupStatus aa_minhash_from_text(const char *text, size_t len,
										AaMinhashHeader *header, uint32_t **values,
										const char **error_detail);

#endif							/* AA_MINHASH_H */
