#!/usr/bin/env bash
# The user's rows of aa_entity_aliases survive pg_dump and restore, and the
# shipped rows are not dumped (the restored extension brings its own).
# Runs in the test cluster (PG* variables set); exit 0 pass, 1 fail.
set -u
src=aa_alias_dump_src_$$
dst=aa_alias_dump_dst_$$
trap 'dropdb --if-exists "$src" >/dev/null 2>&1; dropdb --if-exists "$dst" >/dev/null 2>&1' EXIT
createdb "$src" && createdb "$dst" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<'SQL' || exit 1
CREATE EXTENSION article_analytics;
INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES
    ('ISIS', 'Islamic State', 'ORG'), ('Daesh', 'Islamic State', 'ORG');
SQL
pg_dump -d "$src" | psql -X -q -v ON_ERROR_STOP=1 -d "$dst" >/dev/null || {
	echo "sql_entity_aliases_dump: restoring the dump failed"; exit 1; }
result=$(psql -X -At -d "$dst" -c "
	SELECT (SELECT count(*) FROM aa_entity_aliases WHERE NOT shipped) || ' user rows, ' ||
	       (SELECT count(*) FROM aa_entity_aliases WHERE shipped) || ' shipped rows, ISIS -> ' ||
	       (SELECT canonical FROM aa_entities('Officials said ISIS lost ground.') WHERE entity = 'ISIS')")
expected_shipped=$(psql -X -At -d "$src" -c "SELECT count(*) FROM aa_entity_aliases WHERE shipped")
echo "after pg_dump and restore: $result"
[ "$result" = "2 user rows, $expected_shipped shipped rows, ISIS -> Islamic State" ]
