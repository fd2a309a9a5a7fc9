#!/usr/bin/env bash
# Accuracy of near-duplicate detection on Reuters-21578 (issue 3), run by
# make test inside the throwaway cluster (PG* variables set).  $1 is the
# path to ../shared.  Exit 0 pass, 1 fail, 77 skipped (no Reuters data).
#
# Checks, over the 19,043 article bodies:
#   1. the mean absolute error of aa_similarity against aa_jaccard over the
#      pairs with exact Jaccard > 0.3 is at most the mean theoretical
#      standard deviation sqrt(J(1-J)/128) over the same pairs (k = 128);
#   2. the GIN-indexed self-join at threshold 0.8, verified with aa_jaccard,
#      finds at least 98% of the pairs with exact Jaccard >= 0.9 and keeps
#      no pair below the threshold;
#   3. simhash separates: 90% of the near-duplicate pairs (exact J >= 0.8,
#      not identical) lie within a Hamming radius that fewer than 1% of
#      random pairs reach.  The radii are printed: they are what the README
#      quotes as the useful simhash radius on news text.
# The exact pairs come from an exact all-pairs join with prefix filtering
# (shingles in ascending document-frequency order; two sets with
# J >= 0.3 share a shingle among the first |x| - ceil(0.3 |x|) + 1 of
# each), verified with aa_jaccard.
set -euo pipefail
shared=${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
reuters=$shared/data/reuters21578
here=$(cd "$(dirname "$0")" && pwd)

if ! ls "$reuters"/reut2-*.sgm >/dev/null 2>&1; then
	echo "SKIP shared_minhash: Reuters-21578 not found in $reuters"
	exit 77
fi

db=aa_shared_minhash_$$
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT

out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$db" -At -F ' ' <<EOF
CREATE EXTENSION article_analytics;
CREATE TABLE reuters (id int PRIMARY KEY, body text);
\copy reuters FROM PROGRAM 'perl "$here/reuters_bodies.pl" "$reuters"/reut2-*.sgm' WITH (FORMAT csv)
ALTER TABLE reuters ADD COLUMN sig minhash;
UPDATE reuters SET sig = aa_minhash(body);
VACUUM ANALYZE reuters;

-- exact pairs with J >= 0.3, by prefix filtering
CREATE TEMP TABLE sh AS SELECT id, unnest(aa_shingle_hashes(body)) AS h FROM reuters;
CREATE TEMP TABLE df AS SELECT h, count(*) AS df FROM sh GROUP BY h;
CREATE TEMP TABLE prefix AS
SELECT id, h FROM (
    SELECT sh.id, sh.h, df.df,
           row_number() OVER (PARTITION BY sh.id ORDER BY df.df, sh.h) AS rn,
           count(*) OVER (PARTITION BY sh.id) AS n
    FROM sh JOIN df USING (h)) x
WHERE rn <= n - ceil(0.3 * n) + 1 AND df > 1;
CREATE TEMP TABLE candidates AS
SELECT DISTINCT a.id AS a, b.id AS b FROM prefix a JOIN prefix b USING (h) WHERE a.id < b.id;
CREATE TEMP TABLE truth AS
SELECT c.a, c.b, aa_jaccard(ra.body, rb.body) AS j, aa_similarity(ra.sig, rb.sig) AS est,
       aa_containment(ra.body, rb.body) AS c_exact, aa_containment(ra.sig, rb.sig) AS c_est
FROM candidates c JOIN reuters ra ON ra.id = c.a JOIN reuters rb ON rb.id = c.b;
DELETE FROM truth WHERE j < 0.3;

-- the indexed self-join at 0.8, then verification
CREATE INDEX ON reuters USING gin (sig minhash_ops);
SET article_analytics.similarity_threshold = 0.8;
SET enable_seqscan = off;
CREATE TEMP TABLE joined AS
SELECT a.id AS a, b.id AS b FROM reuters a JOIN reuters b ON a.sig % b.sig AND a.id < b.id;
RESET enable_seqscan;
CREATE TEMP TABLE verified AS
SELECT j.a, j.b, aa_jaccard(ra.body, rb.body) AS j
FROM joined j JOIN reuters ra ON ra.id = j.a JOIN reuters rb ON rb.id = j.b;
DELETE FROM verified WHERE j < 0.8;

-- simhash distances: near duplicates against a random pairing
ALTER TABLE reuters ADD COLUMN fingerprint bigint;
UPDATE reuters SET fingerprint = aa_simhash(body);
CREATE TEMP TABLE random_pairs AS
SELECT x.id AS a, y.id AS b
FROM (SELECT id, row_number() OVER (ORDER BY md5(id::text)) AS r FROM reuters) x
JOIN (SELECT id, row_number() OVER (ORDER BY md5((id * 7919)::text)) AS r FROM reuters) y USING (r)
WHERE x.id <> y.id;

SELECT 'bodies', count(*) FROM reuters;
SELECT 'pairs_j_over_0.3', count(*) FROM truth WHERE j > 0.3;
SELECT 'pairs_j_at_least_0.8', count(*) FROM truth WHERE j >= 0.8;
SELECT 'pairs_j_at_least_0.9', count(*) FROM truth WHERE j >= 0.9;
SELECT 'exact_copies', count(*) FROM truth WHERE j = 1;
SELECT 'mae', round(avg(abs(est - j))::numeric, 5) FROM truth WHERE j > 0.3;
SELECT 'mean_sd', round(avg(sqrt(j * (1 - j) / 128))::numeric, 5) FROM truth WHERE j > 0.3;
SELECT 'containment_mae', round(avg(abs(c_est - c_exact))::numeric, 5) FROM truth WHERE j > 0.3;
SELECT 'index_pairs', count(*) FROM joined;
SELECT 'verified_pairs', count(*) FROM verified;
SELECT 'verified_below_threshold', count(*) FROM verified WHERE j < 0.8;
SELECT 'found_j_0.9', count(*) FROM truth t JOIN verified v USING (a, b) WHERE t.j >= 0.9;
SELECT 'found_j_0.8', count(*) FROM truth t JOIN verified v USING (a, b) WHERE t.j >= 0.8;
SELECT 'simhash_near_p50_p90_max', percentile_disc(0.5) WITHIN GROUP (ORDER BY d) || '/' ||
       percentile_disc(0.9) WITHIN GROUP (ORDER BY d) || '/' || max(d)
FROM (SELECT aa_hamming(ra.fingerprint, rb.fingerprint) AS d FROM truth t
      JOIN reuters ra ON ra.id = t.a JOIN reuters rb ON rb.id = t.b WHERE t.j >= 0.8 AND t.j < 1) x;
SELECT 'simhash_near_p90', percentile_disc(0.9) WITHIN GROUP (ORDER BY aa_hamming(ra.fingerprint, rb.fingerprint))
FROM truth t JOIN reuters ra ON ra.id = t.a JOIN reuters rb ON rb.id = t.b WHERE t.j >= 0.8 AND t.j < 1;
SELECT 'simhash_random_p01', percentile_disc(0.01) WITHIN GROUP (ORDER BY aa_hamming(ra.fingerprint, rb.fingerprint))
FROM random_pairs p JOIN reuters ra ON ra.id = p.a JOIN reuters rb ON rb.id = p.b;
EOF
)
echo "$out" | sed 's/^/  /'
value() { echo "$out" | awk -v k="$1" '$1 == k { print $2 }'; }

status=0
mae=$(value mae)
sd=$(value mean_sd)
if awk -v m="$mae" -v s="$sd" 'BEGIN { exit !(m <= s) }'; then
	echo "ok - MAE of aa_similarity vs aa_jaccard (J > 0.3, k=128): $mae <= mean sd $sd"
else
	echo "not ok - MAE $mae exceeds the mean theoretical sd $sd"
	status=1
fi
total=$(value pairs_j_at_least_0.9)
found=$(value found_j_0.9)
if [ "$total" -gt 0 ] && awk -v f="$found" -v t="$total" 'BEGIN { exit !(f >= 0.98 * t) }'; then
	echo "ok - indexed self-join at 0.8 finds $found of $total pairs with J >= 0.9"
else
	echo "not ok - indexed self-join found $found of $total pairs with J >= 0.9 (< 98%)"
	status=1
fi
below=$(value verified_below_threshold)
if [ "$below" = 0 ]; then
	echo "ok - no verified pair below the threshold"
else
	echo "not ok - $below verified pairs below the threshold"
	status=1
fi
near=$(value simhash_near_p90)
random=$(value simhash_random_p01)
if [ "$near" -lt "$random" ]; then
	echo "ok - simhash: 90% of near duplicates within $near bits; 1% of random pairs within $random"
else
	echo "not ok - simhash radius of near duplicates ($near) reaches random pairs ($random)"
	status=1
fi
exit $status
