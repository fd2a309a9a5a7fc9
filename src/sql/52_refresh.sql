
-- aa_refresh and the functions it calls ---------------------------------------
--
-- Every function here has SET search_path = pg_catalog, pg_temp, and names
-- the extension's objects with @extschema@: no function, operator or table
-- a user created in another schema can stand in for one it uses.  The
-- procedure itself cannot have that clause (a procedure with a SET clause
-- may not COMMIT), so it sets the same search_path at the start of each of
-- its transactions.

-- aa_refresh_batch: the work of aa_refresh for one batch of articles, as a
-- plain function so that aa_refresh can run it for the whole batch and,
-- should that fail, again for each article on its own in a subtransaction
-- and skip only the article that fails.
--
-- The arrays hold one element per article.  body is NULL both for a NULL
-- body and for one over the size limit (bytes tells them apart).  The
-- function replaces whatever the side tables held for these articles, and
-- adds what it did to the run's counters.
CREATE OR REPLACE FUNCTION aa_refresh_batch(source regclass, run_id bigint,
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
SET search_path = pg_catalog, pg_temp
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

    -- entities, with the entity model of the article's language; an
    -- article in a language without one gets none, and says so
    WITH b AS (
        SELECT u.id, u.body,
               (SELECT l.iso_code FROM @extschema@.aa_languages() l
                WHERE l.entities
                  AND lower(coalesce(u.lang, default_language)) IN (l.language, l.iso_code)
                LIMIT 1) AS model_language
        FROM unnest(ids, bodies, bytes, languages) AS u(id, body, nbytes, lang)
        WHERE u.nbytes <= max_body_bytes AND u.body !~ '^[[:space:]]*$'
    ), marked AS (
        UPDATE @extschema@.aa_refresh_articles st
        SET detail = format('entities not computed: there is no entity model for language %L',
                            coalesce(st.language, default_language))
        FROM b
        WHERE b.model_language IS NULL
          AND st.source = aa_refresh_batch.source AND st.article_id = b.id
        RETURNING 1
    )
    INSERT INTO @extschema@.aa_article_entities
        (source, article_id, ordinal, entity, type, start_pos, length, canonical)
    SELECT aa_refresh_batch.source, b.id, e.ord::int, e.entity, e.type,
           e.start_pos, e.length, e.canonical
    FROM b CROSS JOIN LATERAL @extschema@.aa_entities(b.body, b.model_language)
             WITH ORDINALITY AS e(entity, type, start_pos, length, canonical, ord)
    WHERE b.model_language IS NOT NULL;

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
        SET detail = concat_ws('; ', st.detail,
                               format('terms not computed: the stemmer has no language %L',
                                      st.language))
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

    -- count it all in the run (undone with the rest if this call fails)
    UPDATE @extschema@.aa_refresh_runs x
    SET rows_done = x.rows_done + done,
        skipped_null = x.skipped_null + aa_refresh_batch.skipped_null,
        skipped_empty = x.skipped_empty + aa_refresh_batch.skipped_empty,
        skipped_too_large = x.skipped_too_large + aa_refresh_batch.skipped_too_large,
        rows_skipped = x.rows_skipped + aa_refresh_batch.skipped_null
                       + aa_refresh_batch.skipped_empty + aa_refresh_batch.skipped_too_large,
        terms_skipped_language = x.terms_skipped_language + aa_refresh_batch.terms_skipped_language,
        pairs_added = x.pairs_added + aa_refresh_batch.pairs_added
    WHERE x.run_id = aa_refresh_batch.run_id;
END;
$$;

COMMENT ON FUNCTION aa_refresh_batch(regclass, bigint, bigint[], text[], text[], bigint[], date[], text[], bigint[], text, bigint, int, float8) IS
'internal to aa_refresh: recompute the side tables for one batch of articles';

-- aa_refresh_skip_error: record that one article could not be processed,
-- with the error, and count it in its run.  Its side rows are dropped; the
-- article is tried again when its body changes.
CREATE OR REPLACE FUNCTION aa_refresh_skip_error(source regclass, run_id bigint,
                                      article_id bigint, body_md5 text,
                                      body_bytes bigint, published date,
                                      language text, row_xmin bigint,
                                      err_state text, err_msg text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
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

-- aa_refresh_check_column: the type of a column aa_refresh reads, which
-- must exist and be one of the built-in types it accepts for that use
-- (so that reading it runs built-in casts and operators only, never code
-- of the table's owner with the caller's rights: a domain or a type of
-- the owner's, with a cast of theirs, is refused).
CREATE OR REPLACE FUNCTION aa_refresh_check_column(articles regclass, column_name name,
                                                   use text, allowed regtype[])
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    typ regtype;
BEGIN
    SELECT a.atttypid INTO typ FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = articles AND a.attname = column_name
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'aa_refresh: column % of % does not exist',
                        pg_catalog.quote_ident(column_name), articles
            USING ERRCODE = 'undefined_column';
    ELSIF typ <> ALL (allowed) THEN
        RAISE EXCEPTION 'aa_refresh: % column % of % is of type %',
                        use, pg_catalog.quote_ident(column_name), articles, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = pg_catalog.format('The %s column must be of type %s.', use,
                                           pg_catalog.array_to_string(allowed::text[], ', ', ''));
    END IF;
END;
$$;

COMMENT ON FUNCTION aa_refresh_check_column(regclass, name, text, regtype[]) IS
'internal to aa_refresh: check that a column it reads exists and has a built-in type it accepts';

-- aa_refresh_validate: the checks aa_refresh makes before doing anything,
-- each with its SQLSTATE: the arguments, the caller's right to refresh the
-- table and to write the side tables, and the types of the columns it
-- reads (integers for the id, text or varchar for the body and the
-- language, date or timestamps for the day).  Returns the language in
-- lower case.
CREATE OR REPLACE FUNCTION aa_refresh_validate(articles regclass, id_column name,
                                               body_column name, date_column name,
                                               language text, language_column name,
                                               batch_size int, max_body_bytes bigint,
                                               threshold float8, bands int,
                                               max_rows bigint)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relkind "char";
BEGIN
    IF articles IS NULL OR id_column IS NULL OR body_column IS NULL
       OR language IS NULL OR batch_size IS NULL OR max_body_bytes IS NULL
       OR threshold IS NULL OR bands IS NULL THEN
        RAISE EXCEPTION 'aa_refresh: only date_column, language_column and max_rows may be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO relkind FROM pg_catalog.pg_class c WHERE c.oid = articles;
    IF relkind NOT IN ('r', 'p', 'm') THEN
        RAISE EXCEPTION 'aa_refresh: % is not a table or materialized view', articles
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT @extschema@.aa_may_refresh(articles) THEN
        RAISE EXCEPTION 'aa_refresh: permission denied to refresh %', articles
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the owner of the table (or a member of its owning role) may refresh it; see "Security" in the README.';
    END IF;
    IF EXISTS (SELECT 1
               FROM pg_catalog.unnest(ARRAY['@extschema@.aa_refresh_sources',
                                            '@extschema@.aa_refresh_runs',
                                            '@extschema@.aa_refresh_locks',
                                            '@extschema@.aa_refresh_articles',
                                            '@extschema@.aa_article_entities',
                                            '@extschema@.aa_article_terms',
                                            '@extschema@.aa_article_bands',
                                            '@extschema@.aa_duplicate_pairs',
                                            '@extschema@.aa_cluster_members']) AS t(side_table)
               WHERE NOT pg_catalog.has_table_privilege(t.side_table, 'SELECT, INSERT, UPDATE, DELETE'))
       OR NOT pg_catalog.has_sequence_privilege('@extschema@.aa_refresh_runs_run_id_seq', 'USAGE') THEN
        RAISE EXCEPTION 'aa_refresh: role % may not write the side tables of article_analytics', CURRENT_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'An administrator grants them with the "table owner who refreshes" recipe of the README''s "Security" section.';
    END IF;
    PERFORM @extschema@.aa_refresh_check_column(articles, id_column, 'id',
                                                '{smallint,integer,bigint}');
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = articles AND x.indisunique AND x.indnatts = 1
                     AND x.indpred IS NULL AND a.attname = id_column) THEN
        RAISE EXCEPTION 'aa_refresh: column % of % has no unique index', pg_catalog.quote_ident(id_column), articles
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Make it the primary key, or CREATE UNIQUE INDEX on it alone: aa_refresh reads articles in id order.';
    END IF;
    PERFORM @extschema@.aa_refresh_check_column(articles, body_column, 'body',
                                                '{text,"character varying",character}');
    IF language_column IS NOT NULL THEN
        PERFORM @extschema@.aa_refresh_check_column(articles, language_column, 'language',
                                                    '{text,"character varying"}');
    END IF;
    IF date_column IS NOT NULL THEN
        PERFORM @extschema@.aa_refresh_check_column(articles, date_column, 'date',
                                                    '{date,"timestamp with time zone","timestamp without time zone"}');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.aa_languages() l
                   WHERE pg_catalog.lower(aa_refresh_validate.language) IN (l.language, l.iso_code)) THEN
        RAISE EXCEPTION 'aa_refresh: unknown stemming language "%"', language
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT * FROM aa_languages() lists them.';
    END IF;
    IF batch_size < 1 OR max_body_bytes < 0 OR threshold < 0 OR threshold > 1
       OR bands < 1 OR bands > 128 OR max_rows < 1 THEN
        RAISE EXCEPTION 'aa_refresh: batch_size and max_rows must be at least 1, max_body_bytes at least 0, threshold between 0 and 1, bands between 1 and 128'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN pg_catalog.lower(language);
END;
$$;

COMMENT ON FUNCTION aa_refresh_validate(regclass, name, name, name, text, name, int, bigint, float8, int, bigint) IS
'internal to aa_refresh: check its arguments and the caller''s rights before it does anything';

-- aa_refresh_distributed: true when the article table is a Citus table
-- (distributed or reference), whose rows live on other nodes.  aa_refresh
-- then never joins it with its side tables, which are plain tables of the
-- coordinator (a query may not mix the two), and never sends a regclass or
-- any other local value to the workers: it reads ids and row versions in
-- id order, compares them with its state on the coordinator, and reads the
-- bodies it needs by id.  False where Citus is not installed.
CREATE OR REPLACE FUNCTION aa_refresh_distributed(articles regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean := false;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                                WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)'
            INTO found USING articles;
    END IF;
    RETURN found;
END;
$$;

COMMENT ON FUNCTION aa_refresh_distributed(regclass) IS
'internal to aa_refresh: is the article table a Citus table (read without joining the side tables)';

-- aa_refresh_lock_held: true when a session other than this one holds the
-- lock row of an article table.  The holder is alive while a backend with
-- its pid runs; where the reader may see start times (its own sessions,
-- or pg_read_all_stats) the start time must match too, so that a reused
-- pid does not count.  PARALLEL RESTRICTED as pg_stat_activity is.
CREATE OR REPLACE FUNCTION aa_refresh_lock_held(pid int, backend_start timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pid IS NOT NULL AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                       WHERE a.pid OPERATOR(pg_catalog.=) aa_refresh_lock_held.pid
                         AND (a.backend_start IS NULL
                              OR a.backend_start OPERATOR(pg_catalog.=) aa_refresh_lock_held.backend_start))
$$;

COMMENT ON FUNCTION aa_refresh_lock_held(int, timestamptz) IS
'internal to aa_refresh: is the lock row held by another live session';

-- aa_refresh_begin: take the article table's lock row and record a new
-- run, or, when another live session holds the lock, record a 'busy' run
-- and return NULL.  Runs still marked running lost their session: they
-- are marked interrupted.  The caller commits right after, so that the
-- run's row exists whatever happens next.
CREATE OR REPLACE FUNCTION aa_refresh_begin(articles regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run bigint;
BEGIN
    INSERT INTO @extschema@.aa_refresh_locks (source) VALUES (articles)
    ON CONFLICT (source) DO NOTHING;
    -- two sessions taking the row at once: the second waits for the first
    -- to commit, then sees its pid and finds the lock held
    UPDATE @extschema@.aa_refresh_locks l
    SET pid = pg_catalog.pg_backend_pid(),
        backend_start = (SELECT a.backend_start FROM pg_catalog.pg_stat_activity a
                         WHERE a.pid = pg_catalog.pg_backend_pid()),
        acquired_at = pg_catalog.clock_timestamp()
    WHERE l.source = articles
      AND NOT @extschema@.aa_refresh_lock_held(l.pid, l.backend_start);
    IF NOT FOUND THEN
        INSERT INTO @extschema@.aa_refresh_runs (source, status, finished_at, error)
        VALUES (articles, 'busy', pg_catalog.clock_timestamp(),
                'another session was refreshing this table');
        RETURN NULL;
    END IF;
    UPDATE @extschema@.aa_refresh_runs r
    SET status = 'interrupted', finished_at = coalesce(r.finished_at, pg_catalog.clock_timestamp()),
        error = 'the session ended before the run finished'
    WHERE r.source = articles AND r.status = 'running';
    INSERT INTO @extschema@.aa_refresh_runs (source, status)
    VALUES (articles, 'running') RETURNING run_id INTO run;
    UPDATE @extschema@.aa_refresh_locks l SET run_id = run WHERE l.source = articles;
    RETURN run;
END;
$$;

COMMENT ON FUNCTION aa_refresh_begin(regclass) IS
'internal to aa_refresh: take the table''s lock row and record a new run (NULL: another session is refreshing it)';

-- aa_refresh_end: record how a run ended and let go of the lock row.
CREATE OR REPLACE FUNCTION aa_refresh_end(articles regclass, run bigint, status text,
                                          error text, error_sqlstate text)
RETURNS void
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE @extschema@.aa_refresh_runs r
    SET status = aa_refresh_end.status, finished_at = pg_catalog.clock_timestamp(),
        error = aa_refresh_end.error, error_sqlstate = aa_refresh_end.error_sqlstate
    WHERE r.run_id OPERATOR(pg_catalog.=) run;
    UPDATE @extschema@.aa_refresh_locks l
    SET pid = NULL, backend_start = NULL, run_id = NULL, acquired_at = NULL
    WHERE l.source OPERATOR(pg_catalog.=) articles
      AND l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid();
$$;

COMMENT ON FUNCTION aa_refresh_end(regclass, bigint, text, text, text) IS
'internal to aa_refresh: record the end of a run and release the table''s lock row';

-- aa_refresh_forget: drop everything aa_refresh keeps for an article table
-- (not its run history), so that the next run starts it over.  Only a role
-- that may refresh the table may forget it, and not while another session
-- refreshes it: the lock row is locked until this transaction ends, so no
-- run can start meanwhile.
CREATE OR REPLACE FUNCTION aa_refresh_forget(articles regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    holder record;
BEGIN
    IF NOT @extschema@.aa_may_refresh(articles) THEN
        RAISE EXCEPTION 'aa_refresh_forget: permission denied to forget %', articles
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the owner of the table (or a member of its owning role) may forget its analytics.';
    END IF;
    SELECT l.pid, l.backend_start INTO holder
    FROM @extschema@.aa_refresh_locks l WHERE l.source = articles FOR UPDATE;
    IF FOUND AND @extschema@.aa_refresh_lock_held(holder.pid, holder.backend_start) THEN
        RAISE EXCEPTION 'aa_refresh_forget: another session is refreshing %', articles
            USING ERRCODE = 'lock_not_available',
                  HINT = 'Try again when the run has finished (see aa_refresh_status).';
    END IF;
    DELETE FROM @extschema@.aa_article_entities x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_article_terms x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_article_bands x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_duplicate_pairs x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_cluster_members x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_refresh_articles x WHERE x.source = articles;
    DELETE FROM @extschema@.aa_refresh_sources x WHERE x.source = articles;
END;
$$;

COMMENT ON FUNCTION aa_refresh_forget(regclass) IS
'drop the side-table rows aa_refresh keeps for an article table, so that its next run recomputes everything';

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
-- the end.  Rows whose id is NULL cannot be tracked: each run counts them
-- as skipped (skipped_null_id).
--
-- max_rows bounds the articles one run does (in whole batches), so that a
-- scheduled run ends in bounded time however far behind it is; such a run
-- is recorded as 'partial' when it left work for the next one.
--
-- The table's row in aa_refresh_locks makes a second concurrent run return
-- at once with a NOTICE (and a 'busy' row in aa_refresh_runs); only a role
-- that may refresh the table can write that row.  The run's own row is
-- committed before any work, so that a run that fails is always recorded.
-- A first COMMIT comes before either, so that a call inside a transaction
-- block fails before it holds anything.
--
-- Safety: the procedure runs with its caller's rights (a procedure that
-- commits cannot be SECURITY DEFINER), writes the side tables under their
-- row-level security, and reads the article table only through built-in
-- casts and operators on built-in types (aa_refresh_validate).  A
-- procedure cannot have a SET search_path clause either, so each of its
-- transactions starts by setting search_path to pg_catalog, pg_temp for
-- itself: no function or operator a user created elsewhere can be chosen
-- for a name it uses.  Identifiers reach SQL only as regclass output and
-- format('%I').
CREATE OR REPLACE PROCEDURE aa_refresh(articles regclass,
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
    lang       text;
    cfg        record;
    run        bigint;
    fetch_sql  text;
    scan_sql   text;
    ids_sql    text;
    distributed boolean;
    s_ids      bigint[];
    s_xmins    bigint[];
    scan_last  bigint;
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
    may_analyze boolean;
    err_msg    text;
    err_state  text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    -- check the arguments and the caller's rights before doing anything
    lang := @extschema@.aa_refresh_validate(articles, id_column, body_column, date_column,
                                            language, language_column, batch_size,
                                            max_body_bytes, threshold, bands, max_rows);

    -- Fails here, holding nothing, when called inside a transaction block.
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

    run := @extschema@.aa_refresh_begin(articles);
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF run IS NULL THEN
        RAISE NOTICE 'aa_refresh: another session is refreshing %; this call did nothing', articles;
        RETURN;
    END IF;

    -- From here on the lock row is held and the run recorded: every way
    -- out goes through the end of this procedure, which records how the
    -- run ended and releases the lock.
    BEGIN
        -- new settings: start this table over
        SELECT * INTO cfg FROM @extschema@.aa_refresh_sources s WHERE s.source = articles;
        IF FOUND AND (cfg.id_column, cfg.body_column, cfg.date_column, cfg.language,
                      cfg.language_column, cfg.bands, cfg.threshold)
                     IS DISTINCT FROM
                     (id_column, body_column, date_column, lang,
                      language_column, aa_refresh.bands, aa_refresh.threshold) THEN
            RAISE NOTICE 'aa_refresh: the settings for % changed; recomputing every article', articles;
            PERFORM @extschema@.aa_refresh_forget(articles);
        END IF;
        INSERT INTO @extschema@.aa_refresh_sources AS s
            (source, id_column, body_column, date_column, language,
             language_column, bands, threshold)
        VALUES (articles, id_column, body_column, date_column, lang,
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
                                     THEN pg_catalog.now() ELSE s.configured_at END;

        -- articles no longer in the table
        distributed := @extschema@.aa_refresh_distributed(articles);
        IF NOT distributed THEN
            EXECUTE pg_catalog.format(
                'SELECT coalesce(pg_catalog.array_agg(st.article_id), ''{}'')
                 FROM @extschema@.aa_refresh_articles st
                 WHERE st.source = $1
                   AND NOT EXISTS (SELECT 1 FROM %s s WHERE s.%I = st.article_id)',
                articles, id_column)
                INTO gone USING articles;
        ELSE
            -- On Citus: the ids of the table, 10000 at a time in id order
            -- (each a query of the distributed table alone), against the
            -- state on the coordinator: the state's ids in the range a chunk
            -- covers that the chunk lacks are gone.
            gone := '{}';
            scan_last := -9223372036854775808;
            ids_sql := pg_catalog.format(
                'SELECT coalesce(pg_catalog.array_agg(c.id ORDER BY c.id), ''{}'')
                 FROM (SELECT s.%1$I::bigint AS id FROM %2$s s
                       WHERE s.%1$I > $1 ORDER BY s.%1$I LIMIT 10000) c',
                id_column, articles);
            LOOP
                EXECUTE ids_sql INTO s_ids USING scan_last;
                SELECT gone OPERATOR(pg_catalog.||) coalesce(pg_catalog.array_agg(st.article_id), '{}')
                INTO gone
                FROM @extschema@.aa_refresh_articles st
                     LEFT JOIN pg_catalog.unnest(s_ids) AS u(id) ON u.id = st.article_id
                WHERE st.source = articles AND st.article_id > scan_last
                  AND (pg_catalog.cardinality(s_ids) = 0
                       OR st.article_id <= s_ids[pg_catalog.cardinality(s_ids)])
                  AND u.id IS NULL;
                EXIT WHEN pg_catalog.cardinality(s_ids) = 0;
                scan_last := s_ids[pg_catalog.cardinality(s_ids)];
            END LOOP;
        END IF;
        IF pg_catalog.cardinality(gone) > 0 THEN
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
            UPDATE @extschema@.aa_refresh_runs x SET rows_deleted = pg_catalog.cardinality(gone)
            WHERE x.run_id = run;
        END IF;

        -- rows without an id cannot be tracked: count them as skipped
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s s WHERE s.%I IS NULL',
                                  articles, id_column)
            INTO n;
        IF n > 0 THEN
            UPDATE @extschema@.aa_refresh_runs x
            SET skipped_null_id = n, rows_skipped = x.rows_skipped + n
            WHERE x.run_id = run;
        END IF;

        -- The run does the articles whose ids exist when it starts: under a
        -- steady stream of inserts it ends, and the next run takes the rest.
        EXECUTE pg_catalog.format('SELECT pg_catalog.max(s.%I)::bigint FROM %s s', id_column, articles)
            INTO upper_id;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        err_msg := SQLERRM;
        err_state := SQLSTATE;
    END;
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

    -- The side tables' statistics are refreshed as the run goes (see
    -- below) when the caller owns them; otherwise autovacuum does it.
    may_analyze := pg_catalog.pg_has_role(
        (SELECT c.relowner FROM pg_catalog.pg_class c
         WHERE c.oid = '@extschema@.aa_refresh_articles'::regclass), 'USAGE');

    -- The batch query: the next batch_size new or changed articles after
    -- last_id, in id order (the unique index on the id column walks them).
    --
    -- A row whose version (xmin) is the one the last run saw is unchanged,
    -- and its body is not even read; the others are candidates, and only
    -- those whose body hash, day or language differ are changed (an UPDATE
    -- of another column, or VACUUM FREEZE, gives a new xmin but no change:
    -- for those the new xmin is recorded and nothing else is done).
    fetch_sql := pg_catalog.format($q$
        SELECT coalesce(pg_catalog.array_agg(b.id ORDER BY b.id), '{}'),
               pg_catalog.array_agg(b.body ORDER BY b.id), pg_catalog.array_agg(b.h ORDER BY b.id),
               pg_catalog.array_agg(b.nbytes ORDER BY b.id), pg_catalog.array_agg(b.day ORDER BY b.id),
               pg_catalog.array_agg(b.lang ORDER BY b.id), pg_catalog.array_agg(b.row_xmin ORDER BY b.id),
               pg_catalog.array_agg(b.changed ORDER BY b.id)
        FROM (SELECT c.id, c.nbytes, c.h, c.day, c.lang, c.row_xmin,
                     CASE WHEN c.nbytes <= $3 THEN c.body END AS body,
                     (c.st_id IS NULL
                      OR c.st_md5 IS DISTINCT FROM c.h
                      OR c.st_day IS DISTINCT FROM c.day
                      OR c.st_lang IS DISTINCT FROM c.lang
                      OR (c.st_reason = 'too_large' AND c.nbytes <= $3) IS TRUE) AS changed
              FROM (SELECT s.%1$I::bigint AS id, s.%2$I::text AS body,
                           pg_catalog.md5(s.%2$I::text) AS h,
                           pg_catalog.octet_length(s.%2$I::text)::bigint AS nbytes,
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
                               AND pg_catalog.octet_length(s.%2$I::text) <= $3))
                    ORDER BY s.%1$I
                    LIMIT $4
                    OFFSET 0) c) b
        $q$,
        id_column, body_column,
        CASE WHEN date_column IS NULL THEN 'NULL::date'
             ELSE pg_catalog.format('s.%I::date', date_column) END,
        CASE WHEN language_column IS NULL THEN 'NULL::text'
             ELSE pg_catalog.format('s.%I::text', language_column) END,
        articles);

    -- On Citus (see aa_refresh_distributed) the same in three steps, none
    -- of which mixes the distributed table with a table of the coordinator:
    -- the ids and row versions of the next batch_size articles (scan_sql),
    -- the candidates among them by the state on the coordinator, then the
    -- bodies, hashes, days and languages of the candidates by id
    -- (fetch_sql); which of those changed is decided on the coordinator.
    -- A batch there is batch_size articles read, not batch_size changed.
    IF distributed THEN
        scan_sql := pg_catalog.format($q$
            SELECT coalesce(pg_catalog.array_agg(c.id ORDER BY c.id), '{}'),
                   pg_catalog.array_agg(c.row_xmin ORDER BY c.id)
            FROM (SELECT s.%1$I::bigint AS id, s.xmin::text::bigint AS row_xmin
                  FROM %2$s s
                  WHERE s.%1$I > $1 AND s.%1$I <= $2
                  ORDER BY s.%1$I
                  LIMIT $3) c
            $q$, id_column, articles);
        fetch_sql := pg_catalog.format($q$
            SELECT coalesce(pg_catalog.array_agg(c.id ORDER BY c.id), '{}'),
                   pg_catalog.array_agg(c.body ORDER BY c.id), pg_catalog.array_agg(c.h ORDER BY c.id),
                   pg_catalog.array_agg(c.nbytes ORDER BY c.id), pg_catalog.array_agg(c.day ORDER BY c.id),
                   pg_catalog.array_agg(c.lang ORDER BY c.id), pg_catalog.array_agg(c.row_xmin ORDER BY c.id)
            FROM (SELECT s.%1$I::bigint AS id,
                         CASE WHEN pg_catalog.octet_length(s.%2$I::text) <= $2
                              THEN s.%2$I::text END AS body,
                         pg_catalog.md5(s.%2$I::text) AS h,
                         pg_catalog.octet_length(s.%2$I::text)::bigint AS nbytes,
                         %3$s AS day, %4$s AS lang, s.xmin::text::bigint AS row_xmin
                  FROM %5$s s
                  WHERE s.%1$I = ANY ($1)) c
            $q$,
            id_column, body_column,
            CASE WHEN date_column IS NULL THEN 'NULL::date'
                 ELSE pg_catalog.format('s.%I::date', date_column) END,
            CASE WHEN language_column IS NULL THEN 'NULL::text'
                 ELSE pg_catalog.format('s.%I::text', language_column) END,
            articles);
    END IF;

    LOOP
        EXIT WHEN err_msg IS NOT NULL OR upper_id IS NULL;
        BEGIN
            IF NOT distributed THEN
                EXECUTE fetch_sql
                    INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins, b_changed
                    USING articles, last_id, max_body_bytes, batch_size, upper_id;
                EXIT WHEN pg_catalog.cardinality(b_ids) = 0;
                -- a run bounded by max_rows leaves the rest to the next one
                IF seen >= max_rows THEN
                    partial := true;
                    EXIT;
                END IF;
                last_id := b_ids[pg_catalog.cardinality(b_ids)];
            ELSE
                EXECUTE scan_sql INTO s_ids, s_xmins USING last_id, upper_id, batch_size;
                EXIT WHEN pg_catalog.cardinality(s_ids) = 0;
                IF seen >= max_rows THEN
                    partial := true;
                    EXIT;
                END IF;
                last_id := s_ids[pg_catalog.cardinality(s_ids)];
                -- candidates: new, another row version, or skipped as too
                -- large (max_body_bytes may have grown)
                SELECT coalesce(pg_catalog.array_agg(u.id ORDER BY u.id), '{}')
                INTO b_ids
                FROM unnest(s_ids, s_xmins) AS u(id, row_xmin)
                     LEFT JOIN @extschema@.aa_refresh_articles st
                       ON st.source = articles AND st.article_id = u.id
                WHERE st.article_id IS NULL OR st.row_xmin IS DISTINCT FROM u.row_xmin
                      OR st.skip_reason = 'too_large';
                IF pg_catalog.cardinality(b_ids) > 0 THEN
                    EXECUTE fetch_sql
                        INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins
                        USING b_ids, max_body_bytes;
                ELSE
                    b_bodies := '{}'; b_hashes := '{}'; b_bytes := '{}';
                    b_days := '{}'; b_langs := '{}'; b_xmins := '{}';
                END IF;
                -- the candidates the single-node query keeps, and which changed
                SELECT coalesce(pg_catalog.array_agg(u.id ORDER BY u.n), '{}'),
                       pg_catalog.array_agg(u.body ORDER BY u.n),
                       pg_catalog.array_agg(u.h ORDER BY u.n), pg_catalog.array_agg(u.nbytes ORDER BY u.n),
                       pg_catalog.array_agg(u.day ORDER BY u.n), pg_catalog.array_agg(u.lang ORDER BY u.n),
                       pg_catalog.array_agg(u.row_xmin ORDER BY u.n),
                       pg_catalog.array_agg((st.article_id IS NULL
                                             OR st.body_md5 IS DISTINCT FROM u.h
                                             OR st.published IS DISTINCT FROM u.day
                                             OR st.language IS DISTINCT FROM u.lang
                                             OR (st.skip_reason = 'too_large'
                                                 AND u.nbytes <= max_body_bytes) IS TRUE)
                                            ORDER BY u.n)
                INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins, b_changed
                FROM unnest(b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins)
                     WITH ORDINALITY AS u(id, body, h, nbytes, day, lang, row_xmin, n)
                     LEFT JOIN @extschema@.aa_refresh_articles st
                       ON st.source = articles AND st.article_id = u.id
                WHERE st.article_id IS NULL OR st.row_xmin IS DISTINCT FROM u.row_xmin
                      OR (st.skip_reason = 'too_large' AND u.nbytes <= max_body_bytes);
            END IF;
            -- candidates that did not change: record their new row version
            UPDATE @extschema@.aa_refresh_articles st
            -- (a multi-argument unnest in FROM must be written unqualified;
            -- search_path is pg_catalog, pg_temp here)
            SET row_xmin = u.row_xmin
            FROM unnest(b_ids, b_xmins, b_changed) AS u(id, row_xmin, changed)
            WHERE NOT u.changed AND st.source = articles AND st.article_id = u.id;
            GET DIAGNOSTICS n = ROW_COUNT;
            UPDATE @extschema@.aa_refresh_runs x SET rows_unchanged = x.rows_unchanged + n
            WHERE x.run_id = run;
            -- and keep the changed ones
            SELECT coalesce(pg_catalog.array_agg(u.id ORDER BY u.n), '{}'),
                   pg_catalog.array_agg(u.body ORDER BY u.n),
                   pg_catalog.array_agg(u.h ORDER BY u.n), pg_catalog.array_agg(u.nbytes ORDER BY u.n),
                   pg_catalog.array_agg(u.day ORDER BY u.n), pg_catalog.array_agg(u.lang ORDER BY u.n),
                   pg_catalog.array_agg(u.row_xmin ORDER BY u.n)
            INTO b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins
            FROM unnest(b_ids, b_bodies, b_hashes, b_bytes, b_days, b_langs, b_xmins, b_changed)
                 WITH ORDINALITY AS u(id, body, h, nbytes, day, lang, row_xmin, changed, n)
            WHERE u.changed;
            IF pg_catalog.cardinality(b_ids) > 0 THEN
                BEGIN
                    r := @extschema@.aa_refresh_batch(articles, run, b_ids, b_bodies, b_hashes,
                                                      b_bytes, b_days, b_langs, b_xmins,
                                                      lang, max_body_bytes,
                                                      aa_refresh.bands, aa_refresh.threshold);
                    dirty := r.pairs_added > 0 OR r.pairs_removed > 0;
                EXCEPTION WHEN OTHERS THEN
                    -- some article of the batch fails: redo them one by one and
                    -- skip only those that fail, saying why
                    dirty := false;
                    FOR i IN 1 .. pg_catalog.cardinality(b_ids) LOOP
                        BEGIN
                            r := @extschema@.aa_refresh_batch(articles, run, b_ids[i:i], b_bodies[i:i],
                                                              b_hashes[i:i], b_bytes[i:i], b_days[i:i],
                                                              b_langs[i:i], b_xmins[i:i], lang,
                                                              max_body_bytes, aa_refresh.bands,
                                                              aa_refresh.threshold);
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
                UPDATE @extschema@.aa_refresh_runs x SET batches = x.batches + 1 WHERE x.run_id = run;
                seen := seen + pg_catalog.cardinality(b_ids);
            END IF;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            err_msg := SQLERRM;
            err_state := SQLSTATE;
        END;
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

        -- The side tables hold the rows of every article table, and a new
        -- one (or one that grew fast) is missing from their statistics:
        -- the planner then takes it for a handful of rows and scans all of
        -- them for each article of a batch.  So analyze them after the
        -- first thousand articles and each time the articles done in this
        -- run double (autovacuum keeps up with the small runs).
        IF err_msg IS NULL AND may_analyze AND seen >= greatest(1000, 2 * analyzed) THEN
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
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
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
                FROM (SELECT pg_catalog.array_agg(p.article_a) AS a, pg_catalog.array_agg(p.article_b) AS b
                      FROM @extschema@.aa_duplicate_pairs p WHERE p.source = articles) p
                     CROSS JOIN LATERAL @extschema@.aa_clusters(p.a, p.b) AS c;
                UPDATE @extschema@.aa_refresh_sources s SET clusters_dirty = false
                WHERE s.source = articles;
            END IF;
            UPDATE @extschema@.aa_refresh_runs x
            SET clusters = (SELECT pg_catalog.count(DISTINCT m.cluster_id)
                            FROM @extschema@.aa_cluster_members m WHERE m.source = articles)
            WHERE x.run_id = run;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            err_msg := SQLERRM;
            err_state := SQLSTATE;
        END;
    END IF;

    PERFORM @extschema@.aa_refresh_end(articles, run,
                                       CASE WHEN err_msg IS NULL AND partial THEN 'partial'
                                            WHEN err_msg IS NULL THEN 'done'
                                            WHEN err_state = '57014' THEN 'cancelled'
                                            ELSE 'failed' END,
                                       err_msg, err_state);
    COMMIT;
    IF err_msg IS NOT NULL THEN
        RAISE EXCEPTION 'aa_refresh of % stopped: %', articles, err_msg
            USING ERRCODE = err_state,
                  DETAIL = pg_catalog.format('Run %s; every batch before the error is committed.', run);
    END IF;
END;
$$;

COMMENT ON PROCEDURE aa_refresh(regclass, name, name, name, text, name, int, bigint, float8, int, bigint) IS
'bring the side tables (entities, terms, bands, duplicate pairs and clusters) of an article table up to date; commits per batch, records each run in aa_refresh_runs';
