#!/usr/bin/env bash
# Big documents and cancellation:
#  - a 100 MB document goes through aa_stems and aa_term_counts;
#  - statement_timeout stops a long aa_stems call while it runs (it ends
#    long before the uncancelled call would);
#  - statement_timeout stops aa_jaccard on two 100 MB documents (the
#    duplicate core checks for a pending cancel in its loops);
#  - pg_cancel_backend from another session stops a long aa_term_counts.
set -u
fail=0
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1

# 100 MB: 5.3 million times "Afghan forces said " (19 bytes), no stopwords
out=$(psql -X -A -t -v ON_ERROR_STOP=1 2>&1 <<'SQL'
\timing on
SELECT 'bytes ' || octet_length(d) || ' stems ' || cardinality(aa_stems(d))
FROM (SELECT repeat('Afghan forces said ', 5300000) AS d) s;
SELECT 'terms ' || string_agg(term || '=' || count, ',' ORDER BY term)
FROM aa_term_counts(repeat('Afghan forces said ', 5300000));
SELECT 'tokens ' || count(*) FROM aa_tokens(repeat('Afghan forces said. ', 500000));
SQL
)
echo "$out"
echo "$out" | grep -q '^bytes 100700000 stems 15900000$' || { echo "FAIL: 100 MB aa_stems"; fail=1; }
echo "$out" | grep -q '^terms afghan=5300000,forc=5300000,said=5300000$' || { echo "FAIL: 100 MB aa_term_counts"; fail=1; }
echo "$out" | grep -q '^tokens 2000000$' || { echo "FAIL: 10 MB aa_tokens"; fail=1; }
full_ms=$(echo "$out" | sed -n 's/^Time: \([0-9]*\)\..*/\1/p' | head -1)

# statement_timeout interrupts the call itself
out=$(psql -X -A -t 2>&1 <<'SQL'
SET statement_timeout = '300ms';
\timing on
SELECT cardinality(aa_stems(repeat('Afghan forces said ', 5300000)));
SQL
)
echo "$out"
cancel_ms=$(echo "$out" | sed -n 's/^Time: \([0-9]*\)\..*/\1/p' | head -1)
if ! echo "$out" | grep -q 'canceling statement due to statement timeout'; then
	echo "FAIL: statement_timeout did not cancel aa_stems"; fail=1
elif [ -n "$full_ms" ] && [ "$cancel_ms" -ge $((full_ms / 2 + 300)) ]; then
	echo "FAIL: cancelled only after ${cancel_ms} ms (the whole call takes ${full_ms} ms)"; fail=1
else
	echo "statement_timeout: cancelled after ${cancel_ms} ms; the whole call takes ${full_ms} ms"
fi

# the near-duplicate core stops too: aa_jaccard on two 100 MB documents
out=$(psql -X -A -t 2>&1 <<'SQL'
SET statement_timeout = '500ms';
\timing on
SELECT aa_jaccard(repeat('Afghan forces said on Thursday ', 3300000),
                  repeat('Afghan forces said on Friday ', 3300000));
SQL
)
echo "$out"
jaccard_ms=$(echo "$out" | sed -n 's/^Time: \([0-9]*\)\..*/\1/p' | head -1)
if ! echo "$out" | grep -q 'canceling statement due to statement timeout'; then
	echo "FAIL: statement_timeout did not cancel aa_jaccard"; fail=1
elif [ "$jaccard_ms" -ge 1500 ]; then
	echo "FAIL: aa_jaccard cancelled only after ${jaccard_ms} ms"; fail=1
else
	echo "statement_timeout: aa_jaccard cancelled after ${jaccard_ms} ms"
fi

# pg_cancel_backend from a second session
log=$(mktemp)
psql -X -A -t -c "SELECT count(*) FROM aa_term_counts(repeat('Afghan forces said ', 40000000))" > "$log" 2>&1 &
client=$!
pid=""
for _ in $(seq 1 50); do
	sleep 0.2
	pid=$(psql -X -A -t -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT count(*) FROM aa_term_counts(%' AND state = 'active' AND pid <> pg_backend_pid()")
	[ -n "$pid" ] && break
done
sleep 1
psql -X -A -t -c "SELECT pg_cancel_backend($pid)" > /dev/null
wait $client
cat "$log"
grep -q 'canceling statement due to user request' "$log" || { echo "FAIL: pg_cancel_backend did not cancel aa_term_counts"; fail=1; }
rm -f "$log"
exit $fail
