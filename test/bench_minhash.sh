#!/usr/bin/env bash
# Near-duplicate benchmark (issue 3), called by make bench inside a
# throwaway cluster (PG* variables set).  $1 is the path to ../shared.
#
# Prints, side by side:
#   1. sketch throughput: MB of article text per second in one backend for
#      aa_minhash at k=128 (target >= 50 MB/s), and for aa_simhash;
#   2. the self-join of the Reuters-21578 bodies at similarity 0.8: the
#      GIN-indexed minhash join (verified with aa_jaccard) against the exact
#      all-pairs join (prefix filtering), with time and recall of each;
#   3. on the first 1000 bodies, where all-pairs methods finish: the minhash
#      join, pg_trgm's % join on a gin_trgm_ops index (threshold 0.8) and
#      the naive exact nested loop (aa_jaccard on every pair).
#   4. a synthetic corpus of AA_SYNTH_ARTICLES articles (default 1,000,000;
#      0 skips it) built from the Reuters bodies by synth_duplicates.pl with
#      10% injected near-duplicates (cuts, insertions, word edits): time to
#      sketch it, index it and self-join it, and recall of the injected pairs.
# Recall is against the exact pairs with 5-shingle Jaccard >= 0.8 (and
# >= 0.9); "below" counts returned pairs whose exact Jaccard is < 0.8
# before verification.
set -euo pipefail
shared=${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
reuters=$shared/data/reuters21578
here=$(cd "$(dirname "$0")" && pwd)
synth_articles=${AA_SYNTH_ARTICLES:-1000000}

if ! ls "$reuters"/reut2-*.sgm >/dev/null 2>&1; then
	echo "bench_minhash: Reuters-21578 not found in $reuters; skipped"
	exit 0
fi

db=aa_bench_minhash_$$
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<EOF
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION article_analytics;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE reuters (id int PRIMARY KEY, body text);
\copy reuters FROM PROGRAM 'perl "$here/reuters_bodies.pl" "$reuters"/reut2-*.sgm' WITH (FORMAT csv)
VACUUM ANALYZE reuters;

-- run a query, return its wall time in seconds
CREATE FUNCTION pg_temp.seconds(query text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    EXECUTE query;
    RETURN extract(epoch FROM clock_timestamp() - started);
END \$\$;

\echo
\echo == sketch throughput, one backend, k=128 (best of 3)
CREATE TEMP TABLE speed AS
SELECT 'aa_minhash(body)' AS what,
       (SELECT sum(octet_length(body)) FROM reuters) / 1e6 AS mb,
       least(pg_temp.seconds('SELECT count(aa_minhash(body)) FROM reuters'),
             pg_temp.seconds('SELECT count(aa_minhash(body)) FROM reuters'),
             pg_temp.seconds('SELECT count(aa_minhash(body)) FROM reuters')) AS seconds
UNION ALL
SELECT 'aa_simhash(body)',
       (SELECT sum(octet_length(body)) FROM reuters) / 1e6,
       least(pg_temp.seconds('SELECT count(aa_simhash(body)) FROM reuters'),
             pg_temp.seconds('SELECT count(aa_simhash(body)) FROM reuters'));
SELECT what, round(mb::numeric, 1) AS mb, round(seconds::numeric, 3) AS seconds,
       round((mb / seconds)::numeric, 1) AS mb_per_s, 50 AS target_mb_per_s
FROM speed;

-- the exact pairs (J >= 0.8) of the whole corpus, by prefix filtering
ALTER TABLE reuters ADD COLUMN sig minhash;
UPDATE reuters SET sig = aa_minhash(body);
VACUUM ANALYZE reuters;
CREATE TEMP TABLE timings (method text, scope text, seconds float8);
CREATE TEMP TABLE results (method text, scope text, a int, b int);

CREATE FUNCTION pg_temp.exact_pairs(threshold float8, max_id int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
    DROP TABLE IF EXISTS sh, df, prefix, candidates;
    CREATE TEMP TABLE sh AS
        SELECT id, unnest(aa_shingle_hashes(body)) AS h FROM reuters WHERE id <= max_id;
    CREATE TEMP TABLE df AS SELECT h, count(*) AS df FROM sh GROUP BY h;
    CREATE TEMP TABLE prefix AS
        SELECT id, h FROM (
            SELECT sh.id, sh.h, df.df,
                   row_number() OVER (PARTITION BY sh.id ORDER BY df.df, sh.h) AS rn,
                   count(*) OVER (PARTITION BY sh.id) AS n
            FROM sh JOIN df USING (h)) x
        WHERE rn <= n - ceil(threshold * n) + 1 AND df > 1;
    CREATE TEMP TABLE candidates AS
        SELECT DISTINCT p.id AS a, q.id AS b FROM prefix p JOIN prefix q USING (h) WHERE p.id < q.id;
    INSERT INTO results
        SELECT 'exact all-pairs (prefix filter)', 'all', c.a, c.b
        FROM candidates c JOIN reuters ra ON ra.id = c.a JOIN reuters rb ON rb.id = c.b
        WHERE aa_jaccard(ra.body, rb.body) >= threshold;
END \$\$;

INSERT INTO timings SELECT 'exact all-pairs (prefix filter)', 'all',
    pg_temp.seconds('SELECT pg_temp.exact_pairs(0.8, 2147483647)');
CREATE TEMP TABLE truth AS
SELECT r.a, r.b, aa_jaccard(ra.body, rb.body) AS j
FROM results r JOIN reuters ra ON ra.id = r.a JOIN reuters rb ON rb.id = r.b;

-- the minhash self-join: index build, join, verification
SET article_analytics.similarity_threshold = 0.8;
INSERT INTO timings SELECT 'minhash GIN build', 'all',
    pg_temp.seconds('CREATE INDEX reuters_sig ON reuters USING gin (sig minhash_ops)');
SET enable_seqscan = off;
INSERT INTO timings SELECT 'minhash GIN % join + verify', 'all',
    pg_temp.seconds(\$q\$
        INSERT INTO results
        SELECT 'minhash GIN % join + verify', 'all', a.id, b.id
        FROM reuters a JOIN reuters b ON a.sig % b.sig AND a.id < b.id
        WHERE aa_jaccard(a.body, b.body) >= 0.8 \$q\$);
RESET enable_seqscan;

-- naive exact all-pairs, extrapolated from 20000 random pairs
CREATE TEMP TABLE sample_pairs AS
SELECT (random() * 21577)::int + 1 AS a, (random() * 21577)::int + 1 AS b
FROM generate_series(1, 30000);
DELETE FROM sample_pairs s WHERE NOT EXISTS (SELECT 1 FROM reuters WHERE id = s.a)
    OR NOT EXISTS (SELECT 1 FROM reuters WHERE id = s.b);
CREATE TEMP TABLE naive AS
SELECT count(*) AS pairs,
       pg_temp.seconds('SELECT count(aa_jaccard(ra.body, rb.body)) FROM sample_pairs s
                        JOIN reuters ra ON ra.id = s.a JOIN reuters rb ON rb.id = s.b') AS seconds
FROM sample_pairs;
INSERT INTO timings
SELECT 'exact nested loop (extrapolated)', 'all',
       seconds / pairs * (n * (n - 1) / 2.0)
FROM naive, (SELECT count(*) AS n FROM reuters) c;

-- the first 1000 bodies: pg_trgm and the naive loop finish there
CREATE TEMP TABLE small AS SELECT id, body, sig FROM reuters ORDER BY id LIMIT 1000;
CREATE INDEX ON small USING gin (sig minhash_ops);
CREATE INDEX ON small USING gin (body gin_trgm_ops);
ANALYZE small;
CREATE TEMP TABLE small_truth AS SELECT * FROM truth
WHERE a IN (SELECT id FROM small) AND b IN (SELECT id FROM small);
SET enable_seqscan = off;
INSERT INTO timings SELECT 'minhash GIN % join + verify', '1000',
    pg_temp.seconds(\$q\$
        INSERT INTO results
        SELECT 'minhash GIN % join + verify', '1000', a.id, b.id
        FROM small a JOIN small b ON a.sig % b.sig AND a.id < b.id
        WHERE aa_jaccard(a.body, b.body) >= 0.8 \$q\$);
SET pg_trgm.similarity_threshold = 0.8;
INSERT INTO timings SELECT 'pg_trgm GIN % join (0.8)', '1000',
    pg_temp.seconds(\$q\$
        INSERT INTO results
        SELECT 'pg_trgm GIN % join (0.8)', '1000', a.id, b.id
        FROM small a JOIN small b ON a.body % b.body AND a.id < b.id \$q\$);
RESET enable_seqscan;
INSERT INTO timings SELECT 'exact nested loop', '1000',
    pg_temp.seconds(\$q\$
        INSERT INTO results
        SELECT 'exact nested loop', '1000', a.id, b.id
        FROM small a JOIN small b ON a.id < b.id
        WHERE aa_jaccard(a.body, b.body) >= 0.8 \$q\$);

\echo
\echo == self-join at similarity 0.8 (exact 5-shingle Jaccard is the truth)
WITH counts AS (
    SELECT t.method, t.scope, t.seconds,
           (SELECT count(*) FROM results r WHERE r.method = t.method AND r.scope = t.scope) AS pairs,
           (SELECT count(*) FROM results r JOIN truth USING (a, b)
            WHERE r.method = t.method AND r.scope = t.scope) AS true_pairs,
           (SELECT count(*) FROM results r JOIN truth u USING (a, b)
            WHERE r.method = t.method AND r.scope = t.scope AND u.j >= 0.9) AS true_09,
           CASE t.scope WHEN 'all' THEN (SELECT count(*) FROM truth)
                        ELSE (SELECT count(*) FROM small_truth) END AS truth_pairs,
           CASE t.scope WHEN 'all' THEN (SELECT count(*) FROM truth WHERE j >= 0.9)
                        ELSE (SELECT count(*) FROM small_truth WHERE j >= 0.9) END AS truth_09
    FROM timings t
)
SELECT scope AS bodies, method, round(seconds::numeric, 2) AS seconds,
       round((seconds / nullif((SELECT seconds FROM timings m
                                WHERE m.method = 'minhash GIN % join + verify'
                                  AND m.scope = c.scope), 0))::numeric, 1) AS x_minhash,
       CASE WHEN method LIKE '%build%' OR method LIKE '%extrapolated%' THEN NULL ELSE pairs END AS pairs,
       CASE WHEN method LIKE '%build%' OR method LIKE '%extrapolated%' THEN NULL
            ELSE round(100.0 * true_pairs / nullif(truth_pairs, 0), 1) END AS recall_08,
       CASE WHEN method LIKE '%build%' OR method LIKE '%extrapolated%' THEN NULL
            ELSE round(100.0 * true_09 / nullif(truth_09, 0), 1) END AS recall_09,
       CASE WHEN method LIKE '%build%' OR method LIKE '%extrapolated%' THEN NULL
            ELSE pairs - true_pairs END AS below_08
FROM counts c
ORDER BY scope DESC, seconds;
SELECT (SELECT count(*) FROM truth) AS exact_pairs_08_all,
       (SELECT count(*) FROM truth WHERE j >= 0.9) AS exact_pairs_09_all,
       (SELECT count(*) FROM small_truth) AS exact_pairs_08_first_1000;
EOF

[ "$synth_articles" -gt 0 ] || exit 0
truth=$(mktemp)
trap 'rm -f "$truth"; dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
echo
echo "== synthetic corpus: $synth_articles articles, 10% injected near-duplicates (2 cores)"
started=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<EOF
CREATE TABLE synth (id int, body text);
\copy synth FROM PROGRAM 'perl "$here/synth_duplicates.pl" $synth_articles 0.1 42 "$truth" "$reuters"/reut2-*.sgm' WITH (FORMAT csv)
EOF
echo "generated and loaded in $(( $(date +%s) - started )) s"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<EOF
\pset footer off
CREATE TABLE synth_truth (a int, b int, kind text, rate float8);
\copy synth_truth FROM '$truth' WITH (FORMAT csv)
CREATE FUNCTION pg_temp.seconds(query text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    EXECUTE query;
    RETURN extract(epoch FROM clock_timestamp() - started);
END \$\$;
-- both cores: parallel sketching and a parallel nested-loop join
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 100;
SET parallel_tuple_cost = 0.01;
SET maintenance_work_mem = '512MB';
SET article_analytics.similarity_threshold = 0.8;
CREATE TEMP TABLE steps (step text, seconds float8);
INSERT INTO steps SELECT 'sketch (CREATE TABLE AS aa_minhash)', pg_temp.seconds(
    'CREATE TABLE synth_sig AS SELECT id, aa_minhash(body) AS sig FROM synth');
INSERT INTO steps SELECT 'GIN index build (32 bands x 4 rows)', pg_temp.seconds(
    'CREATE INDEX ON synth_sig USING gin (sig minhash_ops)');
VACUUM ANALYZE synth_sig;
EXPLAIN (COSTS OFF) SELECT a.id AS a, b.id AS b
FROM synth_sig a JOIN synth_sig b ON a.sig % b.sig AND a.id < b.id;
INSERT INTO steps SELECT 'self-join a.sig % b.sig', pg_temp.seconds(
    'CREATE TABLE synth_pairs AS SELECT a.id AS a, b.id AS b
     FROM synth_sig a JOIN synth_sig b ON a.sig % b.sig AND a.id < b.id');
SELECT step, round(seconds::numeric, 1) AS seconds FROM steps
UNION ALL SELECT 'total', round(sum(seconds)::numeric, 1) FROM steps;
SELECT round(sum(octet_length(body)) / 1e6) AS corpus_mb,
       round(sum(octet_length(body)) / 1e6 / (SELECT seconds FROM steps WHERE step LIKE 'sketch%')) AS sketch_mb_per_s
FROM synth;
-- exact Jaccard of the injected pairs, to tell which the 0.8 threshold should find
CREATE TEMP TABLE judged AS
SELECT t.*, aa_jaccard(x.body, y.body) AS j,
       EXISTS (SELECT 1 FROM synth_pairs p WHERE p.a = t.a AND p.b = t.b) AS found
FROM synth_truth t JOIN synth x ON x.id = t.a JOIN synth y ON y.id = t.b;
SELECT coalesce(kind, 'all') AS kind, count(*) AS injected, round(avg(j)::numeric, 3) AS mean_exact_j,
       count(*) FILTER (WHERE found) AS found,
       count(*) FILTER (WHERE j >= 0.8) AS with_j_08,
       round(100.0 * count(*) FILTER (WHERE found AND j >= 0.8) / nullif(count(*) FILTER (WHERE j >= 0.8), 0), 2) AS recall_j_08,
       round(100.0 * count(*) FILTER (WHERE found AND j >= 0.9) / nullif(count(*) FILTER (WHERE j >= 0.9), 0), 2) AS recall_j_09
FROM judged GROUP BY ROLLUP (kind) ORDER BY kind NULLS LAST;
SELECT count(*) AS pairs_returned,
       count(*) FILTER (WHERE t.a IS NULL) AS not_injected
FROM synth_pairs p LEFT JOIN synth_truth t USING (a, b);
EOF
