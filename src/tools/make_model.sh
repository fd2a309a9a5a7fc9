#!/bin/sh
# make model: rebuild the shipped entity model src/model/ner_en.model from
# CoNLL-2003 train.txt in ../shared and the committed gazetteer.  The same
# inputs give the same bytes (fixed seeds, no time dependence, no FMA
# contraction), so `git diff` shows whether the committed model is current.
#
#   src/tools/make_model.sh [SHARED_DIR]     (default: ../shared)
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-../shared}
train="$shared/data/conll2003/train.txt"
if [ ! -f "$train" ]; then
	echo "make model: $train not found (CoNLL-2003 lives in ../shared)" >&2
	exit 1
fi
mkdir -p test/build
gcc -std=gnu99 -O2 -ffp-contract=off -Wall -Werror -Isrc -Isrc/core \
	-o test/build/aa_train src/tools/aa_train.c src/core/tagger.c \
	src/core/ner_model.c src/core/tokenizer.c src/core/casefold.c \
	-licuuc -lxxhash -lm
test/build/aa_train train "$train" src/model/ner_en.model \
	--gazetteer src/data/gazetteer_en.tsv
ls -l src/model/ner_en.model
