#!/usr/bin/env bash
# article_analytics on a Citus cluster (README, "Scaling out on Citus"),
# compared row for row with the same queries on a plain table of a
# single-node database (the throwaway cluster of make test):
#   - Citus 13.2.2 is built from ../shared/vendor/citus (test/citus_build.sh,
#     cached); without it this test skips;
#   - a coordinator and two workers of its own (test/citus_cluster.sh);
#   - the articles distributed by id with the generated sketch column and a
#     GIN index; the band table distributed by band key, its co-located
#     join and the pairs, the clusters, entity and term aggregation,
#     aa_stems and aa_tokens, % look-ups (literal, prepared, and a probe
#     taken from the table), with EXPLAIN showing where each runs;
#   - a threshold other than the default: aa_similarity(...) >= t, and SET
#     LOCAL with citus.propagate_set_commands = 'local'; a session SET
#     alone is shown to reach only the coordinator;
#   - user aliases reach the workers by aa_entity_aliases_sync();
#   - aa_refresh on the distributed table: side tables equal to a
#     single-node run, a second run does nothing, an edit, a delete and an
#     insert are each picked up once, a run killed by pg_terminate_backend
#     is resumed;
#   - a third worker added and the shards rebalanced: the same answers.
set -u
shared=${1:-../shared}
cd "$(dirname "$0")/.."
start_time=$(date +%s)

bash test/citus_build.sh "$shared"
rc=$?
[ $rc -ne 0 ] && exit $rc

fail=0
bad() { echo "FAIL: $*"; fail=1; }
single=aa_citus_single
sq() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$single" "$@"; }
# shellcheck source=test/citus_cluster.sh
source test/citus_cluster.sh
cleanup() {
	citus_stop
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $single" > /dev/null 2>&1
	rm -rf "${work:-}"
}
trap cleanup EXIT
work=$(mktemp -d /tmp/aa-citus-test.XXXXXX)

citus_start 2 || { echo "FAIL: could not start the Citus cluster"; exit 1; }
C=${CITUS_PORTS[0]}
cc() { cq "$C" "$@"; }
echo "   coordinator on port $C, workers on ${CITUS_PORTS[*]:1} ($(( $(date +%s) - start_time )) s)"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $single" -c "CREATE DATABASE $single" > /dev/null || exit 1

# same LABEL SQL: the query's rows on the cluster and on the single node
# must be the same, in the same order (every query has an ORDER BY)
same() {
	local label=$1 sql=$2
	cc -c "$sql" > "$work/citus.out" 2>&1 || { bad "$label: on Citus: $(head -3 "$work/citus.out")"; return; }
	sq -c "$sql" > "$work/single.out" 2>&1 || { bad "$label: on one node: $(head -3 "$work/single.out")"; return; }
	if cmp -s "$work/citus.out" "$work/single.out"; then
		echo "   ok $label: $(wc -l < "$work/citus.out") rows identical"
	else
		bad "$label: Citus and one node differ"
		diff "$work/single.out" "$work/citus.out" | head -10
	fi
}

# --- the same articles on both: Reuters-21578 (first file), a NULL body
#     and an empty one ----------------------------------------------------------
perl test/reuters_bodies.pl "$shared"/data/reuters21578/reut2-000.sgm > "$work/articles.csv"
schema="
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS article_analytics;
CREATE TABLE articles (
    id bigint PRIMARY KEY,
    published date,
    body text,
    sig minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED);
"
load="
\\copy articles (id, body) FROM '$work/articles.csv' WITH (FORMAT csv)
UPDATE articles SET published = date '1987-02-26' + (id % 30)::int;
INSERT INTO articles (id, published, body) VALUES (100001, '1987-03-01', NULL), (100002, '1987-03-01', '');
CREATE INDEX articles_sig_idx ON articles USING gin (sig minhash_ops);
CREATE TABLE article_bands (
    band_key bigint, band int, article_id bigint, sig minhash,
    PRIMARY KEY (band_key, band, article_id));
"
printf '%s\n' "$schema" "$load" | sq || exit 1
cc -c "$schema" \
	-c "SELECT create_distributed_table('articles', 'id', shard_count => 8)" > /dev/null || exit 1
printf '%s\n' "$load" "SELECT create_distributed_table('article_bands', 'band_key', shard_count => 8);" |
	cc > /dev/null || exit 1
band_insert="
INSERT INTO article_bands
SELECT k.band_key, k.band, a.id, a.sig
FROM articles a, unnest(aa_bands(a.sig, 32)) WITH ORDINALITY AS k(band_key, band)
WHERE aa_minhash_num_shingles(a.sig) > 0"
sq -c "$band_insert" || exit 1
cc -c "$band_insert" || exit 1
n=$(cc -c "SELECT count(*) FROM articles")
echo "   $n articles, $(cc -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'articles'::regclass") shards ($(( $(date +%s) - start_time )) s)"
[ "$(cc -c "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'articles'::regclass")" = 2 ] ||
	bad "the shards of articles are not on both workers"

# --- the queries of the README ------------------------------------------------
pairs_sql="SELECT DISTINCT least(x.article_id, y.article_id) AS a,
       greatest(x.article_id, y.article_id) AS b,
       aa_similarity(x.sig, y.sig) AS similarity
FROM article_bands x JOIN article_bands y
  ON y.band_key = x.band_key AND y.band = x.band AND y.article_id <> x.article_id
WHERE aa_similarity(x.sig, y.sig) >= 0.8"
clusters_sql="WITH pairs AS MATERIALIZED ($pairs_sql)
SELECT c.id, c.cluster_id
FROM (SELECT array_agg(a) AS a, array_agg(b) AS b FROM pairs) p,
     LATERAL aa_clusters(p.a, p.b) c
ORDER BY c.id"
entities_sql="SELECT e.canonical, e.type, count(*) AS mentions, count(DISTINCT a.id) AS articles
FROM articles a CROSS JOIN LATERAL aa_entities(a.body) e
GROUP BY e.canonical, e.type ORDER BY mentions DESC, e.canonical, e.type"
terms_sql="SELECT t.term, sum(t.count) AS uses, count(*) AS articles
FROM articles a CROSS JOIN LATERAL aa_term_counts(a.body) t
GROUP BY t.term ORDER BY uses DESC, t.term"
# the probe: the first article of the first pair, and an article made of
# the first 60% of its text (similar to it at about 0.5, below the default
# threshold 0.8), so that the threshold changes the answer
probe_id=$(sq -c "SELECT min(a) FROM ($pairs_sql) p")
half="INSERT INTO articles (id, published, body)
SELECT 100003, published, left(body, length(body) * 6 / 10) FROM articles WHERE id = $probe_id"
sq -c "$half" && cc -c "$half" || bad "inserting the partial copy"
probe_text=$(sq -c "SELECT body FROM articles WHERE id = $probe_id")
literal_sql="SELECT id FROM articles WHERE sig % aa_minhash(\$p\$${probe_text}\$p\$) ORDER BY id"
probe_sql="SELECT id FROM articles WHERE sig % (SELECT sig FROM articles WHERE id = $probe_id) ORDER BY id"

same "band join pairs" "$pairs_sql ORDER BY a, b"
same "clusters (aa_clusters on the pairs)" "$clusters_sql"
same "entity aggregation" "$entities_sql"
same "term aggregation" "$terms_sql"
same "aa_stems and aa_tokens" "SELECT count(*), sum(cardinality(aa_stems(body))),
       sum((SELECT count(*) FROM aa_tokens(body))), sum((SELECT sum(length) FROM aa_tokens(body)))
FROM articles"
same "% with a literal" "$literal_sql"
same "% prepared" "PREPARE near(minhash) AS SELECT id FROM articles WHERE sig % \$1 ORDER BY id;
EXECUTE near(aa_minhash(\$p\$${probe_text}\$p\$));"
same "% with a probe from the table" "$probe_sql"
npairs=$(cc -c "SELECT count(*) FROM ($pairs_sql) p")
nprobe=$(cc -c "SELECT count(*) FROM ($probe_sql) p")
echo "   $npairs pairs, the probe finds $nprobe articles"
[ "$npairs" -gt 5 ] && [ "$nprobe" -gt 1 ] || bad "too few pairs ($npairs) or probe rows ($nprobe) to compare"

# where each runs: EXPLAIN on the coordinator
explain() { cc -c "EXPLAIN (COSTS OFF) $1" 2>&1; }
# the same with sequential scans off on the workers too (the shards are
# small enough for a sequential scan to win)
explain_noseq() {
	cc -c "SET citus.propagate_set_commands = 'local'" -c "BEGIN" -c "SET LOCAL enable_seqscan = off" \
		-c "EXPLAIN (COSTS OFF) $1" -c "COMMIT" 2>&1
}
plan=$(explain "$pairs_sql")
echo "$plan" | grep -q 'Task Count: 8' && echo "$plan" | grep -q 'Hash Join\|Merge Join\|Nested Loop' &&
	! echo "$plan" | grep -q 'Repartition\|Distributed Subplan' &&
	echo "   ok EXPLAIN: the band join runs shard by shard (8 tasks, no repartition)" ||
	{ bad "EXPLAIN of the band join"; echo "$plan" | head -30; }
plan=$(explain "$entities_sql")
echo "$plan" | grep -q 'Task Count: 8' && echo "$plan" | grep -q 'Function Scan on aa_entit' &&
	echo "$plan" | sed -n '/-> *Task/,$p' | grep -q 'HashAggregate\|GroupAggregate' &&
	echo "   ok EXPLAIN: aa_entities and its aggregate run on the shards" ||
	{ bad "EXPLAIN of the entity aggregation"; echo "$plan" | head -40; }
plan=$(explain_noseq "$literal_sql")
echo "$plan" | grep -q 'Task Count: 8' && echo "$plan" | grep -q 'Bitmap Index Scan on articles_sig_idx' &&
	echo "   ok EXPLAIN: sig % literal uses the GIN index of each shard" ||
	{ bad "EXPLAIN of % with a literal"; echo "$plan" | head -30; }
plan=$(explain_noseq "$probe_sql")
echo "$plan" | grep -q 'Distributed Subplan' && echo "$plan" | grep -q 'Bitmap Index Scan on articles_sig_idx' &&
	echo "   ok EXPLAIN: a probe from the table is a subplan, then the index of each shard" ||
	{ bad "EXPLAIN of % with a probe from the table"; echo "$plan" | head -30; }
plan=$(explain "SELECT a.id, b.id FROM articles a JOIN articles b ON a.sig % b.sig AND a.id < b.id")
if echo "$plan" | grep -q 'Task Count'; then
	bad "the table-wide % self-join now plans on Citus; update the README"
else
	echo "   ok the table-wide % self-join is refused by Citus (not co-located): use the band table"
fi
echo "   ($(( $(date +%s) - start_time )) s)"

# --- a threshold other than the default -----------------------------------------
t_single=$(sq -c "SET article_analytics.similarity_threshold = 0.3" -c "$probe_sql" | md5sum)
t_fn=$(cc -c "SELECT id FROM articles
WHERE aa_similarity(sig, (SELECT sig FROM articles WHERE id = $probe_id)) >= 0.3
ORDER BY id" | md5sum)
t_local=$(cc -c "SET citus.propagate_set_commands = 'local'" -c "BEGIN" \
	-c "SET LOCAL article_analytics.similarity_threshold = 0.3" -c "$probe_sql" -c "COMMIT" | md5sum)
t_session=$(cc -c "SET article_analytics.similarity_threshold = 0.3" -c "$probe_sql" | md5sum)
t_default=$(sq -c "$probe_sql" | md5sum)
n03=$(sq -c "SET article_analytics.similarity_threshold = 0.3" -c "SELECT count(*) FROM ($probe_sql) p")
n08=$(sq -c "SELECT count(*) FROM ($probe_sql) p")
[ "$t_fn" = "$t_single" ] && echo "   ok aa_similarity(sig, probe) >= 0.3 on Citus = % at 0.3 on one node ($n03 rows; $n08 at the default)" ||
	bad "aa_similarity >= 0.3 on Citus differs from % at 0.3 on one node"
[ "$t_local" = "$t_single" ] && echo "   ok SET LOCAL with citus.propagate_set_commands = 'local' reaches the workers" ||
	bad "SET LOCAL with propagate_set_commands differs from one node"
if [ "$t_session" = "$t_default" ] && [ "$t_single" != "$t_default" ]; then
	echo "   ok (as documented) a session SET alone does not reach the workers: the default 0.8 answer"
else
	bad "a session SET of the threshold on Citus: not the documented answer (the default's)"
fi

# the model path: a missing file is an error (58P01) on one node; SET LOCAL
# with propagation gives the workers the same path (the same error), a
# session SET alone does not (the workers tag with the shipped model)
model_sql="SELECT count(*) FROM articles a CROSS JOIN LATERAL aa_entities(a.body) e"
m_single=$(sq -v VERBOSITY=verbose -c "SET article_analytics.ner_model = '/nonexistent/aa.model'" -c "$model_sql" 2>&1 | grep -o '58P01' | head -1)
m_local=$(cc -v VERBOSITY=verbose -c "SET citus.propagate_set_commands = 'local'" -c "BEGIN" \
	-c "SET LOCAL article_analytics.ner_model = '/nonexistent/aa.model'" -c "$model_sql" 2>&1 | grep -o '58P01' | head -1)
m_session=$(cc -c "SET article_analytics.ner_model = '/nonexistent/aa.model'" -c "$model_sql" 2>&1)
[ "$m_single" = 58P01 ] && [ "$m_local" = 58P01 ] &&
	echo "   ok ner_model by SET LOCAL with propagation: the same error (58P01) as on one node" ||
	bad "ner_model by SET LOCAL: '$m_local' on Citus, '$m_single' on one node"
case "$m_session" in
	[0-9]*) echo "   ok (as documented) a session SET of ner_model does not reach the workers ($m_session mentions)" ;;
	*) bad "a session SET of ner_model on Citus: $m_session" ;;
esac

# --- aliases ------------------------------------------------------------------
alias_sql="INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES
    ('Reagan', 'Ronald Reagan', 'PER'), ('Volcker', 'Paul Volcker', 'PER')"
reagan_sql="SELECT e.canonical, e.type, count(*) FROM articles a CROSS JOIN LATERAL aa_entities(a.body) e
WHERE e.canonical LIKE '%Reagan%' OR e.canonical LIKE '%Volcker%' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
sq -c "$alias_sql" && cc -c "$alias_sql" || bad "inserting aliases"
if [ "$(cc -c "$entities_sql" | md5sum)" = "$(sq -c "$entities_sql" | md5sum)" ]; then
	bad "user aliases not synced, yet the entity aggregation is the same (the test shows nothing)"
else
	echo "   ok before aa_entity_aliases_sync() the workers do not know the user's aliases"
fi
sync=$(cc -c "SELECT count(*) FILTER (WHERE success AND result = '2') || '/' || count(*) FROM aa_entity_aliases_sync()")
[ "$sync" = "2/2" ] || bad "aa_entity_aliases_sync: $sync"
same "entity aggregation with user aliases (after aa_entity_aliases_sync)" "$entities_sql"
same "Reagan and Volcker with aliases" "$reagan_sql"
echo "   ($(( $(date +%s) - start_time )) s)"

# --- aa_refresh -------------------------------------------------------------------
runs_sql="SELECT status, rows_done, rows_skipped, rows_deleted, rows_unchanged, pairs_added, clusters,
       skipped_null, skipped_empty, error
FROM aa_refresh_runs WHERE source = 'articles'::regclass ORDER BY run_id"
last_run_sql="SELECT status, rows_done, rows_skipped, rows_deleted, rows_unchanged, pairs_added, clusters, error
FROM aa_refresh_runs WHERE source = 'articles'::regclass ORDER BY run_id DESC LIMIT 1"
side_sql() {	# the side tables of articles, without what depends on the node (xmin, run, time)
	cat <<SQL
SELECT 'state', count(*), md5(string_agg(concat_ws('|', article_id, published, body_md5, body_bytes,
       language, sig::text, status, skip_reason, detail), ',' ORDER BY article_id))
FROM aa_refresh_articles WHERE source = 'articles'::regclass
UNION ALL
SELECT 'entities', count(*), md5(string_agg(concat_ws('|', article_id, ordinal, entity, type, start_pos,
       length, canonical), ',' ORDER BY article_id, ordinal))
FROM aa_article_entities WHERE source = 'articles'::regclass
UNION ALL
SELECT 'terms', count(*), md5(string_agg(concat_ws('|', article_id, term, count), ',' ORDER BY article_id, term))
FROM aa_article_terms WHERE source = 'articles'::regclass
UNION ALL
SELECT 'bands', count(*), md5(string_agg(concat_ws('|', article_id, band, band_key), ',' ORDER BY article_id, band))
FROM aa_article_bands WHERE source = 'articles'::regclass
UNION ALL
SELECT 'pairs', count(*), md5(string_agg(concat_ws('|', article_a, article_b, similarity), ',' ORDER BY article_a, article_b))
FROM aa_duplicate_pairs WHERE source = 'articles'::regclass
UNION ALL
SELECT 'clusters', count(*), md5(string_agg(concat_ws('|', article_id, cluster_id), ',' ORDER BY article_id))
FROM aa_cluster_members WHERE source = 'articles'::regclass
ORDER BY 1
SQL
}
n=$(cc -c "SELECT count(*) FROM articles")
refresh="CALL aa_refresh('articles', date_column => 'published', batch_size => 100)"
t0=$(date +%s.%N)
cc -c "$refresh" || bad "aa_refresh on Citus failed"
t1=$(date +%s.%N)
sq -c "$refresh" || bad "aa_refresh on one node failed"
t2=$(date +%s.%N)
echo "   first aa_refresh of $n articles: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s on Citus, $(awk "BEGIN { printf \"%.1f\", $t2 - $t1 }") s on one node"
same "aa_refresh: side tables after the first run" "$(side_sql)"
cc -c "$refresh" && sq -c "$refresh" || bad "second aa_refresh failed"
same "aa_refresh: the runs (the second did nothing)" "$runs_sql"
[ "$(cc -c "$last_run_sql")" = "done|0|0|0|0|0|$(cc -c "SELECT clusters FROM aa_refresh_runs ORDER BY run_id LIMIT 1")|" ] ||
	bad "the second run on Citus did something: $(cc -c "$last_run_sql")"
edits="UPDATE articles SET body = body || ' (corrected)' WHERE id = 5;
DELETE FROM articles WHERE id = 7;
INSERT INTO articles (id, published, body) SELECT 200001, published, body FROM articles WHERE id = 9;"
cc -c "$edits" && sq -c "$edits" || bad "editing the articles"
cc -c "$refresh" && sq -c "$refresh" && cc -c "$refresh" && sq -c "$refresh" || bad "aa_refresh after the edits failed"
same "aa_refresh: the runs after an edit, a delete and an insert" "$runs_sql"
cc -c "$runs_sql" | tail -2 | sed 's/^/   run: /'
[ "$(cc -c "$runs_sql" | tail -2 | cut -d'|' -f1-5 | tr '\n' ' ')" = "done|2|0|1|0 done|0|0|0|0 " ] ||
	bad "the edit, delete and insert were not each picked up once"
same "aa_refresh: side tables after the edits" "$(side_sql)"
same "aa_refresh: the BI views aa_entity_totals and aa_duplicate_clusters" "SELECT v::text FROM aa_entity_totals v WHERE v.source = 'articles' UNION ALL (SELECT v::text FROM aa_duplicate_clusters v WHERE v.source = 'articles') ORDER BY 1"

# killed in the middle, then resumed (a run that ends before it is seen
# with 100 articles done, on a busy machine, is started over, up to 3 times)
pid=""
for attempt in 1 2 3; do
	cc -c "SELECT aa_refresh_forget('articles')" > /dev/null
	psql -X -A -t -q -h "$CITUS_DIR" -p "$C" -U postgres -d "$CITUS_DB" \
		-c "CALL aa_refresh('articles', date_column => 'published', batch_size => 20)" > "$work/killed.log" 2>&1 &
	client=$!
	while kill -0 "$client" 2> /dev/null; do
		pid=$(cc -c "SELECT backend_pid FROM aa_refresh_runs WHERE source = 'articles'::regclass AND status = 'running' AND rows_done >= 100")
		[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] && break
	wait "$client"
	echo "   (attempt $attempt: the run ended before it could be killed; again)"
done
if [ -z "$pid" ]; then
	bad "the run to kill was not seen running with 100 articles done"
else
	cc -c "SELECT pg_terminate_backend($pid)" > /dev/null
	wait "$client"
	killed_done=$(cc -c "SELECT count(*) FROM aa_refresh_articles WHERE source = 'articles'::regclass")
	cc -c "$refresh" || bad "the run after the kill failed"
	resumed=$(cc -c "SELECT string_agg(status || ':' || rows_done, ' ' ORDER BY run_id) FROM aa_refresh_runs
	                 WHERE source = 'articles'::regclass AND run_id > (SELECT max(run_id) - 2 FROM aa_refresh_runs)")
	echo "   killed after $killed_done articles; the killed run and the next: $resumed"
	[ "$resumed" = "interrupted:$killed_done done:$((n - 2 - killed_done))" ] ||
		bad "the run after the kill did not do exactly the rest ($resumed, $killed_done of $n done before)"
	same "aa_refresh: side tables after a killed run and its resumption" "$(side_sql)"
fi
wait 2>/dev/null
echo "   ($(( $(date +%s) - start_time )) s)"

# --- a third worker, shards rebalanced ------------------------------------------
citus_add_worker || bad "adding a worker"
cc -c "SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes')" > /dev/null 2>&1 ||
	bad "rebalance_table_shards: $(cc -c "SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes')" 2>&1 | head -3)"
nodes=$(cc -c "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'articles'::regclass")
[ "$nodes" = 3 ] && echo "   ok a third worker holds shards of articles after rebalancing" ||
	bad "after rebalancing the shards of articles are on $nodes workers"
if [ "$(cc -c "$reagan_sql" | md5sum)" = "$(sq -c "$reagan_sql" | md5sum)" ]; then
	bad "the new worker knows the user's aliases without aa_entity_aliases_sync (the test shows nothing)"
else
	echo "   ok the new worker has only the shipped aliases until aa_entity_aliases_sync()"
fi
sync=$(cc -c "SELECT count(*) FILTER (WHERE success AND result = '2') || '/' || count(*) FROM aa_entity_aliases_sync()")
[ "$sync" = "3/3" ] || bad "aa_entity_aliases_sync on three workers: $sync"
same "after rebalancing: band join pairs" "$pairs_sql ORDER BY a, b"
same "after rebalancing: clusters" "$clusters_sql"
same "after rebalancing: entity aggregation with user aliases" "$entities_sql"
same "after rebalancing: term aggregation" "$terms_sql"
same "after rebalancing: % with a probe from the table" "$probe_sql"
cc -c "$refresh" && sq -c "$refresh" || bad "aa_refresh after rebalancing failed"
moved=$(cc -c "SELECT rows_done || ' done, ' || rows_unchanged || ' moved rows checked, unchanged' FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1")
echo "   aa_refresh after rebalancing: $moved"
case "$moved" in "0 done,"*) ;; *) bad "aa_refresh after rebalancing recomputed articles: $moved" ;; esac
same "after rebalancing: aa_refresh side tables" "$(side_sql)"

echo "   the Citus test took $(( $(date +%s) - start_time )) s"
exit $fail
