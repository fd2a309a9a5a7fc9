-- Operations: keeping analytics current on a live article table ------------
--
-- aa_refresh() reads a user's article table and keeps side tables up to
-- date: one row of state per article (body hash, day, sketch, why it was
-- skipped), its entity mentions, its term counts, its LSH band keys, the
-- near-duplicate pairs and the duplicate clusters.  Every table is keyed by
-- the article table (a regclass, so several article tables can share them)
-- and the article's id, and is registered with pg_extension_config_dump so
-- that pg_dump keeps it.  Views over them answer the questions BI tools
-- ask, with plain column types.
--
-- Everything below is schema-qualified with @extschema@ instead of using a
-- SET search_path clause: a procedure with a SET clause may not COMMIT,
-- and aa_refresh commits once per batch.

-- One row per article table that aa_refresh has seen: the settings of its
-- last run.  A run with different settings starts that table over.
CREATE TABLE aa_refresh_sources (
    source          regclass PRIMARY KEY,
    id_column       name NOT NULL,
    body_column     name NOT NULL,
    date_column     name,
    language        text NOT NULL,
    language_column name,
    bands           int NOT NULL,
    threshold       float8 NOT NULL,
    clusters_dirty  boolean NOT NULL DEFAULT false,
    configured_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE aa_refresh_sources IS
'article tables kept current by aa_refresh, with the settings of their last run';

-- One row per run of aa_refresh: what a dashboard reads.
CREATE TABLE aa_refresh_runs (
    run_id                 bigserial PRIMARY KEY,
    source                 regclass NOT NULL,
    status                 text NOT NULL
        CHECK (status IN ('running', 'done', 'partial', 'failed', 'cancelled',
                          'interrupted', 'busy')),
    started_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at            timestamptz,
    batches                int NOT NULL DEFAULT 0,
    rows_done              bigint NOT NULL DEFAULT 0,
    rows_skipped           bigint NOT NULL DEFAULT 0,
    skipped_null           bigint NOT NULL DEFAULT 0,
    skipped_empty          bigint NOT NULL DEFAULT 0,
    skipped_too_large      bigint NOT NULL DEFAULT 0,
    skipped_error          bigint NOT NULL DEFAULT 0,
    terms_skipped_language bigint NOT NULL DEFAULT 0,
    rows_deleted           bigint NOT NULL DEFAULT 0,
    rows_unchanged         bigint NOT NULL DEFAULT 0,
    pairs_added            bigint NOT NULL DEFAULT 0,
    clusters               int,
    error                  text,
    error_sqlstate         text,
    backend_pid            int NOT NULL DEFAULT pg_backend_pid(),
    run_by                 name NOT NULL DEFAULT current_user
);

CREATE INDEX ON aa_refresh_runs (source, run_id);

COMMENT ON TABLE aa_refresh_runs IS
'one row per aa_refresh run: status (running, done, partial, failed, cancelled, interrupted, busy), times, rows done and skipped by reason, error';

-- One row per article seen: what the side tables were computed from, so a
-- later run can tell new and changed articles from unchanged ones.
CREATE TABLE aa_refresh_articles (
    source       regclass NOT NULL,
    article_id   bigint NOT NULL,
    published    date,
    body_md5     text,
    body_bytes   bigint,
    language     text,
    row_xmin     bigint,
    sig          minhash,
    status       text NOT NULL CHECK (status IN ('done', 'skipped')),
    skip_reason  text
        CHECK (skip_reason IN ('null_body', 'empty_body', 'too_large', 'error')),
    detail       text,
    refreshed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id       bigint,
    PRIMARY KEY (source, article_id)
);

COMMENT ON TABLE aa_refresh_articles IS
'per-article state of aa_refresh: body hash, day, language, row version (xmin), sketch, and why an article was skipped';

CREATE TABLE aa_article_entities (
    source     regclass NOT NULL,
    article_id bigint NOT NULL,
    ordinal    int NOT NULL,
    entity     text NOT NULL,
    type       text NOT NULL,
    start_pos  int NOT NULL,
    length     int NOT NULL,
    canonical  text NOT NULL,
    PRIMARY KEY (source, article_id, ordinal)
);

CREATE INDEX ON aa_article_entities (source, canonical, type);

COMMENT ON TABLE aa_article_entities IS
'entity side table kept by aa_refresh: the rows of aa_entities(body) for each article';

CREATE TABLE aa_article_terms (
    source     regclass NOT NULL,
    article_id bigint NOT NULL,
    term       text NOT NULL,
    count      int NOT NULL,
    PRIMARY KEY (source, article_id, term)
);

COMMENT ON TABLE aa_article_terms IS
'term side table kept by aa_refresh: the rows of aa_term_counts(body, language) for each article';

-- The band table: one row per LSH band of each article's sketch.  Two
-- articles are candidate duplicates when they share a (band, band_key);
-- on Citus this table is distributed by band_key (see the README).
CREATE TABLE aa_article_bands (
    source     regclass NOT NULL,
    article_id bigint NOT NULL,
    band       int NOT NULL,
    band_key   bigint NOT NULL,
    PRIMARY KEY (source, article_id, band)
);

CREATE INDEX ON aa_article_bands (source, band, band_key);

COMMENT ON TABLE aa_article_bands IS
'LSH band keys of each article''s sketch (aa_bands), for the equi-join that finds duplicate candidates';

CREATE TABLE aa_duplicate_pairs (
    source     regclass NOT NULL,
    article_a  bigint NOT NULL,
    article_b  bigint NOT NULL,
    similarity float8 NOT NULL,
    PRIMARY KEY (source, article_a, article_b),
    CHECK (article_a < article_b)
);

CREATE INDEX ON aa_duplicate_pairs (source, article_b);

COMMENT ON TABLE aa_duplicate_pairs IS
'near-duplicate pairs found by aa_refresh: estimated similarity at or above its threshold';

CREATE TABLE aa_cluster_members (
    source     regclass NOT NULL,
    article_id bigint NOT NULL,
    cluster_id bigint NOT NULL,
    PRIMARY KEY (source, article_id)
);

CREATE INDEX ON aa_cluster_members (source, cluster_id);

COMMENT ON TABLE aa_cluster_members IS
'duplicate clusters (connected components of aa_duplicate_pairs): cluster_id is the smallest article id of the cluster';

SELECT pg_catalog.pg_extension_config_dump('aa_refresh_sources', '');
SELECT pg_catalog.pg_extension_config_dump('aa_refresh_runs', '');
SELECT pg_catalog.pg_extension_config_dump('aa_refresh_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('aa_refresh_articles', '');
SELECT pg_catalog.pg_extension_config_dump('aa_article_entities', '');
SELECT pg_catalog.pg_extension_config_dump('aa_article_terms', '');
SELECT pg_catalog.pg_extension_config_dump('aa_article_bands', '');
SELECT pg_catalog.pg_extension_config_dump('aa_duplicate_pairs', '');
SELECT pg_catalog.pg_extension_config_dump('aa_cluster_members', '');

-- aa_refresh_batch: the work of aa_refresh for one batch of articles, as a
-- plain function so that aa_refresh can run it for the whole batch and,
-- should that fail, again for each article on its own in a subtransaction
-- and skip only the article that fails.
--
-- The arrays hold one element per article.  body is NULL both for a NULL
-- body and for one over the size limit (bytes tells them apart).  The
-- function replaces whatever the side tables held for these articles.
CREATE FUNCTION aa_refresh_batch(source regclass, run_id bigint,
                                 ids bigint[], bodies text[], hashes text[],
                                 bytes bigint[], days date[], languages text[],
                                 xmins bigint[], default_language text, max_body_bytes bigint,
                                 bands int, threshold float8,
                                 OUT done int, OUT skipped_null int,
                                 OUT skipped_empty int, OUT skipped_too_large int,
                                 OUT terms_skipped_language int,
                                 OUT pairs_removed int, OUT pairs_added int)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
    -- forget what was computed from the previous version of these articles
    DELETE FROM @extschema@.aa_article_entities e
    WHERE e.source = aa_refresh_batch.source AND e.article_id = ANY (ids);
    DELETE FROM @extschema@.aa_article_terms t
    WHERE t.source = aa_refresh_batch.source AND t.article_id = ANY (ids);
    DELETE FROM @extschema@.aa_article_bands b
    WHERE b.source = aa_refresh_batch.source AND b.article_id = ANY (ids);
    DELETE FROM @extschema@.aa_duplicate_pairs p
    WHERE p.source = aa_refresh_batch.source
      AND (p.article_a = ANY (ids) OR p.article_b = ANY (ids));
    GET DIAGNOSTICS pairs_removed = ROW_COUNT;

    -- the state of each article: done, or skipped and why
    WITH b AS (
        SELECT u.id, u.body, u.h, u.nbytes, u.day, u.lang, u.xmin,
               CASE
                   WHEN u.nbytes IS NULL THEN 'null_body'
                   WHEN u.nbytes > max_body_bytes THEN 'too_large'
                   WHEN u.body ~ '^[[:space:]]*$' THEN 'empty_body'
               END AS reason
        FROM unnest(ids, bodies, hashes, bytes, days, languages, xmins)
             AS u(id, body, h, nbytes, day, lang, xmin)
    )
    INSERT INTO @extschema@.aa_refresh_articles AS st
        (source, article_id, published, body_md5, body_bytes, language, row_xmin, sig,
         status, skip_reason, detail, refreshed_at, run_id)
    SELECT aa_refresh_batch.source, b.id, b.day, b.h, b.nbytes, b.lang, b.xmin,
           CASE WHEN b.reason IS NULL THEN @extschema@.aa_minhash(b.body) END,
           CASE WHEN b.reason IS NULL THEN 'done' ELSE 'skipped' END,
           b.reason,
           CASE b.reason
               WHEN 'null_body' THEN 'the body is NULL'
               WHEN 'empty_body' THEN 'the body is empty or only white space'
               WHEN 'too_large' THEN format('the body has %s bytes, over max_body_bytes (%s)',
                                            b.nbytes, max_body_bytes)
           END,
           clock_timestamp(), aa_refresh_batch.run_id
    FROM b
    ON CONFLICT ON CONSTRAINT aa_refresh_articles_pkey DO UPDATE
        SET published = EXCLUDED.published, body_md5 = EXCLUDED.body_md5,
            body_bytes = EXCLUDED.body_bytes, language = EXCLUDED.language,
            row_xmin = EXCLUDED.row_xmin, sig = EXCLUDED.sig, status = EXCLUDED.status,
            skip_reason = EXCLUDED.skip_reason, detail = EXCLUDED.detail,
            refreshed_at = EXCLUDED.refreshed_at, run_id = EXCLUDED.run_id;

    SELECT count(*) FILTER (WHERE u.nbytes IS NULL),
           count(*) FILTER (WHERE u.nbytes > max_body_bytes),
           count(*) FILTER (WHERE u.nbytes <= max_body_bytes
                              AND u.body ~ '^[[:space:]]*$')
    INTO skipped_null, skipped_too_large, skipped_empty
    FROM unnest(bodies, bytes) AS u(body, nbytes);
    done := cardinality(ids) - skipped_null - skipped_too_large - skipped_empty;

    -- entities
    INSERT INTO @extschema@.aa_article_entities
        (source, article_id, ordinal, entity, type, start_pos, length, canonical)
    SELECT aa_refresh_batch.source, u.id, e.ord::int, e.entity, e.type,
           e.start_pos, e.length, e.canonical
    FROM unnest(ids, bodies, bytes) AS u(id, body, nbytes)
         CROSS JOIN LATERAL @extschema@.aa_entities(u.body)
             WITH ORDINALITY AS e(entity, type, start_pos, length, canonical, ord)
    WHERE u.nbytes <= max_body_bytes AND u.body !~ '^[[:space:]]*$';

    -- terms, in the article's language when it has one the stemmer knows
    WITH b AS (
        SELECT u.id, u.body,
               CASE
                   WHEN u.lang IS NULL THEN default_language
                   WHEN EXISTS (SELECT 1 FROM @extschema@.aa_languages() l
                                WHERE lower(u.lang) IN (l.language, l.iso_code))
                       THEN lower(u.lang)
               END AS lang
        FROM unnest(ids, bodies, bytes, languages) AS u(id, body, nbytes, lang)
        WHERE u.nbytes <= max_body_bytes AND u.body !~ '^[[:space:]]*$'
    ), marked AS (
        UPDATE @extschema@.aa_refresh_articles st
        SET detail = format('terms not computed: the stemmer has no language %L',
                            st.language)
        FROM b
        WHERE b.lang IS NULL
          AND st.source = aa_refresh_batch.source AND st.article_id = b.id
        RETURNING 1
    ), ins AS (
        INSERT INTO @extschema@.aa_article_terms (source, article_id, term, count)
        SELECT aa_refresh_batch.source, b.id, t.term, t.count
        FROM b CROSS JOIN LATERAL @extschema@.aa_term_counts(b.body, b.lang) AS t
        WHERE b.lang IS NOT NULL
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM marked) INTO terms_skipped_language;
    -- the data-modifying CTE "ins" runs even though nothing reads it

    -- band keys; a sketch without shingles has no band worth joining on
    INSERT INTO @extschema@.aa_article_bands (source, article_id, band, band_key)
    SELECT st.source, st.article_id, k.band::int, k.band_key
    FROM @extschema@.aa_refresh_articles st
         CROSS JOIN LATERAL unnest(@extschema@.aa_bands(st.sig, bands))
             WITH ORDINALITY AS k(band_key, band)
    WHERE st.source = aa_refresh_batch.source AND st.article_id = ANY (ids)
      AND st.status = 'done'
      AND @extschema@.aa_minhash_num_shingles(st.sig) > 0;

    -- candidate pairs share a band; keep those similar enough
    INSERT INTO @extschema@.aa_duplicate_pairs (source, article_a, article_b, similarity)
    SELECT aa_refresh_batch.source, c.a, c.b, @extschema@.aa_similarity(sa.sig, sb.sig)
    FROM (SELECT DISTINCT least(x.article_id, y.article_id) AS a,
                          greatest(x.article_id, y.article_id) AS b
          FROM @extschema@.aa_article_bands x
               JOIN @extschema@.aa_article_bands y
                 ON y.source = x.source AND y.band = x.band
                AND y.band_key = x.band_key AND y.article_id <> x.article_id
          WHERE x.source = aa_refresh_batch.source AND x.article_id = ANY (ids)) c
         JOIN @extschema@.aa_refresh_articles sa
           ON sa.source = aa_refresh_batch.source AND sa.article_id = c.a
         JOIN @extschema@.aa_refresh_articles sb
           ON sb.source = aa_refresh_batch.source AND sb.article_id = c.b
    WHERE @extschema@.aa_similarity(sa.sig, sb.sig) >= threshold
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS pairs_added = ROW_COUNT;
END;
$$;

COMMENT ON FUNCTION aa_refresh_batch(regclass, bigint, bigint[], text[], text[], bigint[], date[], text[], bigint[], text, bigint, int, float8) IS
'internal to aa_refresh: recompute the side tables for one batch of articles';

-- aa_refresh: bring the side tables of an article table up to date.
--
-- Articles are new or changed when the md5 of their body, their day or
-- their language differs from what the last run saw (only rows whose
-- version, xmin, changed since are hashed, so a run over an unchanged
-- table reads no body); they are read in id order up to the largest id
-- present when the run starts, batch_size at a time, and each batch is
-- committed with the state that says it was done, so a run that is
-- cancelled or killed keeps every batch it committed and the next run
-- starts where it stopped.  Articles gone from the table leave the side
-- tables.  When duplicate pairs changed, the clusters are recomputed at
-- the end.
--
-- max_rows bounds the articles one run does (in whole batches), so that a
-- scheduled run ends in bounded time however far behind it is; such a run
-- is recorded as 'partial' when it left work for the next one.
--
-- A session-level advisory lock per article table makes a second
-- concurrent run return at once with a NOTICE (and a 'busy' row in
-- aa_refresh_runs).  The lock is taken only after a first COMMIT, so that
-- a call inside a transaction block fails before it holds anything.
--
-- Identifiers come in as regclass and name and reach SQL only through
-- regclass output and format('%I'): they cannot inject anything.
CREATE PROCEDURE aa_refresh(articles regclass,
                            id_column name DEFAULT 'id',
                            body_column name DEFAULT 'body',
                            date_column name DEFAULT NULL,
                            language text DEFAULT 'english',
                            language_column name DEFAULT NULL,
                            batch_size int DEFAULT 500,
                            max_body_bytes bigint DEFAULT 10000000,
                            threshold float8 DEFAULT 0.8,
                            bands int DEFAULT 32,
                            max_rows bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    -- advisory lock key: a constant for this extension ('aa05') in the high
    -- half, the table's oid in the low half
    lock_key   bigint := (1633759285::bigint << 32) | articles::oid::bigint;
    relkind    "char";
    typ        regtype;
    cfg        record;
    run        bigint;
    fetch_sql  text;
    last_id    bigint := -9223372036854775808;
    upper_id   bigint;
    b_ids      bigint[];
    b_bodies   text[];
    b_hashes   text[];
    b_bytes    bigint[];
    b_days     date[];
    b_langs    text[];
    b_xmins    bigint[];
    b_changed  boolean[];
    r          record;
    i          int;
    n          bigint;
    dirty      boolean;
    gone       bigint[];
    seen       bigint := 0;
    partial    boolean := false;
    analyzed   bigint := 0;
    err_msg    text;
    err_state  text;
    err_status text;
BEGIN
    -- check the arguments before doing anything
    IF articles IS NULL OR id_column IS NULL OR body_column IS NULL
       OR language IS NULL OR batch_size IS NULL OR max_body_bytes IS NULL
       OR threshold IS NULL OR bands IS NULL THEN
        RAISE EXCEPTION 'aa_refresh: only date_column and language_column may be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO relkind FROM pg_catalog.pg_class c WHERE c.oid = articles;
    IF relkind NOT IN ('r', 'p', 'm') THEN
        RAISE EXCEPTION 'aa_refresh: % is not a table or materialized view', articles
            USING ERRCODE = 'wrong_object_type';
    END IF;
    typ := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = articles AND a.attname = id_column
              AND a.attnum > 0 AND NOT a.attisdropped);
    IF typ IS NULL THEN
        RAISE EXCEPTION 'aa_refresh: column % of % does not exist', quote_ident(id_column), articles
            USING ERRCODE = 'undefined_column';
    ELSIF typ NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'aa_refresh: id column % of % is of type %', quote_ident(id_column), articles, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The id column must be smallint, integer or bigint.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = articles AND x.indisunique AND x.indnatts = 1
                     AND x.indpred IS NULL AND a.attname = id_column) THEN
        RAISE EXCEPTION 'aa_refresh: column % of % has no unique index', quote_ident(id_column), articles
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Make it the primary key, or CREATE UNIQUE INDEX on it alone: aa_refresh reads articles in id order.';
    END IF;
    typ := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = articles AND a.attname = body_column
              AND a.attnum > 0 AND NOT a.attisdropped);
    IF typ IS NULL THEN
        RAISE EXCEPTION 'aa_refresh: column % of % does not exist', quote_ident(body_column), articles
            USING ERRCODE = 'undefined_column';
    ELSIF typ NOT IN ('text'::regtype, 'character varying'::regtype, 'character'::regtype) THEN
        RAISE EXCEPTION 'aa_refresh: body column % of % is of type %', quote_ident(body_column), articles, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The body column must be text or varchar.';
    END IF;
    IF date_column IS NOT NULL THEN
        typ := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = articles AND a.attname = date_column
                  AND a.attnum > 0 AND NOT a.attisdropped);
        IF typ IS NULL THEN
            RAISE EXCEPTION 'aa_refresh: column % of % does not exist', quote_ident(date_column), articles
                USING ERRCODE = 'undefined_column';
        ELSIF typ NOT IN ('date'::regtype, 'timestamp with time zone'::regtype,
                          'timestamp without time zone'::regtype) THEN
            RAISE EXCEPTION 'aa_refresh: date column % of % is of type %', quote_ident(date_column), articles, typ
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'The date column must be date, timestamp or timestamptz.';
        END IF;
    END IF;
    IF language_column IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = articles AND a.attname = language_column
              AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'aa_refresh: column % of % does not exist', quote_ident(language_column), articles
            USING ERRCODE = 'undefined_column';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.aa_languages() l
                   WHERE lower(aa_refresh.language) IN (l.language, l.iso_code)) THEN
        RAISE EXCEPTION 'aa_refresh: unknown stemming language "%"', aa_refresh.language
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT * FROM aa_languages() lists them.';
    END IF;
    IF batch_size < 1 OR max_body_bytes < 0 OR threshold < 0 OR threshold > 1
       OR bands < 1 OR bands > 128 OR max_rows < 1 THEN
        RAISE EXCEPTION 'aa_refresh: batch_size and max_rows must be at least 1, max_body_bytes at least 0, threshold between 0 and 1, bands between 1 and 128'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Fails here, holding nothing, when called inside a transaction block.
    COMMIT;

    IF NOT pg_catalog.pg_try_advisory_lock(lock_key) THEN
        INSERT INTO @extschema@.aa_refresh_runs (source, status, finished_at, error)
        VALUES (articles, 'busy', clock_timestamp(),
                'another session was refreshing this table');
        COMMIT;
        RAISE NOTICE 'aa_refresh: another session is refreshing %; this call did nothing', articles;
        RETURN;
    END IF;

    -- From here on the lock is held: every way out goes through the end of
    -- this procedure, which records the run and releases the lock.
    BEGIN
        -- runs still marked running lost their session: the lock was free
        UPDATE @extschema@.aa_refresh_runs
        SET status = 'interrupted', finished_at = coalesce(finished_at, clock_timestamp()),
            error = 'the session ended before the run finished'
        WHERE source = articles AND status = 'running';
        INSERT INTO @extschema@.aa_refresh_runs (source, status)
        VALUES (articles, 'running') RETURNING run_id INTO run;

        -- new settings: start this table over
        SELECT * INTO cfg FROM @extschema@.aa_refresh_sources s WHERE s.source = articles;
        IF FOUND AND (cfg.id_column, cfg.body_column, cfg.date_column, cfg.language,
                      cfg.language_column, cfg.bands, cfg.threshold)
                     IS DISTINCT FROM
                     (id_column, body_column, date_column, lower(aa_refresh.language),
                      language_column, aa_refresh.bands, aa_refresh.threshold) THEN
            RAISE NOTICE 'aa_refresh: the settings for % changed; recomputing every article', articles;
            PERFORM @extschema@.aa_refresh_forget(articles);
        END IF;
        INSERT INTO @extschema@.aa_refresh_sources AS s
            (source, id_column, body_column, date_column, language,
             language_column, bands, threshold)
        VALUES (articles, id_column, body_column, date_column, lower(aa_refresh.language),
                language_column, aa_refresh.bands, aa_refresh.threshold)
        ON CONFLICT (source) DO UPDATE
            SET id_column = EXCLUDED.id_column, body_column = EXCLUDED.body_column,
                date_column = EXCLUDED.date_column, language = EXCLUDED.language,
                language_column = EXCLUDED.language_column, bands = EXCLUDED.bands,
                threshold = EXCLUDED.threshold,
                configured_at = CASE WHEN (s.id_column, s.body_column, s.date_column,
                                           s.language, s.language_column, s.bands,
                                           s.threshold)
                                          IS DISTINCT FROM
                                          (EXCLUDED.id_column, EXCLUDED.body_column,
                                           EXCLUDED.date_column, EXCLUDED.language,
                                           EXCLUDED.language_column, EXCLUDED.bands,
                                           EXCLUDED.threshold)
                                     THEN now() ELSE s.configured_at END;

        -- articles no longer in the table
        EXECUTE format('SELECT coalesce(array_agg(st.article_id), ''{}'')
                        FROM @extschema@.aa_refresh_articles st
                        WHERE st.source = $1
                          AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.%I = st.article_id)',
                       articles, id_column)
            INTO gone USING articles;
        IF cardinality(gone) > 0 THEN
            DELETE FROM @extschema@.aa_article_entities e WHERE e.source = articles AND e.article_id = ANY (gone);
            DELETE FROM @extschema@.aa_article_terms t WHERE t.source = articles AND t.article_id = ANY (gone);
            DELETE FROM @extschema@.aa_article_bands b WHERE b.source = articles AND b.article_id = ANY (gone);
            DELETE FROM @extschema@.aa_duplicate_pairs p
            WHERE p.source = articles AND (p.article_a = ANY (gone) OR p.article_b = ANY (gone));
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n > 0 THEN
                UPDATE @extschema@.aa_refresh_sources s SET clusters_dirty = true WHERE s.source = articles;
            END IF;
            DELETE FROM @extschema@.aa_refresh_articles st WHERE st.source = articles AND st.article_id = ANY (gone);
            UPDATE @extschema@.aa_refresh_runs SET rows_deleted = cardinality(gone) WHERE run_id = run;
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        err_msg := SQLERRM;
        err_state := SQLSTATE;
    END;
    IF run IS NOT NULL THEN
        COMMIT;
    END IF;

    -- The run does the articles whose ids exist when it starts: under a
    -- steady stream of inserts it ends, and the next run takes the rest.
    IF err_msg IS NULL THEN
        BEGIN
            EXECUTE format('SELECT max(%I)::bigint FROM %s', id_column, articles) INTO upper_id;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            err_msg := SQLERRM;
            err_state := SQLSTATE;
        END;
    END IF;

    -- The batch query: the next batch_size new or changed articles after
    -- last_id, in id order (the unique index on the id column walks them).
    --
    -- A row whose version (xmin) is the one the last run saw is unchanged,
    -- and its body is not even read; the others are candidates, and only
    -- those whose body hash, day or language differ are changed (an UPDATE
    -- of another column, or VACUUM FREEZE, gives a new xmin but no change:
    -- for those the new xmin is recorded and nothing else is done).
    fetch_sql := format($q$
        SELECT coalesce(array_agg(b.id ORDER BY b.id), '{}'),
               array_agg(b.body ORDER BY b.id), array_agg(b.h ORDER BY b.id),
               array_agg(b.nbytes ORDER BY b.id), array_agg(b.day ORDER BY b.id),
               array_agg(b.lang ORDER BY b.id), array_agg(b.row_xmin ORDER BY b.id),
               array_agg(b.changed ORDER BY b.id)
        FROM (SELECT c.id, c.nbytes, c.h, c.day, c.lang, c.row_xmin,
                     CASE WHEN c.nbytes <= $3 THEN c.body END AS body,
                     (c.st_id IS NULL
                      OR c.st_md5 IS DISTINCT FROM c.h
                      OR c.st_day IS DISTINCT FROM c.day
                      OR c.st_lang IS DISTINCT FROM c.lang
                      OR (c.st_reason = 'too_large' AND c.nbytes <= $3) IS TRUE) AS changed
              FROM (SELECT s.%1$I::bigint AS id, s.%2$I::text AS body,
                           md5(s.%2$I::text) AS h, octet_length(s.%2$I)::bigint AS nbytes,
                           %3$s AS day, %4$s AS lang, s.xmin::text::bigint AS row_xmin,
                           st.article_id AS st_id, st.body_md5 AS st_md5,
                           st.published AS st_day, st.language AS st_lang,
                           st.skip_reason AS st_reason
                    FROM %5$s s
                         LEFT JOIN @extschema@.aa_refresh_articles st
                           ON st.source = $1 AND st.article_id = s.%1$I
                    WHERE s.%1$I > $2 AND s.%1$I <= $5
                      AND (st.article_id IS NULL
                           OR st.row_xmin IS DISTINCT FROM s.xmin::text::bigint
                           OR (st.skip_reason = 'too_large'
                               AND octet_length(s.%2$I) <= $3))
                    ORDER BY s.%1$I
                    LIMIT $4
                    OFFSET 0) c) b
        $q$,
        id_column, body_column,
        CASE WHEN date_column IS NULL THEN 'NULL::date'
             ELSE format('s.%I::date', date_column) END,
        CASE WHEN language_column IS NULL THEN 'NULL::text'
             ELSE format('s.%I::text', language_column) END,
        articles);

    LOOP
        EXIT WHEN err_msg IS NOT NULL OR upper_id IS NULL;
        BEGIN
            EXECUTE fetch_sql
                INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins, b_changed
                USING articles, last_id, max_body_bytes, batch_size, upper_id;
            EXIT WHEN cardinality(b_ids) = 0;
            -- a run bounded by max_rows leaves the rest to the next one
            IF seen >= max_rows THEN
                partial := true;
                EXIT;
            END IF;
            last_id := b_ids[cardinality(b_ids)];
            -- candidates that did not change: record their new row version
            UPDATE @extschema@.aa_refresh_articles st
            SET row_xmin = u.row_xmin
            FROM unnest(b_ids, b_xmins, b_changed) AS u(id, row_xmin, changed)
            WHERE NOT u.changed AND st.source = articles AND st.article_id = u.id;
            GET DIAGNOSTICS n = ROW_COUNT;
            UPDATE @extschema@.aa_refresh_runs SET rows_unchanged = rows_unchanged + n
            WHERE run_id = run;
            -- and keep the changed ones
            SELECT coalesce(array_agg(u.id ORDER BY u.n), '{}'), array_agg(u.body ORDER BY u.n),
                   array_agg(u.h ORDER BY u.n), array_agg(u.nbytes ORDER BY u.n),
                   array_agg(u.day ORDER BY u.n), array_agg(u.lang ORDER BY u.n),
                   array_agg(u.row_xmin ORDER BY u.n)
            INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins
            FROM unnest(b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins, b_changed)
                 WITH ORDINALITY AS u(id, body, h, nbytes, day, lang, row_xmin, changed, n)
            WHERE u.changed;
            IF cardinality(b_ids) > 0 THEN
                BEGIN
                    r := @extschema@.aa_refresh_batch(articles, run, b_ids, b_bodies, b_hashes,
                                                      b_bytes, b_days, b_langs, b_xmins,
                                                      lower(aa_refresh.language), max_body_bytes,
                                                      aa_refresh.bands, aa_refresh.threshold);
                    UPDATE @extschema@.aa_refresh_runs
                    SET rows_done = rows_done + r.done,
                        skipped_null = skipped_null + r.skipped_null,
                        skipped_empty = skipped_empty + r.skipped_empty,
                        skipped_too_large = skipped_too_large + r.skipped_too_large,
                        rows_skipped = rows_skipped + r.skipped_null + r.skipped_empty + r.skipped_too_large,
                        terms_skipped_language = terms_skipped_language + r.terms_skipped_language,
                        pairs_added = pairs_added + r.pairs_added
                    WHERE run_id = run;
                    dirty := r.pairs_added > 0 OR r.pairs_removed > 0;
                EXCEPTION WHEN OTHERS THEN
                    -- some article of the batch fails: redo them one by one and
                    -- skip only those that fail, saying why
                    dirty := false;
                    FOR i IN 1 .. cardinality(b_ids) LOOP
                        BEGIN
                            r := @extschema@.aa_refresh_batch(articles, run, b_ids[i:i], b_bodies[i:i],
                                                              b_hashes[i:i], b_bytes[i:i], b_days[i:i],
                                                              b_langs[i:i], b_xmins[i:i],
                                                              lower(aa_refresh.language),
                                                              max_body_bytes, aa_refresh.bands,
                                                              aa_refresh.threshold);
                            UPDATE @extschema@.aa_refresh_runs
                            SET rows_done = rows_done + r.done,
                                skipped_null = skipped_null + r.skipped_null,
                                skipped_empty = skipped_empty + r.skipped_empty,
                                skipped_too_large = skipped_too_large + r.skipped_too_large,
                                rows_skipped = rows_skipped + r.skipped_null + r.skipped_empty + r.skipped_too_large,
                                terms_skipped_language = terms_skipped_language + r.terms_skipped_language,
                                pairs_added = pairs_added + r.pairs_added
                            WHERE run_id = run;
                            dirty := dirty OR r.pairs_added > 0 OR r.pairs_removed > 0;
                        EXCEPTION WHEN OTHERS THEN
                            PERFORM @extschema@.aa_refresh_skip_error(articles, run, b_ids[i], b_hashes[i],
                                                                      b_bytes[i], b_days[i], b_langs[i],
                                                                      b_xmins[i], SQLSTATE, SQLERRM);
                            dirty := true;
                        END;
                    END LOOP;
                END;
                IF dirty THEN
                    UPDATE @extschema@.aa_refresh_sources s SET clusters_dirty = true WHERE s.source = articles;
                END IF;
                UPDATE @extschema@.aa_refresh_runs SET batches = batches + 1 WHERE run_id = run;
                seen := seen + cardinality(b_ids);
            END IF;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            err_msg := SQLERRM;
            err_state := SQLSTATE;
        END;
        COMMIT;

        -- The side tables hold the rows of every article table, and a new
        -- one (or one that grew fast) is missing from their statistics:
        -- the planner then takes it for a handful of rows and scans all of
        -- them for each article of a batch.  So analyze them after the
        -- first thousand articles and each time the articles done in this
        -- run double (autovacuum keeps up with the small runs).
        IF err_msg IS NULL AND seen >= greatest(1000, 2 * analyzed) THEN
            BEGIN
                ANALYZE @extschema@.aa_refresh_articles, @extschema@.aa_article_entities,
                        @extschema@.aa_article_terms, @extschema@.aa_article_bands,
                        @extschema@.aa_duplicate_pairs;
            EXCEPTION WHEN OTHERS OR query_canceled THEN
                err_msg := SQLERRM;
                err_state := SQLSTATE;
            END;
            analyzed := seen;
            COMMIT;
        END IF;
    END LOOP;

    -- recompute the clusters when pairs changed (in this run or in one that
    -- was interrupted before it got here)
    IF err_msg IS NULL THEN
        BEGIN
            IF (SELECT s.clusters_dirty FROM @extschema@.aa_refresh_sources s
                WHERE s.source = articles) THEN
                DELETE FROM @extschema@.aa_cluster_members m WHERE m.source = articles;
                INSERT INTO @extschema@.aa_cluster_members (source, article_id, cluster_id)
                SELECT articles, c.id, c.cluster_id
                FROM (SELECT array_agg(p.article_a) AS a, array_agg(p.article_b) AS b
                      FROM @extschema@.aa_duplicate_pairs p WHERE p.source = articles) p
                     CROSS JOIN LATERAL @extschema@.aa_clusters(p.a, p.b) AS c;
                UPDATE @extschema@.aa_refresh_sources s SET clusters_dirty = false
                WHERE s.source = articles;
            END IF;
            UPDATE @extschema@.aa_refresh_runs
            SET clusters = (SELECT count(DISTINCT m.cluster_id)
                            FROM @extschema@.aa_cluster_members m WHERE m.source = articles)
            WHERE run_id = run;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            err_msg := SQLERRM;
            err_state := SQLSTATE;
        END;
    END IF;

    err_status := CASE WHEN err_msg IS NULL AND partial THEN 'partial'
                       WHEN err_msg IS NULL THEN 'done'
                       WHEN err_state = '57014' THEN 'cancelled'
                       ELSE 'failed' END;
    IF run IS NOT NULL THEN
        UPDATE @extschema@.aa_refresh_runs
        SET status = err_status, finished_at = clock_timestamp(),
            error = err_msg, error_sqlstate = err_state
        WHERE run_id = run;
    END IF;
    COMMIT;
    PERFORM pg_catalog.pg_advisory_unlock(lock_key);
    IF err_msg IS NOT NULL THEN
        RAISE EXCEPTION 'aa_refresh of % stopped: %', articles, err_msg
            USING ERRCODE = err_state,
                  DETAIL = format('Run %s; every batch before the error is committed.', run);
    END IF;
END;
$$;

COMMENT ON PROCEDURE aa_refresh(regclass, name, name, name, text, name, int, bigint, float8, int, bigint) IS
'bring the side tables (entities, terms, bands, duplicate pairs and clusters) of an article table up to date; commits per batch, records each run in aa_refresh_runs';

-- aa_refresh_skip_error: record that one article could not be processed,
-- with the error, and count it in its run.  Its side rows are dropped; the
-- article is tried again when its body changes.
CREATE FUNCTION aa_refresh_skip_error(source regclass, run_id bigint,
                                      article_id bigint, body_md5 text,
                                      body_bytes bigint, published date,
                                      language text, row_xmin bigint,
                                      err_state text, err_msg text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
    DELETE FROM @extschema@.aa_article_entities e
    WHERE e.source = aa_refresh_skip_error.source AND e.article_id = aa_refresh_skip_error.article_id;
    DELETE FROM @extschema@.aa_article_terms t
    WHERE t.source = aa_refresh_skip_error.source AND t.article_id = aa_refresh_skip_error.article_id;
    DELETE FROM @extschema@.aa_article_bands b
    WHERE b.source = aa_refresh_skip_error.source AND b.article_id = aa_refresh_skip_error.article_id;
    DELETE FROM @extschema@.aa_duplicate_pairs p
    WHERE p.source = aa_refresh_skip_error.source
      AND aa_refresh_skip_error.article_id IN (p.article_a, p.article_b);
    INSERT INTO @extschema@.aa_refresh_articles AS st
        (source, article_id, published, body_md5, body_bytes, language, row_xmin, sig,
         status, skip_reason, detail, refreshed_at, run_id)
    VALUES (source, article_id, published, body_md5, body_bytes, language, row_xmin, NULL,
            'skipped', 'error', format('error %s: %s', err_state, err_msg),
            clock_timestamp(), run_id)
    ON CONFLICT ON CONSTRAINT aa_refresh_articles_pkey DO UPDATE
        SET published = EXCLUDED.published, body_md5 = EXCLUDED.body_md5,
            body_bytes = EXCLUDED.body_bytes, language = EXCLUDED.language,
            row_xmin = EXCLUDED.row_xmin, sig = NULL, status = 'skipped', skip_reason = 'error',
            detail = EXCLUDED.detail, refreshed_at = EXCLUDED.refreshed_at,
            run_id = EXCLUDED.run_id;
    UPDATE @extschema@.aa_refresh_runs r
    SET skipped_error = r.skipped_error + 1, rows_skipped = r.rows_skipped + 1
    WHERE r.run_id = aa_refresh_skip_error.run_id;
END;
$$;

COMMENT ON FUNCTION aa_refresh_skip_error(regclass, bigint, bigint, text, bigint, date, text, bigint, text, text) IS
'internal to aa_refresh: record one article that failed, and why';

-- aa_refresh_forget: drop everything aa_refresh keeps for an article table
-- (not its run history), so that the next run starts it over.  Also the
-- way to clean up after dropping an article table.
CREATE FUNCTION aa_refresh_forget(articles regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
    -- the key of aa_refresh's lock: not while another session refreshes it
    IF NOT pg_catalog.pg_try_advisory_xact_lock((1633759285::bigint << 32) | articles::oid::bigint) THEN
        RAISE EXCEPTION 'aa_refresh_forget: another session is refreshing %', articles
            USING ERRCODE = 'lock_not_available',
                  HINT = 'Try again when the run has finished (see aa_refresh_status).';
    END IF;
    DELETE FROM @extschema@.aa_article_entities WHERE source = articles;
    DELETE FROM @extschema@.aa_article_terms WHERE source = articles;
    DELETE FROM @extschema@.aa_article_bands WHERE source = articles;
    DELETE FROM @extschema@.aa_duplicate_pairs WHERE source = articles;
    DELETE FROM @extschema@.aa_cluster_members WHERE source = articles;
    DELETE FROM @extschema@.aa_refresh_articles WHERE source = articles;
    DELETE FROM @extschema@.aa_refresh_sources WHERE source = articles;
END;
$$;

COMMENT ON FUNCTION aa_refresh_forget(regclass) IS
'drop the side-table rows aa_refresh keeps for an article table, so that its next run recomputes everything';

-- BI views --------------------------------------------------------------------
-- Plain column types only (text, bigint, int, date, float8), one row per
-- answer, so that a BI tool can chart them as they are.  source is the
-- article table's name.

CREATE VIEW aa_refresh_status AS
SELECT r.source::text AS source, r.run_id, r.status, r.started_at, r.finished_at,
       extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at)::float8
           AS seconds,
       r.batches, r.rows_done, r.rows_skipped, r.skipped_null, r.skipped_empty,
       r.skipped_too_large, r.skipped_error, r.terms_skipped_language,
       r.rows_deleted, r.rows_unchanged, r.pairs_added, r.clusters, r.error, r.error_sqlstate,
       (SELECT count(*) FROM aa_refresh_articles a
        WHERE a.source = r.source AND a.status = 'done') AS articles_done,
       (SELECT count(*) FROM aa_refresh_articles a
        WHERE a.source = r.source AND a.status = 'skipped') AS articles_skipped
FROM aa_refresh_runs r
WHERE r.run_id = (SELECT max(r2.run_id) FROM aa_refresh_runs r2
                  WHERE r2.source = r.source AND r2.status <> 'busy');

COMMENT ON VIEW aa_refresh_status IS
'the last run of aa_refresh for each article table, and how many articles are done or skipped in all';

CREATE VIEW aa_refresh_skipped AS
SELECT a.source::text AS source, a.article_id, a.skip_reason, a.detail,
       a.body_bytes, a.refreshed_at, a.run_id
FROM aa_refresh_articles a
WHERE a.status = 'skipped' OR a.detail IS NOT NULL;

COMMENT ON VIEW aa_refresh_skipped IS
'articles aa_refresh skipped, or processed only in part, and why';

CREATE VIEW aa_entity_daily AS
SELECT e.source::text AS source, a.published AS day, e.canonical AS entity,
       e.type, count(*) AS mentions, count(DISTINCT e.article_id) AS articles
FROM aa_article_entities e
     JOIN aa_refresh_articles a ON a.source = e.source AND a.article_id = e.article_id
GROUP BY e.source, a.published, e.canonical, e.type;

COMMENT ON VIEW aa_entity_daily IS
'how often each entity (canonical name and type) was mentioned each day, and in how many articles';

CREATE VIEW aa_entity_totals AS
SELECT e.source::text AS source, e.canonical AS entity, e.type,
       count(*) AS mentions, count(DISTINCT e.article_id) AS articles,
       min(a.published) AS first_day, max(a.published) AS last_day
FROM aa_article_entities e
     JOIN aa_refresh_articles a ON a.source = e.source AND a.article_id = e.article_id
GROUP BY e.source, e.canonical, e.type;

COMMENT ON VIEW aa_entity_totals IS
'each entity over the whole table: mentions, articles, first and last day seen';

CREATE VIEW aa_entity_cooccurrence AS
WITH d AS (
    SELECT DISTINCT e.source, e.article_id, e.canonical, e.type
    FROM aa_article_entities e
)
SELECT x.source::text AS source, x.canonical AS entity_a, x.type AS type_a,
       y.canonical AS entity_b, y.type AS type_b, count(*) AS articles
FROM d x
     JOIN d y ON y.source = x.source AND y.article_id = x.article_id
             AND (y.canonical, y.type) > (x.canonical, x.type)
GROUP BY x.source, x.canonical, x.type, y.canonical, y.type;

COMMENT ON VIEW aa_entity_cooccurrence IS
'pairs of entities named in the same article, and in how many articles (entity_a sorts before entity_b)';

CREATE VIEW aa_duplicates AS
SELECT p.source::text AS source, p.article_a, p.article_b, p.similarity,
       m.cluster_id, a.published AS day_a, b.published AS day_b
FROM aa_duplicate_pairs p
     LEFT JOIN aa_cluster_members m ON m.source = p.source AND m.article_id = p.article_a
     LEFT JOIN aa_refresh_articles a ON a.source = p.source AND a.article_id = p.article_a
     LEFT JOIN aa_refresh_articles b ON b.source = p.source AND b.article_id = p.article_b;

COMMENT ON VIEW aa_duplicates IS
'near-duplicate pairs (article_a < article_b) with their estimated similarity and cluster';

CREATE VIEW aa_duplicate_clusters AS
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
GROUP BY m.source, m.cluster_id;

COMMENT ON VIEW aa_duplicate_clusters IS
'each cluster of near-duplicate articles: size, earliest article (by day, then id), first and last day, mean pair similarity';

CREATE VIEW aa_top_terms_daily AS
SELECT source, day, term, occurrences, articles,
       rank() OVER (PARTITION BY source, day ORDER BY occurrences DESC)::int AS rank
FROM (SELECT t.source::text AS source, a.published AS day, t.term,
             sum(t.count)::bigint AS occurrences, count(*) AS articles
      FROM aa_article_terms t
           JOIN aa_refresh_articles a ON a.source = t.source AND a.article_id = t.article_id
      GROUP BY t.source, a.published, t.term) s;

COMMENT ON VIEW aa_top_terms_daily IS
'term counts per day with their rank that day (filter rank <= 20 for the day''s top terms)';
