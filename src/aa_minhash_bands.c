/*-------------------------------------------------------------------------
 *
 * aa_minhash_bands.c
 *	  LSH banding outside the index: the band keys of a sketch as an array
 *	  (aa_bands, for equi-joins on bands) and the LSH S-curve
 *	  (aa_lsh_probability, for choosing bands and rows).
 *
 * The GIN operator class minhash_ops indexes the same band keys
 * (aa_minhash_gin.c).
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

PG_FUNCTION_INFO_V1(aa_bands);
PG_FUNCTION_INFO_V1(aa_lsh_probability);

/*
 * aa_bands(minhash, bands, rows): the LSH band keys as bigint[].  rows 0
 * means num_perm / bands, so that every slot is used.
 */
Datum
aa_bands(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = aa_minhash_arg(fcinfo, 0);
	int32		bands = PG_GETARG_INT32(1);
	int32		rows = PG_GETARG_INT32(2);
	int64	   *keys;
	Datum	   *elems;
	ArrayType  *result;

	if (rows == 0 && bands > 0)
		rows = sketch->header.num_perm / bands;
	aa_check_banding(sketch, bands, rows);
	keys = palloc(bands * sizeof(int64));
	aa_dup_report_status(aa_minhash_band_keys(&sketch->header, sketch->values, bands, rows, keys),
						 "aa_bands");
	elems = palloc(bands * sizeof(Datum));
	for (int i = 0; i < bands; i++)
		elems[i] = Int64GetDatum(keys[i]);
	result = construct_array(elems, bands, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* aa_lsh_probability(similarity, bands, rows): the S-curve. */
Datum
aa_lsh_probability(PG_FUNCTION_ARGS)
{
	float8		s = PG_GETARG_FLOAT8(0);
	int32		bands = PG_GETARG_INT32(1);
	int32		rows = PG_GETARG_INT32(2);

	if (!(s >= 0.0 && s <= 1.0) || bands < 1 || rows < 1 ||
		bands > AA_MINHASH_NUM_PERM_MAX || rows > AA_MINHASH_NUM_PERM_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("similarity must be in [0, 1] and bands and rows between 1 and %d",
						AA_MINHASH_NUM_PERM_MAX)));
	PG_RETURN_FLOAT8(aa_lsh_candidate_probability(s, bands, rows));
}
