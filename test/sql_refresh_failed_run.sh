#!/usr/bin/env bash
# A failed aa_refresh run leaves its row in aa_refresh_runs (issue 9, "lost
# record"): the run's row is committed before any work, so an error in the
# run is recorded there, status 'failed' with the error and its SQLSTATE,
# under the run id the error's DETAIL names; the lock row is released and
# the next run works.
#
# The failure is forced without timing: another session holds an ACCESS
# EXCLUSIVE lock on the article table, and the run's lock_timeout ends its
# first read of the table (55P03, lock_not_available).
set -u
fail=0
db=aa_failed_run_test
bad() { echo "FAIL: $*"; fail=1; }
q() { psql -X -A -t -q -d "$db" -v ON_ERROR_STOP=1 "$@"; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null 2>&1 || exit 1
holder=""
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2> /dev/null
	wait 2> /dev/null
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1
}
trap cleanup EXIT

q <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION article_analytics;
CREATE TABLE failing_articles (id int PRIMARY KEY, body text);
INSERT INTO failing_articles
SELECT i, 'Reuters reported from Kabul on Monday, article number ' || i FROM generate_series(1, 50) i;
SQL

# another session locks the table until it is killed
psql -X -q -d "$db" -c "BEGIN" -c "LOCK TABLE failing_articles IN ACCESS EXCLUSIVE MODE" \
	-c "SELECT pg_sleep(120)" > /dev/null 2>&1 &
holder=$!
for _ in $(seq 1 200); do
	[ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'failing_articles'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
	sleep 0.05
done

out=$(psql -X -A -t -q -d "$db" -v VERBOSITY=verbose -c "SET lock_timeout = '300ms'" \
	-c "CALL aa_refresh('failing_articles')" 2>&1)
echo "$out" | sed 's/^/   /' | head -4
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(120)%'" > /dev/null
wait "$holder" 2> /dev/null
holder=""

run=$(echo "$out" | sed -n 's/^DETAIL:  Run \([0-9]*\);.*/\1/p')
echo "$out" | grep -q '^ERROR:  55P03: aa_refresh of failing_articles stopped: canceling statement due to lock timeout' ||
	bad "the run did not fail with 55P03 as expected"
[ -n "$run" ] || bad "the error names no run"
row=$(q -c "SELECT status || '|' || error_sqlstate || '|' || error || '|' || (finished_at IS NOT NULL)
            FROM aa_refresh_runs WHERE run_id = ${run:-0} AND source = 'failing_articles'::regclass")
echo "   aa_refresh_runs row of run $run: $row"
[ "$row" = "failed|55P03|canceling statement due to lock timeout|true" ] ||
	bad "the failed run is not recorded as failed with its error and SQLSTATE"
[ "$(q -c "SELECT count(*) FROM aa_refresh_locks WHERE source = 'failing_articles'::regclass AND pid IS NOT NULL")" = 0 ] ||
	bad "the lock row is still held after the failed run"
q -c "CALL aa_refresh('failing_articles')" || bad "the run after the failed one failed"
next=$(q -c "SELECT string_agg(status || ':' || rows_done, ' ' ORDER BY run_id) FROM aa_refresh_runs
             WHERE source = 'failing_articles'::regclass")
echo "   runs: $next"
[ "$next" = "failed:0 done:50" ] || bad "runs after the failure: $next"
exit $fail
