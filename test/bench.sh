#!/usr/bin/env bash
# make bench: speed of article_analytics beside the tools a user would
# otherwise reach for, in one run on the same server and the same text,
# printed as rates and ratios (this machine is noisy: compare the ratios).
#
# Text: the Reuters-21578 bodies from ../shared when present (about 13 MB),
# otherwise the four seed articles repeated to a few MB.
# Each measurement is the best of several alternating runs.
set -u
cd "$(dirname "$0")/.."
shared=${AA_SHARED:-$(cd .. && pwd)/shared}
rounds=${AA_BENCH_ROUNDS:-3}

psql -X -q -v ON_ERROR_STOP=1 <<'SQL' || exit 1
CREATE EXTENSION IF NOT EXISTS article_analytics;
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_docs;
CREATE TABLE bench_docs (id int, body text);
SQL
if ls "$shared"/data/reuters21578/reut2-*.sgm >/dev/null 2>&1; then
	echo "text: Reuters-21578 bodies from $shared/data/reuters21578"
	perl test/reuters_bodies.pl "$shared"/data/reuters21578/reut2-*.sgm |
		psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_docs FROM STDIN WITH (FORMAT csv)" || exit 1
else
	echo "text: ../shared is absent; the four seed articles repeated 250 times"
	for i in $(seq 1 250); do
		for f in test/data/0*.txt; do
			printf '%s\n' "$(tr '\n' ' ' < "$f" | sed 's/"/""/g; s/^/0,"/; s/$/"/')"
		done
	done | psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_docs FROM STDIN WITH (FORMAT csv)" || exit 1
fi

PGOPTIONS="-c bench.rounds=$rounds" psql -X -q -A -t -v ON_ERROR_STOP=1 <<'SQL'
ANALYZE bench_docs;
SELECT format('documents: %s, %s MB, %s words', count(*),
              round(sum(octet_length(body)) / 1e6, 1),
              (SELECT count(*) FROM bench_docs, aa_tokens(body) WHERE token ~ '[[:alpha:]]'))
FROM bench_docs;

SET client_min_messages = warning;
DROP TABLE IF EXISTS timings;
CREATE TABLE timings (what text, seconds float8);
DO $$
DECLARE
    t0 timestamptz;
    dummy bigint;
BEGIN
    -- warm-up: load the stemmers, dictionaries and the table into memory
    PERFORM sum(cardinality(aa_stems(body))) FROM bench_docs;
    PERFORM sum(length(to_tsvector('english', body))) FROM bench_docs;
    FOR r IN 1 .. current_setting('bench.rounds')::int LOOP
        t0 := clock_timestamp();
        SELECT sum(cardinality(aa_stems(body, 'english'))) INTO dummy FROM bench_docs;
        INSERT INTO timings VALUES ('aa_stems', extract(epoch FROM clock_timestamp() - t0));
        t0 := clock_timestamp();
        SELECT sum(length(to_tsvector('english', body))) INTO dummy FROM bench_docs;
        INSERT INTO timings VALUES ('to_tsvector', extract(epoch FROM clock_timestamp() - t0));
        t0 := clock_timestamp();
        SELECT count(*) INTO dummy FROM bench_docs, aa_term_counts(body, 'english');
        INSERT INTO timings VALUES ('aa_term_counts', extract(epoch FROM clock_timestamp() - t0));
        t0 := clock_timestamp();
        SELECT count(*) INTO dummy FROM bench_docs, aa_tokens(body);
        INSERT INTO timings VALUES ('aa_tokens', extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
END $$;
SQL
psql -X -A -t -F ' ' -v ON_ERROR_STOP=1 <<SQL
WITH words AS (SELECT count(*) AS n FROM bench_docs, aa_tokens(body) WHERE token ~ '[[:alpha:]]'),
best AS (SELECT what, min(seconds) AS s FROM timings GROUP BY what)
SELECT rpad(what, 16) || lpad(round(s::numeric, 3)::text, 8) || ' s '
       || lpad(round(((SELECT n FROM words) / s / 1e6)::numeric, 2)::text, 8) || ' M words/s'
FROM best ORDER BY what;
SQL
psql -X -A -t -v ON_ERROR_STOP=1 <<'SQL'
SELECT format('aa_stems is %s times as fast as to_tsvector(''english'') (target: 3)',
              round((SELECT min(seconds) FROM timings WHERE what = 'to_tsvector')::numeric
                    / (SELECT min(seconds) FROM timings WHERE what = 'aa_stems')::numeric, 2));
SQL

echo
echo "== entity tagging"
bash test/bench_entities.sh "$shared"

echo
echo "== aa_refresh by a superuser and by a table owner under row-level security"
bash test/bench_refresh_roles.sh

echo
echo "== aa_minhash at num_perm = 4096 by document length (densification: about k^2/s hash probes for s distinct shingles, O(k) for one)"
psql -X -A -t -F ' ' -v ON_ERROR_STOP=1 <<'SQL'
CREATE TEMP TABLE lengths AS
SELECT w AS words, (SELECT string_agg('w' || i, ' ') FROM generate_series(1, w) i) AS doc
FROM unnest(ARRAY[1, 6, 10, 25, 100, 5000]) AS w;
CREATE FUNCTION pg_temp.ms_per_call(d text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'Infinity'; n int := 20;
BEGIN
    FOR r IN 1 .. 3 LOOP
        t0 := clock_timestamp();
        PERFORM count(aa_minhash(d || repeat('', g), 4096)) FROM generate_series(1, n) g;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000 / n);
    END LOOP;
    RETURN best;
END $$;
SELECT rpad(words || ' words', 12) || lpad(round(pg_temp.ms_per_call(doc)::numeric, 3)::text, 9) || ' ms per sketch'
FROM lengths ORDER BY words;
SQL

echo
echo "== near-duplicates (AA_SYNTH_ARTICLES=100000 shortens the 1M-article part, 0 skips it)"
bash test/bench_minhash.sh "$shared"
