/*-------------------------------------------------------------------------
 *
 * aa_minhash_sim.c
 *	  Similarity of documents: estimated Jaccard and containment of two
 *	  sketches, exact Jaccard and containment of two texts with the shingle
 *	  sets behind them, and the % operator with its threshold setting
 *	  article_analytics.similarity_threshold.
 *
 * _PG_init defines the setting (aa_minhash_init_gucs), which also installs
 * the duplicate core's interrupt check used by every near-duplicate
 * function.  The GIN operator class reads the threshold through
 * aa_similarity_threshold.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/guc.h"

#define DEFAULT_SIMILARITY_THRESHOLD 0.8

/* article_analytics.similarity_threshold */
static double similarity_threshold = DEFAULT_SIMILARITY_THRESHOLD;
static bool gucs_defined = false;

PG_FUNCTION_INFO_V1(aa_similarity);
PG_FUNCTION_INFO_V1(aa_containment_minhash);
PG_FUNCTION_INFO_V1(aa_jaccard);
PG_FUNCTION_INFO_V1(aa_containment_text);
PG_FUNCTION_INFO_V1(aa_minhash_similar);
PG_FUNCTION_INFO_V1(aa_shingle_hashes);

/*
 * The duplicate core's interrupt check: true when a query cancel
 * (pg_cancel_backend, statement_timeout) or a termination is pending, so
 * that the core stops, frees its memory, and CHECK_FOR_INTERRUPTS raises
 * the error.
 */
static bool
cancel_is_pending(void)
{
	return QueryCancelPending || ProcDiePending;
}

/*
 * Define article_analytics.similarity_threshold.  Called from _PG_init;
 * safe to call again (it does nothing the second time), which lets the
 * functions below make sure the setting exists even in a build whose
 * _PG_init does not call it yet.
 */
void
aa_minhash_init_gucs(void)
{
	if (gucs_defined)
		return;
	gucs_defined = true;
	aa_dup_set_interrupt_check(cancel_is_pending);
	DefineCustomRealVariable("article_analytics.similarity_threshold",
							 "Estimated Jaccard similarity at or above which minhash % minhash is true.",
							 "The minhash_ops GIN index with its default 32 bands of 4 rows finds "
							 "every pair above 0.75 at k=128, so thresholds above 0.75 lose nothing "
							 "to the index.",
							 &similarity_threshold,
							 DEFAULT_SIMILARITY_THRESHOLD,
							 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/* The threshold in force, defining the setting first if need be. */
double
aa_similarity_threshold(void)
{
	aa_minhash_init_gucs();
	return similarity_threshold;
}

/* aa_similarity(minhash, minhash): estimated Jaccard. */
Datum
aa_similarity(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = aa_minhash_arg(fcinfo, 0);
	MinhashDatum *b = aa_minhash_arg(fcinfo, 1);

	aa_check_minhash_compatible(a, b);
	PG_RETURN_FLOAT8(aa_minhash_similarity(&a->header, a->values, &b->header, b->values));
}

/* aa_containment(minhash a, minhash b): estimated share of a inside b. */
Datum
aa_containment_minhash(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = aa_minhash_arg(fcinfo, 0);
	MinhashDatum *b = aa_minhash_arg(fcinfo, 1);

	aa_check_minhash_compatible(a, b);
	PG_RETURN_FLOAT8(aa_minhash_containment(&a->header, a->values, &b->header, b->values));
}

/* Exact Jaccard and containment of two texts' shingle sets. */
static void
exact_similarity(FunctionCallInfo fcinfo, double *jaccard, double *containment)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int32		shingle_size = PG_GETARG_INT32(2);
	size_t		alen,
				blen;
	const char *autf8,
			   *butf8;

	aa_check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	autf8 = aa_text_to_utf8(a, &alen);
	butf8 = aa_text_to_utf8(b, &blen);
	aa_dup_report_status(aa_exact_similarity(autf8, alen, butf8, blen, shingle_size,
											 jaccard, containment),
						 "the exact similarity");
}

/* aa_jaccard(text, text, shingle_size): exact Jaccard. */
Datum
aa_jaccard(PG_FUNCTION_ARGS)
{
	double		jaccard,
				containment;

	exact_similarity(fcinfo, &jaccard, &containment);
	PG_RETURN_FLOAT8(jaccard);
}

/* aa_containment(text a, text b, shingle_size): exact share of a in b. */
Datum
aa_containment_text(PG_FUNCTION_ARGS)
{
	double		jaccard,
				containment;

	exact_similarity(fcinfo, &jaccard, &containment);
	PG_RETURN_FLOAT8(containment);
}

/*
 * minhash % minhash: estimated similarity at or above the threshold.  A
 * document without shingles is similar to nothing, even at threshold 0,
 * as the GIN index (which has no band key for it) answers too.
 */
Datum
aa_minhash_similar(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = aa_minhash_arg(fcinfo, 0);
	MinhashDatum *b = aa_minhash_arg(fcinfo, 1);
	double		similarity;

	aa_check_minhash_compatible(a, b);
	if (a->header.num_shingles == 0 || b->header.num_shingles == 0)
		PG_RETURN_BOOL(false);
	similarity = aa_minhash_similarity(&a->header, a->values, &b->header, b->values);
	PG_RETURN_BOOL(similarity >= aa_similarity_threshold());
}

/*
 * aa_shingle_hashes(document, shingle_size): the distinct shingle hashes,
 * ascending, as bigint[].  The exact sets behind aa_jaccard, exposed so
 * that exact all-pairs joins (prefix filtering, inverted indexes) can be
 * written in SQL, as the accuracy tests do.
 */
Datum
aa_shingle_hashes(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	int32		shingle_size = PG_GETARG_INT32(1);
	size_t		len,
				count = 0;
	const char *utf8;
	uint64_t   *set = NULL;
	Datum	   *elems;
	AaDupStatus status;

	aa_check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	status = aa_shingle_set(utf8, len, shingle_size, 0, &set, &count);
	aa_dup_report_status(status, "aa_shingle_hashes");
	elems = palloc((count + 1) * sizeof(Datum));
	for (size_t i = 0; i < count; i++)
		elems[i] = Int64GetDatum((int64) set[i]);
	free(set);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, (int) count, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
