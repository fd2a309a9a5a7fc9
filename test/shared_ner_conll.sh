#!/usr/bin/env bash
# The entity tagger through SQL on CoNLL-2003 valid.txt: every sentence
# goes through aa_tag(text[]) in the test cluster, and the tags are scored
# at the entity level (conlleval).  Passes when overall F1 >= 89 (sentences
# are tagged one by one here, without the document context that
# aa_entities and `make eval` use, so the figure is a little lower).
#
#   test/shared_ner_conll.sh SHARED_DIR     (PG* variables name the cluster)
#
# Exit 0 pass, 1 fail, 77 skipped (no ../shared).
set -u
cd "$(dirname "$0")/.."
shared=${1:-$(cd .. && pwd)/shared}
valid="$shared/data/conll2003/valid.txt"
if [ ! -f "$valid" ]; then
	echo "SKIP shared_ner_conll: $valid not found (CoNLL-2003 lives in ../shared)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sentence number, position, token, gold tag; tabs and backslashes escaped
# for COPY's text format.
awk 'BEGIN { s = 0; p = 0 }
	/^-DOCSTART-/ { next }
	NF == 0 { if (p > 0) { s++; p = 0 } next }
	{ tok = $1; gsub(/\\/, "\\\\", tok); p++; print s "\t" p "\t" tok "\t" $NF }' \
	"$valid" > "$work/valid.tsv"

psql -X -q -v ON_ERROR_STOP=1 -At -F "$(printf '\t')" > "$work/pred.tsv" <<SQL || exit 1
CREATE EXTENSION IF NOT EXISTS article_analytics;
CREATE TEMP TABLE conll (sentence int, position int, token text, gold text);
\copy conll FROM '$work/valid.tsv'
SELECT c.sentence, c.position, c.gold, t.tags[c.position]
FROM conll c
JOIN (SELECT sentence, aa_tag(array_agg(token ORDER BY position)) AS tags
      FROM conll GROUP BY sentence) t USING (sentence)
ORDER BY c.sentence, c.position;
SQL

# conlleval: an entity is correct when its start, end and type all match.
awk -F'\t' '
function step(kind, tag, key, new_sentence,   prefix, t) {
	prefix = substr(tag, 1, 1); t = substr(tag, 3)
	if (start[kind] != "" && (new_sentence || prefix != "I" || t != type[kind])) {
		found[kind, start[kind] "/" prev "/" type[kind]] = 1; count[kind]++; start[kind] = ""
	}
	if (prefix == "B" || (prefix == "I" && start[kind] == "")) { start[kind] = key; type[kind] = t }
}
{
	key = $1 ":" $2; new_sentence = ($1 != sentence); sentence = $1
	step("g", $3, key, new_sentence); step("p", $4, key, new_sentence)
	prev = key
}
END {
	step("g", "O", "", 1); step("p", "O", "", 1)
	for (k in found) { split(k, part, SUBSEP); if (part[1] == "p" && (("g" SUBSEP part[2]) in found)) correct++ }
	p = count["p"] ? correct / count["p"] * 100 : 0; r = count["g"] ? correct / count["g"] * 100 : 0
	f = p + r > 0 ? 2 * p * r / (p + r) : 0
	printf "aa_tag on CoNLL-2003 valid.txt: %d gold, %d found, %d correct; precision %.2f, recall %.2f, F1 %.2f (pass: F1 >= 89)\n", count["g"], count["p"], correct, p, r, f
	exit (f >= 89 ? 0 : 1)
}' "$work/pred.tsv"
