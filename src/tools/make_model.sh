#!/bin/sh
# make model: rebuild the shipped entity models src/model/ner_LANG.model
# from the training data in ../shared.  The same inputs give the same
# bytes (fixed seeds, no time dependence, no FMA contraction), so
# `git diff` shows whether a committed model is current.  One thread.
#
#   src/tools/make_model.sh [SHARED_DIR [LANG ...]]
#       (default: ../shared, every language: en es nl pt de)
#
# en: CoNLL-2003 train.txt and the worldwide newswire's train.conll, the
#     committed gazetteer src/data/gazetteer_en.tsv, and word clusters the
#     trainer induces from the unlabelled English news text of ../shared
#     (BBC 2004-2005, Reuters-21578, the worldwide articles and the text of
#     train.txt).  CoNLL-2003's train.txt is shown CONLL_REPEAT times per
#     epoch beside the worldwide articles (2.4 times its size), so that the
#     1996 newswire's conventions (sports clubs named after places are ORG)
#     are not drowned out; tuned on the two dev sets, as are the epochs and
#     the dropout of word-identity features (DROPOUT percent of the
#     training tokens that do not start with a small letter).  About two
#     minutes on one core.
# es, nl, pt, de: ../shared/data/ner_multilingual/LANG/train.conll as
#     src/tools/prep_ner_data.py prepares it (es: documents split at EFE
#     datelines; pt: the treebank's original sentences, tokenized as the
#     extension tokenizes; de: WikiANN without redirect lines), the
#     committed gazetteer src/data/gazetteer_LANG.tsv
#     (src/tools/gen_gazetteer_lang.py), and word clusters induced from the
#     only unlabelled text of the language at hand, the tokens of the
#     training file itself, together with the English unlabelled news above
#     (names of people, places and organisations are mostly written alike
#     across these languages, and get their clusters from 4.6 million
#     tokens of news context: worth about half a point of dev F1 in
#     Spanish).  Documents are shown in lower or upper case 5% of the time
#     each (CASE), not 15% as for English.  Epochs and dropout tuned on the
#     language's dev set.  About two minutes each.
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-../shared}
[ $# -gt 0 ] && shift
languages=${*:-en es nl pt de}
data="$shared/data"
mkdir -p test/build
gcc -std=gnu99 -O2 -ffp-contract=off -Wall -Werror -Isrc -Isrc/core \
	-o test/build/aa_train src/tools/aa_train.c src/core/tagger.c \
	src/core/ner_model.c src/core/tokenizer.c src/core/casefold.c \
	src/core/shingle.c -licuuc -lxxhash -lm

need() {
	for f in "$@"; do
		if [ ! -f "$f" ]; then
			echo "make model: $f not found (the training data lives in ../shared)" >&2
			exit 1
		fi
	done
}

for lang in $languages; do
	echo "== make model: $lang"
	case $lang in
		en)
			conll="$data/conll2003/train.txt"
			worldwide="$data/worldwide/train.conll"
			need "$conll" "$worldwide"
			CONLL_REPEAT=3
			train=$conll
			i=1
			while [ $i -lt $CONLL_REPEAT ]; do
				train="$train,$conll"
				i=$((i + 1))
			done
			train="$train,$worldwide"
			unlabelled="$data/unlabeled/bbc_2004_2005,$data/reuters21578,$data/worldwide/articles,conll:$conll"
			test/build/aa_train train "$train" src/model/ner_en.model \
				--gazetteer src/data/gazetteer_en.tsv --epochs 10 --dropout 40 \
				--clusters "$unlabelled"
			;;
		es | nl | pt | de)
			src="$data/ner_multilingual/$lang"
			need "$src/train.conll" "$src/dev.conll"
			out=test/build/ner_$lang
			python3 src/tools/prep_ner_data.py "$lang" "$shared" "$out" test/build/aa_train
			CASE=5
			case $lang in
				es) EPOCHS=11 DROPOUT=0 ;;
				nl) EPOCHS=12 DROPOUT=0 ;;
				pt) EPOCHS=8 DROPOUT=0 ;;
				de) EPOCHS=6 DROPOUT=40 ;;
			esac
			english="$data/unlabeled/bbc_2004_2005,$data/reuters21578,$data/worldwide/articles"
			for d in $(echo "$english" | tr , ' '); do
				[ -d "$d" ] || { echo "make model: $d not found (the unlabelled news lives in ../shared)" >&2; exit 1; }
			done
			test/build/aa_train train "$out/train.conll" src/model/ner_$lang.model \
				--gazetteer src/data/gazetteer_$lang.tsv --epochs $EPOCHS --dropout $DROPOUT \
				--case-augment $CASE --clusters "conll:$out/train.conll,$english"
			;;
		*)
			echo "make model: no entity data for language \"$lang\" (en es nl pt de)" >&2
			exit 1
			;;
	esac
	ls -l src/model/ner_$lang.model
done
