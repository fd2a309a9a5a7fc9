
-- Citus ------------------------------------------------------------------------
--
-- On a Citus cluster aa_entities runs on the workers, next to the articles,
-- and reads the aa_entity_aliases of the node it runs on.  That table is a
-- plain table of the extension on every node (a reference table would not
-- do: aa_entities runs inside queries on shards, which may not start a
-- distributed query, and an extension's table cannot be undistributed).
-- CREATE EXTENSION gives every node the shipped rows; the user's rows are
-- written on the coordinator, and aa_entity_aliases_sync copies them to
-- every worker, including one added later.

-- aa_entity_aliases_sync: make the user's aliases (shipped = false) of every
-- active worker the same as the coordinator's, each worker in one
-- transaction of its own (its old user rows are replaced).  Returns one row
-- per worker: its host:port, whether it succeeded, and the number of user
-- aliases it now holds (or the error).  Outside Citus it does nothing and
-- says so.  It runs with the caller's rights on every node: the caller needs
-- the right to delete and insert rows of aa_entity_aliases there.
CREATE OR REPLACE FUNCTION aa_entity_aliases_sync(OUT node text, OUT success boolean,
                                                  OUT result text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rows_sql text;
    cmd      text;
BEGIN
    IF pg_catalog.to_regprocedure('pg_catalog.run_command_on_workers(text, boolean)') IS NULL THEN
        RAISE NOTICE 'aa_entity_aliases_sync: Citus is not installed in this database; nothing to do';
        RETURN;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('(%L, %L, %L, false)', a.alias, a.canonical, a.type),
                                 ', ' ORDER BY a.alias)
    INTO rows_sql
    FROM @extschema@.aa_entity_aliases a
    WHERE NOT a.shipped;
    cmd := 'DO $aa_sync$ BEGIN '
           'LOCK TABLE @extschema@.aa_entity_aliases IN SHARE ROW EXCLUSIVE MODE; '
           'DELETE FROM @extschema@.aa_entity_aliases WHERE NOT shipped; '
           || CASE WHEN rows_sql IS NULL THEN ''
                   ELSE 'INSERT INTO @extschema@.aa_entity_aliases (alias, canonical, type, shipped) VALUES '
                        || rows_sql || '; ' END
           || 'END $aa_sync$';
    -- the quote that ends the DO block must not be in an alias
    IF pg_catalog.length(cmd) - pg_catalog.length(pg_catalog.replace(cmd, '$aa_sync$', '')) <> 18 THEN
        RAISE EXCEPTION 'aa_entity_aliases_sync: an alias contains the text $aa_sync$'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY EXECUTE
        'SELECT w.nodename || '':'' || w.nodeport, w.success,
                CASE WHEN w.success THEN (SELECT pg_catalog.count(*)::text
                                          FROM @extschema@.aa_entity_aliases a WHERE NOT a.shipped)
                     ELSE w.result END
         FROM pg_catalog.run_command_on_workers($1) w
         ORDER BY w.nodename, w.nodeport'
        USING cmd;
END;
$$;

COMMENT ON FUNCTION aa_entity_aliases_sync() IS
'on Citus: copy the user''s aliases (shipped = false) from the coordinator to every worker, which aa_entities reads there; run it after changing aliases and after adding a node';
