#!/usr/bin/env bash
# The README, tried top to bottom as a new user would: every ```sql block of
# README.md runs, in order, in one psql session on one fresh database, from
# the repository's top folder (where the README's relative paths point), and
# every output the README shows must be what the statement returns.
#
# The conventions (not-run markers, how shown output is compared) are
# described at the top of test/readme_examples.py, which does the work.
# Roles the README creates (CREATE ROLE ...) are dropped afterwards, with
# the database, so the test can run again in the same cluster.
set -u
cd "$(dirname "$0")/.."
db="aa_readme_$$"
roles_before=$(psql -X -A -t -d postgres -c "SELECT string_agg(quote_literal(rolname), ',') FROM pg_roles") || exit 1

cleanup() {
	dropdb --if-exists "$db"
	psql -X -A -t -q -d postgres -c "SELECT rolname FROM pg_roles WHERE rolname NOT IN ($roles_before)" |
		while read -r role; do
			[ -n "$role" ] && psql -X -q -d postgres -c "DROP ROLE $(printf '"%s"' "$role")"
		done
}
trap cleanup EXIT

createdb "$db" || exit 1
start=$(date +%s)
PGDATABASE="$db" python3 test/readme_examples.py README.md
rc=$?

# Every function of the extension a user calls is named in the README:
# all but the minhash type's I/O functions and the GIN support functions.
missing=0
for f in $(psql -X -A -t -d "$db" -c "
	SELECT DISTINCT p.proname FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
	WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
	  AND d.refclassid = 'pg_extension'::regclass
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'article_analytics')
	  AND NOT EXISTS (SELECT 1 FROM pg_type t
	                  WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend))
	  AND NOT EXISTS (SELECT 1 FROM pg_amproc a WHERE a.amproc = p.oid)
	ORDER BY 1"); do
	if ! grep -q "\b$f\b" README.md; then
		echo "FAIL: the README never names the function $f"
		missing=$((missing + 1))
	fi
done
[ "$missing" -eq 0 ] && echo "every function of the extension is named in the README" || rc=1
echo "($(($(date +%s) - start)) s)"
exit $rc
