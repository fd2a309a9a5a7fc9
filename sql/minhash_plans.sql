-- The operator % gives the same answer, or the same error, whatever the
-- plan: GIN index (enable_seqscan off) or sequential scan (index scans off).
CREATE SCHEMA minhash_plans;
SET search_path = minhash_plans, public;
CREATE TABLE docs (id int, body text, k int);
INSERT INTO docs VALUES
    (1, 'the central bank left interest rates unchanged on monday as most economists had expected', 128),
    (2, 'the central bank left interest rates unchanged on monday as most economists had predicted', 128),
    (3, 'rebels attacked a convoy near the border town late on tuesday night officials said', 128),
    (4, '', 128),
    (5, 'a b c d', 128);
CREATE TABLE sigs AS SELECT id, aa_minhash(body, k) AS sig FROM docs;
CREATE INDEX sigs_sig ON sigs USING gin (sig minhash_ops (bands = 16, rows = 4));
ANALYZE sigs;

-- run a query with the index only, then with a sequential scan only, and
-- report each answer (the ids) or each error (SQLSTATE, message, detail)
CREATE FUNCTION pg_temp.both_plans(query text) RETURNS TABLE (plan text, answer text)
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    detail text;
    state text;
BEGIN
    FOREACH plan IN ARRAY ARRAY['index', 'seqscan'] LOOP
        IF plan = 'index' THEN
            SET LOCAL enable_seqscan = off;
            SET LOCAL enable_bitmapscan = on;
        ELSE
            SET LOCAL enable_seqscan = on;
            SET LOCAL enable_bitmapscan = off;
            SET LOCAL enable_indexscan = off;
        END IF;
        BEGIN
            EXECUTE 'SELECT coalesce(string_agg(id::text, '','' ORDER BY id), ''none'') FROM (' || query || ') q'
                INTO answer;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
            answer := state || ': ' || msg || ' / ' || detail;
        END;
        RETURN NEXT;
    END LOOP;
    RESET enable_seqscan;
    RESET enable_bitmapscan;
    RESET enable_indexscan;
END $$;

-- the index is used when sequential scans are off
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM sigs WHERE sig % (SELECT aa_minhash('the central bank', 128));
RESET enable_seqscan;

-- one parameter set in the column: the same rows either way
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    aa_minhash('the central bank left interest rates unchanged on monday as most economists had expected', 128)$$);
-- an empty document is similar to nothing, as the probe or as a row
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('', 128)$$);
-- at threshold 0 every comparable non-empty pair is similar, but an empty
-- document is still similar to nothing
SET article_analytics.similarity_threshold = 0;
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('rebels', 128)$$);
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('', 128)$$);
SELECT a.id, count(b.id) AS similar_at_0
FROM sigs a LEFT JOIN sigs b ON a.sig % b.sig AND a.id <> b.id GROUP BY a.id ORDER BY a.id;
RESET article_analytics.similarity_threshold;

-- a probe with other parameters than the rows: the same error either way
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    aa_minhash('the central bank left interest rates unchanged on monday as most economists had expected', 64)$$);
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('', 64)$$);
-- k = 32 is too small for the index's 16 bands of 4 rows: still the same error
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('the central bank', 32)$$);
-- other shingle size, other seed
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('the central bank', 128, 3)$$);
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    regexp_replace(aa_minhash('the central bank', 128)::text, 'seed=0', 'seed=7')::minhash$$);

-- two parameter sets in one column (k = 64 and k = 128): the same error
-- either way, whichever of the two the probe has
INSERT INTO sigs SELECT id + 10, aa_minhash(body, 64) FROM docs WHERE id IN (1, 3);
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    aa_minhash('the central bank left interest rates unchanged on monday as most economists had expected', 128)$$);
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    aa_minhash('the central bank left interest rates unchanged on monday as most economists had expected', 64)$$);
-- an empty row of other parameters counts too
DELETE FROM sigs WHERE id > 10;
INSERT INTO sigs VALUES (20, aa_minhash('', 64));
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig % aa_minhash('rebels attacked a convoy', 128)$$);
DELETE FROM sigs WHERE id = 20;
-- with the rows of other parameters gone, the answers come back
SELECT * FROM pg_temp.both_plans($$SELECT id FROM sigs WHERE sig %
    aa_minhash('the central bank left interest rates unchanged on monday as most economists had expected', 128)$$);

-- a self-join through the index and through a scan
SET enable_seqscan = off;
CREATE TABLE indexed AS SELECT a.id AS a, b.id AS b FROM sigs a JOIN sigs b ON a.sig % b.sig;
RESET enable_seqscan;
SET enable_bitmapscan = off;
SET enable_indexscan = off;
CREATE TABLE scanned AS SELECT a.id AS a, b.id AS b FROM sigs a JOIN sigs b ON a.sig % b.sig;
RESET enable_bitmapscan;
RESET enable_indexscan;
SELECT (SELECT string_agg(a || '-' || b, ' ' ORDER BY a, b) FROM indexed) AS indexed,
       (SELECT string_agg(a || '-' || b, ' ' ORDER BY a, b) FROM scanned) AS scanned;

DROP SCHEMA minhash_plans CASCADE;
