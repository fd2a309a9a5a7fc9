#!/usr/bin/env bash
# Memory of the C set-returning functions across many calls in ONE
# statement (issue 10, item 5).  A lateral call such as
#   SELECT count(*) FROM arts a, aa_tokens(a.body) t
# runs once per row, and whatever a call leaves in per-query memory stays
# until the statement ends: 1M calls used to take 1.8 GB.
#
# For each SRF, a fresh session (no JIT, no parallel workers, so that the
# backend itself makes every call) runs the statement once over 1,000 rows
# to warm up (library, model, stemmers, the call site's cached result
# type), reads its peak resident memory (VmHWM in /proc/<pid>/status; the
# test runs on the server's machine), runs the statement over all N rows,
# and reads VmHWM again.  The growth must stay under 2 MB plus 64 bytes per
# call (20.8 MB for 300,000 calls); the old code grew by 900 to 1,700 bytes
# per call (475 MB for aa_tokens), the fixed code by a few hundred kB in
# all.  jsonb_each_text in the same shape is shown beside them for
# reference (PostgreSQL 15's own SRF grows by about 380 bytes per call).
# About 20 s in all.
set -u
N=${AA_SRF_CALLS:-300000}
SLACK_KB=2048
PER_CALL_BYTES=64
fail=0
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1
psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
DROP TABLE IF EXISTS aa_srf_arts;
CREATE TABLE aa_srf_arts AS
SELECT i::bigint AS id,
       'Valery Gerasimov visited Moscow on day ' || i || ', Interfax said.' AS body,
       jsonb_build_object('a', i, 'b', 'x') AS j
FROM generate_series(1, $N) i;
ANALYZE aa_srf_arts;
SQL

export PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0"
# measure NAME CALLS QUERY-WITH-:rows
measure() {
	local name=$1 calls=$2 query=$3 out hwm0 hwm1 growth limit t0
	t0=$(date +%s%3N)
	out=$(psql -X -A -t -v ON_ERROR_STOP=1 2>&1 <<SQL
CREATE FUNCTION pg_temp.hwm_kb() RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                       'VmHWM:\s+(\d+)'))[1]::bigint \$\$;
SELECT 'warm ' || (${query//:rows/1000});
SELECT 'hwm0 ' || pg_temp.hwm_kb();
SELECT 'rows ' || (${query//:rows/$calls});
SELECT 'hwm1 ' || pg_temp.hwm_kb();
SQL
)
	hwm0=$(echo "$out" | sed -n 's/^hwm0 //p')
	hwm1=$(echo "$out" | sed -n 's/^hwm1 //p')
	if [ -z "$hwm0" ] || [ -z "$hwm1" ]; then
		echo "$out"
		echo "FAIL: $name did not run"
		fail=1
		return
	fi
	growth=$((hwm1 - hwm0))
	limit=$((SLACK_KB + calls * PER_CALL_BYTES / 1024))
	echo "$name: $calls calls in $(( $(date +%s%3N) - t0 )) ms, $(echo "$out" | sed -n 's/^rows //p') rows; peak memory ${hwm0} kB -> ${hwm1} kB (+${growth} kB, $((growth * 1024 / calls)) bytes per call)"
	if [ "$name" != "jsonb_each_text (reference)" ] && [ "$growth" -gt "$limit" ]; then
		echo "FAIL: $name grew by ${growth} kB over $calls calls (limit ${limit} kB)"
		fail=1
	fi
}

lateral() {	# lateral SRF-CALL: count(*) over the first :rows articles
	echo "SELECT count(*) FROM aa_srf_arts a, $1 t WHERE a.id <= :rows"
}
measure "jsonb_each_text (reference)" "$N" "$(lateral "jsonb_each_text(a.j)")"
measure aa_tokens "$N" "$(lateral "aa_tokens(a.body)")"
# the tagger is slower: a third of the calls
measure aa_entity_mentions $((N / 3)) "$(lateral "aa_entity_mentions(a.body)")"
# aa_entities, the SQL function over aa_entity_mentions and the alias table
measure aa_entities $((N / 10)) "$(lateral "aa_entities(a.body)")"
measure aa_term_counts "$N" "$(lateral "aa_term_counts(a.body, 'english')")"
measure aa_shared_passages "$N" "$(lateral "aa_shared_passages(a.body, a.body, 2)")"
measure aa_clusters "$N" "$(lateral "aa_clusters(ARRAY[a.id], ARRAY[a.id + 1])")"
# in the target list (ProjectSet, the executor's other SRF path)
measure "aa_term_counts in the target list" "$N" \
	"SELECT count(*) FROM (SELECT aa_term_counts(body, 'english') FROM aa_srf_arts WHERE id <= :rows) s"
measure "aa_languages in the target list" 10000 \
	"SELECT count(*) FROM (SELECT aa_languages() FROM aa_srf_arts WHERE id <= :rows) s"
psql -X -q -c "DROP TABLE aa_srf_arts"
exit $fail
