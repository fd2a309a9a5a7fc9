#!/usr/bin/env bash
# Runs inside the throwaway cluster (see with_cluster.sh): pg_regress, then
# every test/sql_*.sh and test/shared_*.sh.  Each result goes to
# $AA_RESULTS as "PASS name", "FAIL name" or "SKIP name".
set -u
cd "$(dirname "$0")/.."
shared=${AA_SHARED:-$(cd .. && pwd)/shared}
results=${AA_RESULTS:-/dev/stdout}
echo "PASS cluster:started" >> "$results"

echo "== pg_regress"
make -s installcheck PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config > test/build/regress.log 2>&1
cat test/build/regress.log | grep -E '\.\.\. |^(not )?ok ' || true
# PostgreSQL 15 prints "test NAME ... ok"; 16 and later print TAP lines
grep -E '^(test|     ) *[a-z0-9_]+ +\.\.\. +ok' test/build/regress.log |
	sed -E 's/^ *(test)? *([a-z0-9_]+).*/PASS regress:\2/' >> "$results"
grep -E '^(test|     ) *[a-z0-9_]+ +\.\.\. +FAILED' test/build/regress.log |
	sed -E 's/^ *(test)? *([a-z0-9_]+).*/FAIL regress:\2/' >> "$results"
grep -E '^ok [0-9]+ ' test/build/regress.log |
	sed -E 's/^ok [0-9]+ +[-+] +([a-z0-9_]+).*/PASS regress:\1/' >> "$results"
grep -E '^not ok [0-9]+ ' test/build/regress.log |
	sed -E 's/^not ok [0-9]+ +[-+] +([a-z0-9_]+).*/FAIL regress:\1/' >> "$results"
if [ -f regression.diffs ] && [ -s regression.diffs ]; then
	echo "-- regression.diffs (first 80 lines):"
	head -80 regression.diffs
fi
if ! grep -qE 'regress:' "$results"; then
	echo "pg_regress produced no results:"; tail -20 test/build/regress.log
	echo "FAIL regress:run" >> "$results"
fi

for t in test/sql_*.sh test/shared_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	echo "== $name"
	bash "$t" "$shared"
	rc=$?
	case $rc in
		0) echo "PASS $name" >> "$results" ;;
		77) echo "SKIP $name" >> "$results" ;;
		*) echo "FAIL $name" >> "$results"; echo "   $name failed (status $rc)" ;;
	esac
done
exit 0
