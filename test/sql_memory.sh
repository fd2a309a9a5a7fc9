#!/usr/bin/env bash
# A million stemming calls in one session leave the backend's memory flat.
#
# libstemmer allocates with malloc, outside PostgreSQL's memory contexts, so
# the check reads the backend's private resident memory (RssAnon in
# /proc/<pid>/status) rather than pg_backend_memory_contexts.  The first
# round warms everything up (stemmers created, caches filled, the stem cache
# cleared and refilled many times by a million distinct words) and the
# second lets the allocator settle; the third and fourth (two million more
# calls) must not grow it by more than 1 MB.  A leak of even one small
# malloc chunk per call would show as tens of megabytes.
set -u
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1

out=$(psql -X -A -t -v ON_ERROR_STOP=1 2>&1 <<'SQL'
CREATE FUNCTION pg_temp.rss_anon_kb() RETURNS int LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                       'RssAnon:\s+(\d+)'))[1]::int $$;
CREATE FUNCTION pg_temp.round(r int) RETURNS bigint LANGUAGE sql AS $$
  SELECT sum(length(aa_stem('Word' || i || 'ings', CASE i % 3 WHEN 0 THEN 'english' WHEN 1 THEN 'de' ELSE 'turkish' END)))
       + sum(cardinality(aa_stems('The forces of ' || i || ' provinces were running ' || r, 'en')))
         FILTER (WHERE i % 10 = 0)
  FROM generate_series(1, 1000000) i $$;
SELECT 'round1 ' || pg_temp.round(1);
SELECT 'rss1 ' || pg_temp.rss_anon_kb();
SELECT 'round2 ' || pg_temp.round(2);
SELECT 'rss2 ' || pg_temp.rss_anon_kb();
SELECT 'round3 ' || pg_temp.round(3);
SELECT 'rss3 ' || pg_temp.rss_anon_kb();
SELECT 'round4 ' || pg_temp.round(4);
SELECT 'rss4 ' || pg_temp.rss_anon_kb();
SQL
)
rc=$?
echo "$out"
[ $rc -eq 0 ] || exit 1
rss2=$(echo "$out" | sed -n 's/^rss2 //p')
rss4=$(echo "$out" | sed -n 's/^rss4 //p')
growth=$((rss4 - rss2))
echo "backend private memory after two warm-up rounds: ${rss2} kB; after two more million-call rounds: ${rss4} kB (growth ${growth} kB)"
[ "$growth" -le 1024 ]
