-- BI views --------------------------------------------------------------------
-- Plain column types only (text, bigint, int, date, float8), one row per
-- answer, so that a BI tool can chart them as they are.  source is the
-- article table's name.
--
-- A view reads the side tables with its owner's rights, so row-level
-- security on them (51_refresh_access.sql) does not apply through it: each
-- view applies the read rule itself, keeping only the rows of article
-- tables the reader may SELECT (aa_readable_sources), and is a
-- security_barrier view so that no function in a reader's WHERE clause
-- sees a row before that filter.  This works alike on PostgreSQL 13-17
-- (security_invoker views exist only from 15).  CREATE OR REPLACE, so
-- that the upgrade script from 0.1 runs this file as it is.

-- aa_readable_sources: the article tables whose analytics the current role
-- may read, checked once per table rather than once per side-table row.
CREATE OR REPLACE VIEW aa_readable_sources WITH (security_barrier) AS
SELECT s.source
FROM aa_refresh_sources s
WHERE pg_catalog.has_table_privilege(s.source, 'SELECT');

COMMENT ON VIEW aa_readable_sources IS
'the article tables whose analytics the current role may read (it may SELECT them)';

CREATE OR REPLACE VIEW aa_refresh_status WITH (security_barrier) AS
SELECT r.source::text AS source, r.run_id, r.status, r.started_at, r.finished_at,
       extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at)::float8
           AS seconds,
       r.batches, r.rows_done, r.rows_skipped, r.skipped_null, r.skipped_empty,
       r.skipped_too_large, r.skipped_error, r.terms_skipped_language,
       r.rows_deleted, r.rows_unchanged, r.pairs_added, r.clusters, r.error, r.error_sqlstate,
       (SELECT count(*) FROM aa_refresh_articles a
        WHERE a.source = r.source AND a.status = 'done') AS articles_done,
       (SELECT count(*) FROM aa_refresh_articles a
        WHERE a.source = r.source AND a.status = 'skipped') AS articles_skipped,
       r.skipped_null_id
FROM aa_refresh_runs r
WHERE pg_catalog.has_table_privilege(r.source, 'SELECT')
  AND r.run_id = (SELECT max(r2.run_id) FROM aa_refresh_runs r2
                  WHERE r2.source = r.source AND r2.status <> 'busy');

COMMENT ON VIEW aa_refresh_status IS
'the last run of aa_refresh for each article table, and how many articles are done or skipped in all';

CREATE OR REPLACE VIEW aa_refresh_skipped WITH (security_barrier) AS
SELECT a.source::text AS source, a.article_id, a.skip_reason, a.detail,
       a.body_bytes, a.refreshed_at, a.run_id
FROM aa_refresh_articles a
WHERE a.source IN (SELECT rs.source FROM aa_readable_sources rs)
  AND (a.status = 'skipped' OR a.detail IS NOT NULL);

COMMENT ON VIEW aa_refresh_skipped IS
'articles aa_refresh skipped, or processed only in part, and why';

-- aa_entity_types: the one type each canonical name has in the entity
-- views of an article table, so that no view splits a name into two rows
-- by type: the type of the alias row that names the canonical name itself
-- where there is one (the user's row before the shipped one), so that
-- "Afghanistan" is LOC although the mention "Afghan" that resolves to it
-- is MISC; otherwise the type its mentions in that table have most often
-- (a tie goes to the first of LOC, MISC, ORG, PER).
CREATE OR REPLACE VIEW aa_entity_types WITH (security_barrier) AS
SELECT e.source::text AS source, e.canonical AS entity,
       coalesce((SELECT x.type FROM aa_entity_aliases x
                 WHERE x.alias = e.canonical AND x.canonical = e.canonical
                 ORDER BY x.shipped LIMIT 1),
                mode() WITHIN GROUP (ORDER BY e.type)) AS type,
       e.source AS source_table
FROM aa_article_entities e
WHERE e.source IN (SELECT rs.source FROM aa_readable_sources rs)
GROUP BY e.source, e.canonical;

COMMENT ON VIEW aa_entity_types IS
'the type of each canonical entity name in the entity views: its own alias row''s type, else the type most of its mentions have';

CREATE OR REPLACE VIEW aa_entity_daily WITH (security_barrier) AS
SELECT e.source::text AS source, a.published AS day, e.canonical AS entity,
       t.type, count(*) AS mentions, count(DISTINCT e.article_id) AS articles
FROM aa_article_entities e
     JOIN aa_refresh_articles a ON a.source = e.source AND a.article_id = e.article_id
     JOIN aa_entity_types t ON t.source_table = e.source AND t.entity = e.canonical
WHERE e.source IN (SELECT rs.source FROM aa_readable_sources rs)
GROUP BY e.source, a.published, e.canonical, t.type;

COMMENT ON VIEW aa_entity_daily IS
'how often each entity (canonical name, with its one type) was mentioned each day, and in how many articles';

CREATE OR REPLACE VIEW aa_entity_totals WITH (security_barrier) AS
SELECT e.source::text AS source, e.canonical AS entity, t.type,
       count(*) AS mentions, count(DISTINCT e.article_id) AS articles,
       min(a.published) AS first_day, max(a.published) AS last_day
FROM aa_article_entities e
     JOIN aa_refresh_articles a ON a.source = e.source AND a.article_id = e.article_id
     JOIN aa_entity_types t ON t.source_table = e.source AND t.entity = e.canonical
WHERE e.source IN (SELECT rs.source FROM aa_readable_sources rs)
GROUP BY e.source, e.canonical, t.type;

COMMENT ON VIEW aa_entity_totals IS
'each entity over the whole table: mentions, articles, first and last day seen';

CREATE OR REPLACE VIEW aa_entity_cooccurrence WITH (security_barrier) AS
WITH d AS (
    SELECT DISTINCT e.source, e.article_id, e.canonical
    FROM aa_article_entities e
    WHERE e.source IN (SELECT rs.source FROM aa_readable_sources rs)
)
SELECT x.source::text AS source, x.canonical AS entity_a, tx.type AS type_a,
       y.canonical AS entity_b, ty.type AS type_b, count(*) AS articles
FROM d x
     JOIN d y ON y.source = x.source AND y.article_id = x.article_id
             AND y.canonical > x.canonical
     JOIN aa_entity_types tx ON tx.source_table = x.source AND tx.entity = x.canonical
     JOIN aa_entity_types ty ON ty.source_table = y.source AND ty.entity = y.canonical
GROUP BY x.source, x.canonical, tx.type, y.canonical, ty.type;

COMMENT ON VIEW aa_entity_cooccurrence IS
'pairs of entities named in the same article, and in how many articles (entity_a sorts before entity_b)';

CREATE OR REPLACE VIEW aa_duplicates WITH (security_barrier) AS
SELECT p.source::text AS source, p.article_a, p.article_b, p.similarity,
       m.cluster_id, a.published AS day_a, b.published AS day_b
FROM aa_duplicate_pairs p
     LEFT JOIN aa_cluster_members m ON m.source = p.source AND m.article_id = p.article_a
     LEFT JOIN aa_refresh_articles a ON a.source = p.source AND a.article_id = p.article_a
     LEFT JOIN aa_refresh_articles b ON b.source = p.source AND b.article_id = p.article_b
WHERE p.source IN (SELECT rs.source FROM aa_readable_sources rs);

COMMENT ON VIEW aa_duplicates IS
'near-duplicate pairs (article_a < article_b) with their estimated similarity and cluster';

CREATE OR REPLACE VIEW aa_duplicate_clusters WITH (security_barrier) AS
SELECT m.source::text AS source, m.cluster_id, count(*) AS size,
       (array_agg(m.article_id ORDER BY a.published NULLS LAST, m.article_id))[1]
           AS earliest_article,
       min(a.published) AS first_day, max(a.published) AS last_day,
       (SELECT avg(p.similarity) FROM aa_duplicate_pairs p
        JOIN aa_cluster_members pm ON pm.source = p.source AND pm.article_id = p.article_a
        WHERE p.source = m.source AND pm.cluster_id = m.cluster_id)::float8
           AS mean_similarity
FROM aa_cluster_members m
     LEFT JOIN aa_refresh_articles a ON a.source = m.source AND a.article_id = m.article_id
WHERE m.source IN (SELECT rs.source FROM aa_readable_sources rs)
GROUP BY m.source, m.cluster_id;

COMMENT ON VIEW aa_duplicate_clusters IS
'each cluster of near-duplicate articles: size, earliest article (by day, then id), first and last day, mean pair similarity';

CREATE OR REPLACE VIEW aa_top_terms_daily WITH (security_barrier) AS
SELECT source, day, term, occurrences, articles,
       rank() OVER (PARTITION BY source, day ORDER BY occurrences DESC)::int AS rank
FROM (SELECT t.source::text AS source, a.published AS day, t.term,
             sum(t.count)::bigint AS occurrences, count(*) AS articles
      FROM aa_article_terms t
           JOIN aa_refresh_articles a ON a.source = t.source AND a.article_id = t.article_id
      WHERE t.source IN (SELECT rs.source FROM aa_readable_sources rs)
      GROUP BY t.source, a.published, t.term) s;

COMMENT ON VIEW aa_top_terms_daily IS
'term counts per day with their rank that day (filter rank <= 20 for the day''s top terms)';
