-- aa_tokens: the shared tokenizer, CoNLL-2003 style, with substr positions

SELECT ordinal, token, start_pos, length
FROM aa_tokens($$KABUL (Sputnik) - "Taliban's U.S. forces in Lashkar-Gah don't spend 1,000.5 dollars," he said.$$);

-- curly quotes and apostrophes behave like straight ones
SELECT array_agg(token ORDER BY ordinal)
FROM aa_tokens('Gerasimov’s “victory” wasn’t O’Neill’s');

-- every token is exactly substr(document, start_pos, length), also with
-- multi-byte characters before it
WITH doc(d) AS (VALUES ('Ça été «déjà» vu à Zürich — 3,5 % des Ελλήνων… 東京'))
SELECT count(*) AS tokens,
       count(*) FILTER (WHERE substr(d, start_pos, length) = token) AS matching
FROM doc, aa_tokens(d);

-- the same on every seed article, loaded the way the demo loads them
CREATE TABLE seeds (name text, body text);
\set body `cat test/data/000_f964a19d4597f10d.txt`
INSERT INTO seeds VALUES ('000', :'body');
\set body `cat test/data/001_41966bbbe1a97b2f.txt`
INSERT INTO seeds VALUES ('001', :'body');
\set body `cat test/data/002_796262f1a52646a1.txt`
INSERT INTO seeds VALUES ('002', :'body');
\set body `cat test/data/003_98a0563360ab9885.txt`
INSERT INTO seeds VALUES ('003', :'body');
SELECT name, count(*) > 300 AS many_tokens,
       bool_and(substr(body, start_pos, length) = token) AS substr_matches,
       bool_and(length > 0) AS no_empty_token
FROM seeds, aa_tokens(body) GROUP BY name ORDER BY name;

-- NULL in, NULL out (no rows); the empty string has no tokens
SELECT count(*) FROM aa_tokens(NULL);
SELECT count(*) FROM aa_tokens('');
SELECT count(*) FROM aa_tokens(E' \t\n ');

-- the attributes the design promises
SELECT proname, provolatile, proisstrict, proparallel
FROM pg_proc WHERE proname IN ('aa_tokens', 'aa_stem', 'aa_stems', 'aa_term_counts', 'aa_languages')
ORDER BY proname;
DROP TABLE seeds;
