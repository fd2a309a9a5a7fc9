
-- Who may see and change the rows of the side tables ---------------------------
--
-- The side tables hold the analytics of every article table in the
-- database, so each of their rows is guarded by the privileges its
-- article table (column source) grants:
--
--   * a role reads the rows of the article tables it may SELECT;
--   * a role writes the rows (what aa_refresh and aa_refresh_forget do) of
--     the article tables it owns, directly or as a member of the owning
--     role; superusers bypass these rules, as everywhere.
--
-- Row-level security enforces both for direct access to the tables, the
-- views (53_views.sql) apply the read rule themselves, and no privilege on
-- the tables is granted to anyone by default: the README's "Security"
-- section gives the GRANT recipes for a reader and for a table owner who
-- refreshes.
--
-- The upgrade script from 0.1 runs this file as it is: it creates only
-- what 0.1 did not have.

-- Which session is refreshing an article table: one row per table, the
-- holder's backend pid and start time while a run is going on.  A run
-- takes the row only when its holder is gone (see aa_refresh_begin in
-- 52_refresh.sql).
-- This is aa_refresh's lock instead of an advisory lock, which any role
-- could take to block every refresh of a table: writing this row needs the
-- right to refresh the table (the policies below).
CREATE TABLE aa_refresh_locks (
    source        regclass PRIMARY KEY,
    pid           int,
    backend_start timestamptz,
    run_id        bigint,
    acquired_at   timestamptz
);

COMMENT ON TABLE aa_refresh_locks IS
'which session is refreshing each article table (pid NULL: none); aa_refresh''s lock';

-- aa_may_refresh: true when the current role owns the article table (or
-- is a member of the role that owns it, with its privileges).  A missing
-- table (a dropped one) is refreshed by no one.  Every name in it is
-- schema-qualified instead of a SET search_path clause, so that the
-- planner can inline it into the policies below rather than call it for
-- each row.
CREATE OR REPLACE FUNCTION aa_may_refresh(articles regclass)
RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                   WHERE c.oid OPERATOR(pg_catalog.=) articles::pg_catalog.oid
                     AND pg_catalog.pg_has_role(c.relowner, 'USAGE'))
$$;

COMMENT ON FUNCTION aa_may_refresh(regclass) IS
'true when the current role may refresh the article table (it owns it, or has the privileges of its owner): the rule aa_refresh and the side tables'' row-level security apply';

ALTER TABLE aa_refresh_sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_refresh_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_refresh_locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_refresh_articles ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_article_entities ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_article_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_article_bands ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_duplicate_pairs ENABLE ROW LEVEL SECURITY;
ALTER TABLE aa_cluster_members ENABLE ROW LEVEL SECURITY;

-- aa_sources_readable_by, aa_sources_refreshable_by: the OIDs of the
-- article tables known to aa_refresh (aa_refresh_sources) that a role may
-- read, or may refresh.  The policies of the large side tables compare
-- each row's source with these sets, computed once per statement (an
-- uncorrelated subquery, hashed), rather than check a privilege for every
-- row: a refresh by a table owner writes and joins tens of rows per
-- article.  SECURITY DEFINER, as the policies of aa_refresh_sources would
-- otherwise hide its rows from the very check; they reveal no more than
-- pg_class does.
CREATE OR REPLACE FUNCTION aa_sources_readable_by(reader name)
RETURNS SETOF oid
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.source::pg_catalog.oid
    FROM @extschema@.aa_refresh_sources s
    WHERE pg_catalog.has_table_privilege(reader, s.source, 'SELECT')
$$;

COMMENT ON FUNCTION aa_sources_readable_by(name) IS
'the article tables known to aa_refresh whose analytics a role may read (row-level security of the side tables)';

CREATE OR REPLACE FUNCTION aa_sources_refreshable_by(refresher name)
RETURNS SETOF oid
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.source::pg_catalog.oid
    FROM @extschema@.aa_refresh_sources s
         JOIN pg_catalog.pg_class c ON c.oid = s.source
    WHERE pg_catalog.pg_has_role(refresher, c.relowner, 'USAGE')
$$;

COMMENT ON FUNCTION aa_sources_refreshable_by(name) IS
'the article tables known to aa_refresh that a role may refresh (row-level security of the side tables)';

-- The same four policies on each side table: read what you may SELECT,
-- write what you may refresh.  The three small tables (settings, runs,
-- locks) check each row, since their rows can exist before the table's
-- row in aa_refresh_sources; the six large ones, whose rows aa_refresh
-- writes only after it, compare with the sets above.
DO $$
DECLARE
    side_table text;
    read_rule text;
    write_rule text;
BEGIN
    FOREACH side_table IN ARRAY ARRAY['aa_refresh_sources', 'aa_refresh_runs',
                                      'aa_refresh_locks', 'aa_refresh_articles',
                                      'aa_article_entities', 'aa_article_terms',
                                      'aa_article_bands', 'aa_duplicate_pairs',
                                      'aa_cluster_members']
    LOOP
        IF side_table IN ('aa_refresh_sources', 'aa_refresh_runs', 'aa_refresh_locks') THEN
            read_rule := 'pg_catalog.has_table_privilege(source, ''SELECT'')';
            write_rule := '@extschema@.aa_may_refresh(source)';
        ELSE
            read_rule := 'source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (SELECT @extschema@.aa_sources_readable_by(CURRENT_USER))';
            write_rule := 'source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (SELECT @extschema@.aa_sources_refreshable_by(CURRENT_USER))';
        END IF;
        EXECUTE pg_catalog.format(
            'CREATE POLICY aa_read ON @extschema@.%1$I FOR SELECT USING (%2$s);
             CREATE POLICY aa_insert ON @extschema@.%1$I FOR INSERT WITH CHECK (%3$s);
             CREATE POLICY aa_update ON @extschema@.%1$I FOR UPDATE USING (%3$s) WITH CHECK (%3$s);
             CREATE POLICY aa_delete ON @extschema@.%1$I FOR DELETE USING (%3$s)',
            side_table, read_rule, write_rule);
    END LOOP;
END;
$$;

-- aa_drop_cleanup: when an article table is dropped, drop its rows from the
-- side tables too, so that no row is left under a bare OID (which a new
-- table could later reuse).  The run history goes with them.  SECURITY
-- DEFINER because the role that drops its table need not have any
-- privilege on the side tables; it deletes only the rows of tables that
-- this very command dropped.
CREATE OR REPLACE FUNCTION aa_drop_cleanup()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped oid[];
BEGIN
    -- DROP EXTENSION drops the side tables themselves: nothing to do
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() d
               WHERE d.object_type OPERATOR(pg_catalog.=) 'extension') THEN
        RETURN;
    END IF;
    SELECT pg_catalog.array_agg(d.objid) INTO dropped
    FROM pg_catalog.pg_event_trigger_dropped_objects() d
    WHERE d.object_type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'materialized view'])
      AND d.objid OPERATOR(pg_catalog.<>) ALL (ARRAY[
              '@extschema@.aa_refresh_sources'::pg_catalog.regclass,
              '@extschema@.aa_refresh_runs'::pg_catalog.regclass,
              '@extschema@.aa_refresh_locks'::pg_catalog.regclass,
              '@extschema@.aa_refresh_articles'::pg_catalog.regclass,
              '@extschema@.aa_article_entities'::pg_catalog.regclass,
              '@extschema@.aa_article_terms'::pg_catalog.regclass,
              '@extschema@.aa_article_bands'::pg_catalog.regclass,
              '@extschema@.aa_duplicate_pairs'::pg_catalog.regclass,
              '@extschema@.aa_cluster_members'::pg_catalog.regclass]::pg_catalog.oid[]);
    IF dropped IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        DELETE FROM @extschema@.aa_article_entities x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_article_terms x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_article_bands x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_duplicate_pairs x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_cluster_members x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_refresh_articles x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_refresh_sources x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_refresh_locks x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
        DELETE FROM @extschema@.aa_refresh_runs x WHERE x.source::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
    EXCEPTION WHEN OTHERS THEN
        -- never make a DROP fail for the sake of the analytics
        RAISE WARNING 'article_analytics: could not drop the side-table rows of a dropped table: %', SQLERRM
            USING HINT = 'A superuser can delete the rows whose source no longer exists in pg_class.';
    END;
END;
$$;

REVOKE ALL ON FUNCTION aa_drop_cleanup() FROM PUBLIC;

COMMENT ON FUNCTION aa_drop_cleanup() IS
'event trigger function: drops the side-table rows of article tables as they are dropped';

CREATE EVENT TRIGGER aa_drop_cleanup ON sql_drop
    EXECUTE FUNCTION aa_drop_cleanup();
