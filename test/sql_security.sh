#!/usr/bin/env bash
# The privilege model of aa_refresh and the analytics, tried by hostile
# roles in a database of its own (README, "Security"):
#   - a reader granted the BI views sees only the rows of article tables it
#     may SELECT, whatever function it puts in its WHERE clause, and row-level
#     security guards the side tables themselves;
#   - a table owner who may refresh (the README's refresher recipe) refreshes
#     its own table but cannot read, forge, change, forget or refresh another
#     owner's analytics, nor take its lock;
#   - a table owner's own type with a cast of its own, as the language, id or
#     date column, is refused before any of its code runs with a superuser's
#     rights;
#   - overloads that an untrusted role puts in public (more specific than
#     pg_catalog's functions and operators aa_refresh uses) are never called;
#   - an advisory lock on the key the released version used blocks nothing;
#   - rows with a NULL id are counted as skipped; dropping an article table
#     drops its side-table rows; aa_refresh_forget is STRICT.
set -u
fail=0
db=aa_security_test
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
# psql in the test database as the superuser, or as ROLE (SET SESSION AUTHORIZATION)
su_sql() { psql -X -A -t -q -d "$db" -v ON_ERROR_STOP=1 "$@"; }
as() {
	local role=$1
	shift
	psql -X -A -t -q -d "$db" -v VERBOSITY=verbose -c "SET SESSION AUTHORIZATION $role" "$@" 2>&1
}
# a script on stdin, run as ROLE, stopping at the first error
as_script() {
	{ echo "SET SESSION AUTHORIZATION $1;"; cat; } |
		psql -X -A -t -q -d "$db" -v VERBOSITY=verbose -v ON_ERROR_STOP=1 2>&1
}
roles="aa_sec_alice aa_sec_bob aa_sec_mallory aa_sec_reader aa_sec_refresher"
cleanup() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" > /dev/null 2>&1
	for r in $roles; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" > /dev/null 2>&1; done
}
cleanup
psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" || exit 1
for r in $roles; do psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE ROLE $r NOLOGIN" || exit 1; done

# The setting: two tenants, alice and bob, each owning an article table in a
# schema of their own; the README's recipes for a refresher and a reader;
# public writable by everyone as in databases created before PostgreSQL 15.
su_sql > /dev/null <<'SQL' || exit 1
CREATE EXTENSION article_analytics;
GRANT CREATE ON SCHEMA public TO PUBLIC;
-- the README's "table owner who refreshes" recipe
GRANT SELECT, INSERT, UPDATE, DELETE ON aa_refresh_sources, aa_refresh_runs,
      aa_refresh_locks, aa_refresh_articles, aa_article_entities, aa_article_terms,
      aa_article_bands, aa_duplicate_pairs, aa_cluster_members TO aa_sec_refresher;
GRANT USAGE ON SEQUENCE aa_refresh_runs_run_id_seq TO aa_sec_refresher;
GRANT aa_sec_refresher TO aa_sec_alice, aa_sec_bob;
-- the README's "analytics reader" recipe
GRANT SELECT ON aa_refresh_status, aa_refresh_skipped, aa_entity_daily, aa_entity_totals,
      aa_entity_types, aa_entity_cooccurrence, aa_duplicates, aa_duplicate_clusters,
      aa_top_terms_daily TO aa_sec_reader;
CREATE SCHEMA alice AUTHORIZATION aa_sec_alice;
CREATE SCHEMA bob AUTHORIZATION aa_sec_bob;
SQL

as_script aa_sec_alice > /dev/null <<'SQL' || { bad "alice could not set up her table"; }
CREATE TABLE alice.alice_articles (id bigint PRIMARY KEY, published date, body text);
INSERT INTO alice.alice_articles VALUES
  (1, '2024-03-01', 'John Smith, the chief executive of Acme Corp, said in Chicago that sales rose.'),
  (2, '2024-03-01', 'Acme Corp hired John Smith in 2019 and moved its offices to Chicago.');
SQL
# NULL ids: a table whose id has a unique index, not a primary key
as_script aa_sec_alice > /dev/null <<'SQL' || bad "alice could not set up her second table"
CREATE TABLE alice.alice_wire (id bigint, body text);
CREATE UNIQUE INDEX ON alice.alice_wire (id);
INSERT INTO alice.alice_wire VALUES (1, 'Reuters reported from Paris.'), (NULL, 'No id here.'),
  (NULL, 'Nor here.');
SQL
as_script aa_sec_bob > /dev/null <<'SQL' || bad "bob could not set up his table"
CREATE TABLE bob.bob_articles (id int PRIMARY KEY, published date, body text);
INSERT INTO bob.bob_articles VALUES
  (1, '2024-03-01', 'Maria Lopez of Globex Industries spoke in Madrid on Monday.'),
  (2, '2024-03-02', 'Globex Industries opened a factory near Madrid, Maria Lopez said.');
GRANT SELECT ON bob.bob_articles TO aa_sec_reader;
SQL

# other roles may not even look up bob's schema: they name his table by OID
bob=$(su_sql -c "SELECT 'bob.bob_articles'::regclass::oid")

# --- refreshing: each owner refreshes its own table, and only that ---------
out=$(as aa_sec_alice -c "CALL aa_refresh('alice.alice_articles', date_column => 'published')")
echo "$out" | grep -q 'ERROR' && bad "alice could not refresh her own table: $out"
out=$(as aa_sec_alice -c "CALL aa_refresh('alice.alice_wire')")
echo "$out" | grep -q 'ERROR' && bad "alice could not refresh her second table: $out"
out=$(as aa_sec_bob -c "CALL aa_refresh('bob.bob_articles', date_column => 'published')")
echo "$out" | grep -q 'ERROR' && bad "bob could not refresh his own table: $out"
out=$(as aa_sec_alice -c "CALL aa_refresh($bob, date_column => 'published')")
say "alice refreshing bob's table: $(echo "$out" | head -1)"
echo "$out" | grep -q 'ERROR:  42501: aa_refresh: permission denied to refresh bob.bob_articles' ||
	bad "alice could refresh bob's table"
out=$(as aa_sec_mallory -c "CALL aa_refresh($bob)")
echo "$out" | grep -q 'ERROR:  42501' || bad "mallory could refresh bob's table: $out"
# an owner without the refresher grants is told what to ask for
su_sql -c "CREATE TABLE public.mallory_articles (id int PRIMARY KEY, body text); ALTER TABLE public.mallory_articles OWNER TO aa_sec_mallory"
out=$(as aa_sec_mallory -c "CALL aa_refresh('public.mallory_articles')")
say "an owner without the grants: $(echo "$out" | head -1)"
echo "$out" | grep -q 'ERROR:  42501: aa_refresh: role aa_sec_mallory may not write the side tables' ||
	bad "an owner without the side-table grants got: $out"

# --- item 15: rows with a NULL id are counted as skipped ---------------------
out=$(as aa_sec_alice -c "SELECT 'null_ids ' || skipped_null_id || ' ' || rows_skipped || ' ' || rows_done FROM aa_refresh_runs WHERE source = 'alice.alice_wire'::regclass")
say "alice_wire run: $out"
echo "$out" | grep -q '^null_ids 2 2 1$' || bad "the two rows with a NULL id are not counted as skipped: $out"

# --- a reader sees only the analytics of tables it may SELECT ----------------
out=$(as_script aa_sec_reader <<'SQL'
SELECT 'entity_daily ' || string_agg(DISTINCT source || ':' || entity, ',' ORDER BY source || ':' || entity) FROM aa_entity_daily;
SELECT 'sources ' || string_agg(DISTINCT source, ',') FROM (
  SELECT source FROM aa_entity_daily UNION ALL SELECT source FROM aa_entity_totals
  UNION ALL SELECT source FROM aa_entity_cooccurrence UNION ALL SELECT source FROM aa_top_terms_daily
  UNION ALL SELECT source FROM aa_refresh_status UNION ALL SELECT source FROM aa_refresh_skipped
  UNION ALL SELECT source FROM aa_duplicates UNION ALL SELECT source FROM aa_duplicate_clusters
  UNION ALL SELECT source FROM aa_entity_types) s;
SQL
)
say "reader: $out"
echo "$out" | grep -q '^entity_daily bob.bob_articles:Globex Industries,bob.bob_articles:Madrid,bob.bob_articles:Maria Lopez$' ||
	bad "the reader does not see exactly bob's entities: $out"
echo "$out" | grep -q '^sources bob.bob_articles$' || bad "the reader sees another table's analytics in some view: $out"
echo "$out" | grep -qi 'acme\|smith' && bad "the reader sees alice's entities"
# a leaky function in the reader's WHERE clause sees no row it may not read
out=$(as_script aa_sec_reader <<'SQL'
CREATE FUNCTION pg_temp.leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN RAISE NOTICE 'leaked: %', t; RETURN true; END $$;
SELECT count(*) FROM aa_entity_totals WHERE pg_temp.leak(entity);
SELECT count(*) FROM aa_top_terms_daily WHERE pg_temp.leak(term);
SELECT count(*) FROM aa_refresh_skipped WHERE pg_temp.leak(detail);
SQL
)
echo "$out" | grep -qi 'leaked: .*\(acme\|smith\|chicago\|without an id\)' &&
	bad "a function in the reader's WHERE clause saw alice's rows: $(echo "$out" | grep -i 'acme\|smith\|chicago' | head -2)"
echo "$out" | grep -q 'leaked: ' || bad "the leak probe saw no row at all (the test proves nothing): $out"
# the side tables themselves: a reader granted them directly, and the
# refreshers, see only rows of tables they may SELECT (row-level security)
su_sql -c "GRANT SELECT ON aa_article_entities, aa_refresh_articles TO aa_sec_reader"
out=$(as aa_sec_reader -c "SELECT 'direct ' || string_agg(DISTINCT source::text, ',') FROM aa_article_entities")
echo "$out" | grep -q '^direct bob.bob_articles$' || bad "row-level security lets the reader see: $out"
out=$(as aa_sec_alice -c "SELECT 'alice_sees ' || count(*) FROM aa_article_entities WHERE source = $bob" \
	-c "SELECT 'alice_md5 ' || count(*) FROM aa_refresh_articles WHERE source = $bob")
echo "$out" | grep -q '^alice_sees 0$' || bad "alice reads bob's entities: $out"
echo "$out" | grep -q '^alice_md5 0$' || bad "alice reads bob's body hashes and sketches: $out"

# --- item 7: alice cannot forge, change or forget bob's analytics -----------
out=$(as aa_sec_alice -c "INSERT INTO aa_article_entities VALUES ($bob, 1, 99, 'Forged', 'ORG', 1, 6, 'Forged')")
echo "$out" | grep -q 'ERROR:  42501: new row violates row-level security policy' || bad "alice could forge an entity row for bob: $out"
out=$(as aa_sec_alice -c "UPDATE aa_article_entities SET canonical = 'Forged' WHERE source = $bob" \
	-c "DELETE FROM aa_article_terms WHERE source = $bob" \
	-c "UPDATE aa_article_entities SET source = $bob WHERE source = 'alice.alice_articles'::regclass")
echo "$out" | grep -q 'ERROR:  42501: new row violates row-level security policy' ||
	bad "alice could move her rows under bob's table: $out"
out=$(as aa_sec_alice -c "SELECT aa_refresh_forget($bob)")
echo "$out" | grep -q 'ERROR:  42501: aa_refresh_forget: permission denied to forget bob.bob_articles' ||
	bad "alice could forget bob's table: $out"
out=$(su_sql -c "SELECT 'bob_rows ' || (SELECT count(*) FROM aa_article_entities WHERE source = 'bob.bob_articles'::regclass AND canonical <> 'Forged') || ' ' || (SELECT count(*) FROM aa_article_terms WHERE source = 'bob.bob_articles'::regclass) || ' ' || (SELECT count(*) FROM aa_article_entities WHERE canonical = 'Forged')")
say "bob's side rows after alice's attempts: $out"
echo "$out" | grep -Eq '^bob_rows [1-9][0-9]* [1-9][0-9]* 0$' || bad "bob's analytics changed: $out"

# --- item 10: nobody else can hold a table's refresh lock --------------------
out=$(as aa_sec_alice -c "INSERT INTO aa_refresh_locks VALUES ($bob, pg_backend_pid(), now(), NULL, now()) ON CONFLICT (source) DO UPDATE SET pid = EXCLUDED.pid")
echo "$out" | grep -q 'ERROR:  42501' || bad "alice could take bob's lock row: $out"
out=$(as aa_sec_mallory -c "UPDATE aa_refresh_locks SET pid = pg_backend_pid()")
echo "$out" | grep -q 'ERROR:  42501: permission denied for table aa_refresh_locks' || bad "mallory could write the lock table: $out"
# the released version's advisory lock key, held by mallory in another session
psql -X -q -d "$db" -c "SET SESSION AUTHORIZATION aa_sec_mallory" \
	-c "SELECT pg_advisory_lock((1633759285::bigint << 32) | $bob)" -c "SELECT pg_sleep(30)" > /dev/null 2>&1 &
holder=$!
for _ in $(seq 1 50); do
	[ "$(su_sql -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ] && break
	sleep 0.2
done
as aa_sec_bob -c "UPDATE bob.bob_articles SET body = body || ' More.' WHERE id = 1" > /dev/null
out=$(as aa_sec_bob -c "CALL aa_refresh('bob.bob_articles', date_column => 'published')" \
	-c "SELECT 'bob_last ' || status || ' ' || rows_done FROM aa_refresh_runs WHERE source = 'bob.bob_articles'::regclass ORDER BY run_id DESC LIMIT 1")
kill "$holder" 2> /dev/null
su_sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%'" > /dev/null
say "bob refreshing while mallory holds the old advisory key: $(echo "$out" | tail -1)"
echo "$out" | grep -q '^bob_last done 1$' || bad "an advisory lock taken by mallory blocked bob's refresh: $out"

# --- item 8: a cast of the owner's never runs with the caller's rights ------
as_script aa_sec_alice > /dev/null <<'SQL' || bad "alice could not set up her trap"
CREATE TYPE alice.lang AS (code text);
CREATE FUNCTION alice.lang_text(l alice.lang) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE aa_sec_alice SUPERUSER';
    END IF;
    RETURN l.code;
END $$;
CREATE CAST (alice.lang AS text) WITH FUNCTION alice.lang_text(alice.lang) AS IMPLICIT;
CREATE DOMAIN alice.article_id AS bigint CHECK (alice.lang_text(ROW('en')::alice.lang) IS NOT NULL);
CREATE TABLE alice.trap (id bigint PRIMARY KEY, id2 alice.article_id UNIQUE, body text,
                         lang alice.lang, day alice.lang);
INSERT INTO alice.trap VALUES (1, 1, 'Text from Paris.', ROW('english'), ROW('x'));
SQL
out=$(su_sql -v VERBOSITY=verbose -c "CALL aa_refresh('alice.trap', language_column => 'lang')" 2>&1)
say "superuser refreshing alice's trap: $(echo "$out" | head -1)"
echo "$out" | grep -q 'ERROR:  42804: aa_refresh: language column lang of alice.trap is of type alice.lang' ||
	bad "a language column of alice's own type was not refused: $out"
out=$(su_sql -v VERBOSITY=verbose -c "CALL aa_refresh('alice.trap', id_column => 'id2')" 2>&1)
echo "$out" | grep -q 'ERROR:  42804: aa_refresh: id column id2 of alice.trap is of type alice.article_id' ||
	bad "an id column of alice's domain was not refused: $out"
out=$(su_sql -v VERBOSITY=verbose -c "CALL aa_refresh('alice.trap', date_column => 'day')" 2>&1)
echo "$out" | grep -q 'ERROR:  42804' || bad "a date column of alice's type was not refused: $out"
out=$(su_sql -c "SELECT 'alice_super ' || rolsuper FROM pg_roles WHERE rolname = 'aa_sec_alice'")
echo "$out" | grep -q '^alice_super false$' || bad "alice became a superuser: $out"

# --- item 9: overloads in public are never called by aa_refresh -------------
# mallory, who may create in public, adds functions and an operator more
# specific than the pg_catalog ones aa_refresh and its functions use; each
# records that it ran.  (From here on this script's own queries compare
# regclass values as oid, so that only aa_refresh could call them.)
as_script aa_sec_mallory > /dev/null <<'SQL' || bad "mallory could not set up the overloads"
CREATE TABLE public.hijack_log (fn text, by_role text);
GRANT INSERT ON public.hijack_log TO PUBLIC;
CREATE FUNCTION public.format(text, regclass, name) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('format(text, regclass, name)', current_user) RETURNING pg_catalog.format($1, $2, $3) $$;
CREATE FUNCTION public.format(text, name, name, text, text, regclass) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('format(6)', current_user) RETURNING pg_catalog.format($1, $2, $3, $4, $5, $6) $$;
CREATE FUNCTION public.format(text, regclass, name, regclass) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('format(text, regclass, name, regclass)', current_user) RETURNING pg_catalog.format($1, $2, $3, $4) $$;
CREATE FUNCTION public.cardinality(bigint[]) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('cardinality(bigint[])', current_user) RETURNING pg_catalog.cardinality($1) $$;
CREATE FUNCTION public.lower(name) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('lower(name)', current_user) RETURNING pg_catalog.lower($1::text) $$;
CREATE FUNCTION public.lower(character varying) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('lower(varchar)', current_user) RETURNING pg_catalog.lower($1::text) $$;
CREATE FUNCTION public.md5(character varying) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('md5(varchar)', current_user) RETURNING pg_catalog.md5($1::text) $$;
CREATE FUNCTION public.quote_ident(name) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('quote_ident(name)', current_user) RETURNING pg_catalog.quote_ident($1::text) $$;
CREATE FUNCTION public.hijack_eq(regclass, regclass) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO public.hijack_log VALUES ('=(regclass, regclass)', current_user) RETURNING $1::oid OPERATOR(pg_catalog.=) $2::oid $$;
CREATE OPERATOR public.= (FUNCTION = public.hijack_eq, LEFTARG = regclass, RIGHTARG = regclass);
SQL
su_sql -c "CREATE TABLE public.su_articles (id bigint PRIMARY KEY, published date, body varchar, lang varchar)" \
	-c "INSERT INTO public.su_articles VALUES (1, '2024-01-01', 'Angela Merkel visited Paris.', 'en'), (2, '2024-01-02', 'Angela Merkel visited Paris again.', 'en')"
# the superuser, with the default search_path ("$user", public)
out=$(su_sql -v VERBOSITY=verbose -c "SHOW search_path" \
	-c "CALL aa_refresh('public.su_articles', date_column => 'published', language_column => 'lang', batch_size => 1)" \
	-c "UPDATE public.su_articles SET body = body || ' Twice.' WHERE id = 2" \
	-c "CALL aa_refresh('public.su_articles', date_column => 'published', language_column => 'lang')" \
	-c "SELECT aa_refresh_forget('public.su_articles')" \
	-c "SELECT 'su_runs ' || string_agg(status, ',' ORDER BY run_id) FROM aa_refresh_runs WHERE source::oid = 'public.su_articles'::regclass::oid" 2>&1)
say "superuser's runs with mallory's overloads in public: $(echo "$out" | grep su_runs)"
echo "$out" | grep -q '^su_runs done,done$' || bad "the superuser's refreshes did not both finish: $out"
# the overloads are real: an unqualified call from the superuser's session picks them
su_sql -c "SELECT pg_catalog.count(*) FROM public.su_articles WHERE format('%s', 'public.su_articles'::regclass, 'x'::name) IS NOT NULL" > /dev/null
out=$(su_sql -c "SELECT 'hijacked ' || coalesce(string_agg(DISTINCT fn, '; '), '') FROM public.hijack_log")
say "overloads called: $out"
echo "$out" | grep -q '^hijacked format(text, regclass, name)$' ||
	bad "aa_refresh called an overload from public (or the probe did not run): $out"

# --- item 16: dropping a table drops its side rows; forget is STRICT --------
as aa_sec_alice -c "DROP TABLE alice.alice_wire" > /dev/null
out=$(su_sql -c "SELECT 'orphans ' || (SELECT count(*) FROM aa_refresh_articles a WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.source::oid)) + (SELECT count(*) FROM aa_refresh_runs a WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.source::oid)) + (SELECT count(*) FROM aa_article_entities a WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.source::oid))" \
	-c "SELECT 'forget_null ' || coalesce(aa_refresh_forget(NULL)::text, 'null')")
say "after alice drops a refreshed table: $out"
echo "$out" | grep -q '^orphans 0$' || bad "side-table rows outlive their table: $out"
echo "$out" | grep -q '^forget_null null$' || bad "aa_refresh_forget(NULL) is not STRICT: $out"

cleanup
[ $fail -eq 0 ] && echo "security: all checks passed"
exit $fail
