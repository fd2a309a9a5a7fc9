-- Near-duplicate detection: minhash sketches, similarity, the indexed
-- join, band keys, simhash, clusters and shared passages.
-- The seed articles are read from test/data (pg_regress runs at the top).
\set s000 `cat test/data/000_f964a19d4597f10d.txt`
\set s001 `cat test/data/001_41966bbbe1a97b2f.txt`
\set s002 `cat test/data/002_796262f1a52646a1.txt`
\set s003 `cat test/data/003_98a0563360ab9885.txt`
-- a schema of its own, so table names do not meet other tests'
CREATE SCHEMA minhash_test;
SET search_path = minhash_test, public;

CREATE TABLE seeds (id int PRIMARY KEY, body text,
                    sig minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED);
INSERT INTO seeds (id, body) VALUES (0, :'s000'), (1, :'s001'), (2, :'s002'), (3, :'s003');

-- The sketch: parameters and distinct shingle counts
SELECT id, aa_minhash_num_perm(sig) AS k, aa_minhash_num_shingles(sig) AS shingles,
       left(sig::text, 40) AS text_form_start
FROM seeds ORDER BY id;

-- Every pair: estimated and exact Jaccard, containment both ways
SELECT a.id AS a, b.id AS b,
       round(aa_similarity(a.sig, b.sig)::numeric, 2) AS est_j,
       round(aa_jaccard(a.body, b.body)::numeric, 2) AS exact_j,
       round(aa_containment(a.sig, b.sig)::numeric, 2) AS est_a_in_b,
       round(aa_containment(a.body, b.body)::numeric, 2) AS exact_a_in_b,
       round(aa_containment(b.sig, a.sig)::numeric, 2) AS est_b_in_a,
       round(aa_containment(b.body, a.body)::numeric, 2) AS exact_b_in_a
FROM seeds a JOIN seeds b ON a.id < b.id ORDER BY 1, 2;

-- 002/003 are flagged as duplicates by containment; 000 pairs with nothing
SELECT a.id AS a, b.id AS b
FROM seeds a JOIN seeds b ON a.id < b.id
WHERE greatest(aa_containment(a.sig, b.sig), aa_containment(b.sig, a.sig)) >= 0.5
ORDER BY 1, 2;
SELECT count(*) AS pairs_with_000 FROM seeds a JOIN seeds b ON a.id = 0 AND b.id <> 0
WHERE aa_similarity(a.sig, b.sig) > 0.05 OR aa_containment(a.sig, b.sig) > 0.05
   OR aa_containment(b.sig, a.sig) > 0.05;

-- Shared passages: 001/002 share the quotes, 003/002 the paragraphs
SELECT p.a_start, p.a_length, p.b_start, p.b_length, p.passage
FROM seeds a, seeds b, aa_shared_passages(a.body, b.body) p
WHERE a.id = 1 AND b.id = 2;
SELECT p.a_start, p.a_length, p.b_start, p.b_length, left(p.passage, 70) AS passage_start
FROM seeds a, seeds b, aa_shared_passages(a.body, b.body) p
WHERE a.id = 3 AND b.id = 2;
-- positions are substr positions in each document
SELECT bool_and(substr(a.body, p.a_start, p.a_length) = p.passage) AS a_positions_ok,
       bool_and(aa_jaccard(substr(b.body, p.b_start, p.b_length), p.passage, 1) = 1) AS b_positions_ok,
       count(*) AS passages
FROM seeds a, seeds b, aa_shared_passages(a.body, b.body) p
WHERE a.id = 3 AND b.id = 2;
SELECT count(*) AS passages_000_002 FROM seeds a, seeds b, aa_shared_passages(a.body, b.body) p
WHERE a.id = 0 AND b.id = 2;
SELECT * FROM aa_shared_passages('One two three four five six seven eight.',
                                 '"one TWO three, four five six seven eight" he said', 8);
SELECT * FROM aa_shared_passages('one two three', 'one two three', 4);

-- Normalisation: case, punctuation, clitics, U.S./US, hyphens do not matter
SELECT aa_jaccard('The U.S.-led forces'' "offensive" is running out of steam.',
                  'the US led forces offensive is running out of steam') AS normalised_j;
-- Short and empty documents
SELECT aa_minhash_num_shingles(aa_minhash('Kabul')) AS one_word,
       aa_minhash_num_shingles(aa_minhash('')) AS empty,
       aa_minhash_num_shingles(aa_minhash('... -- !!')) AS punctuation_only;
SELECT aa_similarity(aa_minhash(''), aa_minhash('')) AS empty_vs_empty,
       aa_jaccard('', '') AS exact_empty,
       aa_similarity(aa_minhash('Kabul'), aa_minhash('KABUL.')) AS one_word_same;
SELECT aa_minhash(NULL) IS NULL AS null_in_null_out;

-- Text form round trip, and the binary form through COPY
SELECT count(*) AS text_round_trip_ok FROM seeds WHERE sig::text::minhash::text = sig::text;
SELECT octet_length(minhash_send(sig)) AS binary_length FROM seeds WHERE id = 0;
SELECT 'v1;k=2;n=3;seed=7;shingles=9;00000001FFFFFFFF'::minhash;
CREATE TABLE sig_copy (sig minhash);
\copy (SELECT sig FROM seeds ORDER BY id) TO 'results/minhash_binary.dat' WITH (FORMAT binary)
\copy sig_copy FROM 'results/minhash_binary.dat' WITH (FORMAT binary)
SELECT count(*) AS binary_round_trip_ok FROM sig_copy c JOIN seeds s ON c.sig::text = s.sig::text;

-- Malformed text input: 22P02
\set VERBOSITY default
SELECT 'garbage'::minhash;
SELECT 'v1;k=2;n=3;seed=7;shingles=9;00000001'::minhash;
SELECT 'v1;k=2;n=3;seed=7;shingles=9;00000001FFFFFFFZ'::minhash;
SELECT 'v1;k=0;n=3;seed=7;shingles=9;'::minhash;
SELECT 'v2;k=1;n=3;seed=7;shingles=9;00000000'::minhash;
DO $$
DECLARE
    inputs text[] := ARRAY['', 'v1', 'v1;k=1;n=1;seed=-1;shingles=0;00000000',
                           'v1;k=1;n=99;seed=0;shingles=0;00000000',
                           'v1;k=1;n=1;seed=0;shingles=0;00000000 '];
    input text;
BEGIN
    FOREACH input IN ARRAY inputs LOOP
        BEGIN
            PERFORM input::minhash;
            RAISE NOTICE 'accepted: %', input;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% for "%"', SQLSTATE, input;
        END;
    END LOOP;
END $$;

-- Sketches with different parameters cannot be compared: 22023
SELECT aa_similarity(aa_minhash('a b c d e f'), aa_minhash('a b c d e f', 64));
SELECT aa_containment(aa_minhash('a b c d e f'), aa_minhash('a b c d e f', 128, 3));
DO $$
BEGIN
    PERFORM aa_minhash('a b c d e f') % aa_minhash('a b c d e f', 256);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'operator: %', SQLSTATE;
END $$;
-- Parameters out of range: 22023
SELECT aa_minhash('text', 0);
SELECT aa_minhash('text', 128, 33);
SELECT aa_jaccard('a', 'b', 0);
SELECT * FROM aa_shared_passages('a', 'b', 0);
SELECT aa_bands(aa_minhash('a b c'), 64, 4);

-- LSH band keys: num_perm / bands rows by default
SELECT array_length(aa_bands(sig), 1) AS bands_default,
       array_length(aa_bands(sig, 16), 1) AS bands_16,
       aa_bands(sig) = aa_bands(aa_minhash(body)) AS deterministic
FROM seeds WHERE id = 2;
-- The S-curve of the default index banding (32 bands of 4 rows)
SELECT s, round(aa_lsh_probability(s, 32, 4)::numeric, 4) AS p_candidate
FROM unnest(ARRAY[0.2, 0.3, 0.5, 0.7, 0.8, 0.9]) AS s;
SELECT aa_lsh_probability(1.5);
SELECT aa_lsh_probability('NaN');
SELECT aa_lsh_probability(0.5, 100000, 1);

-- The similarity operator and its threshold setting
SELECT (SELECT sig FROM seeds WHERE id = 2) % (SELECT sig FROM seeds WHERE id = 3) AS at_08;
SHOW article_analytics.similarity_threshold;
SET article_analytics.similarity_threshold = 0.3;
SELECT (SELECT sig FROM seeds WHERE id = 2) % (SELECT sig FROM seeds WHERE id = 3) AS at_03;
RESET article_analytics.similarity_threshold;
SHOW article_analytics.similarity_threshold;
SET article_analytics.similarity_threshold = 1.5;

-- The indexed self-join: a small corpus of seeds and edited copies
CREATE TABLE articles (id int, body text,
                       sig minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED);
INSERT INTO articles (id, body)
SELECT s.id * 10 + v, CASE v
    WHEN 0 THEN s.body
    WHEN 1 THEN s.body || ' Reporting by the desk.'                 -- appended line
    WHEN 2 THEN replace(s.body, 'Taliban', 'taliban')                -- case only
    WHEN 3 THEN regexp_replace(s.body, '\. [^.]*$', '.')             -- last sentence cut
    END
FROM seeds s, generate_series(0, 3) v;
INSERT INTO articles (id, body) VALUES (100, ''), (101, 'Kabul');
CREATE INDEX articles_sig ON articles USING gin (sig minhash_ops);
ANALYZE articles;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT a.id, b.id FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
CREATE TABLE indexed_pairs AS
SELECT a.id AS a, b.id AS b FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TABLE scanned_pairs AS
SELECT a.id AS a, b.id AS b FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT (SELECT count(*) FROM indexed_pairs) AS indexed,
       (SELECT count(*) FROM scanned_pairs) AS scanned,
       (SELECT count(*) FROM (SELECT * FROM indexed_pairs EXCEPT SELECT * FROM scanned_pairs) d) +
       (SELECT count(*) FROM (SELECT * FROM scanned_pairs EXCEPT SELECT * FROM indexed_pairs) d) AS differences;
-- Below 1 - bands/num_perm = 0.75 the index is approximate (the S-curve):
-- at 0.3 a scan pairs 002 and 003 (estimated J 0.36) but no band of theirs
-- matches (each band does with chance 0.36^4), so the index misses them.
SET article_analytics.similarity_threshold = 0.3;
SET enable_seqscan = off;
SELECT count(*) AS indexed_at_03, count(*) FILTER (WHERE a.id / 10 <> b.id / 10) AS cross_seed
FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS scanned_at_03, count(*) FILTER (WHERE a.id / 10 <> b.id / 10) AS cross_seed
FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET article_analytics.similarity_threshold;
-- every pair is a copy of the same seed
SELECT count(*) FILTER (WHERE a / 10 <> b / 10) AS cross_seed_pairs FROM indexed_pairs;

-- Opclass options: bands and rows per index
CREATE INDEX articles_sig_16x8 ON articles USING gin (sig minhash_ops (bands = 16, rows = 8));
DROP INDEX articles_sig;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT a.id, b.id FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
SELECT count(*) AS pairs_16x8,
       count(*) FILTER (WHERE (a.id, b.id) NOT IN (SELECT a, b FROM scanned_pairs)) AS not_in_scan
FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id;
RESET enable_seqscan;
CREATE INDEX articles_sig_bad ON articles USING gin (sig minhash_ops (bands = 64, rows = 4));
CREATE INDEX articles_sig_zero ON articles USING gin (sig minhash_ops (bands = 0));

-- Clusters from verified pairs
SELECT * FROM aa_clusters((SELECT array_agg(a ORDER BY a, b) FROM indexed_pairs)::bigint[],
                          (SELECT array_agg(b ORDER BY a, b) FROM indexed_pairs)::bigint[])
ORDER BY cluster_id, id;
SELECT * FROM aa_clusters(ARRAY[5, 3, NULL, 7]::bigint[], ARRAY[3, 1, 9, 7]::bigint[]);
SELECT * FROM aa_clusters('{}'::bigint[], '{}'::bigint[]);
SELECT * FROM aa_clusters(ARRAY[1]::bigint[], ARRAY[1, 2]::bigint[]);

-- Simhash: copies are close, other stories far
SELECT a.id AS a, b.id AS b, aa_hamming(aa_simhash(a.body), aa_simhash(b.body)) AS hamming
FROM seeds a JOIN seeds b ON a.id < b.id ORDER BY 1, 2;
SELECT aa_hamming(aa_simhash(body), aa_simhash(body || ' Reporting by the desk.')) AS appended_line
FROM seeds WHERE id = 2;
SELECT aa_simhash('') AS empty, aa_hamming(0, -1) AS all_bits;

-- The band-table form: an equi-join on band keys (what a distributed
-- engine can co-locate) finds the same candidates as the index
CREATE TABLE article_bands AS
SELECT id, band, key FROM articles, unnest(aa_bands(sig, 32, 4)) WITH ORDINALITY AS b(key, band);
SELECT count(DISTINCT (x.id, y.id)) AS band_candidates,
       count(DISTINCT (x.id, y.id)) FILTER (WHERE aa_similarity(a.sig, b.sig) >= 0.8) AS verified_at_08,
       (SELECT count(*) FROM indexed_pairs) AS index_pairs
FROM article_bands x
JOIN article_bands y ON x.band = y.band AND x.key = y.key AND x.id < y.id
JOIN articles a ON a.id = x.id JOIN articles b ON b.id = y.id;

-- A LATIN1 database sketches and aligns the same text the same way
SELECT aa_minhash('Les écoles françaises sont fermées à Zürich depuis lundi, a dit le ministère.')::text AS utf8_sig \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS aa_minhash_latin1;
RESET client_min_messages;
CREATE DATABASE aa_minhash_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c aa_minhash_latin1
\encoding UTF8
CREATE EXTENSION article_analytics;
SELECT aa_minhash('Les écoles françaises sont fermées à Zürich depuis lundi, a dit le ministère.')::text = :'utf8_sig' AS same_sketch;
SELECT * FROM aa_shared_passages('Déjà vu : les écoles françaises sont fermées à Zürich depuis lundi.',
                                 'Selon Le Monde, les ÉCOLES françaises sont fermées à Zürich depuis lundi soir.', 5);
\c contrib_regression
DROP DATABASE aa_minhash_latin1;
SET client_min_messages = warning;
DROP SCHEMA minhash_test CASCADE;
