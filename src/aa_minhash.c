/*-------------------------------------------------------------------------
 *
 * aa_minhash.c
 *	  PostgreSQL glue of near-duplicate detection: the minhash type and its
 *	  I/O, the sketch and similarity functions, the % operator with its
 *	  threshold setting, the GIN operator class minhash_ops (LSH band keys,
 *	  bands and rows as opclass options), band keys for equi-joins,
 *	  clustering of verified pairs and shared passages.
 *
 * The work is done by the core (core/minhash.h, core/shingle.h,
 * core/passages.h, core/unionfind.h), which knows nothing of PostgreSQL;
 * this file converts text to UTF-8, owns memory and turns core statuses
 * into ereport calls with the right SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_glue.h"

#include "access/gin.h"
#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "core/minhash.h"
#include "core/passages.h"
#include "core/shingle.h"
#include "core/unionfind.h"

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

/* Opclass options of minhash_ops (see aa_minhash_gin_options). */
typedef struct MinhashGinOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			bands;
	int			rows;
} MinhashGinOptions;

#define DEFAULT_BANDS 32
#define DEFAULT_ROWS 4
#define DEFAULT_SIMILARITY_THRESHOLD 0.8

/* article_analytics.similarity_threshold */
static double similarity_threshold = DEFAULT_SIMILARITY_THRESHOLD;
static bool gucs_defined = false;

PG_FUNCTION_INFO_V1(aa_minhash_in);
PG_FUNCTION_INFO_V1(aa_minhash_out);
PG_FUNCTION_INFO_V1(aa_minhash_recv);
PG_FUNCTION_INFO_V1(aa_minhash_send);
PG_FUNCTION_INFO_V1(aa_minhash);
PG_FUNCTION_INFO_V1(aa_similarity);
PG_FUNCTION_INFO_V1(aa_containment_minhash);
PG_FUNCTION_INFO_V1(aa_jaccard);
PG_FUNCTION_INFO_V1(aa_containment_text);
PG_FUNCTION_INFO_V1(aa_minhash_similar);
PG_FUNCTION_INFO_V1(aa_minhash_num_perm);
PG_FUNCTION_INFO_V1(aa_minhash_num_shingles);
PG_FUNCTION_INFO_V1(aa_shingle_hashes);
PG_FUNCTION_INFO_V1(aa_simhash);
PG_FUNCTION_INFO_V1(aa_hamming);
PG_FUNCTION_INFO_V1(aa_bands);
PG_FUNCTION_INFO_V1(aa_lsh_probability);
PG_FUNCTION_INFO_V1(aa_clusters);
PG_FUNCTION_INFO_V1(aa_shared_passages);
PG_FUNCTION_INFO_V1(aa_minhash_gin_extract_value);
PG_FUNCTION_INFO_V1(aa_minhash_gin_extract_query);
PG_FUNCTION_INFO_V1(aa_minhash_gin_consistent);
PG_FUNCTION_INFO_V1(aa_minhash_gin_tri_consistent);
PG_FUNCTION_INFO_V1(aa_minhash_gin_compare_partial);
#if PG_VERSION_NUM >= 130000
PG_FUNCTION_INFO_V1(aa_minhash_gin_options);
#endif

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
static double
current_threshold(void)
{
	aa_minhash_init_gucs();
	return similarity_threshold;
}

/*
 * Raise the error for a failed core call.  Parameter errors are the
 * caller's (22023); malformed input is 22P02; memory is 53200.
 */
static void
report_status(AaDupStatus status, const char *what)
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
static void
check_sketch_params(int num_perm, int shingle_size)
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
static MinhashDatum *
minhash_arg(FunctionCallInfo fcinfo, int n)
{
	MinhashDatum *sketch = PG_GETARG_MINHASH(n);

	check_datum(sketch);
	return sketch;
}

/*
 * Error out unless two sketches were built alike, naming both parameter
 * sets, since the slots of different parameter sets mean different things.
 */
static void
check_compatible(const MinhashDatum *a, const MinhashDatum *b)
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
static MinhashDatum *
new_minhash(int num_perm)
{
	Size		size = MINHASH_SIZE(num_perm);
	MinhashDatum *sketch = (MinhashDatum *) palloc0(size);

	SET_VARSIZE(sketch, size);
	return sketch;
}

/*
 * minhash_in: parse the text form "v1;k=..;n=..;seed=..;shingles=..;hex".
 * Anything malformed is 22P02 with a detail saying what was expected.
 */
Datum
aa_minhash_in(PG_FUNCTION_ARGS)
{
	char	   *input = PG_GETARG_CSTRING(0);
	AaMinhashHeader header;
	uint32_t   *values = NULL;
	const char *detail = NULL;
	AaDupStatus status;
	MinhashDatum *sketch;

	status = aa_minhash_from_text(input, strlen(input), &header, &values, &detail);
	if (status == AA_DUP_BAD_INPUT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type minhash"),
				 errdetail("%s", detail ? detail : "The value is malformed.")));
	report_status(status, "minhash input");
	sketch = new_minhash(header.num_perm);
	sketch->header = header;
	memcpy(sketch->values, values, header.num_perm * sizeof(uint32));
	free(values);
	PG_RETURN_POINTER(sketch);
}

/* minhash_out: the text form. */
Datum
aa_minhash_out(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = minhash_arg(fcinfo, 0);
	size_t		len = aa_minhash_text_length(&sketch->header);
	char	   *out = palloc(len + 1);

	aa_minhash_to_text(&sketch->header, sketch->values, out, len + 1);
	PG_RETURN_CSTRING(out);
}

/*
 * minhash_recv: version (int1), shingle size (int1), num_perm (int2), seed
 * (int4), distinct shingles (int4), then num_perm int4 slot values, all in
 * network byte order.
 */
Datum
aa_minhash_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	AaMinhashHeader header;
	MinhashDatum *sketch;

	memset(&header, 0, sizeof(header));
	header.version = (uint8) pq_getmsgint(buf, 1);
	header.shingle_size = (uint8) pq_getmsgint(buf, 1);
	header.num_perm = (uint16) pq_getmsgint(buf, 2);
	header.seed = (uint32) pq_getmsgint(buf, 4);
	header.num_shingles = (uint32) pq_getmsgint(buf, 4);
	if (aa_minhash_check_header(&header) != AA_DUP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external minhash value"),
				 errdetail("Unknown version %u or parameters out of range (num_perm=%u, shingle_size=%u).",
						   header.version, header.num_perm, header.shingle_size)));
	if (buf->len - buf->cursor != (int) (header.num_perm * sizeof(uint32)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external minhash value"),
				 errdetail("Expected %u slot values.", header.num_perm)));
	sketch = new_minhash(header.num_perm);
	sketch->header = header;
	for (int i = 0; i < header.num_perm; i++)
		sketch->values[i] = (uint32) pq_getmsgint(buf, 4);
	PG_RETURN_POINTER(sketch);
}

/* minhash_send: the binary form read by aa_minhash_recv. */
Datum
aa_minhash_send(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = minhash_arg(fcinfo, 0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, sketch->header.version);
	pq_sendint8(&buf, sketch->header.shingle_size);
	pq_sendint16(&buf, sketch->header.num_perm);
	pq_sendint32(&buf, sketch->header.seed);
	pq_sendint32(&buf, sketch->header.num_shingles);
	for (int i = 0; i < sketch->header.num_perm; i++)
		pq_sendint32(&buf, sketch->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

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

	check_sketch_params(num_perm, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	sketch = new_minhash(num_perm);
	report_status(aa_minhash_build(utf8, len, num_perm, shingle_size, 0,
								   &sketch->header, sketch->values),
				  "aa_minhash");
	PG_RETURN_POINTER(sketch);
}

/* aa_similarity(minhash, minhash): estimated Jaccard. */
Datum
aa_similarity(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = minhash_arg(fcinfo, 0);
	MinhashDatum *b = minhash_arg(fcinfo, 1);

	check_compatible(a, b);
	PG_RETURN_FLOAT8(aa_minhash_similarity(&a->header, a->values, &b->header, b->values));
}

/* aa_containment(minhash a, minhash b): estimated share of a inside b. */
Datum
aa_containment_minhash(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = minhash_arg(fcinfo, 0);
	MinhashDatum *b = minhash_arg(fcinfo, 1);

	check_compatible(a, b);
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

	check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	autf8 = aa_text_to_utf8(a, &alen);
	butf8 = aa_text_to_utf8(b, &blen);
	report_status(aa_exact_similarity(autf8, alen, butf8, blen, shingle_size,
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
	MinhashDatum *a = minhash_arg(fcinfo, 0);
	MinhashDatum *b = minhash_arg(fcinfo, 1);
	double		similarity;

	check_compatible(a, b);
	if (a->header.num_shingles == 0 || b->header.num_shingles == 0)
		PG_RETURN_BOOL(false);
	similarity = aa_minhash_similarity(&a->header, a->values, &b->header, b->values);
	PG_RETURN_BOOL(similarity >= current_threshold());
}

/* aa_minhash_num_perm(minhash): k, for users inspecting a column. */
Datum
aa_minhash_num_perm(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = minhash_arg(fcinfo, 0);

	PG_RETURN_INT32(a->header.num_perm);
}

/* aa_minhash_num_shingles(minhash): distinct shingles of the document. */
Datum
aa_minhash_num_shingles(PG_FUNCTION_ARGS)
{
	MinhashDatum *a = minhash_arg(fcinfo, 0);

	PG_RETURN_INT64((int64) a->header.num_shingles);
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

	check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	status = aa_shingle_set(utf8, len, shingle_size, 0, &set, &count);
	report_status(status, "aa_shingle_hashes");
	elems = palloc((count + 1) * sizeof(Datum));
	for (size_t i = 0; i < count; i++)
		elems[i] = Int64GetDatum((int64) set[i]);
	free(set);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, (int) count, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* aa_simhash(document, shingle_size): 64-bit fingerprint as bigint. */
Datum
aa_simhash(PG_FUNCTION_ARGS)
{
	text	   *document = PG_GETARG_TEXT_PP(0);
	int32		shingle_size = PG_GETARG_INT32(1);
	size_t		len;
	const char *utf8;
	uint64_t	fingerprint;

	check_sketch_params(AA_MINHASH_DEFAULT_NUM_PERM, shingle_size);
	utf8 = aa_text_to_utf8(document, &len);
	report_status(aa_simhash_compute(utf8, len, shingle_size, &fingerprint), "aa_simhash");
	PG_RETURN_INT64((int64) fingerprint);
}

/* aa_hamming(bigint, bigint): differing bits. */
Datum
aa_hamming(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(aa_hamming64((uint64_t) PG_GETARG_INT64(0), (uint64_t) PG_GETARG_INT64(1)));
}

/*
 * Check bands and rows against a sketch; 22023 with the numbers when they
 * do not fit.
 */
static void
check_banding(const MinhashDatum *sketch, int bands, int rows)
{
	if (bands < 1 || rows < 1 || (int64) bands * rows > sketch->header.num_perm)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d bands of %d rows do not fit a minhash of num_perm=%u",
						bands, rows, sketch->header.num_perm),
				 errhint("bands * rows must be between 1 and num_perm.")));
}

/*
 * aa_bands(minhash, bands, rows): the LSH band keys as bigint[].  rows 0
 * means num_perm / bands, so that every slot is used.
 */
Datum
aa_bands(PG_FUNCTION_ARGS)
{
	MinhashDatum *sketch = minhash_arg(fcinfo, 0);
	int32		bands = PG_GETARG_INT32(1);
	int32		rows = PG_GETARG_INT32(2);
	int64	   *keys;
	Datum	   *elems;
	ArrayType  *result;

	if (rows == 0 && bands > 0)
		rows = sketch->header.num_perm / bands;
	check_banding(sketch, bands, rows);
	keys = palloc(bands * sizeof(int64));
	report_status(aa_minhash_band_keys(&sketch->header, sketch->values, bands, rows, keys),
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

/*
 * Read a bigint[] argument into a palloc'd int64 array with a NULL flag
 * per element.
 */
static int
int8_array_arg(ArrayType *array, int64 **values, bool **nulls)
{
	Datum	   *elems;
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("aa_clusters expects one-dimensional arrays")));
	deconstruct_array(array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, nulls, &count);
	*values = palloc((count + 1) * sizeof(int64));
	for (int i = 0; i < count; i++)
		(*values)[i] = (*nulls)[i] ? 0 : DatumGetInt64(elems[i]);
	return count;
}

/*
 * aa_clusters(left bigint[], right bigint[]) -> (id, cluster_id): the
 * connected components of the pairs (left[i], right[i]), each named by
 * its smallest id.  Pairs with a NULL end are ignored.
 */
Datum
aa_clusters(PG_FUNCTION_ARGS)
{
	ArrayType  *left_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *right_array = PG_GETARG_ARRAYTYPE_P(1);
	int64	   *left,
			   *right;
	bool	   *left_nulls,
			   *right_nulls;
	int			nleft,
				nright,
				nedges = 0;
	AaClusterMember *members = NULL;
	AaClusterMember *copy;
	size_t		num_members = 0;
	AaDupStatus status;
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	nleft = int8_array_arg(left_array, &left, &left_nulls);
	nright = int8_array_arg(right_array, &right, &right_nulls);
	if (nleft != nright)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aa_clusters needs arrays of equal length, not %d and %d", nleft, nright)));
	/* squeeze out the pairs with a NULL end */
	for (int i = 0; i < nleft; i++)
	{
		if (left_nulls[i] || right_nulls[i])
			continue;
		left[nedges] = left[i];
		right[nedges] = right[i];
		nedges++;
	}
	CHECK_FOR_INTERRUPTS();
	status = aa_cluster_pairs(left, right, (size_t) nedges, &members, &num_members);
	report_status(status, "aa_clusters");
	/* move the result to palloc memory so no error below can leak it */
	copy = palloc((num_members + 1) * sizeof(AaClusterMember));
	if (num_members > 0)
		memcpy(copy, members, num_members * sizeof(AaClusterMember));
	free(members);

	store = aa_srf_materialize(fcinfo, &tupdesc);
	for (size_t i = 0; i < num_members; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		row[0] = Int64GetDatum(copy[i].id);
		row[1] = Int64GetDatum(copy[i].cluster_id);
		tuplestore_putvalues(store, tupdesc, row, nulls);
	}
	return (Datum) 0;
}

/*
 * aa_shared_passages(a, b, min_words) -> (a_start, a_length, b_start,
 * b_length, passage): runs of at least min_words shared words, positions
 * 1-based as substr counts them (characters; bytes in SQL_ASCII), passage
 * text from a.
 */
Datum
aa_shared_passages(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int32		min_words = PG_GETARG_INT32(2);
	size_t		alen,
				blen,
				count = 0;
	const char *autf8,
			   *butf8;
	AaPassage  *passages = NULL;
	AaPassage  *copy;
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	if (min_words < 1 || min_words > AA_PASSAGE_MIN_WORDS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_words must be between 1 and %d, not %d",
						AA_PASSAGE_MIN_WORDS_MAX, min_words)));
	autf8 = aa_text_to_utf8(a, &alen);
	butf8 = aa_text_to_utf8(b, &blen);
	report_status(aa_passages_find(autf8, alen, butf8, blen, min_words, &passages, &count),
				  "aa_shared_passages");
	/* move the result to palloc memory so no error below can leak it */
	copy = palloc((count + 1) * sizeof(AaPassage));
	if (count > 0)
		memcpy(copy, passages, count * sizeof(AaPassage));
	free(passages);

	store = aa_srf_materialize(fcinfo, &tupdesc);
	for (size_t i = 0; i < count; i++)
	{
		Datum		row[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (i % AA_INTERRUPT_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		if (aa_positions_count_bytes())
		{
			row[0] = Int32GetDatum((int32) copy[i].a_byte_start + 1);
			row[1] = Int32GetDatum((int32) copy[i].a_byte_len);
			row[2] = Int32GetDatum((int32) copy[i].b_byte_start + 1);
			row[3] = Int32GetDatum((int32) copy[i].b_byte_len);
		}
		else
		{
			row[0] = Int32GetDatum((int32) copy[i].a_char_start + 1);
			row[1] = Int32GetDatum((int32) copy[i].a_char_len);
			row[2] = Int32GetDatum((int32) copy[i].b_char_start + 1);
			row[3] = Int32GetDatum((int32) copy[i].b_char_len);
		}
		row[4] = PointerGetDatum(aa_utf8_to_text(autf8 + copy[i].a_byte_start,
												 copy[i].a_byte_len));
		tuplestore_putvalues(store, tupdesc, row, nulls);
	}
	return (Datum) 0;
}

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
		check_banding(sketch, bands, rows);
		nbands = bands;
	}
	entries = palloc((nbands + 1) * sizeof(Datum));
	if (nbands > 0)
	{
		int64	   *keys = palloc(nbands * sizeof(int64));

		report_status(aa_minhash_band_keys(&sketch->header, sketch->values, nbands, rows, keys),
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
	MinhashDatum *sketch = minhash_arg(fcinfo, 0);
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
	MinhashDatum *sketch = minhash_arg(fcinfo, 0);
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
	if (current_threshold() <= 0.0)
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
	MinhashDatum *query = minhash_arg(fcinfo, 2);
	int32		nkeys = PG_GETARG_INT32(3);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	int			nbands = nkeys - 1;
	int			matched = 0;
	double		k = (double) query->header.num_perm;
	double		threshold = current_threshold();
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
	MinhashDatum *query = minhash_arg(fcinfo, 2);
	int32		nkeys = PG_GETARG_INT32(3);
	int			nbands = nkeys - 1;
	int			possible = 0;
	double		k = (double) query->header.num_perm;
	double		threshold = current_threshold();
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
