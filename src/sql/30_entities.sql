
-- Entities -------------------------------------------------------------------

-- The language by name or ISO 639-1 code, as aa_stem takes it; English
-- by default (and for the one-argument calls of version 0.1).
CREATE FUNCTION aa_tag(tokens text[], language text DEFAULT 'english')
RETURNS text[]
AS 'MODULE_PATHNAME', 'aa_tag'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION aa_tag(text[], text) IS
'IOB2 entity tags (B-PER, I-ORG, O, ...) for an already tokenized sentence in a language with an entity model (aa_languages().entities)';

-- The tagger itself: mentions with the document's own full names.  Stable,
-- not immutable, because the model comes from a setting.
CREATE FUNCTION aa_entity_mentions(document text,
                                   language text DEFAULT 'english',
                                   OUT ordinal int, OUT entity text,
                                   OUT type text, OUT start_pos int,
                                   OUT length int, OUT canonical text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'aa_entity_mentions'
LANGUAGE C STRICT STABLE PARALLEL SAFE ROWS 20;

COMMENT ON FUNCTION aa_entity_mentions(text, text) IS
'entity mentions as the tagger finds them, canonical resolved within the document only (aa_entities adds aa_entity_aliases)';

-- Canonical names.  Rows shipped with the extension have shipped = true;
-- users add their own (shipped = false), which pg_dump keeps.  Where both
-- exist for an alias, the user's row wins.  type is the type aa_entities
-- reports for a mention resolved through the row (a demonym such as
-- "Afghan" is MISC, its canonical name "Afghanistan").
CREATE TABLE aa_entity_aliases (
    alias     text NOT NULL,
    canonical text NOT NULL,
    type      text NOT NULL CHECK (type IN ('PER', 'LOC', 'ORG', 'MISC')),
    shipped   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (alias, shipped)
);

COMMENT ON TABLE aa_entity_aliases IS
'alias -> canonical entity name and type used by aa_entities; rows with shipped = false are the user''s and survive pg_dump';

SELECT pg_catalog.pg_extension_config_dump('aa_entity_aliases', 'WHERE NOT shipped');

-- aa_entities reads the table as its caller, so everyone may read it;
-- who may add aliases is the administrator's choice (GRANT INSERT ...).
GRANT SELECT ON aa_entity_aliases TO PUBLIC;

-- An SQL function, so that the planner can inline it into the caller's
-- query.  The alias is looked up by the mention's in-document canonical
-- form ("Gerasimov" -> "Valery Gerasimov" first).
CREATE FUNCTION aa_entities(document text,
                            language text DEFAULT 'english',
                            OUT entity text, OUT type text,
                            OUT start_pos int, OUT length int,
                            OUT canonical text)
RETURNS SETOF record
LANGUAGE sql STRICT STABLE PARALLEL SAFE ROWS 20
AS $$
    SELECT m.entity, coalesce(a.type, m.type), m.start_pos, m.length,
           coalesce(a.canonical, m.canonical)
    FROM @extschema@.aa_entity_mentions(document, language) AS m
    LEFT JOIN LATERAL (SELECT al.canonical, al.type
                       FROM @extschema@.aa_entity_aliases AS al
                       WHERE al.alias = m.canonical
                       ORDER BY al.shipped
                       LIMIT 1) AS a ON true
    ORDER BY m.ordinal
$$;

COMMENT ON FUNCTION aa_entities(text, text) IS
'the people (PER), places (LOC), organisations (ORG) and other names (MISC) of a document in a language with an entity model (aa_languages().entities): substr(document, start_pos, length) = entity; canonical is the full name';
