#!/usr/bin/env bash
# Modern news through aa_entities (issue 8): the five sentences of the
# issue and forty more written for this test (test/data/
# modern_sentences.tsv), the last ten of them a held-aside set that was
# not looked at while the model was tuned (counted apart).  A sentence is right when aa_entities returns
# every entity listed for it with its type ("The New York Times" counts for
# "New York Times") and no entity that is not listed (those marked "?" may
# or may not be found).  Prints each wrong sentence, the count, and whether
# the issue's target (all five of the issue right, and at least 90% of
# all) is met.  Fails when a sentence not marked "xfail" (a known error of
# the shipped model) is wrong; an xfail sentence that comes out right is
# reported so that its mark can go.
#
# Exit 0 pass, 1 fail.
set -u
cd "$(dirname "$0")/.."
data=test/data/modern_sentences.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v '^#' "$data" | awk -F'\t' '{ print NR "\t" $1 }' > "$work/sentences.tsv"

psql -X -q -v ON_ERROR_STOP=1 -At -F "$(printf '\t')" > "$work/found.tsv" <<SQL || exit 1
CREATE EXTENSION IF NOT EXISTS article_analytics;
CREATE TEMP TABLE modern (n int, sentence text);
\copy modern FROM '$work/sentences.tsv'
SELECT m.n, coalesce(string_agg(e.entity || '/' || e.type, ';' ORDER BY e.start_pos), '')
FROM modern m LEFT JOIN LATERAL aa_entities(m.sentence) e ON true
GROUP BY m.n ORDER BY m.n;
SQL

awk -F'\t' -v found_file="$work/found.tsv" '
BEGIN {
	while ((getline line < found_file) > 0) {
		split(line, f, "\t"); found[f[1]] = f[2]
	}
}
/^#@ held-aside/ { held = 1; next }
/^#/ { next }
{
	n++; total++
	if (held) held_total++
	xfail = ($3 == "xfail")
	delete need; delete maybe; delete got
	k = split($2, want, ";")
	for (i = 1; i <= k; i++) {
		if (substr(want[i], 1, 1) == "?") maybe[substr(want[i], 2)] = 1
		else need[want[i]] = 1
	}
	m = split(found[n], have, ";")
	ok = 1; why = ""
	for (i = 1; i <= m; i++) {
		if (have[i] == "") continue
		e = have[i]
		if (substr(e, 1, 4) == "The ") { alt = substr(e, 5); if (alt in need) e = alt }
		got[e] = 1
		if (!(e in need) && !(e in maybe)) { ok = 0; why = why " unexpected " have[i] }
	}
	for (e in need) if (!(e in got)) { ok = 0; why = why " missing " e }
	if (ok) {
		passed++; if (n <= 5) issue_passed++
		if (held) held_passed++
		if (xfail) printf "XPASS sentence %d (marked xfail, now right): %s\n", n, $1
	} else {
		printf "%s sentence %d: %s\n   found: %s\n  %s\n", xfail ? "XFAIL (known)" : "FAIL", n, $1, found[n], why
		if (!xfail) unexpected++
	}
}
END {
	if (total == 0) { print "FAIL: no sentence read from the data file"; exit 1 }
	met = (issue_passed == 5 && passed * 10 >= total * 9)
	printf "modern sentences: %d of %d right (%d of the 5 from issue 8; %d of %d before the held-aside set, %d of %d held aside); issue 8 target (all 5, >= 90%%): %s; unexpected failures: %d\n", passed, total, issue_passed, passed - held_passed, total - held_total, held_passed, held_total, met ? "met" : "NOT met", unexpected
	exit unexpected > 0 ? 1 : 0
}' "$data"
