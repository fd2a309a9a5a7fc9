--
-- Entity tagging: aa_tag, aa_entities, the alias table, the model setting.
--
\pset null '(null)'

-- aa_tag: IOB2 tags for a pre-tokenized sentence (CoNLL-2003 style)
SELECT aa_tag(ARRAY['Valery', 'Gerasimov', 'visited', 'Moscow', 'on', 'Thursday', '.']);
SELECT aa_tag(ARRAY['Interfax', 'quoted', 'the', 'Russian', 'foreign', 'ministry', '.']);
SELECT aa_tag(ARRAY[]::text[]);
SELECT aa_tag(NULL);
SELECT aa_tag(ARRAY['Moscow', NULL]);
SELECT aa_tag(ARRAY[['Moscow', 'Paris'], ['Berlin', 'Rome']]);
SELECT cardinality(aa_tag(array_fill('Word'::text, ARRAY[5000])));

-- aa_entities: one row per mention, substr(document, start_pos, length) = entity
SELECT * FROM aa_entities('Valery Gerasimov met Alexander Vikantov in Moscow on Thursday. Gerasimov later flew to Kabul.');
SELECT * FROM aa_entities('');
SELECT * FROM aa_entities(NULL);
SELECT count(*) FROM aa_entities('... ,,, !!! 123 456');
-- positions count characters, not bytes
SELECT entity, start_pos, length,
       substr(d, start_pos, length) = entity AS substr_matches
FROM (VALUES ('Über “Café” – Angela Merkel traf Emmanuel Macron in Paris.')) AS t(d),
     aa_entities(d);

-- news formatting: an ALL-CAPS headline, a dateline, lower-case text
SELECT entity, type, canonical FROM aa_entities(
'RUSSIA SAYS TALIBAN OFFENSIVE RUNNING OUT OF STEAM

MOSCOW - Russia said on Thursday that the Taliban offensive in Afghanistan was slowing, Interfax reported.');
SELECT entity, type FROM aa_entities('valery gerasimov, the russian chief of staff, visited tashkent and met uzbek officials.');
-- a long document: every mention found, nothing cut at sentence limits
SELECT count(*) AS mentions, count(DISTINCT entity) AS names,
       bool_and(entity IN ('Valery Gerasimov', 'Gerasimov', 'Moscow')) AS expected_names
FROM aa_entities(repeat('Valery Gerasimov visited Moscow. ', 20000));
SELECT count(*) FROM aa_entities(repeat('word ', 100000));

-- the seed articles: what a reader sees, with the right types
CREATE TEMP TABLE ner_seeds (name text, body text);
\set d0 `cat test/data/000_f964a19d4597f10d.txt`
\set d1 `cat test/data/001_41966bbbe1a97b2f.txt`
\set d2 `cat test/data/002_796262f1a52646a1.txt`
\set d3 `cat test/data/003_98a0563360ab9885.txt`
INSERT INTO ner_seeds VALUES ('000', :'d0'), ('001', :'d1'), ('002', :'d2'), ('003', :'d3');
SELECT count(*) AS mentions,
       count(*) FILTER (WHERE substr(s.body, e.start_pos, e.length) = e.entity) AS substr_matches
FROM ner_seeds s, aa_entities(s.body) e;
SELECT e.entity, e.type, count(*) AS mentions
FROM ner_seeds s, aa_entities(s.body) e
WHERE e.entity IN ('Alexander Vikantov', 'Valery Gerasimov', 'Lashkar Gah',
                   'Helmand', 'Interfax', 'Reuters', 'Taliban', 'Kabul',
                   'Moscow', 'Tajikistan', 'Marco Mendicino')
GROUP BY 1, 2 ORDER BY 1, 2;
-- sentence starts, weekdays and section labels are not entities
SELECT e.entity, e.type
FROM ner_seeds s, aa_entities(s.body) e
WHERE e.entity ~ '(Separately|Thursday|READ|MORE|According|Graphic)';
-- later short forms resolve to the earlier full name
SELECT DISTINCT e.entity, e.canonical
FROM ner_seeds s, aa_entities(s.body) e
WHERE e.entity IN ('Gerasimov', 'Vikantov', 'Mendicino') ORDER BY 1, 2;

-- canonical names: shipped aliases and the user's own rows
SELECT alias, canonical, type FROM aa_entity_aliases
WHERE alias IN ('US', 'U.S.', 'USA', 'America', 'Afghan', 'Taliban') ORDER BY alias;
SELECT entity, type, canonical
FROM aa_entities('The U.S. and the USA and America are the same country.');
INSERT INTO aa_entity_aliases (alias, canonical, type) VALUES
    ('Daesh', 'Islamic State', 'ORG'),
    ('ISIS', 'Islamic State', 'ORG'),
    ('ISIL', 'Islamic State', 'ORG'),
    ('America', 'Americas', 'LOC');
SELECT entity, type, canonical
FROM aa_entities('Officials said ISIS, also called ISIL or Daesh, lost ground. America reacted.');
-- only the user's rows are dumped
SELECT c.relname, e.extcondition[array_position(e.extconfig, c.oid)] AS dump_condition
FROM pg_extension e JOIN pg_class c ON c.oid = ANY (e.extconfig)
WHERE e.extname = 'article_analytics' AND c.relname = 'aa_entity_aliases';
SELECT count(*) FROM aa_entity_aliases WHERE NOT shipped;
DELETE FROM aa_entity_aliases WHERE NOT shipped;

-- the model setting: superuser only, and a bad file is a clear error
SELECT current_setting('article_analytics.ner_model') LIKE '%/extension/article_analytics_ner_en.model'
    AS default_path_is_installed_model;
CREATE ROLE aa_entities_user;
SET ROLE aa_entities_user;
SET article_analytics.ner_model = '/tmp/other.model';
SELECT aa_tag(ARRAY['Paris']);
SELECT entity, type, canonical FROM aa_entities('The U.S. envoy left Paris.');
RESET ROLE;
DROP ROLE aa_entities_user;

SET article_analytics.ner_model = '/nonexistent/aa_ner.model';
SELECT aa_tag(ARRAY['Paris']);
SELECT * FROM aa_entities('Paris');
-- a truncated copy, a corrupt copy and a file that is not a model,
-- written into the data directory with lo_export
RESET article_analytics.ner_model;
SELECT lo_from_bytea(0, pg_read_binary_file(current_setting('article_analytics.ner_model'), 0, 4096)) AS truncated_oid,
       lo_from_bytea(0, set_byte(m, 1000000, (get_byte(m, 1000000) + 1) % 256)) AS corrupt_oid,
       lo_from_bytea(0, convert_to(repeat('not a model ', 100), 'UTF8')) AS text_oid
FROM pg_read_binary_file(current_setting('article_analytics.ner_model')) AS f(m) \gset
SELECT lo_export(:truncated_oid, 'aa_ner_truncated.model'),
       lo_export(:corrupt_oid, 'aa_ner_corrupt.model'),
       lo_export(:text_oid, 'aa_ner_text.model');
SELECT lo_unlink(:truncated_oid), lo_unlink(:corrupt_oid), lo_unlink(:text_oid);
SET article_analytics.ner_model = 'aa_ner_truncated.model';
SELECT aa_tag(ARRAY['Paris']);
SET article_analytics.ner_model = 'aa_ner_corrupt.model';
SELECT aa_tag(ARRAY['Paris']);
SET article_analytics.ner_model = 'aa_ner_text.model';
SELECT aa_tag(ARRAY['Paris']);
-- a model of format 1 (before word clusters: the format_version field,
-- bytes 9-12, says 1) is refused as an older format, SQLSTATE 0A000
RESET article_analytics.ner_model;
SELECT lo_from_bytea(0, overlay(m placing '\x01000000'::bytea from 9 for 4)) AS format1_oid
FROM pg_read_binary_file(current_setting('article_analytics.ner_model')) AS f(m) \gset
SELECT lo_export(:format1_oid, 'aa_ner_format1.model');
SELECT lo_unlink(:format1_oid);
SET article_analytics.ner_model = 'aa_ner_format1.model';
SELECT aa_tag(ARRAY['Paris']);
DO $$
BEGIN
    PERFORM aa_tag(ARRAY['Paris']);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;
-- back to the installed model, which works again
RESET article_analytics.ner_model;
SELECT aa_tag(ARRAY['Paris']);

-- a LATIN1 database: text converted to UTF-8 for the tagger and back
DROP DATABASE IF EXISTS aa_ner_latin1;
CREATE DATABASE aa_ner_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c aa_ner_latin1
\encoding UTF8
CREATE EXTENSION article_analytics;
SELECT entity, type, start_pos, length, substr(d, start_pos, length) = entity AS substr_matches
FROM (VALUES ('Angela Merkel traf Emmanuel Macron in Zürich. Später flog Macron nach São Paulo.')) AS t(d),
     aa_entities(d);
SELECT aa_tag(ARRAY['Müller', 'visited', 'Zürich', '.']);
\c contrib_regression
DROP DATABASE aa_ner_latin1;
