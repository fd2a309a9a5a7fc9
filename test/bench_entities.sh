#!/usr/bin/env bash
# Entity tagger benchmark (issue 4), for make bench inside a throwaway
# cluster (PG* variables set).  $1 is the path to ../shared.
#
# Prints:
#   1. aa_entities over the Reuters-21578 bodies (about 13 MB) in one
#      backend: tokens per second per core (target >= 300,000), beside the
#      tokenizer alone (aa_tokens) and the tagger without the alias table
#      (aa_entity_mentions); best of AA_BENCH_ROUNDS runs (default 3);
#   2. memory: the backend's private memory (all its memory contexts)
#      before and after 100,000 aa_entities calls in one session (target:
#      flat), its private resident memory (RssAnon, which holds no model)
#      and the size of the model, which is a read-only shared mapping of
#      its copy in $PGDATA/pg_article_analytics, counted once in the page
#      cache however many backends map it (test/sql_model_shared.sh
#      measures that);
#   3. aa_entities(body, language) on the dev sets of the other languages
#      (Spanish, Dutch, Portuguese, German) in tokens per second per core.
set -euo pipefail
shared=${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
reuters=$shared/data/reuters21578
here=$(cd "$(dirname "$0")" && pwd)
rounds=${AA_BENCH_ROUNDS:-3}

db=aa_bench_entities_$$
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION article_analytics" \
	-c "CREATE TABLE docs (id int, body text)" -f - <<'SQL'
-- Best-of-N wall time of a query, in seconds (the database is the
-- benchmark's own, dropped at exit; every session below uses it).
CREATE FUNCTION best_seconds(query text, rounds int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    best float8 := 'infinity';
    started timestamptz;
BEGIN
    FOR i IN 1..rounds LOOP
        started := clock_timestamp();
        EXECUTE query;
        best := least(best, extract(epoch FROM clock_timestamp() - started));
    END LOOP;
    RETURN best;
END $$;
SQL
if ls "$reuters"/reut2-*.sgm >/dev/null 2>&1; then
	echo "text: Reuters-21578 bodies from $reuters"
	perl "$here/reuters_bodies.pl" "$reuters"/reut2-*.sgm |
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy docs FROM STDIN WITH (FORMAT csv)"
else
	echo "text: ../shared is absent; the four seed articles repeated 250 times"
	for i in $(seq 1 250); do
		for f in "$here"/data/0*.txt; do
			printf '%s\n' "$(tr '\n' ' ' < "$f" | sed 's/"/""/g; s/^/0,"/; s/$/"/')"
		done
	done | psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy docs FROM STDIN WITH (FORMAT csv)"
fi

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v rounds="$rounds" <<'SQL'
\pset footer off
SET client_min_messages = warning;
SELECT count(*) AS documents, pg_size_pretty(sum(octet_length(body))) AS text,
       (SELECT count(*) FROM docs, aa_tokens(body)) AS tokens
FROM docs \gset
SELECT count(*) AS mentions FROM docs, aa_entities(body) \gset
\echo documents: :documents, text: :text, tokens: :tokens, entity mentions: :mentions
SELECT what, round(seconds::numeric, 2) AS seconds,
       round(:tokens / seconds) AS tokens_per_second
FROM (VALUES
      ('aa_tokens (tokenizer alone)',
       best_seconds('SELECT count(*) FROM docs, aa_tokens(body)', :rounds)),
      ('aa_entity_mentions (tagger)',
       best_seconds('SELECT count(*) FROM docs, aa_entity_mentions(body)', :rounds)),
      ('aa_entities (tagger + aliases)',
       best_seconds('SELECT count(*) FROM docs, aa_entities(body)', :rounds))
     ) AS t(what, seconds);
SQL

# Memory: 100,000 calls in one session.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
\pset footer off
SET client_min_messages = warning;
SELECT count(*) FROM aa_entities('Valery Gerasimov met Alexander Vikantov in Moscow.') \gset warm_
DO $$ BEGIN PERFORM count(*) FROM aa_entities('Moscow'); END $$;  -- plpgsql loaded too
SELECT sum(total_bytes) AS before_bytes FROM pg_backend_memory_contexts \gset
DO $$
DECLARE
    n bigint := 0;
    c bigint;
BEGIN
    FOR i IN 1..100000 LOOP
        SELECT count(*) INTO c
        FROM aa_entities('Valery Gerasimov met Alexander Vikantov in Moscow on Thursday, Interfax said.');
        n := n + c;
    END LOOP;
END $$;
SELECT :before_bytes AS private_bytes_before,
       sum(total_bytes) AS private_bytes_after_100000_calls,
       sum(total_bytes) - :before_bytes AS growth
FROM pg_backend_memory_contexts;
SELECT name, total_bytes FROM pg_backend_memory_contexts
WHERE name = 'article_analytics entity model';
SELECT pg_size_pretty((regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                                    'RssAnon:\s+(\d+)'))[1]::bigint * 1024) AS backend_private_resident,
       pg_size_pretty((pg_stat_file(current_setting('article_analytics.ner_model'))).size)
       AS model_mapped_shared_read_only;
SQL

# Other languages: aa_entities(body, language) over each language's dev
# set in ../shared/data/ner_multilingual, its sentences joined with spaces
# twenty to a document (the text is read at run time, never committed);
# tokens per second per core, best of the same rounds, beside English above.
multi=$shared/data/ner_multilingual
if [ -d "$multi" ]; then
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE TABLE docs_lang (lang text, body text)"
	for lang in es nl pt de; do
		[ -f "$multi/$lang/dev.conll" ] || continue
		perl -CSD -ne '
			BEGIN { $n = 0; @doc = (); @sent = (); }
			chomp; s/\r$//;
			if (/^\s*$/ || /^-DOCSTART-/) {
				if (@sent) { push @doc, join(" ", @sent); @sent = (); $n++; }
				if ($n >= 20) { flush(); }
				next;
			}
			my ($tok) = split /[\t ]/;
			push @sent, $tok;
			sub flush { if (@doc) { my $b = join(" ", @doc); $b =~ s/"/""/g; print "'"$lang"',\"$b\"\n"; } @doc = (); $n = 0; }
			END { push @doc, join(" ", @sent) if @sent; flush(); }' "$multi/$lang/dev.conll" |
			psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy docs_lang FROM STDIN WITH (FORMAT csv)"
	done
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v rounds="$rounds" <<'SQL'
\pset footer off
SET client_min_messages = warning;
\echo aa_entities(body, language) on the dev set of each language (target: 500,000 tokens per second per core)
SELECT lang, count(*) AS documents, sum(tokens) AS tokens,
       round(sum(tokens) / best_seconds(
           format('SELECT count(*) FROM docs_lang, aa_entities(body, %L) WHERE lang = %L', lang, lang),
           :rounds)) AS tokens_per_second
FROM (SELECT d.lang, (SELECT count(*) FROM aa_tokens(d.body)) AS tokens FROM docs_lang d) t
GROUP BY lang ORDER BY lang;
SQL
else
	echo "other languages: SKIPPED ($multi is absent)"
fi
