-- make demo, near-duplicates: what the four seed articles have in common.
-- Run with psql from the repository top (reads test/data), in a database
-- where CREATE EXTENSION article_analytics has been run.
\set s000 `cat test/data/000_f964a19d4597f10d.txt`
\set s001 `cat test/data/001_41966bbbe1a97b2f.txt`
\set s002 `cat test/data/002_796262f1a52646a1.txt`
\set s003 `cat test/data/003_98a0563360ab9885.txt`
\pset footer off
CREATE TEMP TABLE demo_articles (id int, title text, body text,
                                 sig minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED);
INSERT INTO demo_articles (id, body) VALUES (0, :'s000'), (1, :'s001'), (2, :'s002'), (3, :'s003');
UPDATE demo_articles SET title = left(btrim(split_part(body, E'\n', 1)), 60);

\echo
\echo == The seed articles
SELECT id, title, aa_minhash_num_shingles(sig) AS shingles FROM demo_articles ORDER BY id;

\echo
\echo == Every pair: estimated (sketch) and exact similarity and containment
SELECT a.id AS a, b.id AS b,
       round(aa_similarity(a.sig, b.sig)::numeric, 2) AS jaccard_est,
       round(aa_jaccard(a.body, b.body)::numeric, 2) AS jaccard,
       round(aa_containment(a.sig, b.sig)::numeric, 2) AS a_in_b_est,
       round(aa_containment(b.sig, a.sig)::numeric, 2) AS b_in_a_est,
       CASE WHEN greatest(aa_containment(a.sig, b.sig), aa_containment(b.sig, a.sig)) >= 0.5
            THEN 'copy of the same story'
            WHEN aa_similarity(a.sig, b.sig) > 0 THEN 'some shared text'
            ELSE 'unrelated' END AS verdict
FROM demo_articles a JOIN demo_articles b ON a.id < b.id ORDER BY 1, 2;

\echo
\echo == 001 and 002 tell the same statement in other words: the quotes they share
SELECT p.a_start AS pos_in_001, p.b_start AS pos_in_002, p.passage
FROM demo_articles a, demo_articles b, aa_shared_passages(a.body, b.body, 8) p
WHERE a.id = 1 AND b.id = 2;

\echo
\echo == 003 is inside 002: the paragraphs they share
SELECT p.a_start AS pos_in_003, p.b_start AS pos_in_002,
       length(p.passage) AS chars, left(p.passage, 70) || '...' AS passage
FROM demo_articles a, demo_articles b, aa_shared_passages(a.body, b.body, 8) p
WHERE a.id = 3 AND b.id = 2;

\echo
\echo == Duplicate clusters (pairs with containment >= 0.5)
WITH pairs AS (
    SELECT a.id::bigint AS a, b.id::bigint AS b FROM demo_articles a JOIN demo_articles b ON a.id < b.id
    WHERE greatest(aa_containment(a.sig, b.sig), aa_containment(b.sig, a.sig)) >= 0.5
)
SELECT * FROM aa_clusters((SELECT array_agg(a) FROM pairs), (SELECT array_agg(b) FROM pairs));
