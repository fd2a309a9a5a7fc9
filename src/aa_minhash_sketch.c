/*-------------------------------------------------------------------------
 *
 * aa_minhash_sketch.c
 *	  Building a minhash sketch from a document (aa_minhash) and reading
 *	  the parameters a sketch was built with.
 *
 * The sketch is computed by the core (core/minhash.h) on the UTF-8 text;
 * this file checks the parameters and owns the datum.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

PG_FUNCTION_INFO_V1(aa_minhash);
PG_FUNCTION_INFO_V1(aa_minhash_num_perm);
PG_FUNCTION_INFO_V1(aa_minhash_num_shingles);

/* aa_minhash(document, num_perm, shingle_size): the sketch. */
Datum
aa_minhash(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	int32		num_perm = PG_GETARG_INT32(1);
	int32		shingle_size = PG_GETARG_INT32(2);
	size_t		len;
	const char *utf8;
	MinhashDatum *sketch;

	aa_check_sketch_params(num_perm, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	sketch = aa_new_minhash(num_perm);
	aa_dup_report_status(aa_minhash_build(utf8, len, num_perm, shingle_size, 0,
										  &sketch->header, sketch->values),
						 "aa_minhash");
	PG_RETURN_POINTER(sketch);
}

/* aa_minhash_num_perm(minhash): k, for users inspecting a column. */
Datum
aa_minhash_num_perm(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = aa_minhash_arg(fcinfo, 0);

	PG_RETURN_INT32(a->header.num_perm);
}

/* aa_minhash_num_shingles(minhash): distinct shingles of the document. */
Datum
aa_minhash_num_shingles(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = aa_minhash_arg(fcinfo, 0);

	PG_RETURN_INT64((int64) a->header.num_shingles);
}
