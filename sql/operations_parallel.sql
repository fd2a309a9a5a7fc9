-- Large scans in parallel: the functions are PARALLEL SAFE, so a
-- similarity scan and an entity aggregation get parallel workers, and give
-- the same answers as a serial plan.  The costs are set so that PostgreSQL
-- goes parallel on this modest table, as it would by itself on a big one.
\set s000 `cat test/data/000_f964a19d4597f10d.txt`
\set s001 `cat test/data/001_41966bbbe1a97b2f.txt`
\set s002 `cat test/data/002_796262f1a52646a1.txt`
\set s003 `cat test/data/003_98a0563360ab9885.txt`

CREATE TABLE par_articles (
    id        int PRIMARY KEY,
    published date,
    body      text,
    sig       minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED
);
-- 2,000 articles: slices of the seed articles, one in ten an exact copy
-- of the first slice
INSERT INTO par_articles (id, published, body)
SELECT i, date '2024-01-01' + i % 10,
       CASE WHEN i % 10 = 0 THEN substr(:'s000', 1, 700)
            ELSE substr((ARRAY[:'s000', :'s001', :'s002', :'s003'])[1 + i % 4],
                        1 + (i * 37) % 1200, 700) END
FROM generate_series(1, 2000) i;
VACUUM ANALYZE par_articles;
SELECT sig AS probe FROM par_articles WHERE id = 10 \gset

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

-- The lines of a plan that show parallelism, the whole plan with sketch
-- literals shortened, and whether workers really ran
CREATE FUNCTION pg_temp.parallel_lines(query text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line ~ '(Gather|Workers Planned|Partial|Parallel|Finalize)' THEN
            RETURN NEXT regexp_replace(line, '^( *)(->  )?', '\1');
        END IF;
    END LOOP;
END;
$$;
CREATE FUNCTION pg_temp.plan(query text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        RETURN NEXT regexp_replace(line, '''v1;[^'']*''', '''v1;...''');
    END LOOP;
END;
$$;
CREATE FUNCTION pg_temp.workers_launched(query text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN (regexp_match(plan::text, '"Workers Launched": (\d+)'))[1]::int;
END;
$$;

-- 1. count(*) WHERE aa_similarity(sig, $1) > 0.8
PREPARE similar_count(minhash) AS
    SELECT count(*) FROM par_articles WHERE aa_similarity(sig, $1) > 0.8;
SELECT * FROM pg_temp.plan(format('EXECUTE similar_count(%L)', :'probe'));
SELECT pg_temp.workers_launched(format('EXECUTE similar_count(%L)', :'probe')) > 0
    AS workers_ran;
CREATE TEMP TABLE answers AS
SELECT 'parallel' AS plan, count(*) FROM par_articles WHERE aa_similarity(sig, :'probe') > 0.8;

-- 2. entity aggregation over the table
SELECT * FROM pg_temp.parallel_lines($$
    SELECT e.canonical, e.type, count(*) FROM par_articles a, aa_entities(a.body) e
    GROUP BY 1, 2 $$);
SELECT pg_temp.workers_launched($$
    SELECT e.canonical, e.type, count(*) FROM par_articles a, aa_entities(a.body) e
    GROUP BY 1, 2 $$) > 0 AS workers_ran;
CREATE TEMP TABLE entities_parallel AS
SELECT e.canonical, e.type, count(*) FROM par_articles a, aa_entities(a.body) e GROUP BY 1, 2;

-- 3. term counts per day, the query behind "top terms"
SELECT * FROM pg_temp.parallel_lines($$
    SELECT a.published, t.term, sum(t.count) FROM par_articles a, aa_term_counts(a.body) t
    GROUP BY 1, 2 $$);
CREATE TEMP TABLE terms_parallel AS
SELECT a.published, t.term, sum(t.count) FROM par_articles a, aa_term_counts(a.body) t GROUP BY 1, 2;

-- the same queries, serial
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS gather_nodes
FROM pg_temp.parallel_lines($$
    SELECT e.canonical, e.type, count(*) FROM par_articles a, aa_entities(a.body) e
    GROUP BY 1, 2 $$);
INSERT INTO answers
SELECT 'serial', count(*) FROM par_articles WHERE aa_similarity(sig, :'probe') > 0.8;
SELECT count(DISTINCT count) = 1 AS same_count, min(count) >= 200 AS copies_found,
       count(*) AS plans
FROM answers;
CREATE TEMP TABLE entities_serial AS
SELECT e.canonical, e.type, count(*) FROM par_articles a, aa_entities(a.body) e GROUP BY 1, 2;
CREATE TEMP TABLE terms_serial AS
SELECT a.published, t.term, sum(t.count) FROM par_articles a, aa_term_counts(a.body) t GROUP BY 1, 2;
SELECT (SELECT count(*) FROM entities_serial) > 10 AS entities_found,
       (SELECT count(*) FROM ((TABLE entities_parallel EXCEPT ALL TABLE entities_serial)
                              UNION ALL
                              (TABLE entities_serial EXCEPT ALL TABLE entities_parallel)) d)
           AS entity_differences,
       (SELECT count(*) FROM ((TABLE terms_parallel EXCEPT ALL TABLE terms_serial)
                              UNION ALL
                              (TABLE terms_serial EXCEPT ALL TABLE terms_parallel)) d)
           AS term_differences;
RESET ALL;

-- Every function of the extension that a parallel plan may call is marked
-- PARALLEL SAFE, except aa_refresh's helpers (they write tables)
SELECT p.proname, p.proparallel
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'article_analytics'
WHERE p.proparallel <> 's' ORDER BY 1;

-- Any aggregate of the extension has a combine function and a state type
-- other than internal, so that it runs in parallel and pushes down on Citus
SELECT p.proname AS aggregate_without_combine_or_with_internal_state
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'article_analytics'
WHERE a.aggcombinefn = 0 OR a.aggtranstype = 'internal'::regtype;
