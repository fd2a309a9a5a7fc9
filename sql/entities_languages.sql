--
-- Entities in Spanish, Dutch, Portuguese and German: aa_entities and
-- aa_tag with a language (by name or ISO 639-1 code, as aa_stem takes
-- it), the languages that have an entity model, and the error for one
-- that has none.  The sentences are the project's own.
--
\pset null '(null)'

-- which languages have an entity model
SELECT language, iso_code FROM aa_languages() WHERE entities ORDER BY iso_code;
SELECT count(*) AS languages, count(*) FILTER (WHERE entities) AS with_entities
FROM aa_languages();

-- one short news sentence per language, and the entities a reader finds in
-- it: each mention is "ok" (found with that type), "missed" or "extra"
-- (found, but not an entity of that type); substr(document, start_pos,
-- length) = entity for every mention.  The German model's "Montag" as ORG
-- is a known error (trained on Wikipedia fragments, it over-predicts ORG:
-- see the README's Limitations).
CREATE TEMP TABLE lang_docs (lang text, doc text);
INSERT INTO lang_docs VALUES
('spanish', 'El presidente de Francia, Emmanuel Macron, se reunió ayer en Madrid con el secretario general de la ONU, António Guterres.'),
('nl', 'Premier Mark Rutte sprak woensdag in Den Haag met de directie van Shell over de plannen van de Europese Commissie.'),
('Portuguese', 'O presidente Luiz Inácio Lula da Silva viajou na segunda-feira para Lisboa, onde se encontrou com dirigentes da Petrobras.'),
('de', 'Olaf Scholz traf am Montag in Berlin den Vorstandschef von Siemens, Roland Busch, und flog danach nach München.');
CREATE TEMP TABLE lang_expected (lang text, entity text, type text);
INSERT INTO lang_expected VALUES
('spanish', 'Francia', 'LOC'), ('spanish', 'Emmanuel Macron', 'PER'), ('spanish', 'Madrid', 'LOC'),
('spanish', 'ONU', 'ORG'), ('spanish', 'António Guterres', 'PER'),
('nl', 'Mark Rutte', 'PER'), ('nl', 'Den Haag', 'LOC'), ('nl', 'Shell', 'ORG'),
('nl', 'Europese Commissie', 'ORG'),
('Portuguese', 'Luiz Inácio Lula da Silva', 'PER'), ('Portuguese', 'Lisboa', 'LOC'),
('Portuguese', 'Petrobras', 'ORG'),
('de', 'Olaf Scholz', 'PER'), ('de', 'Berlin', 'LOC'), ('de', 'Siemens', 'ORG'),
('de', 'Roland Busch', 'PER'), ('de', 'München', 'LOC');
WITH found AS (
    SELECT d.lang, e.entity, e.type, e.start_pos,
           substr(d.doc, e.start_pos, e.length) = e.entity AS substr_matches
    FROM lang_docs d, aa_entities(d.doc, d.lang) e
)
SELECT coalesce(f.lang, x.lang) AS lang, coalesce(f.entity, x.entity) AS entity,
       coalesce(f.type, x.type) AS type,
       CASE WHEN f.lang IS NULL THEN 'missed' WHEN x.lang IS NULL THEN 'extra' ELSE 'ok' END AS status,
       f.substr_matches
FROM found f FULL JOIN lang_expected x USING (lang, entity, type)
ORDER BY coalesce(f.lang, x.lang) COLLATE "C", f.start_pos NULLS LAST,
         coalesce(f.entity, x.entity) COLLATE "C";

-- aa_tag with a language, by code and by name
SELECT aa_tag(ARRAY['El', 'Real', 'Madrid', 'ganó', 'en', 'Sevilla', '.'], 'es');
SELECT aa_tag(ARRAY['Angela', 'Merkel', 'besuchte', 'Paris', '.'], 'german');

-- English stays the default: the one-argument calls of 0.1 and the
-- language given as 'english' or 'en' agree
SELECT (SELECT array_agg(e ORDER BY e.start_pos) FROM aa_entities('Valery Gerasimov visited Moscow.') e)
     = (SELECT array_agg(e ORDER BY e.start_pos) FROM aa_entities('Valery Gerasimov visited Moscow.', 'en') e)
   AS default_is_english,
       aa_tag(ARRAY['Valery', 'Gerasimov']) = aa_tag(ARRAY['Valery', 'Gerasimov'], 'English')
   AS tag_default_is_english;
SELECT count(*) FROM aa_entities('Ein Satz.', NULL);

-- a language without an entity model, and an unknown one: SQLSTATE 22023,
-- the hint naming the languages that have one
SELECT * FROM aa_entities('Emmanuel Macron est à Paris.', 'french');
SELECT aa_tag(ARRAY['Paris'], 'fr');
SELECT * FROM aa_entities('Qapla!', 'klingon');
\set VERBOSITY sqlstate
SELECT * FROM aa_entities('Emmanuel Macron est à Paris.', 'french');
SELECT * FROM aa_entity_mentions('Qapla!', 'klingon');
\set VERBOSITY default
