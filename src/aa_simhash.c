/*-------------------------------------------------------------------------
 *
 * aa_simhash.c
 *	  Simhash fingerprints of documents (aa_simhash) and the Hamming
 *	  distance between two of them (aa_hamming).
 *
 * The fingerprint is computed by the core (core/simhash.h).
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "core/simhash.h"

PG_FUNCTION_INFO_V1(aa_simhash);
PG_FUNCTION_INFO_V1(aa_hamming);

/* aa_simhash(document, shingle_size): 64-bit fingerprint as bigint. */
Datum
aa_simhash(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	int32		shingle_size = PG_GETARG_INT32(1);
	size_t		len;
	const char *utf8;
	uint64_t	fingerprint;

	aa_check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	aa_dup_report_status(aa_simhash_compute(utf8, len, shingle_size, &fingerprint), "aa_simhash");
	PG_RETURN_INT64((int64) fingerprint);
}

/* aa_hamming(bigint, bigint): differing bits. */
Datum
aa_hamming(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(aa_hamming64((uint64_t) PG_GETARG_INT64(0), (uint64_t) PG_GETARG_INT64(1)));
}
