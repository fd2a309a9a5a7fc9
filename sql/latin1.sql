-- A LATIN1 database gives the same stems and tokens as a UTF-8 one:
-- text is converted to UTF-8 for the core and back, as PostgreSQL's own
-- snowball dictionary does.
CREATE TABLE utf8_results AS
SELECT w, aa_stem(w, 'french') AS fr, aa_stem(w, 'german') AS de, aa_stem(w) AS en
FROM unnest(ARRAY['Écoles', 'Häuser', 'Straße', 'naïveté', 'Señoras', 'CAFÉS']) AS w;
SELECT * FROM utf8_results ORDER BY w;
\set utf8_stems `psql -XAtc "SELECT string_agg(w || '=' || fr || '/' || de || '/' || en, ' ' ORDER BY w) FROM utf8_results" contrib_regression`

DROP DATABASE IF EXISTS aa_latin1;
CREATE DATABASE aa_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c aa_latin1
\encoding UTF8
SHOW server_encoding;
CREATE EXTENSION article_analytics;
SELECT string_agg(w || '=' || aa_stem(w, 'french') || '/' || aa_stem(w, 'german') || '/' || aa_stem(w), ' ' ORDER BY w) = :'utf8_stems' AS same_stems
FROM unnest(ARRAY['Écoles', 'Häuser', 'Straße', 'naïveté', 'Señoras', 'CAFÉS']) AS w;
SELECT aa_stems('Les écoles françaises sont fermées', 'french');
SELECT * FROM aa_term_counts('Häuser, Häuser und Straßen', 'german');
WITH doc(d) AS (VALUES ('«Déjà vu» à Zürich, l''été'))
SELECT array_agg(token ORDER BY ordinal) AS tokens,
       bool_and(substr(d, start_pos, length) = token) AS substr_matches
FROM doc, aa_tokens(d);
\c contrib_regression
DROP DATABASE aa_latin1;
DROP TABLE utf8_results;
