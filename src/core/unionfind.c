/*-------------------------------------------------------------------------
 *
 * unionfind.c
 *	  Connected components of a pair list by union-find (see unionfind.h).
 *
 * Ids are mapped to dense indexes by sorting the distinct ids (the shared
 * radix sort, after flipping the sign bit so unsigned order is signed
 * order) and binary search; union by size with path halving makes the
 * whole run O(E log E) for the sort and near-linear after it.
 *
 *-------------------------------------------------------------------------
 */
#include "unionfind.h"

#include <stdlib.h>

#define SIGN_FLIP UINT64_C(0x8000000000000000)

/* Index of key in the sorted array keys[0 .. n); key is known present. */
static size_t
index_of(const uint64_t *keys, size_t n, uint64_t key)
{
	size_t		low = 0,
				high = n;

	while (low + 1 < high)
	{
		size_t		mid = low + (high - low) / 2;

		if (keys[mid] <= key)
			low = mid;
		else
			high = mid;
	}
	return low;
}

/* Root of x, halving the path on the way. */
static size_t
find_root(size_t *parent, size_t x)
{
	while (parent[x] != x)
	{
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Entry point (see unionfind.h). */
AaDupStatus
aa_cluster_pairs(const int64_t *left, const int64_t *right, size_t num_edges,
				 AaClusterMember **members, size_t *num_members)
{
	uint64_t   *keys;
	size_t	   *parent = NULL;
	size_t	   *size = NULL;
	size_t	   *root_min = NULL;
	AaClusterMember *result = NULL;
	size_t		n = 0;
	AaDupStatus status;

	*members = NULL;
	*num_members = 0;
	if (num_edges == 0)
		return AA_DUP_OK;
	if (num_edges > SIZE_MAX / 2 / sizeof(uint64_t))
		return AA_DUP_NO_MEMORY;

	keys = malloc(2 * num_edges * sizeof(uint64_t));
	if (keys == NULL)
		return AA_DUP_NO_MEMORY;
	for (size_t i = 0; i < num_edges; i++)
	{
		keys[2 * i] = (uint64_t) left[i] ^ SIGN_FLIP;
		keys[2 * i + 1] = (uint64_t) right[i] ^ SIGN_FLIP;
	}
	status = aa_sort_distinct(keys, 2 * num_edges, &n);
	if (status != AA_DUP_OK)
		goto done;

	parent = malloc(n * sizeof(size_t));
	size = malloc(n * sizeof(size_t));
	root_min = malloc(n * sizeof(size_t));
	result = malloc(n * sizeof(AaClusterMember));
	if (parent == NULL || size == NULL || root_min == NULL || result == NULL)
	{
		status = AA_DUP_NO_MEMORY;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
	{
		parent[i] = i;
		size[i] = 1;
	}
	for (size_t e = 0; e < num_edges; e++)
	{
		size_t		x = find_root(parent, index_of(keys, n, (uint64_t) left[e] ^ SIGN_FLIP));
		size_t		y = find_root(parent, index_of(keys, n, (uint64_t) right[e] ^ SIGN_FLIP));

		if (x == y)
			continue;
		if (size[x] < size[y])
		{
			size_t		t = x;

			x = y;
			y = t;
		}
		parent[y] = x;
		size[x] += size[y];
	}

	/* keys ascend, so the first member seen of a component is its minimum */
	for (size_t i = 0; i < n; i++)
		root_min[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
	{
		size_t		r = find_root(parent, i);

		if (root_min[r] == SIZE_MAX)
			root_min[r] = i;
		result[i].id = (int64_t) (keys[i] ^ SIGN_FLIP);
		result[i].cluster_id = (int64_t) (keys[root_min[r]] ^ SIGN_FLIP);
	}
	*members = result;
	*num_members = n;
	result = NULL;

done:
	free(keys);
	free(parent);
	free(size);
	free(root_min);
	free(result);
	return status;
}
