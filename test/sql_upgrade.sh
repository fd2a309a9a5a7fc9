#!/usr/bin/env bash
# ALTER EXTENSION article_analytics UPDATE from the released 0.1 gives the
# same extension as a fresh CREATE EXTENSION, and keeps the user's data:
#  - database "aa_upgrade_old": CREATE EXTENSION ... VERSION '0.1' (the
#    committed sql/article_analytics--0.1.sql), the seed articles refreshed
#    by 0.1's aa_refresh, a GIN index on their sketches, an alias of the
#    user's, and the orphan rows 0.1 left for a dropped article table; then
#    ALTER EXTENSION ... UPDATE;
#  - database "aa_upgrade_new": CREATE EXTENSION at the default version;
#  - every object of the extension (functions and their flags and bodies,
#    tables, constraints, indexes, views, policies, event triggers, the
#    operator families, comments, the shipped alias rows) is described
#    from the catalogs in both, and the descriptions must be equal;
#  - the one-argument calls of 0.1 (aa_entities(document), aa_tag(tokens))
#    tag English after the upgrade, and the language argument works;
#  - the upgraded database keeps the user's alias and refresh state: a run
#    after the upgrade has nothing to redo, and its views answer as the
#    fresh database's after a full refresh of the same articles.
set -u
fail=0
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
old=aa_upgrade_old
new=aa_upgrade_new
q() { local d=$1; shift; psql -X -A -t -q -d "$d" -v ON_ERROR_STOP=1 "$@"; }
for d in $old $new; do
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" > /dev/null 2>&1
	psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $d" || exit 1
done
data=$(cd "$(dirname "$0")" && pwd)/data
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" article_analytics.control)

# the articles both databases get: the committed seed articles
load_articles() {
	local d=$1
	q "$d" -c "CREATE TABLE articles (id bigint PRIMARY KEY, published date, body text, sig minhash)" || return 1
	local i=1
	for f in "$data"/[0-9][0-9][0-9]_*.txt; do
		echo "INSERT INTO articles (id, published, body) VALUES ($i, DATE '2024-05-01' + $i, :'body')" |
			q "$d" -v body="$(cat "$f")" || return 1
		i=$((i + 1))
	done
	q "$d" -c "UPDATE articles SET sig = aa_minhash(body)" -c "CREATE INDEX articles_sig ON articles USING gin (sig minhash_ops)"
}
ls "$data"/[0-9][0-9][0-9]_*.txt > /dev/null 2>&1 || { echo "FAIL: no seed articles in $data"; exit 1; }

# --- 0.1, used, then upgraded ------------------------------------------------
q $old -c "CREATE EXTENSION article_analytics VERSION '0.1'" || exit 1
load_articles $old || exit 1
q $old > /dev/null <<'SQL' || bad "could not use 0.1"
INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES ('Ivan the Great', 'Ivan III', 'PER');
CALL aa_refresh('articles', date_column => 'published');
CREATE TABLE gone (id int PRIMARY KEY, body text);
INSERT INTO gone VALUES (1, 'Angela Merkel visited Paris.');
CALL aa_refresh('gone');
DROP TABLE gone;
SQL
out=$(q $old -c "SELECT 'orphans_before ' || count(*) FROM aa_refresh_articles a WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.source)")
say "0.1: $out"
node_before=$(q $old -c "SELECT pg_relation_filenode('articles_sig')")
q $old -c "ALTER EXTENSION article_analytics UPDATE" || bad "ALTER EXTENSION article_analytics UPDATE failed"
[ "$(q $old -c "SELECT pg_relation_filenode('articles_sig')")" != "$node_before" ] ||
	bad "the upgrade did not rebuild the minhash_ops index"
q $old -c "SELECT 'upgraded_to ' || extversion FROM pg_extension WHERE extname = 'article_analytics'"
q $new -c "CREATE EXTENSION article_analytics" || exit 1

# --- the two extensions, described from the catalogs ----------------------
describe() {
	q "$1" <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'article_analytics'),
members AS (SELECT d.classid, d.objid FROM pg_depend d, ext
            WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'function ' || p.oid::regprocedure || ' kind=' || p.prokind::text || ' strict=' || p.proisstrict
       || ' vol=' || p.provolatile::text || ' par=' || p.proparallel::text || ' secdef=' || p.prosecdef
       || ' config=' || coalesce(array_to_string(p.proconfig, ','), '') || ' returns=' || p.prorettype::regtype
       || ' src=' || md5(p.prosrc) || ' acl=' || coalesce(p.proacl::text, '')
FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
       || ' options=' || coalesce(array_to_string(c.reloptions, ','), '') || ' acl=' || coalesce(c.relacl::text, '')
       || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
       || CASE WHEN c.relkind = 'v' THEN ' def=' || md5(pg_get_viewdef(c.oid)) ELSE '' END
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
SELECT 'constraint ' || c.relname || ' ' || pg_get_constraintdef(k.oid)
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
     JOIN pg_constraint k ON k.conrelid = c.oid
UNION ALL
SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON')
FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT 'policy ' || pol.tablename || ' ' || pol.policyname || ' ' || pol.cmd || ' '
       || coalesce(pol.qual, '') || ' / ' || coalesce(pol.with_check, '')
FROM pg_policies pol WHERE pol.tablename LIKE 'aa\_%'
UNION ALL
SELECT 'event_trigger ' || e.evtname || ' ' || e.evtevent || ' ' || e.evtfoid::regproc || ' ' || e.evtenabled::text
FROM members m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
UNION ALL
SELECT 'amproc ' || f.opfname || ' ' || ap.amprocnum || ' ' || ap.amproclefttype::regtype || ' '
       || ap.amprocrighttype::regtype || ' ' || ap.amproc::regprocedure
FROM pg_opfamily f JOIN pg_amproc ap ON ap.amprocfamily = f.oid WHERE f.opfname = 'minhash_ops'
UNION ALL
SELECT 'amop ' || f.opfname || ' ' || ao.amopstrategy || ' ' || ao.amopopr::regoperator
FROM pg_opfamily f JOIN pg_amop ao ON ao.amopfamily = f.oid WHERE f.opfname = 'minhash_ops'
UNION ALL
SELECT 'config_dump ' || c.relname || ' ' || coalesce(x.cond, '')
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cond), pg_class c
WHERE e.extname = 'article_analytics' AND c.oid = x.oid
UNION ALL
SELECT 'shipped_aliases ' || count(*) || ' ' || md5(string_agg(alias || '|' || canonical || '|' || type, ',' ORDER BY alias))
FROM aa_entity_aliases WHERE shipped
ORDER BY 1;
SQL
}
describe $old > test/build/upgrade_old.txt
describe $new > test/build/upgrade_new.txt
say "catalog description: $(wc -l < test/build/upgrade_new.txt) lines (fresh $version)"
if ! diff -u test/build/upgrade_new.txt test/build/upgrade_old.txt > test/build/upgrade.diff; then
	bad "the upgraded extension differs from a fresh install:"
	head -40 test/build/upgrade.diff
fi
grep -q "^function aa_minhash_gin_compare_partial" test/build/upgrade_new.txt ||
	bad "the description misses functions (it would prove nothing)"
grep -q "^policy aa_article_entities aa_read" test/build/upgrade_new.txt ||
	bad "the description misses the policies (it would prove nothing)"

# --- the user's data after the upgrade --------------------------------------
out=$(q $old <<'SQL'
SELECT 'user_alias ' || count(*) FROM aa_entity_aliases WHERE NOT shipped AND alias = 'Ivan the Great';
SELECT 'turkiye ' || canonical FROM aa_entity_aliases WHERE alias = 'Turkey' AND shipped;
SELECT 'orphans_after ' || count(*) FROM aa_refresh_articles a WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.source);
CALL aa_refresh('articles', date_column => 'published');
SELECT 'rerun ' || status || ' ' || rows_done || ' ' || rows_unchanged FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT 'one_argument ' || count(*) || ' ' || (array_agg(e ORDER BY e.start_pos) = (SELECT array_agg(x ORDER BY x.start_pos) FROM aa_entities('Angela Merkel visited Paris.', 'english') x))
FROM aa_entities('Angela Merkel visited Paris.') e;
SELECT 'tag_one_argument ' || (aa_tag(ARRAY['Angela', 'Merkel']) = aa_tag(ARRAY['Angela', 'Merkel'], 'en'));
SELECT 'spanish ' || (count(*) > 0) FROM aa_entities('Angela Merkel visitó Madrid.', 'es');
SELECT 'entity_languages ' || string_agg(iso_code, ',' ORDER BY iso_code) FROM aa_languages() WHERE entities;
SQL
)
echo "$out" | sed 's/^/   /'
echo "$out" | grep -q '^user_alias 1$' || bad "the user's alias was lost"
echo "$out" | grep -q '^turkiye Türkiye$' || bad "the shipped aliases outside ASCII are wrong after the upgrade"
echo "$out" | grep -q '^orphans_after 0$' || bad "the upgrade left 0.1's orphan rows"
echo "$out" | grep -q '^rerun done 0 0$' || bad "the first run after the upgrade redid work"
echo "$out" | grep -q '^one_argument 2 true$' || bad "aa_entities(document) no longer tags English after the upgrade"
echo "$out" | grep -q '^tag_one_argument true$' || bad "aa_tag(tokens) no longer tags English after the upgrade"
echo "$out" | grep -q '^spanish true$' || bad "aa_entities(document, 'es') finds nothing after the upgrade"
echo "$out" | grep -q '^entity_languages de,en,es,nl,pt$' || bad "aa_languages() does not list the entity languages after the upgrade"
load_articles $new || exit 1
q $new -c "INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES ('Ivan the Great', 'Ivan III', 'PER')" \
	-c "CALL aa_refresh('articles', date_column => 'published')"
views="SELECT 'entity_totals', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM aa_entity_totals t
UNION ALL SELECT 'terms', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM aa_top_terms_daily t
UNION ALL SELECT 'duplicates', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM aa_duplicates t
UNION ALL SELECT 'probe', count(*)::text FROM articles a, articles b WHERE a.id = 3 AND b.sig % a.sig"
if [ "$(q $old -c "SET enable_seqscan = off" -c "$views")" != "$(q $new -c "SET enable_seqscan = off" -c "$views")" ]; then
	bad "the views or the index answer differently after the upgrade"
	q $old -c "$views"
	q $new -c "$views"
fi

psql -X -q -d postgres -c "DROP DATABASE $old" -c "DROP DATABASE $new" > /dev/null
[ $fail -eq 0 ] && echo "upgrade 0.1 -> $version: all checks passed"
exit $fail
