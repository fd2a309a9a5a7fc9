#!/usr/bin/env bash
# Entity tagger accuracy on the dev sets of Spanish, Dutch, Portuguese and
# German (../shared/data/ner_multilingual), with Apache OpenNLP's name
# finder (Debian package opennlp, default trainer) trained on the same
# training file and scored on the same dev file for Spanish and Dutch.
# Meant for `make eval`, after test/eval_ner.sh (English).  These are dev
# figures: each model's settings were tuned on its dev set.
#
#   test/eval_ner_lang.sh [SHARED_DIR [LANG ...]]   (default: ../shared, es nl pt de)
#
# The files are prepared as `make model` prepares them
# (src/tools/prep_ner_data.py); the scorer is the trainer's eval mode,
# which tags document by document through aa_ner_tag_document, the call
# aa_entities makes, and prints conlleval-style precision / recall / F1
# per type and overall.  Dev files:
#   es  CoNLL-2002 Spanish esp.testa          nl  CoNLL-2002 Dutch ned.testa
#   pt  Universal NER Portuguese-Bosque dev, as surface text (the original
#       sentences tokenized by the extension) and as the treebank's tokens
#   de  GermEval 2014 dev (gold; PER, LOC, ORG: its MISC read as O) and
#       WikiANN dev (silver)
# Exits 77 when ../shared has no ner_multilingual data.
set -u
cd "$(dirname "$0")/.."
shared=${1:-$(cd .. && pwd)/shared}
[ $# -gt 0 ] && shift
languages=${*:-es nl pt de}
data="$shared/data/ner_multilingual"
if [ ! -d "$data" ]; then
	echo "SKIP eval_ner_lang: $data not found"
	exit 77
fi
build=test/build/eval_ner_lang
mkdir -p "$build"
gcc -std=gnu99 -O2 -Wall -Isrc -Isrc/core -o "$build/aa_train" src/tools/aa_train.c \
	src/core/tagger.c src/core/ner_model.c src/core/tokenizer.c src/core/casefold.c \
	src/core/shingle.c -licuuc -lxxhash -lm || exit 1

f1_of() { awk '/^overall/ { print $7 }' "$1"; }
onlp_f1_of() { awk '/TOTAL:/ { v = $7; gsub(/[%;]/, "", v); sub(/\.$/, "", v); print v }' "$1"; }
summary=()

# OpenNLP on a prepared train and dev file (token TAG lines): the
# four-column layout of its conll03 reader, its default trainer.
opennlp_eval() {	# LANG TRAIN DEV
	local lang=$1 dir="$build/opennlp_$1"
	mkdir -p "$dir"
	for split in train dev; do
		local f=$2
		[ $split = dev ] && f=$3
		awk '/^-DOCSTART-/ { print "-DOCSTART- -X- O O"; next }
			NF == 0 { print; next } { print $1 " X X " $NF }' "$f" > "$dir/$split.txt"
		opennlp TokenNameFinderConverter conll03 -lang eng -types per,loc,org,misc \
			-data "$dir/$split.txt" > "$dir/$split.onlp" 2>> "$dir/convert.log" || return 1
	done
	if [ ! -s "$dir/model.bin" ] || [ "$2" -nt "$dir/model.bin" ]; then
		echo "   training OpenNLP (a few minutes)..."
		opennlp TokenNameFinderTrainer -model "$dir/model.bin" -lang "$lang" \
			-data "$dir/train.onlp" -encoding UTF-8 > "$dir/train.log" 2>&1 || {
			tail -20 "$dir/train.log"; return 1; }
	fi
	opennlp TokenNameFinderEvaluator -model "$dir/model.bin" -data "$dir/dev.onlp" \
		-encoding UTF-8 -detailedF true 2>&1 |
		grep -E '^(Evaluated| *(TOTAL|person|location|organization|misc):)' | tee "$dir/eval.txt"
}

for lang in $languages; do
	model=src/model/ner_$lang.model
	prep="$build/data_$lang"
	python3 src/tools/prep_ner_data.py "$lang" "$shared" "$prep" "$build/aa_train" || exit 1
	case $lang in
		es) devs="dev.conll:CoNLL-2002_esp.testa" ;;
		nl) devs="dev.conll:CoNLL-2002_ned.testa" ;;
		pt) devs="dev.conll:Bosque_dev_(surface_text) dev_ud.conll:Bosque_dev_(UD_tokens)" ;;
		de) devs="germeval_dev.conll:GermEval_2014_dev_(PER/LOC/ORG) dev.conll:WikiANN_dev" ;;
		*) echo "eval_ner_lang: no data for $lang"; exit 1 ;;
	esac
	for d in $devs; do
		file=${d%%:*}
		name=${d#*:}
		name=${name//_/ }
		echo "== article_analytics: $model on $lang $name (dev)"
		"$build/aa_train" eval "$model" "$prep/$file" | tee "$build/aa_${lang}_$file.txt" || exit 1
		summary+=("$(printf '%-4s %-36s %-22s %8s' "$lang" "$name" article_analytics "$(f1_of "$build/aa_${lang}_$file.txt")")")
		echo
	done
	if [ "$lang" = es ] || [ "$lang" = nl ]; then
		if command -v opennlp >/dev/null 2>&1; then
			echo "== OpenNLP name finder (default trainer), same train, on $lang dev"
			if opennlp_eval "$lang" "$prep/train.conll" "$prep/dev.conll"; then
				summary+=("$(printf '%-4s %-36s %-22s %8s' "$lang" "${devs#*:}" "OpenNLP 2.1 (maxent)" \
					"$(onlp_f1_of "$build/opennlp_$lang/eval.txt")")")
				summary[-1]=${summary[-1]//_/ }
			fi
			echo
		else
			echo "== OpenNLP: not installed (apt-get install opennlp); comparison for $lang skipped"
		fi
	fi
done

echo "== summary (dev sets, conlleval entity-level F1)"
printf '%-4s %-36s %-22s %8s\n' lang "dev set" tagger F1
printf '%s\n' "${summary[@]}"
