/*-------------------------------------------------------------------------
 *
 * unionfind.h
 *	  Duplicate clusters from verified pairs: the connected components of
 *	  the graph whose edges are the pairs, by union-find.
 *
 * Each component is named by its smallest id, so labels are stable when
 * the same pairs come in another order.  Beware chaining: A~B and B~C put
 * A and C together however different they are; build clusters only on
 * verified edges with a strict threshold.
 *
 * This file is part of the core: it includes no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AA_UNIONFIND_H
#define AA_UNIONFIND_H

#include <stddef.h>
#include <stdint.h>

#include "shingle.h"

typedef struct AaClusterMember
{
	int64_t		id;
	int64_t		cluster_id;		/* the smallest id of its component */
} AaClusterMember;

/*
 * Cluster the ids of edges (left[i], right[i]), i < num_edges.  *members
 * receives every id that appears in an edge, once, in ascending id order,
 * in a malloc'd array the caller frees (NULL when there are no edges).
 */
extern AaDupStatus aa_cluster_pairs(const int64_t *left, const int64_t *right,
									size_t num_edges,
									AaClusterMember **members, size_t *num_members);

#endif							/* AA_UNIONFIND_H */
