#!/usr/bin/env bash
# make load: article_analytics under concurrent load, with pgbench.
#
# 8 clients for AA_LOAD_SECONDS (default 120) run a mix of
#   insert   (weight 2) an article into a table whose minhash column is
#            GENERATED (aa_minhash fires on every insert), with its GIN index
#            (one in five a copy of a preloaded article, the rest new text);
#   entities (weight 4) aa_entities on a corpus article, checked against the
#            answer a single client computed before the run;
#   similar  (weight 4) an indexed similarity look-up (sig % probe) over the
#            preloaded rows, checked the same way;
#   refresh  (weight 1) CALL aa_refresh on the growing table, at most 200
#            articles a call (callers that find it busy return at once).
# A check that disagrees raises an error, which pgbench counts as a failed
# transaction.  Requirements, each printed with its figure:
#   - no failed transaction and no deadlock (pg_stat_database.deadlocks);
#   - the side tables built by the concurrent incremental refreshes are
#     identical to what a single client computes from the final table with
#     the functions themselves (aa_entities, aa_term_counts, the indexed %
#     join and aa_clusters);
#   - backend memory stays flat: the private resident memory (RssAnon) of
#     every pgbench backend, sampled after a quarter of the run, after 60%
#     and just before the end, grows from the first sample to the last by
#     at most AA_LOAD_MEAN_GROWTH_KB (default 2048 kB) on average over the
#     backends, and by at most AA_LOAD_MAX_GROWTH_KB (default 16384 kB) in
#     any one.  (A backend's resident memory swings by several MB as it
#     runs refresh batches, sorts and GIN pending-list clean-ups, up and
#     down; a leak of 1 kB per transaction would add some 20 MB to every
#     backend in two minutes.)
# It also prints the TPS of the mix with 1 client and with 8.
#
# Runs inside a cluster of its own: make load (or
# bash test/with_cluster.sh bash test/load.sh).
set -u
cd "$(dirname "$0")/.."
seconds=${AA_LOAD_SECONDS:-120}
clients=${AA_LOAD_CLIENTS:-8}
max_growth=${AA_LOAD_MAX_GROWTH_KB:-16384}
mean_limit=${AA_LOAD_MEAN_GROWTH_KB:-2048}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }
export PGOPTIONS="-c client_min_messages=warning"

# --- set-up: a corpus of 500 article-sized texts, 2,000 preloaded rows -------
q <<SQL || exit 1
CREATE EXTENSION IF NOT EXISTS article_analytics;
DROP TABLE IF EXISTS load_articles, load_copy, load_corpus, load_expected;
SELECT aa_refresh_forget(c) FROM (VALUES ('load_articles'), ('load_copy')) v(c)
WHERE to_regclass(c) IS NOT NULL;
DELETE FROM aa_refresh_runs;
CREATE TABLE load_seed (n int, body text);
INSERT INTO load_seed VALUES
    (0, \$seed\$$(cat test/data/000_*.txt)\$seed\$),
    (1, \$seed\$$(cat test/data/001_*.txt)\$seed\$),
    (2, \$seed\$$(cat test/data/002_*.txt)\$seed\$),
    (3, \$seed\$$(cat test/data/003_*.txt)\$seed\$);
-- corpus: 800-character slices of the seed articles at varied offsets
CREATE TABLE load_corpus (n int PRIMARY KEY, body text, sig minhash);
INSERT INTO load_corpus
SELECT i, substr(s.body, 1 + (i * 97) % greatest(1, length(s.body) - 800), 800), NULL
FROM generate_series(1, 500) i JOIN load_seed s ON s.n = i % 4;
UPDATE load_corpus SET sig = aa_minhash(body);
DROP TABLE load_seed;
CREATE TABLE load_articles (
    id        bigserial PRIMARY KEY,
    published timestamptz NOT NULL DEFAULT now(),
    body      text,
    sig       minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED
);
CREATE INDEX ON load_articles USING gin (sig minhash_ops);
INSERT INTO load_articles (published, body)
SELECT timestamptz '2024-01-01' + (i % 30) * interval '1 day',
       body || ' (preloaded ' || i || ')'
FROM generate_series(1, 2000) i JOIN load_corpus c ON c.n = 1 + i % 500;
ANALYZE load_articles;
-- what a single client answers, to check every concurrent answer against
CREATE TABLE load_expected AS
SELECT c.n,
       (SELECT string_agg(e.entity || '/' || e.type || '/' || e.start_pos, ' ')
        FROM aa_entities(c.body) e) AS entities,
       (SELECT count(*) FROM load_articles a WHERE a.id <= 2000 AND a.sig % c.sig) AS n_similar
FROM load_corpus c;
ALTER TABLE load_expected ADD PRIMARY KEY (n);
CREATE FUNCTION load_check_entities(k int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE got text;
BEGIN
    SELECT string_agg(e.entity || '/' || e.type || '/' || e.start_pos, ' ') INTO got
    FROM load_corpus c, aa_entities(c.body) e WHERE c.n = k;
    IF got IS DISTINCT FROM (SELECT entities FROM load_expected WHERE n = k) THEN
        RAISE EXCEPTION 'aa_entities of corpus % differs from the single-client answer', k;
    END IF;
END \$\$;
CREATE FUNCTION load_check_similar(k int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE got bigint;
BEGIN
    SELECT count(*) INTO got FROM load_articles a, load_corpus c
    WHERE c.n = k AND a.id <= 2000 AND a.sig % c.sig;
    IF got IS DISTINCT FROM (SELECT n_similar FROM load_expected WHERE n = k) THEN
        RAISE EXCEPTION 'similar articles of corpus %: % instead of %', k, got,
            (SELECT n_similar FROM load_expected WHERE n = k);
    END IF;
END \$\$;
SQL
echo "== set-up: 500 corpus texts, 2000 preloaded articles; first refresh"
start=$(date +%s)
q -c "CALL aa_refresh('load_articles', date_column => 'published', batch_size => 200)" || exit 1
echo "   first refresh of 2000 articles: $(( $(date +%s) - start )) s"

# one insert in five is a copy of a corpus text (a duplicate of preloaded
# articles); the others are corpus texts with their words shuffled (new)
cat > "$work/insert.sql" <<'EOF'
\set n random(1, 500)
\set copy random(1, 5)
INSERT INTO load_articles (body) SELECT CASE WHEN :copy = 1 THEN body || ' (client ' || :client_id || ', ' || random() || ')' ELSE (SELECT string_agg(w, ' ' ORDER BY random()) FROM regexp_split_to_table(body, '\s+') w) END FROM load_corpus WHERE n = :n;
EOF
cat > "$work/entities.sql" <<'EOF'
\set n random(1, 500)
SELECT load_check_entities(:n);
EOF
cat > "$work/similar.sql" <<'EOF'
\set n random(1, 500)
SELECT load_check_similar(:n);
EOF
cat > "$work/refresh.sql" <<'EOF'
CALL aa_refresh('load_articles', date_column => 'published', batch_size => 50, max_rows => 200);
EOF
mix=(-f "$work/insert.sql@2" -f "$work/entities.sql@4" -f "$work/similar.sql@4" -f "$work/refresh.sql@1")

deadlocks() { q -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
rss_of_pgbench() {	# pid:RssAnon(kB) of each pgbench backend
	for pid in $(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'"); do
		kb=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$pid"/status 2>/dev/null)
		[ -n "$kb" ] && echo "$pid:$kb"
	done
}

# --- one client, a quarter of the time: the reference rate -------------------
single=$((seconds / 4 < 15 ? 15 : seconds / 4))
echo "== 1 client, ${single} s"
pgbench -n -c 1 -j 1 -T "$single" "${mix[@]}" > "$work/single.log" 2>&1
rc1=$?
grep -E '^(number of transactions actually processed|number of failed|tps)' "$work/single.log" | sed 's/^/   /'
[ $rc1 -eq 0 ] || { bad "the single-client run failed"; tail -5 "$work/single.log"; }

# --- 8 clients --------------------------------------------------------------
d0=$(deadlocks)
echo "== $clients clients, ${seconds} s"
pgbench -n -c "$clients" -j 2 -T "$seconds" -P $((seconds / 6 < 5 ? 5 : seconds / 6)) "${mix[@]}" > "$work/multi.log" 2>&1 &
bench=$!
t1=$((seconds / 4)); t2=$((seconds * 6 / 10)); t3=$((seconds - 5))
sleep $t1
rss_of_pgbench > "$work/rss_early"
sleep $((t2 - t1))
rss_of_pgbench > "$work/rss_mid"
sleep $((t3 - t2))
rss_of_pgbench > "$work/rss_late"
wait $bench
rcn=$?
grep -E '^(progress|number of transactions actually processed|number of failed|latency average|tps)' "$work/multi.log" | sed 's/^/   /'
grep -E '^ +[0-9.]+ +[0-9]+ +[0-9]+ +' "$work/multi.log" > /dev/null 2>&1 || true
sed -n '/^SQL script 1/,$p' "$work/multi.log" | grep -E '^(SQL script|  - number of transactions|  - number of failed)' | sed 's/^/   /'
[ $rcn -eq 0 ] || { bad "pgbench with $clients clients exited with status $rcn"; grep -iE 'error|abort' "$work/multi.log" | head -5; }
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/multi.log")
[ "${failed:-1}" = 0 ] || bad "failed transactions: ${failed:-unknown}"
d1=$(deadlocks)
echo "   deadlocks during the run: $((d1 - d0))"
[ "$((d1 - d0))" -eq 0 ] || bad "deadlocks"

# memory of each backend at the three samples
growth_max=0
growth_sum=0
backends=0
while IFS=: read -r pid early; do
	mid=$(grep "^$pid:" "$work/rss_mid" | cut -d: -f2)
	late=$(grep "^$pid:" "$work/rss_late" | cut -d: -f2)
	[ -n "$mid" ] && [ -n "$late" ] || continue
	g=$((late - early))
	echo "   backend $pid: RssAnon ${early} kB at ${t1} s, ${mid} kB at ${t2} s, ${late} kB at ${t3} s (growth ${g} kB)"
	[ $g -gt $growth_max ] && growth_max=$g
	growth_sum=$((growth_sum + g)); backends=$((backends + 1))
done < "$work/rss_early"
growth_mean=$((backends > 0 ? growth_sum / backends : 0))
echo "   mean growth ${growth_mean} kB over ${backends} backends, largest ${growth_max} kB"
[ "$backends" -gt 0 ] || bad "no pgbench backend found to measure"
if [ "$seconds" -lt 90 ]; then
	# the first sample would fall within the backends' warm-up
	echo "   (a run under 90 s is too short to judge memory; not checked)"
else
	[ "$growth_mean" -le "$mean_limit" ] || bad "backends grew by ${growth_mean} kB on average (limit ${mean_limit} kB)"
	[ "$growth_max" -le "$max_growth" ] || bad "a backend grew by ${growth_max} kB (limit ${max_growth} kB)"
fi

# --- identical results: incremental under load vs a single client ---------
# The side tables the concurrent, incremental refreshes built must hold
# exactly what one client computes from the final table with the functions
# themselves: aa_entities and aa_term_counts of every article, the pairs the
# GIN-indexed % join finds (same threshold, 0.8), and their clusters.
echo "== catching up, then comparing with what a single client computes"
q -c "CALL aa_refresh('load_articles', date_column => 'published', batch_size => 500)" || bad "the catch-up refresh failed"
start=$(date +%s)
out=$(q <<'SQL'
SELECT 'articles ' || count(*) FROM load_articles;
SELECT 'runs ' || string_agg(status || '=' || n, ' ' ORDER BY status)
FROM (SELECT status, count(*) AS n FROM aa_refresh_runs
      WHERE source = 'load_articles'::regclass GROUP BY 1) s;
SET article_analytics.similarity_threshold = 0.8;
CREATE TEMP TABLE single_pairs AS
SELECT a.id AS a, b.id AS b, aa_similarity(a.sig, b.sig) AS similarity
FROM load_articles a JOIN load_articles b ON a.sig % b.sig AND a.id < b.id
WHERE aa_minhash_num_shingles(a.sig) > 0;
CREATE TEMP VIEW side AS
SELECT 'entities' AS what, 'refresh' AS how, article_id || '/' || ordinal || '/' || entity || '/' || type || '/' || canonical AS v
FROM aa_article_entities WHERE source = 'load_articles'::regclass
UNION ALL SELECT 'entities', 'single', a.id || '/' || e.ord || '/' || e.entity || '/' || e.type || '/' || e.canonical
FROM load_articles a, aa_entities(a.body) WITH ORDINALITY AS e(entity, type, start_pos, length, canonical, ord)
UNION ALL SELECT 'terms', 'refresh', article_id || '/' || term || '/' || count FROM aa_article_terms
WHERE source = 'load_articles'::regclass
UNION ALL SELECT 'terms', 'single', a.id || '/' || t.term || '/' || t.count
FROM load_articles a, aa_term_counts(a.body) t
UNION ALL SELECT 'pairs', 'refresh', article_a || '/' || article_b || '/' || similarity FROM aa_duplicate_pairs
WHERE source = 'load_articles'::regclass
UNION ALL SELECT 'pairs', 'single', a || '/' || b || '/' || similarity FROM single_pairs
UNION ALL SELECT 'clusters', 'refresh', article_id || '/' || cluster_id FROM aa_cluster_members
WHERE source = 'load_articles'::regclass
UNION ALL SELECT 'clusters', 'single', c.id || '/' || c.cluster_id
FROM (SELECT array_agg(a) AS a, array_agg(b) AS b FROM single_pairs) p, aa_clusters(p.a, p.b) c;
CREATE TEMP TABLE side_rows AS SELECT * FROM side;
SELECT 'compare ' || w.what || ' ' || coalesce(l.n, 0) || ' ' || coalesce(c.n, 0) || ' ' ||
       (SELECT count(*) FROM ((SELECT v FROM side_rows WHERE what = w.what AND how = 'refresh'
                               EXCEPT ALL
                               SELECT v FROM side_rows WHERE what = w.what AND how = 'single')
                              UNION ALL
                              (SELECT v FROM side_rows WHERE what = w.what AND how = 'single'
                               EXCEPT ALL
                               SELECT v FROM side_rows WHERE what = w.what AND how = 'refresh')) d)
FROM (VALUES ('entities'), ('terms'), ('pairs'), ('clusters')) w(what)
LEFT JOIN (SELECT what, count(*) AS n FROM side_rows WHERE how = 'refresh' GROUP BY 1) l USING (what)
LEFT JOIN (SELECT what, count(*) AS n FROM side_rows WHERE how = 'single' GROUP BY 1) c USING (what);
SQL
)
echo "   single-client computation and comparison: $(( $(date +%s) - start )) s"
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q 'failed' && bad "a refresh run failed"
while read -r _ what n_load n_copy diff; do
	[ "$diff" = 0 ] && [ "$n_load" = "$n_copy" ] && [ "$n_load" -gt 0 ] ||
		bad "$what: $n_load rows from the refreshes under load, $n_copy from a single client, $diff differences"
done < <(echo "$out" | grep '^compare ')

tps1=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/single.log" | head -1)
tpsn=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/multi.log" | head -1)
echo
echo "load: 1 client ${tps1:-?} tps; $clients clients ${tpsn:-?} tps; failed transactions ${failed:-?}; deadlocks $((d1 - d0)); backend memory growth ${growth_mean} kB on average, ${growth_max} kB at most"
[ $fail -eq 0 ] && echo "load test passed" || echo "load test FAILED"
exit $fail
