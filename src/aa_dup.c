/*-------------------------------------------------------------------------
 *
 * aa_dup.c
 *	  Checks and error reporting shared by the near-duplicate glue files:
 *	  core statuses to ereport, sketch parameters, validated minhash
 *	  arguments, new sketch datums, comparability and banding checks.
 *
 * Declared in aa_dup.h.  Each function raises the error of the SQL
 * function that called it, so the messages and SQLSTATEs are the same
 * whichever file the caller lives in.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "miscadmin.h"

/*
 * Raise the error for a failed core call.  Parameter errors are the
 * caller's (22023); malformed input is 22P02; memory is 53200.
 */
void
aa_dup_report_status(AaDupStatus status, const char *what)
{
	switch (status)
	{
		case AA_DUP_OK:
			return;
		case AA_DUP_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while computing %s", what)));
			break;
		case AA_DUP_BAD_PARAMETER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid parameter for %s", what)));
			break;
		case AA_DUP_BAD_INPUT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed input for %s", what)));
			break;
		case AA_DUP_CANCELLED:
			/* the core stopped because a cancel is pending: honour it */
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement while computing %s", what)));
			break;
	}
}

/* Check num_perm and shingle_size arguments, naming the bad one. */
void
aa_check_sketch_params(int num_perm, int shingle_size)
{
	if (num_perm < AA_MINHASH_NUM_PERM_MIN || num_perm > AA_MINHASH_NUM_PERM_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("num_perm must be between %d and %d, not %d",
						AA_MINHASH_NUM_PERM_MIN, AA_MINHASH_NUM_PERM_MAX, num_perm)));
	if (shingle_size < AA_SHINGLE_SIZE_MIN || shingle_size > AA_SHINGLE_SIZE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shingle_size must be between %d and %d, not %d",
						AA_SHINGLE_SIZE_MIN, AA_SHINGLE_SIZE_MAX, shingle_size)));
}

/*
 * Validate a stored or received sketch: a known header and a size that
 * matches its num_perm.  Protects every reader from a corrupt datum.
 */
static void
check_datum(const MinhashDatum *sketch)
{
	if (VARSIZE(sketch) < offsetof(MinhashDatum, values) ||
		aa_minhash_check_header(&sketch->header) != AA_DUP_OK ||
		VARSIZE(sketch) != MINHASH_SIZE(sketch->header.num_perm))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid minhash value")));
}

/* Fetch and validate a minhash argument. */
MinhashDatum *
aa_minhash_arg(FunctionCallInfo fcinfo, int n)
{
	MinhashDatum *sketch = PG_GETARG_MINHASH(n);

	check_datum(sketch);
	return sketch;
}

/*
 * Error out unless two sketches were built alike, naming both parameter
 * sets, since the slots of different parameter sets mean different things.
 */
void
aa_check_minhash_compatible(const MinhashDatum *a, const MinhashDatum *b)
{
	if (!aa_minhash_compatible(&a->header, &b->header))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot compare minhash sketches built with different parameters"),
				 errdetail("The first has num_perm=%u, shingle_size=%u, seed=%u, version %u; "
						   "the second has num_perm=%u, shingle_size=%u, seed=%u, version %u.",
						   a->header.num_perm, a->header.shingle_size,
						   a->header.seed, a->header.version,
						   b->header.num_perm, b->header.shingle_size,
						   b->header.seed, b->header.version),
				 errhint("Build both with the same aa_minhash(document, num_perm, shingle_size).")));
}

/* A new sketch datum for num_perm slots. */
MinhashDatum *
aa_new_minhash(int num_perm)
{
	Size		size = MINHASH_SIZE(num_perm);
	MinhashDatum *sketch = (MinhashDatum *) palloc0(size);

	SET_VARSIZE(sketch, size);
	return sketch;
}

/*
 * Check bands and rows against a sketch; 22023 with the numbers when they
 * do not fit.
 */
void
aa_check_banding(const MinhashDatum *sketch, int bands, int rows)
{
	if (bands < 1 || rows < 1 || (int64) bands * rows > sketch->header.num_perm)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d bands of %d rows do not fit a minhash of num_perm=%u",
						bands, rows, sketch->header.num_perm),
				 errhint("bands * rows must be between 1 and num_perm.")));
}
