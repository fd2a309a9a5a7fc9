#!/usr/bin/env bash
# Databases that are not UTF-8 (issue 10, items 12 and 13).  For LATIN1,
# LATIN5, EUC_JP, EUC_KR and SQL_ASCII, each in a new database made with
# createdb -E <encoding> -T template0 --locale=C:
#  - CREATE EXTENSION works (the install script is declared UTF-8);
#  - the shipped alias rows equal those of a UTF-8 database, less exactly
#    the rows whose names the encoding cannot hold;
#  - sample words have the stems they have in UTF-8, wherever the encoding
#    can hold that stem; where it cannot, the README's rule (the word
#    lower-cased without the language's rules, else the word as written);
#  - aa_stem, aa_stems and aa_term_counts agree on every word;
#  - aa_tokens, aa_entities and aa_shared_passages positions give the token
#    back through substr (characters; bytes in SQL_ASCII, as substr counts),
#    including bytes that are not UTF-8 in SQL_ASCII.
# Runs in the test cluster (PG* variables set); exit 0 pass, 1 fail.
set -u
export PGCLIENTENCODING=UTF8
suffix=$$
ref=aa_enc_utf8_$suffix
encodings="LATIN1 LATIN5 EUC_JP EUC_KR SQL_ASCII"
cleanup() {
	dropdb --if-exists "$ref" >/dev/null 2>&1
	for enc in $encodings; do
		dropdb --if-exists "aa_enc_$(echo "$enc" | tr 'A-Z' 'a-z')_$suffix" >/dev/null 2>&1
	done
}
trap cleanup EXIT
fail=0
q() {	# q DATABASE SQL: the rows, or "ERROR ..." when the query fails
	psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1 || echo "ERROR (query failed)"
}
check() {	# check WHAT EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		echo "FAIL: $1"; echo "   expected: $2"; echo "   actual:   $3"; fail=1
	fi
}

# the sample words, with their language, as UTF-8
samples="Running english
Écoles french
Häuser german
Straße german
naïveté french
Señoras spanish
CAFÉS english
Zürich german
Türkiye turkish
kitapları turkish
I turkish
IRAK turkish
İstanbul turkish
İstanbul english
Ìs lithuanian
Москва russian
ΟΔΟΣ greek
東京 english"

createdb -E UTF8 -T template0 --locale=C "$ref" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$ref" <<'SQL' || exit 1
CREATE EXTENSION article_analytics;
-- true when the text has an equivalent in the encoding
CREATE FUNCTION fits(t text, enc name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convert_to(t, enc);
    RETURN true;
EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire THEN
    RETURN false;
END $$;
CREATE TABLE samples (word text, language text);
SQL
printf '%s\n' "$samples" | tr ' ' '\t' |
	psql -X -q -v ON_ERROR_STOP=1 -d "$ref" -c "\\copy samples FROM STDIN" || exit 1
aliases_utf8=$(q "$ref" "SELECT alias || '|' || canonical || '|' || type FROM aa_entity_aliases WHERE shipped" | LC_ALL=C sort)
[ "$(echo "$aliases_utf8" | wc -l)" -gt 700 ] || { echo "FAIL: the UTF-8 database has too few alias rows"; exit 1; }

for enc in $encodings; do
	db=aa_enc_$(echo "$enc" | tr 'A-Z' 'a-z')_$suffix
	echo "== $enc"
	createdb -E "$enc" -T template0 --locale=C "$db" || { echo "FAIL: createdb $enc"; fail=1; continue; }
	if ! out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION article_analytics" 2>&1); then
		echo "FAIL: CREATE EXTENSION in $enc: $out"; fail=1; continue
	fi
	echo "ok: CREATE EXTENSION in $enc"

	# alias rows: those of UTF-8, less exactly the ones the encoding cannot hold
	rows=$(q "$db" "SELECT alias || '|' || canonical || '|' || type FROM aa_entity_aliases WHERE shipped" | LC_ALL=C sort)
	unfit=$(q "$ref" "SELECT alias || '|' || canonical || '|' || type FROM aa_entity_aliases
	                                   WHERE shipped AND NOT fits(alias || canonical, '$enc')" | LC_ALL=C sort)
	check "$enc: alias rows missing are those the encoding cannot hold" "$unfit" \
		"$(LC_ALL=C comm -23 <(echo "$aliases_utf8") <(echo "$rows"))"
	check "$enc: no alias row differs from UTF-8" "" "$(LC_ALL=C comm -13 <(echo "$aliases_utf8") <(echo "$rows"))"

	# stems: the UTF-8 stem wherever the encoding holds it
	expected=$(q "$ref" "
		SELECT word, language, aa_stem(word, language) FROM samples
		WHERE fits(word, '$enc') AND fits(aa_stem(word, language), '$enc') ORDER BY word, language")
	words=$(q "$ref" "
		SELECT string_agg(quote_literal(word) || ', ' || quote_literal(language), '), (') FROM samples
		WHERE fits(word, '$enc') AND fits(aa_stem(word, language), '$enc')")
	actual=$(q "$db" "SELECT w, l, aa_stem(w, l) FROM (VALUES ($words)) v(w, l)")
	expected=$(echo "$expected" | LC_ALL=C sort)
	actual=$(echo "$actual" | LC_ALL=C sort)
	check "$enc: $(echo "$expected" | wc -l) sample words have their UTF-8 stems" "$expected" "$actual"

	# aa_stem, aa_stems and aa_term_counts agree on every sample word
	all=$(q "$ref" "
		SELECT string_agg(quote_literal(word) || ', ' || quote_literal(language), '), (') FROM samples
		WHERE fits(word, '$enc')")
	disagree=$(q "$db" "
		SELECT coalesce(string_agg(w || '/' || l, ' '), 'none') FROM (VALUES ($all)) v(w, l)
		WHERE aa_stems(w || ' ' || w, l, true) IS DISTINCT FROM ARRAY[aa_stem(w, l), aa_stem(w, l)]
		   OR (SELECT coalesce(string_agg(term || '=' || count, ','), '') FROM aa_term_counts(w || ' ' || w, l))
		      IS DISTINCT FROM (SELECT coalesce(string_agg(s || '=2', ','), '') FROM unnest(aa_stems(w, l)) s)")
	check "$enc: aa_stem, aa_stems and aa_term_counts agree" "none" "$disagree"

	# positions: substr(document, start_pos, length) gives the token back
	case $enc in
		LATIN1) doc="«Déjà vu» à Zürich, l'été: Señoras y señores. Curaçao!" ;;
		LATIN5) doc="İstanbul'da Şubat ayında, Türkiye'nin ÇAĞDAŞ şehri; İzmir." ;;
		EUC_JP) doc="東京で「会議」が開かれた。Tokyo, Japan: 3,000人が参加。" ;;
		EUC_KR) doc="서울에서 회의가 열렸다. Seoul, Korea: 3,000명." ;;
		SQL_ASCII) doc="«Déjà vu» à Zürich, 東京 — Москва; " ;;
	esac
	# in SQL_ASCII, add bytes that are not UTF-8 (LATIN1 e-acute, e-grave,
	# c-cedilla), which a SQL_ASCII database accepts; the client then reads
	# the bytes as they are
	client=UTF8
	tail="' Francois Hollande visited Paris.'"
	if [ "$enc" = SQL_ASCII ]; then
		client=SQL_ASCII
		tail="E'caf\\xe9 cr\\xe8me, Fran\\xe7ois Hollande visited Paris.'"
	fi
	out=$(PGCLIENTENCODING=$client psql -X -At -v ON_ERROR_STOP=1 -d "$db" -v doc="$doc" -v tail="$tail" 2>&1 <<'SQL'
SELECT :'doc' || :tail AS d \gset
SELECT 'tokens ' || count(*) || ' ' || bool_and(substr(:'d', start_pos, length) = token)
       || ' ' || (max(start_pos + length) - 1 <= length(:'d'))
FROM aa_tokens(:'d');
SELECT 'entities ' || count(*) || ' ' || coalesce(bool_and(substr(:'d', start_pos, length) = entity), false)
FROM aa_entities(:'d');
SELECT 'passages ' || count(*) || ' ' || bool_and(substr(:'d', a_start, a_length) = passage)
       || ' ' || bool_and(substr('Before it: ' || :'d', b_start, b_length) = passage)
FROM aa_shared_passages(:'d', 'Before it: ' || :'d', 3);
SELECT 'stems ' || (cardinality(aa_stems(:'d', 'french')) > 0);
SQL
)
	echo "$out" | sed 's/^/   /'
	ntok=$(echo "$out" | sed -n 's/^tokens \([0-9]*\) .*/\1/p')
	check "$enc: token positions agree with substr" "tokens ${ntok:-0} true true" "$(echo "$out" | grep -a '^tokens')"
	check "$enc: entity positions agree with substr" "true" "$(echo "$out" | sed -n 's/^entities [1-9][0-9]* //p')"
	check "$enc: passage positions agree with substr" "passages 1 true true" "$(echo "$out" | grep -a '^passages')"
	check "$enc: the document stems" "stems true" "$(echo "$out" | grep -a '^stems')"
done

# stems a database encoding cannot hold (README, "Other database encodings")
db=aa_enc_latin1_$suffix
out=$(q "$db" "
	SELECT aa_stem('I', 'turkish'), aa_stem('IRAK', 'turkish'), aa_stem('Ìs', 'lithuanian'),
	       array_to_string(aa_stems('I IRAK Irak', 'turkish', true), ','),
	       (SELECT string_agg(term || '=' || count, ',' ORDER BY term) FROM aa_term_counts('Irak IRAK irak', 'turkish'))")
check "LATIN1: stems the encoding cannot hold are the word lower-cased" "i irak ìs i,irak,irak irak=3" "$out"
db=aa_enc_latin5_$suffix
out=$(q "$db" "SELECT aa_stem('I', 'turkish'), aa_stem('İ', 'english'), aa_stem('İstanbul', 'turkish')")
check "LATIN5: dotless i fits; i with a combining dot does not, so the word as written" "ı İ istanbul" "$out"

[ $fail -eq 0 ]
