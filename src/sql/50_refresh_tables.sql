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
-- This file holds the tables; 51_refresh_access.sql who may read and write
-- which of their rows, 52_refresh.sql the procedure, 53_views.sql the views.

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
    configured_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
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
    started_at             timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
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
    backend_pid            int NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    run_by                 name NOT NULL DEFAULT CURRENT_USER,
    skipped_null_id        bigint NOT NULL DEFAULT 0
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
    refreshed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
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

