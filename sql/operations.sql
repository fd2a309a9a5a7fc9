-- Operations: the five-minute patterns, aa_refresh, its status table and
-- the BI views.  (Concurrency, killing a refresh, 50 MB bodies, pg_cron and
-- JDBC need other sessions or tools: test/sql_refresh_faults.sh,
-- test/sql_cron.sh and test/sql_jdbc.sh.)
\set s000 `cat test/data/000_f964a19d4597f10d.txt`
\set s001 `cat test/data/001_41966bbbe1a97b2f.txt`
\set s002 `cat test/data/002_796262f1a52646a1.txt`
\set s003 `cat test/data/003_98a0563360ab9885.txt`
SET client_min_messages = notice;

-- Pattern 1: the sketch as a generated column, with its GIN index
CREATE TABLE ops_articles (
    id        bigserial PRIMARY KEY,
    published timestamptz,
    source    text,
    body      text,
    sig       minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED
);
CREATE INDEX ops_articles_sig ON ops_articles USING gin (sig minhash_ops);
INSERT INTO ops_articles (published, source, body) VALUES
    ('2019-06-19 10:00+00', 'sputnik', :'s000'),
    ('2019-06-20 10:00+00', 'wire',    :'s001'),
    ('2019-06-20 11:00+00', 'wire',    :'s002'),
    ('2019-06-21 09:00+00', 'paper',   :'s003'),
    ('2019-06-21 12:00+00', 'copy',    :'s000'),
    ('2019-06-22 08:00+00', 'edit',    replace(:'s000', 'defensive posture', 'cautious posture'));
-- the generated column fired on insert
SELECT count(*) AS rows, count(sig) AS sketches FROM ops_articles;
-- and the index serves similarity look-ups
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM ops_articles WHERE sig % (SELECT sig FROM ops_articles WHERE id = 1);
RESET enable_seqscan;
SELECT b.id FROM ops_articles a JOIN ops_articles b ON a.sig % b.sig AND a.id < b.id
WHERE a.id = 1 ORDER BY b.id;

-- Pattern 2: the side tables, kept by aa_refresh.  The first run does
-- every article; the second finds nothing to do.
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
SELECT status, batches, rows_done, rows_skipped, rows_deleted, pairs_added,
       clusters, error, finished_at >= started_at AS finished
FROM aa_refresh_runs WHERE source = 'ops_articles'::regclass ORDER BY run_id;
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
SELECT status, batches, rows_done, rows_skipped, pairs_added, clusters
FROM aa_refresh_runs WHERE source = 'ops_articles'::regclass ORDER BY run_id;

-- the entity side table holds exactly what aa_entities says
SELECT count(*) > 0 AS has_entities FROM aa_article_entities
WHERE source = 'ops_articles'::regclass;
(SELECT a.id, e.* FROM ops_articles a, aa_entities(a.body) e
 EXCEPT ALL
 SELECT article_id, entity, type, start_pos, length, canonical FROM aa_article_entities
 WHERE source = 'ops_articles'::regclass)
UNION ALL
(SELECT article_id, entity, type, start_pos, length, canonical FROM aa_article_entities
 WHERE source = 'ops_articles'::regclass
 EXCEPT ALL
 SELECT a.id, e.* FROM ops_articles a, aa_entities(a.body) e);
-- and the term side table what aa_term_counts says
SELECT count(*) AS differences FROM (
    (SELECT a.id, t.term, t.count FROM ops_articles a, aa_term_counts(a.body) t
     EXCEPT ALL
     SELECT article_id, term, count FROM aa_article_terms WHERE source = 'ops_articles'::regclass)
    UNION ALL
    (SELECT article_id, term, count FROM aa_article_terms WHERE source = 'ops_articles'::regclass
     EXCEPT ALL
     SELECT a.id, t.term, t.count FROM ops_articles a, aa_term_counts(a.body) t)) d;

-- duplicates: the copy and the edit of article 1
SELECT article_a, article_b, similarity >= 0.8 AS similar, cluster_id, day_a, day_b
FROM aa_duplicates WHERE source = 'ops_articles' ORDER BY 1, 2;
SELECT cluster_id, size, earliest_article, first_day, last_day, mean_similarity >= 0.8 AS similar
FROM aa_duplicate_clusters WHERE source = 'ops_articles';
-- the pairs are those the indexed join finds
SELECT a.id, b.id FROM ops_articles a JOIN ops_articles b ON a.sig % b.sig AND a.id < b.id
EXCEPT
SELECT article_a, article_b FROM aa_duplicate_pairs;

-- BI views: each agrees with the query a user would write by hand.  In
-- the entity views a canonical name has one type: its own alias row's, or
-- else the type most of its mentions have (ties: the first by name).
CREATE TEMP TABLE ops_mentions AS
SELECT a.id, a.published::date AS day, e.canonical, e.type
FROM ops_articles a, aa_entities(a.body) e;
CREATE TEMP TABLE ops_types AS
SELECT m.canonical,
       coalesce((SELECT x.type FROM aa_entity_aliases x
                 WHERE x.alias = m.canonical AND x.canonical = m.canonical
                 ORDER BY x.shipped LIMIT 1),
                (SELECT m2.type FROM ops_mentions m2 WHERE m2.canonical = m.canonical
                 GROUP BY m2.type ORDER BY count(*) DESC, m2.type LIMIT 1)) AS type
FROM ops_mentions m GROUP BY m.canonical;
SELECT count(*) AS differences FROM (
    (SELECT 'ops_articles'::text, m.day, m.canonical, t.type, count(*), count(DISTINCT m.id)
     FROM ops_mentions m JOIN ops_types t USING (canonical) GROUP BY 2, 3, 4
     EXCEPT ALL
     SELECT source, day, entity, type, mentions, articles FROM aa_entity_daily)
    UNION ALL
    (SELECT source, day, entity, type, mentions, articles FROM aa_entity_daily
     EXCEPT ALL
     SELECT 'ops_articles'::text, m.day, m.canonical, t.type, count(*), count(DISTINCT m.id)
     FROM ops_mentions m JOIN ops_types t USING (canonical) GROUP BY 2, 3, 4)) d;
-- names whose mentions have several types, and the one type the views give
SELECT m.canonical, string_agg(DISTINCT m.type, ',') AS mention_types,
       (SELECT DISTINCT d.type FROM aa_entity_daily d WHERE d.entity = m.canonical) AS view_type
FROM ops_mentions m GROUP BY m.canonical HAVING count(DISTINCT m.type) > 1
ORDER BY 1;
SELECT count(*) AS differences FROM (
    (SELECT a.published::date AS day, t.term, sum(t.count) AS occurrences
     FROM ops_articles a, aa_term_counts(a.body) t GROUP BY 1, 2
     EXCEPT ALL
     SELECT day, term, occurrences FROM aa_top_terms_daily)
    UNION ALL
    (SELECT day, term, occurrences FROM aa_top_terms_daily
     EXCEPT ALL
     SELECT a.published::date AS day, t.term, sum(t.count) AS occurrences
     FROM ops_articles a, aa_term_counts(a.body) t GROUP BY 1, 2)) d;
SELECT day, term, occurrences, articles, rank
FROM aa_top_terms_daily WHERE rank <= 2 ORDER BY day, rank, term;
SELECT count(*) AS differences FROM (
    (SELECT x.canonical, tx.type, y.canonical, ty.type, count(DISTINCT x.id)
     FROM (SELECT DISTINCT id, canonical FROM ops_mentions) x
     JOIN (SELECT DISTINCT id, canonical FROM ops_mentions) y
       ON x.id = y.id AND x.canonical < y.canonical
     JOIN ops_types tx ON tx.canonical = x.canonical
     JOIN ops_types ty ON ty.canonical = y.canonical
     GROUP BY 1, 2, 3, 4
     EXCEPT ALL
     SELECT entity_a, type_a, entity_b, type_b, articles FROM aa_entity_cooccurrence)
    UNION ALL
    (SELECT entity_a, type_a, entity_b, type_b, articles FROM aa_entity_cooccurrence
     EXCEPT ALL
     SELECT x.canonical, tx.type, y.canonical, ty.type, count(DISTINCT x.id)
     FROM (SELECT DISTINCT id, canonical FROM ops_mentions) x
     JOIN (SELECT DISTINCT id, canonical FROM ops_mentions) y
       ON x.id = y.id AND x.canonical < y.canonical
     JOIN ops_types tx ON tx.canonical = x.canonical
     JOIN ops_types ty ON ty.canonical = y.canonical
     GROUP BY 1, 2, 3, 4)) d;
SELECT count(*) = count(DISTINCT entity) AS one_row_per_entity,
       sum(articles) > 0 AS counted
FROM aa_entity_totals WHERE source = 'ops_articles';
-- an alias row of the user's for the name itself decides its type
INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES ('Daesh', 'Daesh', 'ORG');
SELECT entity, type FROM aa_entity_totals WHERE entity = 'Daesh';
DELETE FROM aa_entity_aliases WHERE alias = 'Daesh' AND NOT shipped;

-- every view column has a type a BI tool reads as it is
SELECT table_name, column_name, data_type
FROM information_schema.columns
WHERE table_name IN ('aa_refresh_status', 'aa_refresh_skipped', 'aa_entity_daily',
                     'aa_entity_totals', 'aa_entity_cooccurrence', 'aa_duplicates',
                     'aa_duplicate_clusters', 'aa_top_terms_daily')
  AND data_type NOT IN ('text', 'bigint', 'integer', 'date', 'double precision',
                        'timestamp with time zone');
SELECT table_name, count(*) AS columns
FROM information_schema.columns
WHERE table_name IN ('aa_refresh_status', 'aa_refresh_skipped', 'aa_entity_daily',
                     'aa_entity_totals', 'aa_entity_cooccurrence', 'aa_duplicates',
                     'aa_duplicate_clusters', 'aa_top_terms_daily')
GROUP BY 1 ORDER BY 1;

-- Changes: an edited, a deleted and a new article are all that the next
-- run does; the clusters follow.
UPDATE ops_articles SET body = :'s001' WHERE id = 6;
DELETE FROM ops_articles WHERE id = 5;
INSERT INTO ops_articles (id, published, source, body)
VALUES (7, '2019-06-23 10:00+00', 'copy', :'s003');
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
SELECT status, batches, rows_done, rows_skipped, rows_deleted, pairs_added, clusters
FROM aa_refresh_runs WHERE source = 'ops_articles'::regclass ORDER BY run_id DESC LIMIT 1;
SELECT article_a, article_b, cluster_id FROM aa_duplicates
WHERE source = 'ops_articles' ORDER BY 1, 2;
SELECT cluster_id, size, earliest_article FROM aa_duplicate_clusters
WHERE source = 'ops_articles' ORDER BY 1;
SELECT count(*) AS entities_of_deleted FROM aa_article_entities
WHERE source = 'ops_articles'::regclass AND article_id = 5;
-- an update that leaves body and day as they were changes nothing: the
-- next run only records the rows' new versions, and the one after that
-- does not look at them
UPDATE ops_articles SET source = upper(source);
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
SELECT rows_done, rows_unchanged, batches FROM aa_refresh_runs
WHERE source = 'ops_articles'::regclass ORDER BY run_id DESC LIMIT 2;
-- a changed day alone is a change too
UPDATE ops_articles SET published = '2019-07-01 10:00+00' WHERE id = 2;
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
SELECT rows_done FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT DISTINCT day FROM aa_entity_daily e JOIN aa_article_entities a
  ON a.source::text = e.source AND a.canonical = e.entity AND a.article_id = 2
WHERE e.day > '2019-06-30';

-- max_rows bounds a run (in whole batches); the next run goes on
CREATE TABLE ops_many (id int PRIMARY KEY, body text);
INSERT INTO ops_many SELECT i, 'Article number ' || i || ' from Kabul.' FROM generate_series(1, 10) i;
CALL aa_refresh('ops_many', batch_size => 3, max_rows => 5);
CALL aa_refresh('ops_many', batch_size => 3, max_rows => 5);
CALL aa_refresh('ops_many', batch_size => 3, max_rows => 5);
SELECT status, batches, rows_done FROM aa_refresh_runs
WHERE source = 'ops_many'::regclass ORDER BY run_id;

-- Bad input: NULL, empty and over-long bodies and unknown languages are
-- skipped, counted by reason, and listed with why.
CREATE TABLE ops_bad (id int PRIMARY KEY, lang text, body text);
INSERT INTO ops_bad VALUES
    (1, NULL, NULL),
    (2, 'en', ''),
    (3, 'en', E' \n\t '),
    (4, 'en', repeat('Reuters reported from Kabul. ', 100)),
    (5, 'de', 'Bundeskanzlerin Angela Merkel sprach am Montag in Berlin über die Verhandlungen.'),
    (6, 'zz', 'Text in a language the stemmer does not have, written by Reuters in Kabul.'),
    (7, 'ru', 'Президент России Владимир Путин провёл переговоры в Москве.'),
    (8, NULL, '北京是中华人民共和国的首都。 新华社报道。'),
    (9, 'ar', 'قال مسؤولون في كابول يوم الخميس إن القوات الأفغانية استعادت المنطقة.');
CALL aa_refresh('ops_bad', language_column => 'lang', max_body_bytes => 1000);
SELECT status, rows_done, rows_skipped, skipped_null, skipped_empty, skipped_too_large,
       skipped_error, terms_skipped_language, error
FROM aa_refresh_runs WHERE source = 'ops_bad'::regclass ORDER BY run_id;
SELECT article_id, skip_reason, detail, body_bytes FROM aa_refresh_skipped
WHERE source = 'ops_bad' ORDER BY article_id;
-- the German and Russian articles were stemmed in their own languages
SELECT article_id, string_agg(term, ' ' ORDER BY term) AS terms
FROM aa_article_terms WHERE source = 'ops_bad'::regclass AND article_id IN (5, 7)
GROUP BY 1 ORDER BY 1;
-- entities come from the model of the article's language: the German
-- article's are those of the German model, not of the English one, and
-- articles in languages without a model have none
SELECT (SELECT array_agg(entity || '/' || type ORDER BY ordinal)
        FROM aa_article_entities WHERE source = 'ops_bad'::regclass AND article_id = 5)
       = (SELECT array_agg(entity || '/' || type ORDER BY start_pos)
          FROM ops_bad, aa_entities(body, 'de') WHERE id = 5) AS german_model_used,
       (SELECT array_agg(entity || '/' || type ORDER BY ordinal)
        FROM aa_article_entities WHERE source = 'ops_bad'::regclass AND article_id = 5)
       IS DISTINCT FROM (SELECT array_agg(entity || '/' || type ORDER BY start_pos)
                         FROM ops_bad, aa_entities(body) WHERE id = 5) AS differs_from_english;
SELECT article_id, count(e.entity) AS entities
FROM aa_refresh_articles st LEFT JOIN aa_article_entities e USING (source, article_id)
WHERE st.source = 'ops_bad'::regclass AND st.article_id IN (5, 6, 7, 8, 9)
GROUP BY 1 ORDER BY 1;
-- raising the size limit picks up the article skipped as too large
CALL aa_refresh('ops_bad', language_column => 'lang', max_body_bytes => 10000);
SELECT rows_done, rows_skipped FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT count(*) AS terms_of_4 FROM aa_article_terms
WHERE source = 'ops_bad'::regclass AND article_id = 4;
-- an article whose processing fails is skipped with its error; the rest
-- of its batch is done (here a constraint rejects the term "poison")
ALTER TABLE aa_article_terms ADD CONSTRAINT ops_no_poison CHECK (term <> 'poison');
INSERT INTO ops_bad VALUES
    (10, 'en', 'Officials said the water was safe.'),
    (11, 'en', 'Officials said the poison was found in the water.'),
    (12, 'en', 'The minister said nothing.');
CALL aa_refresh('ops_bad', language_column => 'lang', max_body_bytes => 10000);
ALTER TABLE aa_article_terms DROP CONSTRAINT ops_no_poison;
SELECT status, rows_done, rows_skipped, skipped_error FROM aa_refresh_runs
ORDER BY run_id DESC LIMIT 1;
SELECT article_id, skip_reason, detail FROM aa_refresh_skipped
WHERE source = 'ops_bad' AND skip_reason = 'error';
SELECT article_id, status FROM aa_refresh_articles
WHERE source = 'ops_bad'::regclass AND article_id >= 10 ORDER BY 1;

-- Identifiers: names with quotes, spaces and SQL are only ever names
CREATE TABLE ops_victim (x int);
INSERT INTO ops_victim VALUES (1);
CREATE SCHEMA "my schema";
CREATE TABLE "my schema"."arts; DROP TABLE ops_victim; --" (
    "the ""id""" int PRIMARY KEY,
    "body); DROP TABLE ops_victim; --" text,
    "day' || pg_sleep(5) || '" date
);
INSERT INTO "my schema"."arts; DROP TABLE ops_victim; --" VALUES
    (1, :'s000', '2020-01-01'), (2, :'s000', '2020-01-02');
CALL aa_refresh('"my schema"."arts; DROP TABLE ops_victim; --"',
                id_column => 'the "id"',
                body_column => 'body); DROP TABLE ops_victim; --',
                date_column => 'day'' || pg_sleep(5) || ''');
SELECT source, status, rows_done, pairs_added, clusters FROM aa_refresh_status
WHERE source LIKE '%arts%';
SELECT count(*) AS victim_still_there FROM ops_victim;
SELECT source, cluster_id, size, earliest_article, first_day FROM aa_duplicate_clusters
WHERE source LIKE '%arts%';
-- a string that is not a table name is refused before anything runs
\set VERBOSITY terse
CALL aa_refresh('ops_articles; DROP TABLE ops_victim');
CALL aa_refresh('ops_articles', id_column => 'id; DROP TABLE ops_victim');
SELECT count(*) AS victim_still_there FROM ops_victim;

-- Clear errors, with SQLSTATEs, before anything is done
\set VERBOSITY sqlstate
CALL aa_refresh('ops_articles', body_column => 'nope');
CALL aa_refresh('ops_articles', body_column => 'id');
CALL aa_refresh('ops_articles', id_column => 'source');
CALL aa_refresh('ops_articles', date_column => 'source');
CALL aa_refresh('ops_articles', language => 'klingon');
CALL aa_refresh('ops_articles', batch_size => 0);
CALL aa_refresh(NULL);
CREATE TABLE ops_noindex (id int, body text);
CALL aa_refresh('ops_noindex');
CREATE VIEW ops_view AS SELECT * FROM ops_articles;
CALL aa_refresh('ops_view');
-- a procedure that commits cannot run inside a transaction block; it
-- fails before taking its lock or recording a run
BEGIN;
CALL aa_refresh('ops_articles', date_column => 'published', batch_size => 4);
ROLLBACK;
\set VERBOSITY default
SELECT count(*) AS locks_held FROM aa_refresh_locks WHERE pid IS NOT NULL;
SELECT count(*) AS runs_left_running FROM aa_refresh_runs WHERE status = 'running';

-- pg_dump keeps every table that holds the user's data
SELECT c.relname
FROM pg_extension x, unnest(x.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
WHERE x.extname = 'article_analytics' ORDER BY 1;

-- Changed settings start a table over; aa_refresh_forget forgets it
CALL aa_refresh('ops_articles', date_column => 'published', threshold => 0.5);
SELECT rows_done FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT aa_refresh_forget('ops_bad');
SELECT count(*) AS left_of_ops_bad FROM aa_refresh_articles WHERE source = 'ops_bad'::regclass;
SELECT source, status, rows_done, articles_done, articles_skipped FROM aa_refresh_status
ORDER BY source;

-- A DO block run on its own may call aa_refresh: PostgreSQL lets a
-- procedure called from it commit (the README says so); from a function
-- it fails with 2D000 before doing anything.
DO $$ BEGIN CALL aa_refresh('ops_articles', date_column => 'published', threshold => 0.5); END $$;
SELECT status, rows_done FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
CREATE FUNCTION ops_refresh_from_function() RETURNS void LANGUAGE plpgsql AS
$$ BEGIN CALL aa_refresh('ops_articles', date_column => 'published', threshold => 0.5); END $$;
\set VERBOSITY terse
SELECT ops_refresh_from_function();
\set VERBOSITY default
SELECT status, rows_done FROM aa_refresh_runs ORDER BY run_id DESC LIMIT 1;
