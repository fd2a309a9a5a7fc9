/*-------------------------------------------------------------------------
 *
 * aa_clusters.c
 *	  Clustering of verified near-duplicate pairs: aa_clusters, the
 *	  connected components of a list of pairs.
 *
 * The components are found by the core's union-find (core/unionfind.h);
 * this file reads the arrays and returns the rows.
 *
 *-------------------------------------------------------------------------
 */
#include "aa_dup.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"

#include "core/unionfind.h"

PG_FUNCTION_INFO_V1(aa_clusters);

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
	aa_dup_report_status(status, "aa_clusters");
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
