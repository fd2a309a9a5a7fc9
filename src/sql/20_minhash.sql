-- Near-duplicates: minhash sketches, similarity, the indexed join, ----------
-- band keys, simhash, clusters and shared passages.
--
-- Shingles are runs of shingle_size consecutive words of the shared
-- tokenizer, lower-cased, punctuation and clitics dropped, stopwords kept
-- (see src/core/shingle.h).  The default shingle size is 5 words: one
-- edited word changes at most 5 shingles, yet 5-word runs are rare enough
-- across unrelated wire stories that chance overlap stays near zero (on
-- Reuters-21578, unrelated pairs share almost no 5-shingles).

CREATE TYPE minhash;

CREATE FUNCTION minhash_in(cstring) RETURNS minhash
AS 'MODULE_PATHNAME', 'aa_minhash_in'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION minhash_out(minhash) RETURNS cstring
AS 'MODULE_PATHNAME', 'aa_minhash_out'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION minhash_recv(internal) RETURNS minhash
AS 'MODULE_PATHNAME', 'aa_minhash_recv'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION minhash_send(minhash) RETURNS bytea
AS 'MODULE_PATHNAME', 'aa_minhash_send'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE TYPE minhash (
    INPUT = minhash_in,
    OUTPUT = minhash_out,
    RECEIVE = minhash_recv,
    SEND = minhash_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);

COMMENT ON TYPE minhash IS
'MinHash sketch of a document''s word shingles: format version, num_perm, shingle size, seed, distinct shingle count and num_perm 32-bit slots';

CREATE FUNCTION aa_minhash(document text, num_perm int DEFAULT 128,
                           shingle_size int DEFAULT 5)
RETURNS minhash
AS 'MODULE_PATHNAME', 'aa_minhash'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_minhash(text, int, int) IS
'MinHash sketch (one-permutation hashing, optimal densification) of the document''s word shingles';

CREATE FUNCTION aa_similarity(a minhash, b minhash) RETURNS float8
AS 'MODULE_PATHNAME', 'aa_similarity'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_similarity(minhash, minhash) IS
'estimated Jaccard similarity of the two documents'' shingle sets (standard error sqrt(J(1-J)/num_perm))';

CREATE FUNCTION aa_containment(a minhash, b minhash) RETURNS float8
AS 'MODULE_PATHNAME', 'aa_containment_minhash'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_containment(minhash, minhash) IS
'estimated share of a''s shingles that are also in b';

CREATE FUNCTION aa_jaccard(a text, b text, shingle_size int DEFAULT 5)
RETURNS float8
AS 'MODULE_PATHNAME', 'aa_jaccard'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_jaccard(text, text, int) IS
'exact Jaccard similarity of the two texts'' shingle sets (same shingling as aa_minhash)';

CREATE FUNCTION aa_containment(a text, b text, shingle_size int DEFAULT 5)
RETURNS float8
AS 'MODULE_PATHNAME', 'aa_containment_text'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_containment(text, text, int) IS
'exact share of a''s shingles that are also in b';

CREATE FUNCTION aa_shingle_hashes(document text, shingle_size int DEFAULT 5)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'aa_shingle_hashes'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_shingle_hashes(text, int) IS
'the distinct 64-bit hashes of the document''s shingles, ascending: the exact set behind aa_jaccard';

CREATE FUNCTION aa_minhash_num_perm(sketch minhash) RETURNS int
AS 'MODULE_PATHNAME', 'aa_minhash_num_perm'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_num_shingles(sketch minhash) RETURNS bigint
AS 'MODULE_PATHNAME', 'aa_minhash_num_shingles'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- The similarity operator reads article_analytics.similarity_threshold,
-- hence STABLE.
CREATE FUNCTION aa_minhash_similar(minhash, minhash) RETURNS bool
AS 'MODULE_PATHNAME', 'aa_minhash_similar'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE OPERATOR % (
    LEFTARG = minhash,
    RIGHTARG = minhash,
    PROCEDURE = aa_minhash_similar,
    COMMUTATOR = '%',
    RESTRICT = matchingsel,
    JOIN = matchingjoinsel
);

COMMENT ON OPERATOR % (minhash, minhash) IS
'estimated similarity is at least article_analytics.similarity_threshold';

CREATE FUNCTION aa_simhash(document text, shingle_size int DEFAULT 3)
RETURNS bigint
AS 'MODULE_PATHNAME', 'aa_simhash'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_simhash(text, int) IS
'64-bit simhash of the document''s distinct word shingles';

CREATE FUNCTION aa_hamming(a bigint, b bigint) RETURNS int
AS 'MODULE_PATHNAME', 'aa_hamming'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_hamming(bigint, bigint) IS
'number of differing bits of two 64-bit fingerprints';

CREATE FUNCTION aa_bands(sketch minhash, bands int DEFAULT 32, rows int DEFAULT 0)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'aa_bands'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_bands(minhash, int, int) IS
'LSH band keys (rows 0: num_perm / bands); element i is band i, equal keys mean an equal band';

CREATE FUNCTION aa_lsh_probability(similarity float8, bands int DEFAULT 32,
                                   rows int DEFAULT 4)
RETURNS float8
AS 'MODULE_PATHNAME', 'aa_lsh_probability'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_lsh_probability(float8, int, int) IS
'the LSH S-curve: chance that a pair of this true similarity shares a band, 1 - (1 - s^rows)^bands';

CREATE FUNCTION aa_clusters(a bigint[], b bigint[],
                            OUT id bigint, OUT cluster_id bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_clusters'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 1000;

COMMENT ON FUNCTION aa_clusters(bigint[], bigint[]) IS
'connected components of the pairs (a[i], b[i]): each id once, with the smallest id of its cluster';

CREATE FUNCTION aa_shared_passages(a text, b text, min_words int DEFAULT 8,
                                   OUT a_start int, OUT a_length int,
                                   OUT b_start int, OUT b_length int,
                                   OUT passage text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_shared_passages'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION aa_shared_passages(text, text, int) IS
'runs of at least min_words words found in both texts, in a''s order; positions as substr counts them';

-- GIN operator class: one index key per LSH band.
CREATE FUNCTION aa_minhash_gin_extract_value(minhash, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'aa_minhash_gin_extract_value'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_gin_extract_query(minhash, internal, int2, internal,
                                             internal, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'aa_minhash_gin_extract_query'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_gin_compare_partial(int8, int8, int2, internal)
RETURNS int4
AS 'MODULE_PATHNAME', 'aa_minhash_gin_compare_partial'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_gin_consistent(internal, int2, minhash, int4,
                                          internal, internal, internal, internal)
RETURNS bool
AS 'MODULE_PATHNAME', 'aa_minhash_gin_consistent'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_gin_tri_consistent(internal, int2, minhash, int4,
                                              internal, internal, internal)
RETURNS "char"
AS 'MODULE_PATHNAME', 'aa_minhash_gin_tri_consistent'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION aa_minhash_gin_options(internal)
RETURNS void
AS 'MODULE_PATHNAME', 'aa_minhash_gin_options'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR CLASS minhash_ops
FOR TYPE minhash USING gin AS
    OPERATOR 1 % (minhash, minhash),
    FUNCTION 1 btint8cmp(int8, int8),
    FUNCTION 2 aa_minhash_gin_extract_value(minhash, internal, internal),
    FUNCTION 3 aa_minhash_gin_extract_query(minhash, internal, int2, internal,
                                            internal, internal, internal),
    FUNCTION 4 aa_minhash_gin_consistent(internal, int2, minhash, int4,
                                         internal, internal, internal, internal),
    FUNCTION 5 aa_minhash_gin_compare_partial(int8, int8, int2, internal),
    FUNCTION 6 aa_minhash_gin_tri_consistent(internal, int2, minhash, int4,
                                             internal, internal, internal),
    FUNCTION 7 aa_minhash_gin_options(internal),
    STORAGE int8;
