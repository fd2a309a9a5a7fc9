#!/usr/bin/env bash
# make test: set everything up, then run every test of the project and end
# with one line "N passed, N failed".
#
#   1. set-up (Debian packages, build with warnings as errors, install)
#   2. the core's unit tests under ASan and UBSan
#   3. a short libFuzzer run on the core (when clang is there)
#   4. in a throwaway cluster: pg_regress (make installcheck), then the
#      scripted tests test/sql_*.sh and the tests on ../shared data
#      test/shared_*.sh (which skip, saying so, when ../shared is absent)
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
results="$top/test/build/results.txt"
mkdir -p test/build
: > "$results"

record() {	# record NAME STATUS(0 pass, 77 skip, else fail)
	case "$2" in
		0) echo "PASS $1" >> "$results" ;;
		77) echo "SKIP $1" >> "$results" ;;
		*) echo "FAIL $1" >> "$results" ;;
	esac
}

if ! AA_WERROR=-Werror bash test/setup.sh; then
	record setup 1
else
	record setup 0

	echo "== unit tests (ASan + UBSan)"
	make -s unit 2>&1 | tee test/build/unit.log
	grep -E '^test_[a-z_]+: ' test/build/unit.log | while read -r name rest; do
		p=$(echo "$rest" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$rest" | sed -E 's/.* ([0-9]+) failed$/\1/')
		for _ in $(seq 1 "$p"); do echo "PASS unit:${name%:}" >> "$results"; done
		for _ in $(seq 1 "$f"); do echo "FAIL unit:${name%:}" >> "$results"; done
	done
	grep -q '^unit: ' test/build/unit.log || record unit-build 1

	if command -v clang >/dev/null 2>&1 && ls test/fuzz/fuzz_*.c >/dev/null 2>&1; then
		echo "== fuzzing the core for ${AA_FUZZ_SECONDS:-30}s per target"
		make -s fuzz FUZZ_SECONDS="${AA_FUZZ_SECONDS:-30}" > test/build/fuzz.log 2>&1
		rc=$?
		[ $rc -ne 0 ] && tail -30 test/build/fuzz.log
		record fuzz "$rc"
	fi

	echo "== tests in a throwaway PostgreSQL cluster"
	AA_RESULTS="$results" bash test/with_cluster.sh bash test/cluster_tests.sh
	rc=$?
	[ $rc -ne 0 ] && ! grep -q '^[A-Z]* cluster:' "$results" && record cluster 1
fi

echo
grep -E '^(FAIL|SKIP)' "$results" | sort | uniq -c | sed 's/^ */  /'
passed=$(grep -c '^PASS' "$results")
failed=$(grep -c '^FAIL' "$results")
skipped=$(grep -c '^SKIP' "$results")
[ "$skipped" -gt 0 ] && echo "($skipped skipped: see the lines above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
