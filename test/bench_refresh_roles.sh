#!/usr/bin/env bash
# aa_refresh run by a table owner who is not a superuser (row-level security
# applies to every side-table row it reads and writes) beside the same run by
# a superuser (who bypasses it), on the same articles, alternating, best of
# two each: the ratio is the cost of the privilege model.
set -u
n=${AA_BENCH_REFRESH_ARTICLES:-600}
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
s0=$(cat test/data/000_f964a19d4597f10d.txt)
s1=$(cat test/data/001_41966bbbe1a97b2f.txt)
q -c "DROP ROLE IF EXISTS aa_bench_owner" -c "CREATE ROLE aa_bench_owner" > /dev/null || exit 1
q -v s0="$s0" -v s1="$s1" > /dev/null <<SQL || exit 1
CREATE EXTENSION IF NOT EXISTS article_analytics;
GRANT SELECT, INSERT, UPDATE, DELETE ON aa_refresh_sources, aa_refresh_runs, aa_refresh_locks,
      aa_refresh_articles, aa_article_entities, aa_article_terms, aa_article_bands,
      aa_duplicate_pairs, aa_cluster_members TO aa_bench_owner;
GRANT USAGE ON SEQUENCE aa_refresh_runs_run_id_seq TO aa_bench_owner;
CREATE TABLE bench_refresh_src (id bigint PRIMARY KEY, body text);
INSERT INTO bench_refresh_src
SELECT i, (CASE i % 2 WHEN 0 THEN :'s0' ELSE :'s1' END) || ' ' || i FROM generate_series(1, $n) i;
SQL
best_su=999999; best_owner=999999
for round in 1 2; do
	for who in su owner; do
		t="bench_refresh_${who}_$round"
		q -c "CREATE TABLE $t (LIKE bench_refresh_src INCLUDING ALL)" -c "INSERT INTO $t SELECT * FROM bench_refresh_src" > /dev/null
		[ "$who" = owner ] && q -c "ALTER TABLE $t OWNER TO aa_bench_owner"
		role=NONE; [ "$who" = owner ] && role=aa_bench_owner
		start=$(date +%s%N)
		q -c "SET ROLE $role" -c "CALL aa_refresh('$t')" > /dev/null || exit 1
		ms=$(( ($(date +%s%N) - start) / 1000000 ))
		if [ "$who" = su ]; then [ $ms -lt $best_su ] && best_su=$ms; else [ $ms -lt $best_owner ] && best_owner=$ms; fi
	done
done
echo "aa_refresh of $n articles: superuser $best_su ms, table owner under row-level security $best_owner ms (ratio $(echo "scale=2; $best_owner / $best_su" | bc))"
for round in 1 2; do for who in su owner; do q -c "SELECT aa_refresh_forget('bench_refresh_${who}_$round'); DROP TABLE bench_refresh_${who}_$round" > /dev/null; done; done
q -c "DROP TABLE bench_refresh_src" -c "REVOKE ALL ON aa_refresh_sources, aa_refresh_runs, aa_refresh_locks, aa_refresh_articles, aa_article_entities, aa_article_terms, aa_article_bands, aa_duplicate_pairs, aa_cluster_members FROM aa_bench_owner" -c "REVOKE ALL ON SEQUENCE aa_refresh_runs_run_id_seq FROM aa_bench_owner" -c "DROP ROLE aa_bench_owner" > /dev/null
