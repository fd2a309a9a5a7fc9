-- The catalog flags of every function of the extension, as the README's
-- "Functions" section states them: STRICT, IMMUTABLE (or STABLE where a
-- setting or a table is read) and PARALLEL SAFE, except the operations
-- (aa_refresh and its helpers, aa_refresh_forget) and the GIN options
-- function.  A change of any flag, or a new function, changes this output.
-- (The README shows the exceptions with the same query, and
-- test/sql_readme.sh checks that too.)
-- kind: f function, p procedure; volatility: i immutable, s stable,
-- v volatile; parallel: s safe, u unsafe.
SELECT p.oid::regprocedure AS function, p.prokind AS kind,
       p.proisstrict AS strict, p.provolatile AS volatility,
       p.proparallel AS parallel, l.lanname AS language
FROM pg_depend d
     JOIN pg_proc p ON p.oid = d.objid
     JOIN pg_language l ON l.oid = p.prolang
WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
  AND d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'article_analytics')
ORDER BY p.proname, p.oid::regprocedure::text COLLATE "C";

