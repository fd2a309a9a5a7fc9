#!/usr/bin/env bash
# The seed articles (test/data/0*.txt) through aa_entities (issue 8): no
# entity may be a weekday, a month, a page or section label ("Photo",
# "Related", "Advertisement", "Graphic", ...), a dateline's word ("date",
# "updated"), or a common word: a one-word entity that the seed articles
# also write in small letters ("Separately", "Former").  And the names
# listed below must come out with their type (a photo credit's
# "HOSHANG HASHIMI" is a person, not a place).  Prints every offending
# mention with its article.
#
# Exit 0 pass, 1 fail.
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in test/data/0*.txt; do
	printf '%s\t%s\n' "$(basename "$f")" "$(sed -e 's/\\/\\\\/g; s/\t/\\t/g' "$f" | awk 1 ORS='\\n')"
done > "$work/articles.tsv"
# Words the seed articles write in small letters (common words).
cat test/data/0*.txt | tr -cs "[:alpha:]'" '\n' | grep -E '^[a-z]' | sort -u > "$work/lower_words.txt"

psql -X -q -v ON_ERROR_STOP=1 -At -F "$(printf '\t')" > "$work/found.tsv" <<SQL || exit 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS article_analytics;
CREATE TEMP TABLE seed (name text, body text);
\copy seed FROM '$work/articles.tsv'
SELECT s.name, e.entity, e.type FROM seed s, aa_entities(s.body) e ORDER BY s.name, e.start_pos;
SQL
[ -s "$work/found.tsv" ] || { echo "FAIL: no entity found in the seed articles"; exit 1; }

awk -F'\t' -v lower_file="$work/lower_words.txt" '
BEGIN {
	while ((getline word < lower_file) > 0) lower[word] = 1
	n = split("monday tuesday wednesday thursday friday saturday sunday " \
		"january february march april may june july august september october november december " \
		"jan feb mar apr jun jul aug sep sept oct nov dec " \
		"photo photos picture image images video graphic caption file related advertisement " \
		"advertising sponsored share comments comment read more updated published date source " \
		"subscribe newsletter", w, " ")
	for (i = 1; i <= n; i++) banned[w[i]] = 1
	# Names of the seed articles with the type they must have.
	want["HOSHANG HASHIMI"] = "PER"
	want["Alexander Vikantov"] = "PER"
	want["Valery Gerasimov"] = "PER"
	want["Interfax"] = "ORG"
	want["Taliban"] = "ORG"
	want["Reuters"] = "ORG"
	want["Kabul"] = "LOC"
	want["Lashkar Gah"] = "LOC"
}
{
	total++
	low = tolower($2)
	if (low in banned) { bad++; printf "FAIL %s: %s/%s is a weekday, month or section label\n", $1, $2, $3 }
	else if ($2 !~ / / && (low in lower)) { bad++; printf "FAIL %s: %s/%s is a common word (written in small letters in the seed articles)\n", $1, $2, $3 }
	if (($2 in want) && want[$2] != $3) { bad++; printf "FAIL %s: %s/%s should be %s\n", $1, $2, $3, want[$2] }
	if ($2 in want) seen[$2] = 1
}
END {
	for (e in want) if (!(e in seen)) { bad++; printf "FAIL: %s not found in the seed articles\n", e }
	printf "seed articles: %d mentions, %d wrong\n", total, bad
	exit bad > 0 ? 1 : 0
}' "$work/found.tsv"
