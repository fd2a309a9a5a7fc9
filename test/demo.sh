#!/usr/bin/env bash
# make demo: load the four seed articles into an "articles" table of the
# throwaway cluster and show what article_analytics finds in them.
set -eu
cd "$(dirname "$0")/.."

{
	echo "CREATE EXTENSION IF NOT EXISTS article_analytics;"
	echo "DROP TABLE IF EXISTS articles;"
	echo "CREATE TABLE articles (id int PRIMARY KEY, file text, body text);"
	id=0
	for f in test/data/0*.txt; do
		echo "\\set body \`cat $f\`"
		echo "INSERT INTO articles VALUES ($id, '$(basename "$f")', :'body');"
		id=$((id + 1))
	done
} | psql -X -q -v ON_ERROR_STOP=1

psql -X -v ON_ERROR_STOP=1 <<'SQL'
\echo
\echo '== The seed articles: size, tokens and words (aa_tokens, aa_stems)'
SELECT id, file, length(body) AS characters,
       (SELECT count(*) FROM aa_tokens(body)) AS tokens,
       cardinality(aa_stems(body)) AS content_words
FROM articles ORDER BY id;

\echo '== The first sentence of article 0, token by token (aa_tokens)'
SELECT ordinal, token, start_pos, length
FROM articles, aa_tokens(body) WHERE id = 0 AND ordinal <= 24;

\echo '== ... and its stems, stopwords dropped (aa_stems)'
SELECT aa_stems(substr(body, 1, 250)) FROM articles WHERE id = 0;

\echo '== Top terms across the four articles (aa_term_counts)'
SELECT term, sum(count) AS occurrences, count(*) AS articles
FROM articles, aa_term_counts(body)
GROUP BY term ORDER BY occurrences DESC, term LIMIT 15;

\echo '== Top terms per article'
SELECT id, string_agg(term || ' ' || count, ', ' ORDER BY count DESC, term) AS top_terms
FROM (SELECT id, t.term, t.count,
             row_number() OVER (PARTITION BY id ORDER BY t.count DESC, t.term) AS rank
      FROM articles, aa_term_counts(body) t) ranked
WHERE rank <= 6 GROUP BY id ORDER BY id;

\echo '== Who and what the articles talk about (aa_entities)'
SELECT e.canonical, e.type, count(*) AS mentions, count(DISTINCT a.id) AS articles
FROM articles a, aa_entities(a.body) e
GROUP BY 1, 2 ORDER BY mentions DESC, 1 LIMIT 25;

\echo '== Every mention in article 3, with its position (aa_entities)'
SELECT e.entity, e.type, e.start_pos, e.length, e.canonical
FROM articles a, aa_entities(a.body) e WHERE a.id = 3;

\echo '== One word in several languages (aa_stem, aa_languages)'
SELECT language, iso_code, aa_stem(w, language) AS stem
FROM aa_languages(),
     (VALUES ('english', 'Negotiations'), ('german', 'Verhandlungen'),
             ('french', 'Négociations'), ('russian', 'Переговоры')) AS v(lang, w)
WHERE language = lang;
SQL

psql -X -v ON_ERROR_STOP=1 -f test/demo_minhash.sql
