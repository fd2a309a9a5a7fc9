
-- Tokens and stems ---------------------------------------------------------

CREATE FUNCTION aa_tokens(document text,
                          OUT ordinal int, OUT token text,
                          OUT start_pos int, OUT length int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_tokens'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 500;

COMMENT ON FUNCTION aa_tokens(text) IS
'the document''s tokens (CoNLL-2003 style) with 1-based character positions: substr(document, start_pos, length) = token';

CREATE FUNCTION aa_stem(word text, language text DEFAULT 'english')
RETURNS text
AS 'MODULE_PATHNAME', 'aa_stem'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_stem(text, text) IS
'one word, lower-cased and stemmed by libstemmer';

CREATE FUNCTION aa_stems(document text, language text DEFAULT 'english',
                         keep_stopwords boolean DEFAULT false)
RETURNS text[]
AS 'MODULE_PATHNAME', 'aa_stems'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_stems(text, text, boolean) IS
'the stems of the document''s words, in order; stopwords dropped unless keep_stopwords';

CREATE FUNCTION aa_term_counts(document text, language text DEFAULT 'english',
                               OUT term text, OUT count int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_term_counts'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 100;

COMMENT ON FUNCTION aa_term_counts(text, text) IS
'each stem of the document (stopwords dropped) with its number of occurrences, most frequent first';

CREATE FUNCTION aa_languages(OUT language text, OUT iso_code text,
                             OUT stopwords boolean, OUT entities boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_languages'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE ROWS 30;

COMMENT ON FUNCTION aa_languages() IS
'the stemming algorithms of the linked libstemmer, their ISO 639-1 aliases, whether a stopword list exists, and whether aa_entities and aa_tag have an entity model for the language';
