-- aa_stem, aa_stems, aa_term_counts, aa_languages

SELECT aa_stem('Running'), aa_stem('generously'), aa_stem('PROVINCES', 'en');
SELECT aa_stem('Écoles', 'french'), aa_stem('Häuser', 'de'), aa_stem('кошками', 'russian');
SELECT aa_stem('ΟΔΟΣ', 'greek') = aa_stem('οδος', 'greek') AS greek_final_sigma;
SELECT aa_stem('kitapları', 'tr'), aa_stem('connections', 'porter');
-- language names are case-insensitive and ISO 639-1 codes are aliases
SELECT aa_stem('running', 'English') = aa_stem('running', 'en') AS alias_ok;

-- words over 1000 bytes come back lower-cased but unstemmed
SELECT length(aa_stem(repeat('ING', 400), 'turkish')) AS long_turkish,
       aa_stem(repeat('Running', 200)) = repeat('running', 200) AS long_english_unstemmed;

-- stems in document order; stopwords dropped unless asked for
SELECT aa_stems('The Taliban''s forces were running quickly across Helmand provinces.');
SELECT aa_stems('The Taliban''s forces were running.', 'english', true);
SELECT aa_stems('Die Häuser und die Straßen', 'german');
SELECT aa_stems('in the of and', 'english');
SELECT aa_stems('', 'english'), aa_stems(NULL, 'english');

-- term counts, most frequent first
SELECT * FROM aa_term_counts('Running runners run; the runner ran. Runs! 1,000 runs.');
SELECT count(*) FROM aa_term_counts('');

-- NULL in gives NULL out
SELECT aa_stem(NULL), aa_stem('word', NULL) IS NULL AS null_language;

-- every libstemmer algorithm, with its ISO 639-1 alias
SELECT count(*) AS languages, count(iso_code) AS with_iso_code,
       count(*) FILTER (WHERE stopwords) AS with_stopwords
FROM aa_languages();
SELECT language, iso_code, stopwords FROM aa_languages()
WHERE language IN ('english', 'porter', 'german', 'greek', 'turkish') ORDER BY language;
-- every listed name and alias is accepted
SELECT count(*) FROM aa_languages(), LATERAL aa_stem('test', language) s;
SELECT count(*) FROM aa_languages(), LATERAL aa_stem('test', iso_code) s WHERE iso_code IS NOT NULL;

-- an unknown language is SQLSTATE 22023, naming it, with the valid names in the hint
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE state text; message text; hint text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN state || ': ' || message || E'\nHINT: ' || hint;
END $$;
SELECT pg_temp.error_of($$SELECT aa_stem('word', 'klingon')$$);
SELECT pg_temp.error_of($$SELECT aa_stems('some words', '')$$);
SELECT pg_temp.error_of($$SELECT * FROM aa_term_counts('some words', 'xx')$$) LIKE '22023: unknown stemming language "xx"%english (en)%' AS term_counts_error;

-- Lithuanian lower-cases Ì, Í and Ĩ to three code points each (i, a
-- combining dot, the accent): longer than twice the input
SELECT aa_stem('ÌÌ', 'lithuanian') AS lt, length(aa_stem('ÌÌ', 'lithuanian')) AS chars,
       aa_stems('ÌÌ ĨÍĨÍ Ìs', 'lithuanian') AS lt_stems;
-- usable in a generated column and an expression index
CREATE TABLE docs (id int, body text,
                   stems text[] GENERATED ALWAYS AS (aa_stems(body)) STORED);
INSERT INTO docs VALUES (1, 'Forces were running'), (2, 'The runner ran');
CREATE INDEX ON docs USING gin (stems);
SELECT id, stems FROM docs WHERE stems @> ARRAY['run'] ORDER BY id;
DROP TABLE docs;

-- the committed English sample of Snowball's own vocabulary (every tenth
-- word of voc.txt/output.txt, BSD-licensed): aa_stem reproduces libstemmer
CREATE TABLE snowball_sample (word text, expected text);
\copy snowball_sample FROM 'test/data/snowball_english_sample.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SELECT count(*) AS words,
       count(*) FILTER (WHERE aa_stem(word, 'english') = expected) AS matching
FROM snowball_sample;
SELECT word, expected, aa_stem(word, 'english') FROM snowball_sample
WHERE aa_stem(word, 'english') IS DISTINCT FROM expected LIMIT 5;
DROP TABLE snowball_sample;
