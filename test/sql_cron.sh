#!/usr/bin/env bash
# aa_refresh scheduled by a real pg_cron (Debian package postgresql-15-cron).
#
# pg_cron must be in shared_preload_libraries, so this test starts a cluster
# of its own inside the test cluster's environment (pg_virtualenv again,
# in a temporary folder, on a free port) with pg_cron preloaded and jobs run
# by background workers.  It schedules two jobs for every minute:
#   aa-refresh      CALL aa_refresh(...) alone: it must succeed, and the
#                   side tables must then hold the articles;
#   aa-refresh-two  the same CALL followed by another statement: pg_cron
#                   runs both in one transaction, so the procedure's COMMIT
#                   fails; this is why the CALL must be a job's only
#                   statement (the README says so).
# pg_cron 1.4 schedules by the minute, so this waits up to 75 seconds.
set -u
if [ "${1:-}" != "--inner" ]; then
	if [ ! -f "$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pg_cron.so" ] &&
	   [ ! -f /usr/lib/postgresql/15/lib/pg_cron.so ]; then
		echo "SKIP: pg_cron is not installed (Debian package postgresql-15-cron)"
		exit 77
	fi
	# pg_virtualenv would reuse the outer cluster's PGPORT: let it pick a free one
	unset PGPORT PGHOST PGUSER PGPASSWORD PGDATABASE
	export PGVERSION=15
	exec pg_virtualenv -t -v 15 \
		-o shared_preload_libraries=pg_cron \
		-o cron.database_name=postgres \
		-o cron.use_background_workers=on \
		-o max_worker_processes=16 \
		bash "$0" --inner
fi

fail=0
bad() { echo "FAIL: $*"; fail=1; }
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }

q > /dev/null <<'SQL'
CREATE EXTENSION pg_cron;
CREATE EXTENSION article_analytics;
CREATE TABLE articles (
    id        bigserial PRIMARY KEY,
    published timestamptz NOT NULL DEFAULT now(),
    body      text,
    sig       minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED
);
INSERT INTO articles (published, body)
SELECT timestamptz '2024-03-01 12:00+00' + (i % 7) * interval '1 day',
       format('KABUL (Reuters) - Afghan officials said on %s that talks with the Taliban in Doha '
              'would resume after %s weeks, according to a statement from the foreign ministry '
              'that NATO welcomed.  Report number %s.',
              (ARRAY['Monday', 'Tuesday', 'Friday'])[1 + i % 3], i, i)
FROM generate_series(1, 200) i;
INSERT INTO articles (body) VALUES (NULL);
SELECT cron.schedule('aa-refresh', '* * * * *',
                     $$CALL aa_refresh('articles', date_column => 'published', batch_size => 50)$$);
SELECT cron.schedule('aa-refresh-two', '* * * * *',
                     $$CALL aa_refresh('articles', date_column => 'published'); SELECT 1$$);
SQL
[ $? -eq 0 ] || exit 1
echo "scheduled at $(date +%T); pg_cron runs jobs at the start of each minute"

for _ in $(seq 1 80); do
	n=$(q -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	          WHERE d.status IN ('succeeded', 'failed')")
	[ "$n" -ge 2 ] && break
	sleep 1
done
sleep 1
out=$(q <<'SQL'
SELECT 'job ' || j.jobname || ' ' || d.status || ' ' || coalesce(d.return_message, '')
FROM cron.job_run_details d JOIN cron.job j USING (jobid) ORDER BY j.jobname, d.runid;
SELECT 'run ' || status || ' done ' || rows_done || ' skipped ' || rows_skipped
       || ' null ' || skipped_null
FROM aa_refresh_runs WHERE status <> 'busy' ORDER BY run_id;
SELECT 'entities_match ' || ((SELECT count(*) FROM articles a, aa_entities(a.body) e)
                             = (SELECT count(*) FROM aa_article_entities
                                WHERE source = 'articles'::regclass));
SELECT 'entity_days ' || count(DISTINCT day) FROM aa_entity_daily WHERE source = 'articles';
SELECT 'top_terms_days ' || count(DISTINCT day) FROM aa_top_terms_daily
WHERE source = 'articles' AND rank = 1;
SELECT 'unscheduled ' || (cron.unschedule('aa-refresh') AND cron.unschedule('aa-refresh-two'));
SQL
)
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q '^job aa-refresh succeeded CALL$' || bad "pg_cron did not run the refresh successfully"
echo "$out" | grep -q '^job aa-refresh-two failed .*invalid transaction termination' ||
	bad "a job with a second statement was expected to fail on the procedure's COMMIT"
echo "$out" | grep -q '^run done done 200 skipped 1 null 1$' || bad "the scheduled run did not do the 200 articles and skip the NULL one"
echo "$out" | grep -q '^entities_match true$' || bad "the entity side table does not match aa_entities"
echo "$out" | grep -q '^entity_days 7$' || bad "the entity view does not cover the 7 days"
[ $fail -eq 0 ] && echo "pg_cron: the scheduled refresh ran and filled the side tables"
exit $fail
