#!/bin/sh
# make model: rebuild the shipped entity model src/model/ner_en.model from
# CoNLL-2003 train.txt and the worldwide newswire's train.conll in
# ../shared, the committed gazetteer, and word clusters the trainer
# induces from the unlabelled news text of ../shared (BBC 2004-2005,
# Reuters-21578, the worldwide articles and the text of train.txt).  The
# same inputs give the same bytes (fixed seeds, no time dependence, no FMA
# contraction), so `git diff` shows whether the committed model is
# current.  One thread; about two minutes on one core.
#
# CoNLL-2003's train.txt is shown CONLL_REPEAT times per epoch beside the
# worldwide articles (2.4 times its size), so that the 1996 newswire's
# conventions (sports clubs named after places are ORG) are not drowned
# out; tuned on the two dev sets, as are the epochs and the dropout of
# word-identity features (DROPOUT percent of the training tokens that do
# not start with a small letter).
#
#   src/tools/make_model.sh [SHARED_DIR]     (default: ../shared)
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-../shared}
conll="$shared/data/conll2003/train.txt"
worldwide="$shared/data/worldwide/train.conll"
CONLL_REPEAT=3
EPOCHS=10
DROPOUT=40
for f in "$conll" "$worldwide"; do
	if [ ! -f "$f" ]; then
		echo "make model: $f not found (the training data lives in ../shared)" >&2
		exit 1
	fi
done
train=$conll
i=1
while [ $i -lt $CONLL_REPEAT ]; do
	train="$train,$conll"
	i=$((i + 1))
done
train="$train,$worldwide"
data="$shared/data"
unlabelled="$data/unlabeled/bbc_2004_2005,$data/reuters21578,$data/worldwide/articles,conll:$conll"
mkdir -p test/build
gcc -std=gnu99 -O2 -ffp-contract=off -Wall -Werror -Isrc -Isrc/core \
	-o test/build/aa_train src/tools/aa_train.c src/core/tagger.c \
	src/core/ner_model.c src/core/tokenizer.c src/core/casefold.c \
	src/core/shingle.c -licuuc -lxxhash -lm
test/build/aa_train train "$train" src/model/ner_en.model \
	--gazetteer src/data/gazetteer_en.tsv --epochs $EPOCHS --dropout $DROPOUT \
	--clusters "$unlabelled"
ls -l src/model/ner_en.model
