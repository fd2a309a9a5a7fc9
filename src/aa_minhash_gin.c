/*-------------------------------------------------------------------------
 *
 * aa_minhash_gin.c
 *	  The GIN operator class minhash_ops: LSH band keys and the parameter
 *	  key as index entries, the consistent functions that prune candidates
 *	  against the similarity threshold, and bands and rows as opclass
 *	  options.
 *
 * The index only chooses candidates: each is rechecked on the heap with
 * the % operator (aa_minhash_sim.c).  A pair becomes a candidate when it
 * shares a band, with the probability of the LSH S-curve
 * (aa_lsh_probability), so pairs far below the banding's threshold can be
 * missed; a sketch of other parameters always reaches the recheck.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "access/gin.h"
#include "access/reloptions.h"

/* Opclass options of minhash_ops (see aa_minhash_gin_options). */
typedef struct MinhashGinOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			bands;
	int			rows;
} MinhashGinOptions;

#define DEFAULT_BANDS 32
#define DEFAULT_ROWS 4

PG_FUNCTION_INFO_V1(aa_minhash_gin_extract_value);
PG_FUNCTION_INFO_V1(aa_minhash_gin_extract_query);
PG_FUNCTION_INFO_V1(aa_minhash_gin_consistent);
PG_FUNCTION_INFO_V1(aa_minhash_gin_tri_consistent);
PG_FUNCTION_INFO_V1(aa_minhash_gin_compare_partial);
#if PG_VERSION_NUM >= 130000
PG_FUNCTION_INFO_V1(aa_minhash_gin_options);
#endif

/*
 * The bands and rows of an index column: its opclass options, or the
 * defaults (32 x 4) when none were given.
 */
static void
index_banding(FunctionCallInfo fcinfo, int *bands, int *rows)
{
	*bands = DEFAULT_BANDS;
	*rows = DEFAULT_ROWS;
#if PG_VERSION_NUM >= 130000
	if (PG_HAS_OPCLASS_OPTIONS())
	{
		MinhashGinOptions *options = (MinhashGinOptions *) PG_GET_OPCLASS_OPTIONS();

		*bands = options->bands;
		*rows = options->rows;
	}
#endif
}

/*
 * GIN entries of a sketch: its band keys when the document has shingles
 * (and, for a query, when the index's banding fits its num_perm), then
 * always its parameter key last (see aa_minhash_param_key).  An indexed
 * sketch whose num_perm is too small for the banding is an error (22023)
 * at insert; a query sketch of that kind cannot share a band with any
 * indexed row of its own parameters, so it asks for its parameter key
 * only.
 */
static Datum *
sketch_entries(FunctionCallInfo fcinfo, MinhashDatum *sketch, bool is_query,
			   int32 *nentries)
{
	int			bands,
				rows;
	int			nbands = 0;
	Datum	   *entries;

	index_banding(fcinfo, &bands, &rows);
	if (sketch->header.num_shingles > 0 &&
		(!is_query || (int64) bands * rows <= sketch->header.num_perm))
	{
		aa_check_banding(sketch, bands, rows);
		nbands = bands;
	}
	entries = palloc((nbands + 1) * sizeof(Datum));
	if (nbands > 0)
	{
		int64	   *keys = palloc(nbands * sizeof(int64));

		aa_dup_report_status(aa_minhash_band_keys(&sketch->header, sketch->values, nbands, rows, keys),
							 "minhash_ops band keys");
		for (int i = 0; i < nbands; i++)
			entries[i] = Int64GetDatum(keys[i]);
		pfree(keys);
	}
	entries[nbands] = Int64GetDatum(aa_minhash_param_key(&sketch->header));
	*nentries = nbands + 1;
	return entries;
}

/*
 * GIN extractValue: the band keys of an indexed sketch and its parameter
 * key.  An empty document is similar to nothing and has no band key, but
 * its parameter key is indexed all the same, so that comparing it with a
 * sketch of other parameters raises the error a sequential scan raises.
 */
Datum
aa_minhash_gin_extract_value(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = aa_minhash_arg(fcinfo, 0);
	int32	   *nentries = (int32 *) PG_GETARG_POINTER(1);

	PG_RETURN_POINTER(sketch_entries(fcinfo, sketch, false, nentries));
}

/*
 * GIN extractQuery: the band keys of the probe sketch, and last a partial
 * match over the reserved parameter-key range that matches every indexed
 * parameter key but the probe's own (aa_minhash_gin_compare_partial).
 * The rows it finds have sketches of other parameters; they are returned
 * for the recheck, where % raises 22023 as it does in a sequential scan,
 * so the plan does not change the answer.  An empty probe document asks
 * for no band key: it is similar to nothing.  At threshold 0 every
 * comparable non-empty pair is similar, so the whole index is searched.
 */
Datum
aa_minhash_gin_extract_query(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = aa_minhash_arg(fcinfo, 0);
	int32	   *nentries = (int32 *) PG_GETARG_POINTER(1);
	bool	  **partial_matches = (bool **) PG_GETARG_POINTER(3);
	Pointer   **extra_data = (Pointer **) PG_GETARG_POINTER(4);
	int32	   *search_mode = (int32 *) PG_GETARG_POINTER(6);
	Datum	   *entries = sketch_entries(fcinfo, sketch, true, nentries);
	int			last = *nentries - 1;
	int64	   *own_key = palloc(sizeof(int64));

	*own_key = DatumGetInt64(entries[last]);
	entries[last] = Int64GetDatum(AA_MINHASH_PARAM_KEY_MIN);
	*partial_matches = palloc0(*nentries * sizeof(bool));
	(*partial_matches)[last] = true;
	*extra_data = palloc0(*nentries * sizeof(Pointer));
	(*extra_data)[last] = (Pointer) own_key;
	if (aa_similarity_threshold() <= 0.0)
		*search_mode = GIN_SEARCH_MODE_ALL;
	PG_RETURN_POINTER(entries);
}

/*
 * GIN comparePartial for the parameter-key entry: scanning upward from the
 * bottom of the reserved range, match every key but the probe's own, and
 * stop past the range.
 */
Datum
aa_minhash_gin_compare_partial(PG_FUNCTION_ARGS)
{
	int64		key = PG_GETARG_INT64(1);
	int64	   *own_key = (int64 *) PG_GETARG_POINTER(3);

	if (key > AA_MINHASH_PARAM_KEY_MAX)
		PG_RETURN_INT32(1);
	if (own_key != NULL && key == *own_key)
		PG_RETURN_INT32(-1);
	PG_RETURN_INT32(0);
}

/*
 * GIN consistent.  The last entry is the parameter-key match: a row that
 * has it holds a sketch of other parameters and goes to the recheck, which
 * raises the error.  The others are band keys: each band that does not
 * match holds at least one differing slot, so with c of b bands matching,
 * at most k - (b - c) slots can be equal and the similarity is at most
 * (k - b + c) / k.  A row is a candidate (always rechecked on the heap)
 * only if that bound reaches the threshold; this prunes most chance
 * single-band collisions, and a pair at or above the threshold is never
 * pruned.  At threshold 0 every row is a candidate.
 */
Datum
aa_minhash_gin_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	MinhashDatum *query = aa_minhash_arg(fcinfo, 2);
	int32		nkeys = PG_GETARG_INT32(3);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	int			nbands = nkeys - 1;
	int			matched = 0;
	double		k = (double) query->header.num_perm;
	double		threshold = aa_similarity_threshold();
	double		upper_bound;

	*recheck = true;
	if (nkeys < 1)
		PG_RETURN_BOOL(false);
	if (check[nbands] || threshold <= 0.0)
		PG_RETURN_BOOL(true);
	for (int i = 0; i < nbands; i++)
		matched += check[i] ? 1 : 0;
	if (matched == 0)
		PG_RETURN_BOOL(false);
	upper_bound = (k - (double) nbands + (double) matched) / k;
	PG_RETURN_BOOL(upper_bound + 1e-9 >= threshold);
}

/*
 * GIN triConsistent: the same decision with GIN_MAYBE entries counted as
 * possible matches.  Never GIN_TRUE, since a shared band proves nothing
 * about the other slots: every candidate is rechecked.  Without this
 * function GIN would call the boolean consistent function once per
 * combination of uncertain entries.
 */
Datum
aa_minhash_gin_tri_consistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	MinhashDatum *query = aa_minhash_arg(fcinfo, 2);
	int32		nkeys = PG_GETARG_INT32(3);
	int			nbands = nkeys - 1;
	int			possible = 0;
	double		k = (double) query->header.num_perm;
	double		threshold = aa_similarity_threshold();
	double		upper_bound;

	if (nkeys < 1)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
	if (check[nbands] != GIN_FALSE || threshold <= 0.0)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
	for (int i = 0; i < nbands; i++)
		possible += (check[i] != GIN_FALSE) ? 1 : 0;
	if (possible == 0)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
	upper_bound = (k - (double) nbands + (double) possible) / k;
	if (upper_bound + 1e-9 < threshold)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
	PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
}

/*
 * GIN options: bands (default 32) and rows (default 4) per index column,
 * as in CREATE INDEX ... USING gin (sig minhash_ops (bands = 16, rows = 8)).
 */
#if PG_VERSION_NUM >= 130000
Datum
aa_minhash_gin_options(PG_FUNCTION_ARGS)
{
	local_relopts *relopts = (local_relopts *) PG_GETARG_POINTER(0);

	init_local_reloptions(relopts, sizeof(MinhashGinOptions));
	add_local_int_reloption(relopts, "bands",
							"number of LSH bands (index keys per sketch)",
							DEFAULT_BANDS, 1, AA_MINHASH_NUM_PERM_MAX,
							offsetof(MinhashGinOptions, bands));
	add_local_int_reloption(relopts, "rows",
							"sketch slots per band",
							DEFAULT_ROWS, 1, AA_MINHASH_NUM_PERM_MAX,
							offsetof(MinhashGinOptions, rows));
	PG_RETURN_VOID();
}
#endif
