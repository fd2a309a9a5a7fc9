#!/usr/bin/env bash
# Run the core's unit test binaries and count their "ok"/"not ok" lines.
# Prints "unit: N passed, N failed" and exits non-zero on any failure.
set -u
passed=0
failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | grep -E '^not ok' || true
	# a skipped check ("ok N - ... # SKIP why") is not a pass
	p=$(echo "$out" | grep -E '^ok ' | grep -cv '# SKIP')
	f=$(echo "$out" | grep -cE '^not ok')
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"
		echo "$out" | tail -20
		f=1
	fi
	echo "$(basename "$t"): $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
