#!/usr/bin/env bash
# Big documents through the entity tagger and the shared-passage finder
# (issue 10, items 3 and 4):
#  - memory: aa_entities on a 3.5 MB document of news text (the seed
#    articles, repeated; 614,600 tokens) raises the backend's peak
#    resident memory (VmHWM in /proc/<pid>/status, read by the server since
#    the test runs on its machine) by less than 80 bytes per token (49
#    measured; the old code took 312), and on a document of 650,000
#    all-distinct words (the worst case for the per-word tables) by less
#    than 150 (98 measured; 307 before).  The document's detoasted copy and
#    the result rows are included;
#  - cancellation: a 2 s statement_timeout stops aa_entities on a 51 MB
#    document (9 million tokens) in under 6 s; the old code ran on for 9 s,
#    inside table set-up that never checked for interrupts (the whole call
#    takes about 20 s);
#  - cancellation: a 1 s statement_timeout stops aa_shared_passages on two
#    51 MB texts in under 2.5 s; the old code took 4.3 s under a 2 s
#    timeout, in the matching loop (the whole call takes about 1.8 s on a
#    quiet machine, so a 2 s timeout could miss it).
# JIT and parallel workers are off, so that the measured backend does all
# the work.  About 15 s in all.
set -u
fail=0
export PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1

# The documents, built in a session of their own (so that building them
# does not count in the peak memory measured below).
seeds=$(ls test/data/0*.txt | sed "s|.*|'$PWD/&'|" | paste -sd, -)
psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
DROP TABLE IF EXISTS aa_big_docs;
CREATE TABLE aa_big_docs (name text PRIMARY KEY, d text);
INSERT INTO aa_big_docs
SELECT 'news', repeat(string_agg(pg_read_file(f), E'\n\n' ORDER BY f), 280)
FROM unnest(ARRAY[$seeds]) f;
INSERT INTO aa_big_docs
SELECT 'distinct', string_agg('w' || i || CASE WHEN i % 12 = 0 THEN '. ' ELSE ' ' END, '' ORDER BY i)
FROM generate_series(1, 600000) i;
SQL

# peak NAME: tokens and peak-memory growth of aa_entities on a document
peak() {
	psql -X -A -t -v ON_ERROR_STOP=1 2>&1 <<SQL
CREATE FUNCTION pg_temp.hwm_kb() RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                       'VmHWM:\s+(\d+)'))[1]::bigint \$\$;
SELECT count(*) FROM aa_entities('Valery Gerasimov visited Moscow.');
SELECT 'hwm0 ' || pg_temp.hwm_kb();
SELECT 'entities ' || count(*) FROM aa_big_docs b, aa_entities(b.d) WHERE b.name = '$1';
SELECT 'hwm1 ' || pg_temp.hwm_kb();
SELECT 'bytes ' || octet_length(d) FROM aa_big_docs WHERE name = '$1';
SELECT 'tokens ' || count(*) FROM aa_big_docs b, aa_tokens(b.d) WHERE b.name = '$1';
SQL
}
for name in news distinct; do
	out=$(peak "$name")
	hwm0=$(echo "$out" | sed -n 's/^hwm0 //p')
	hwm1=$(echo "$out" | sed -n 's/^hwm1 //p')
	tokens=$(echo "$out" | sed -n 's/^tokens //p')
	if [ -z "$hwm0" ] || [ -z "$hwm1" ] || [ -z "$tokens" ]; then
		echo "$out"; echo "FAIL: aa_entities on the '$name' document did not run"; fail=1; continue
	fi
	per_token=$(( (hwm1 - hwm0) * 1024 / tokens ))
	echo "aa_entities, '$name' document: $(echo "$out" | sed -n 's/^bytes //p') bytes, $tokens tokens, $(echo "$out" | sed -n 's/^entities //p') entities; peak memory +$((hwm1 - hwm0)) kB = $per_token bytes per token"
	limit=80
	[ "$name" = distinct ] && limit=150
	if [ "$per_token" -ge "$limit" ]; then
		echo "FAIL: $per_token bytes per token (limit $limit)"; fail=1
	fi
done
psql -X -q -c "DROP TABLE aa_big_docs"

# cancel_ms TIMEOUT QUERY: run the query under a statement_timeout, print
# the elapsed milliseconds, or FAILED and the output when it was not
# cancelled by the timeout
cancel_ms() {
	local out t0 t1
	t0=$(date +%s%3N)
	out=$(timeout 120 psql -X -A -t -c "SET statement_timeout = '$1'" -c "$2" 2>&1)
	t1=$(date +%s%3N)
	if echo "$out" | grep -q 'canceling statement due to statement timeout'; then
		echo $((t1 - t0))
	else
		echo "FAILED after $((t1 - t0)) ms: $out"
	fi
}

# 51 MB, 9 million tokens
ms=$(cancel_ms 2s "SELECT count(*) FROM aa_entities(repeat('Barack Obama visited Paris on Thursday, officials said. ', 900000))")
echo "aa_entities on 51 MB under a 2 s statement_timeout: cancelled after $ms ms"
case $ms in
	FAILED*) echo "FAIL: aa_entities was not cancelled"; fail=1 ;;
	*) [ "$ms" -lt 6000 ] || { echo "FAIL: aa_entities took $ms ms to honour a 2 s timeout"; fail=1; } ;;
esac

ms=$(cancel_ms 1s "SELECT count(*) FROM aa_shared_passages(repeat('Afghan forces said on Thursday ', 1650000), repeat('Afghan forces said on Thursday ', 1650000), 8)")
echo "aa_shared_passages on two 51 MB texts under a 1 s statement_timeout: cancelled after $ms ms"
case $ms in
	FAILED*) echo "FAIL: aa_shared_passages was not cancelled"; fail=1 ;;
	*) [ "$ms" -lt 2500 ] || { echo "FAIL: aa_shared_passages took $ms ms to honour a 1 s timeout"; fail=1; } ;;
esac
exit $fail
