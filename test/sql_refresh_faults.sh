#!/usr/bin/env bash
# aa_refresh under faults, with several sessions:
#  - a second call while one runs returns at once with a NOTICE and a
#    'busy' row in aa_refresh_runs; aa_refresh_forget refuses (55P03);
#  - pg_terminate_backend in the middle of a run loses no committed batch:
#    the side tables hold exactly the articles the state says are done, and
#    the next run marks the killed run 'interrupted', does only what is
#    left, and ends with side tables equal to a full recomputation;
#  - a 50 MB body, NULL and empty bodies are skipped and reported, why
#    included, without stopping the run;
#  - statement_timeout cancels a run: it is recorded as 'cancelled', the
#    lock row (aa_refresh_locks) is released, and the next run finishes.
set -u
fail=0
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1
data=$(cd "$(dirname "$0")" && pwd)/data

# 1000 articles: the seed articles with their words shuffled per article
# (so that they are not duplicates of each other), two exact copies, a
# 50 MB body, a NULL and an empty one.
q <<SQL || exit 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS faults_articles;
CREATE TABLE faults_articles (id int PRIMARY KEY, published date, body text);
CREATE TEMP TABLE seed (n int, body text);
INSERT INTO seed VALUES
    (0, \$seed\$$(cat "$data"/000_*.txt)\$seed\$),
    (1, \$seed\$$(cat "$data"/001_*.txt)\$seed\$),
    (2, \$seed\$$(cat "$data"/002_*.txt)\$seed\$),
    (3, \$seed\$$(cat "$data"/003_*.txt)\$seed\$);
INSERT INTO faults_articles
SELECT i, date '2024-01-01' + i % 30,
       (SELECT string_agg(w, ' ' ORDER BY md5(w || i))
        FROM regexp_split_to_table(s.body, '\s+') w)
FROM generate_series(1, 1000) i JOIN seed s ON s.n = i % 4;
UPDATE faults_articles SET body = (SELECT body FROM faults_articles WHERE id = 10)
WHERE id IN (11, 12);
INSERT INTO faults_articles VALUES
    (2001, '2024-02-01', NULL),
    (2002, '2024-02-01', ''),
    (2003, '2024-02-01', repeat('Reuters reported from Kabul on Monday. ', 1350000));
SQL
q -c "SELECT 'body 2003 bytes ' || octet_length(body) FROM faults_articles WHERE id = 2003"

runs() { q -c "SELECT run_id, status, batches, rows_done, rows_skipped, error_sqlstate FROM aa_refresh_runs WHERE source = 'faults_articles'::regclass ORDER BY run_id" | sed 's/^/   run: /'; }

# --- a run in the background, a second caller, then kill the first -------
log_a=$(mktemp)
psql -X -A -t -c "CALL aa_refresh('faults_articles', date_column => 'published', batch_size => 25)" > "$log_a" 2>&1 &
client_a=$!
pid=""
for _ in $(seq 1 300); do
	sleep 0.1
	pid=$(q -c "SELECT backend_pid FROM aa_refresh_runs WHERE source = 'faults_articles'::regclass AND status = 'running' AND rows_done >= 200")
	[ -n "$pid" ] && break
done
if [ -z "$pid" ]; then
	bad "the background refresh never got to 200 rows"; runs; cat "$log_a"; exit 1
fi

start=$(date +%s%N)
out=$(psql -X -A -t -c "CALL aa_refresh('faults_articles', date_column => 'published', batch_size => 25)" 2>&1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
say "second caller: $out (returned after ${ms} ms)"
echo "$out" | grep -q 'NOTICE:  aa_refresh: another session is refreshing public.faults_articles; this call did nothing' ||
	bad "the second caller did not get the NOTICE"
[ "$ms" -lt 3000 ] || bad "the second caller waited ${ms} ms"
[ "$(q -c "SELECT count(*) FROM aa_refresh_runs WHERE status = 'busy'")" = 1 ] ||
	bad "no 'busy' row for the second caller"

out=$(psql -X -A -t -v VERBOSITY=verbose -c "SELECT aa_refresh_forget('faults_articles')" 2>&1)
echo "$out" | grep -q 'ERROR:  55P03: aa_refresh_forget: another session is refreshing public.faults_articles' ||
	bad "aa_refresh_forget did not refuse while a refresh runs: $out"

q -c "SELECT pg_terminate_backend($pid)" > /dev/null
wait $client_a
rc=$?
say "killed backend $pid; its client ended with status $rc: $(tr '\n' ' ' < "$log_a" | cut -c1-160)"
[ $rc -ne 0 ] || bad "the killed refresh's client did not see an error"
runs

# committed work: the state and the side tables agree, article by article
out=$(q <<'SQL'
SELECT 'done_before ' || count(*) FROM aa_refresh_articles
WHERE source = 'faults_articles'::regclass AND status = 'done';
SELECT 'recorded ' || rows_done FROM aa_refresh_runs
WHERE source = 'faults_articles'::regclass AND status = 'running';
SELECT 'entity_mismatch ' || count(*) FROM (
    (SELECT a.id, e.entity, e.start_pos FROM faults_articles a
            JOIN aa_refresh_articles st ON st.source = 'faults_articles'::regclass
                 AND st.article_id = a.id AND st.status = 'done',
            aa_entities(a.body) e
     EXCEPT ALL
     SELECT article_id, entity, start_pos FROM aa_article_entities
     WHERE source = 'faults_articles'::regclass)
    UNION ALL
    (SELECT article_id, entity, start_pos FROM aa_article_entities
     WHERE source = 'faults_articles'::regclass
     EXCEPT ALL
     SELECT a.id, e.entity, e.start_pos FROM faults_articles a
            JOIN aa_refresh_articles st ON st.source = 'faults_articles'::regclass
                 AND st.article_id = a.id AND st.status = 'done',
            aa_entities(a.body) e)) d;
SELECT 'bands_without_state ' || count(*) FROM aa_article_bands b
WHERE source = 'faults_articles'::regclass
  AND NOT EXISTS (SELECT 1 FROM aa_refresh_articles st
                  WHERE st.source = b.source AND st.article_id = b.article_id);
SQL
)
echo "$out" | sed 's/^/   /'
done_before=$(echo "$out" | sed -n 's/^done_before //p')
recorded=$(echo "$out" | sed -n 's/^recorded //p')
[ "$done_before" -ge 200 ] && [ "$done_before" -lt 1000 ] || bad "expected part of the work done before the kill, got $done_before"
[ "$done_before" = "$recorded" ] || bad "the run row says $recorded rows done, the state $done_before"
echo "$out" | grep -q '^entity_mismatch 0$' || bad "side tables and state disagree after the kill"
echo "$out" | grep -q '^bands_without_state 0$' || bad "band rows without state after the kill"

# --- the next run finishes the job ------------------------------------------
out=$(psql -X -A -t -q -c "CALL aa_refresh('faults_articles', date_column => 'published', batch_size => 25)" 2>&1)
[ -z "$out" ] || say "next run said: $out"
runs
out=$(q <<'SQL'
SELECT 'killed_run ' || status || ' ' || coalesce(error, '') FROM aa_refresh_runs
WHERE source = 'faults_articles'::regclass AND status NOT IN ('busy') ORDER BY run_id LIMIT 1;
SELECT 'last_run ' || status || ' done ' || rows_done || ' skipped ' || rows_skipped
       || ' null ' || skipped_null || ' empty ' || skipped_empty
       || ' too_large ' || skipped_too_large
FROM aa_refresh_runs WHERE source = 'faults_articles'::regclass ORDER BY run_id DESC LIMIT 1;
SELECT 'skipped ' || article_id || ' ' || skip_reason || ': ' || detail
FROM aa_refresh_skipped WHERE source = 'faults_articles' ORDER BY article_id;
SELECT 'all_done ' || count(*) FROM aa_refresh_articles
WHERE source = 'faults_articles'::regclass AND status = 'done';
SELECT 'entity_mismatch ' || count(*) FROM (
    (SELECT a.id, e.* FROM faults_articles a, aa_entities(a.body) e WHERE octet_length(a.body) < 1e7
     EXCEPT ALL
     SELECT article_id, entity, type, start_pos, length, canonical FROM aa_article_entities
     WHERE source = 'faults_articles'::regclass)
    UNION ALL
    (SELECT article_id, entity, type, start_pos, length, canonical FROM aa_article_entities
     WHERE source = 'faults_articles'::regclass
     EXCEPT ALL
     SELECT a.id, e.* FROM faults_articles a, aa_entities(a.body) e WHERE octet_length(a.body) < 1e7)) d;
SELECT 'term_mismatch ' || count(*) FROM (
    (SELECT a.id, t.* FROM faults_articles a, aa_term_counts(a.body) t WHERE octet_length(a.body) < 1e7
     EXCEPT ALL
     SELECT article_id, term, count FROM aa_article_terms WHERE source = 'faults_articles'::regclass)
    UNION ALL
    (SELECT article_id, term, count FROM aa_article_terms WHERE source = 'faults_articles'::regclass
     EXCEPT ALL
     SELECT a.id, t.* FROM faults_articles a, aa_term_counts(a.body) t WHERE octet_length(a.body) < 1e7)) d;
SELECT 'clusters ' || string_agg(cluster_id || ':' || size || ':' || earliest_article, ' ')
FROM aa_duplicate_clusters WHERE source = 'faults_articles';
SQL
)
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q '^killed_run interrupted the session ended before the run finished$' ||
	bad "the killed run is not marked interrupted"
echo "$out" | grep -q "^last_run done done $((1000 - done_before)) skipped 3 null 1 empty 1 too_large 1$" ||
	bad "the next run did not do exactly the $((1000 - done_before)) articles left and skip the 3 bad ones"
echo "$out" | grep -q '^skipped 2003 too_large: the body has 52650000 bytes, over max_body_bytes (10000000)$' ||
	bad "the 50 MB body is not reported"
echo "$out" | grep -q '^all_done 1000$' || bad "not every article is done"
echo "$out" | grep -q '^entity_mismatch 0$' || bad "entity side table differs from a full recomputation"
echo "$out" | grep -q '^term_mismatch 0$' || bad "term side table differs from a full recomputation"
echo "$out" | grep -q '^clusters 10:3:10$' || bad "the duplicate cluster of articles 10, 11, 12 is missing"

# --- statement_timeout cancels a run; the next one finishes -----------------
q -c "UPDATE faults_articles SET body = body || ' Updated.' WHERE id <= 1000" || exit 1
out=$(PGOPTIONS="-c statement_timeout=700" psql -X -A -t -c "CALL aa_refresh('faults_articles', date_column => 'published', batch_size => 10)" 2>&1)
say "cancelled run said: $(echo "$out" | head -2 | tr '\n' ' ')"
echo "$out" | grep -q 'canceling statement due to statement timeout' || bad "statement_timeout did not stop the run"
out=$(q <<'SQL'
SELECT 'cancelled_run ' || status || ' ' || error_sqlstate || ' ' || (rows_done > 0)
FROM aa_refresh_runs WHERE source = 'faults_articles'::regclass ORDER BY run_id DESC LIMIT 1;
SELECT 'locks ' || count(*) FROM aa_refresh_locks WHERE pid IS NOT NULL;
SQL
)
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q '^cancelled_run cancelled 57014 true$' || bad "the cancelled run is not recorded as cancelled with its progress"
echo "$out" | grep -q '^locks 0$' || bad "the lock row is still held after the cancelled run"
q -c "CALL aa_refresh('faults_articles', date_column => 'published', batch_size => 25)" || bad "the run after the cancel failed"
out=$(q -c "SELECT 'after_cancel ' || status || ' ' || (rows_done + (SELECT rows_done FROM aa_refresh_runs r2 WHERE r2.status = 'cancelled')) FROM aa_refresh_runs WHERE source = 'faults_articles'::regclass ORDER BY run_id DESC LIMIT 1")
say "   $out"
echo "$out" | grep -q '^after_cancel done 1000$' || bad "the cancelled and the next run together did not do the 1000 changed articles exactly once"

q -c "SELECT aa_refresh_forget('faults_articles'); DROP TABLE faults_articles" > /dev/null 2>&1 || true
rm -f "$log_a"
[ $fail -eq 0 ] && echo "aa_refresh faults: all checks passed"
exit $fail
