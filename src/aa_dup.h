/*-------------------------------------------------------------------------
 *
 * aa_dup.h
 *	  Declarations shared by the near-duplicate glue files: the on-disk form
 *	  of the minhash type and the checks every minhash function makes.
 *
 * The files: aa_minhash_io.c (type I/O), aa_minhash_sketch.c (building a
 * sketch), aa_minhash_sim.c (similarity, the % operator and its setting),
 * aa_minhash_bands.c (LSH bands as arrays), aa_minhash_gin.c (the GIN
 * operator class), aa_simhash.c, aa_clusters.c and aa_passages.c; the
 * helpers declared below are in aa_dup.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_DUP_GLUE_H
#define AA_DUP_GLUE_H

#include "aa_glue.h"

#include "core/minhash.h"

/*
 * The on-disk form: varlena length word, the core's 16-byte header, then
 * num_perm 32-bit slot values.  Declared with int4 alignment.
 */
typedef struct MinhashDatum
{
	int32		vl_len_;
	AaMinhashHeader header;
	uint32		values[FLEXIBLE_ARRAY_MEMBER];
} MinhashDatum;

#define MINHASH_SIZE(num_perm) \
	(offsetof(MinhashDatum, values) + (Size) (num_perm) * sizeof(uint32))

#define DatumGetMinhash(d)		((MinhashDatum *) PG_DETOAST_DATUM(d))
#define PG_GETARG_MINHASH(n)	DatumGetMinhash(PG_GETARG_DATUM(n))

/*
 * Raise the error for a failed core call (nothing for AA_DUP_OK), naming
 * what was being computed.
 */
extern void aa_dup_report_status(AaDupStatus status, const char *what);

/* Check num_perm and shingle_size arguments (22023, naming the bad one). */
extern void aa_check_sketch_params(int num_perm, int shingle_size);

/* Fetch argument n as a minhash, validated (XX001 when corrupt). */
extern MinhashDatum *aa_minhash_arg(FunctionCallInfo fcinfo, int n);

/* Error out (22023) unless two sketches were built with the same parameters. */
extern void aa_check_minhash_compatible(const MinhashDatum *a, const MinhashDatum *b);

/* A new, zeroed sketch datum for num_perm slots. */
extern MinhashDatum *aa_new_minhash(int num_perm);

/* Error out (22023) unless bands of rows fit the sketch's num_perm. */
extern void aa_check_banding(const MinhashDatum *sketch, int bands, int rows);

/*
 * article_analytics.similarity_threshold in force, defining the setting
 * first if need be (aa_minhash_sim.c).
 */
extern double aa_similarity_threshold(void);

#endif							/* AA_DUP_GLUE_H */
