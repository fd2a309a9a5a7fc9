#!/usr/bin/env bash
# Entity tagger accuracy and speed on the two dev sets, CoNLL-2003
# valid.txt and the worldwide newswire's dev.conll (modern news from
# around the world), side by side with Apache OpenNLP's name finder
# (Debian package opennlp, default trainer) trained on the same training
# data as our model (CoNLL-2003 train.txt and worldwide train.conll).
# Meant for `make eval`.  These are dev figures: the model's settings were
# tuned on these two sets.
#
#   test/eval_ner.sh [SHARED_DIR]     (default: ../shared)
#
# Prints conlleval-style precision / recall / F1 per type and overall for
# both taggers, and each one's steady-state tokens per second on one core
# (our model already loaded; OpenNLP's JVM start and warm-up excluded by
# timing one pass and nine passes over valid.txt and dividing the extra
# tokens by the extra time).  Then the overall F1 of both on valid.txt
# rewritten in lower case and in upper case (robustness to formatting the
# training data under-represents), and ours with each sentence tagged
# alone as aa_tag does.  Exits 77 when ../shared is absent.
set -u
cd "$(dirname "$0")/.."
shared=${1:-$(cd .. && pwd)/shared}
conll="$shared/data/conll2003"
worldwide="$shared/data/worldwide"
if [ ! -f "$conll/train.txt" ] || [ ! -f "$conll/valid.txt" ] ||
	[ ! -f "$worldwide/train.conll" ] || [ ! -f "$worldwide/dev.conll" ]; then
	echo "SKIP eval_ner: CoNLL-2003 and worldwide train and dev files not found in $shared/data"
	exit 77
fi
build=test/build/eval_ner
mkdir -p "$build"

# The evaluator is the trainer's eval mode: it tags through the same code
# path as the extension (aa_ner_tag_document, document by document).
gcc -std=gnu99 -O2 -Wall -Isrc -Isrc/core -o "$build/aa_train" src/tools/aa_train.c \
	src/core/tagger.c src/core/ner_model.c src/core/tokenizer.c src/core/casefold.c \
	src/core/shingle.c -licuuc -lxxhash -lm || exit 1

echo "== article_analytics: src/model/ner_en.model on CoNLL-2003 valid.txt (dev)"
"$build/aa_train" eval src/model/ner_en.model "$conll/valid.txt" | tee "$build/aa.txt" || exit 1
echo
echo "== article_analytics: src/model/ner_en.model on worldwide dev.conll (dev)"
"$build/aa_train" eval src/model/ner_en.model "$worldwide/dev.conll" | tee "$build/aa_ww.txt" || exit 1

# The same text in lower case and in upper case (tokens only; tags kept).
for variant in lower upper; do
	awk -v v="$variant" '$1 == "-DOCSTART-" || NF == 0 { print; next }
		{ $1 = (v == "lower") ? tolower($1) : toupper($1); print }' \
		"$conll/valid.txt" > "$build/valid_$variant.txt"
done
f1_of() { awk '/^overall/ { print $7 }'; }
aa_lower=$("$build/aa_train" eval src/model/ner_en.model "$build/valid_lower.txt" | f1_of)
aa_upper=$("$build/aa_train" eval src/model/ner_en.model "$build/valid_upper.txt" | f1_of)
aa_sentences=$("$build/aa_train" eval src/model/ner_en.model "$conll/valid.txt" --sentences | f1_of)

if ! command -v opennlp >/dev/null 2>&1; then
	echo
	echo "valid.txt in lower case: F1 $aa_lower; in upper case: F1 $aa_upper; sentence by sentence (aa_tag): F1 $aa_sentences"
	echo "worldwide dev.conll: F1 $(awk '/^overall/ { print $7 }' "$build/aa_ww.txt")"
	echo "== OpenNLP: NOT INSTALLED, so no comparison.  It is the Debian 12 package opennlp"
	echo "   (Apache OpenNLP 2.1.0 with a Java runtime, from the main archive); make eval installs"
	echo "   it when run as root or with sudo, otherwise run: apt-get install opennlp"
	exit 0
fi

echo
echo "== OpenNLP name finder (default trainer) on the same data"
# The worldwide files (token<TAB>tag, paragraphs) in the four-column
# layout of OpenNLP's conll03 reader.
to_conll03() {
	awk '/^-DOCSTART-/ { print "-DOCSTART- -X- O O"; next }
		NF == 0 { print; next } { print $1 " X X " $NF }' "$1"
}
to_conll03 "$worldwide/train.conll" > "$build/ww_train.txt"
to_conll03 "$worldwide/dev.conll" > "$build/ww_dev.txt"
cat "$conll/train.txt" "$build/ww_train.txt" > "$build/union_train.txt"
opennlp TokenNameFinderConverter conll03 -lang eng -types per,loc,org,misc \
	-data "$build/union_train.txt" > "$build/train.onlp" 2> "$build/convert.log" || exit 1
opennlp TokenNameFinderConverter conll03 -lang eng -types per,loc,org,misc \
	-data "$conll/valid.txt" > "$build/valid.onlp" 2>> "$build/convert.log" || exit 1
opennlp TokenNameFinderConverter conll03 -lang eng -types per,loc,org,misc \
	-data "$build/ww_dev.txt" > "$build/ww_dev.onlp" 2>> "$build/convert.log" || exit 1
if [ ! -s "$build/en-ner-union.bin" ] || [ "$conll/train.txt" -nt "$build/en-ner-union.bin" ] ||
	[ "$worldwide/train.conll" -nt "$build/en-ner-union.bin" ]; then
	echo "   training (a few minutes)..."
	opennlp TokenNameFinderTrainer -model "$build/en-ner-union.bin" -lang eng \
		-data "$build/train.onlp" -encoding UTF-8 > "$build/opennlp-train.log" 2>&1 || {
		tail -20 "$build/opennlp-train.log"; exit 1; }
fi
opennlp TokenNameFinderEvaluator -model "$build/en-ner-union.bin" -data "$build/valid.onlp" \
	-encoding UTF-8 -detailedF true 2>&1 | sed -n '/Evaluated/,/organization:/p' | tee "$build/opennlp.txt"
echo "   on worldwide dev.conll:"
opennlp TokenNameFinderEvaluator -model "$build/en-ner-union.bin" -data "$build/ww_dev.onlp" \
	-encoding UTF-8 -detailedF true 2>&1 | sed -n '/Evaluated/,/organization:/p' | tee "$build/opennlp_ww.txt"

onlp_variant_f1() {
	opennlp TokenNameFinderConverter conll03 -lang eng -types per,loc,org,misc \
		-data "$1" > "$build/variant.onlp" 2>> "$build/convert.log"
	opennlp TokenNameFinderEvaluator -model "$build/en-ner-union.bin" -data "$build/variant.onlp" \
		-encoding UTF-8 2>&1 | awk '/TOTAL:/ { v = $7; gsub(/[%;]/, "", v); sub(/\.$/, "", v); print v }'
}
onlp_lower=$(onlp_variant_f1 "$build/valid_lower.txt")
onlp_upper=$(onlp_variant_f1 "$build/valid_upper.txt")

# Steady-state speed: one pass versus nine passes of valid.txt's sentences.
sed -e 's/<START:[a-z]*> //g; s/ <END>//g' "$build/valid.onlp" | grep -v '^$' > "$build/valid.tokens"
for _ in 1 2 3 4 5 6 7 8 9; do cat "$build/valid.tokens"; done > "$build/valid9.tokens"
tokens=$(wc -w < "$build/valid.tokens")
run_seconds() {
	local start end
	start=$(date +%s%N)
	opennlp TokenNameFinder "$build/en-ner-union.bin" < "$1" > /dev/null 2>&1
	end=$(date +%s%N)
	echo $(( (end - start) / 1000000 ))
}
ms1=$(run_seconds "$build/valid.tokens")
ms9=$(run_seconds "$build/valid9.tokens")
opennlp_speed=$(awk -v t="$tokens" -v a="$ms1" -v b="$ms9" 'BEGIN { printf "%.0f", 8 * t / ((b - a) / 1000) }')
echo "speed: $opennlp_speed tokens/s (steady state: 8 x $tokens extra tokens in $((ms9 - ms1)) ms)"

aa_f1=$(awk '/^overall/ { print $7 }' "$build/aa.txt")
aa_speed=$(awk '/^speed:/ { print $2 }' "$build/aa.txt")
onlp_f1=$(awk '/TOTAL:/ { v = $7; gsub(/[%;]/, "", v); sub(/\.$/, "", v); print v }' "$build/opennlp.txt")
aa_ww=$(awk '/^overall/ { print $7 }' "$build/aa_ww.txt")
onlp_ww=$(awk '/TOTAL:/ { v = $7; gsub(/[%;]/, "", v); sub(/\.$/, "", v); print v }' "$build/opennlp_ww.txt")
echo
echo "== summary (dev sets, entity-level F1; tokens/s on one core over valid.txt)"
printf '%-24s %10s %10s %12s %10s %10s\n' tagger "F1 valid" "F1 world" tokens/s "F1 lower" "F1 UPPER"
printf '%-24s %10s %10s %12s %10s %10s\n' article_analytics "$aa_f1" "$aa_ww" "$aa_speed" "$aa_lower" "$aa_upper"
printf '%-24s %10s %10s %12s %10s %10s\n' "OpenNLP 2.1 (maxent)" "$onlp_f1" "$onlp_ww" "$opennlp_speed" "$onlp_lower" "$onlp_upper"
echo "article_analytics with each sentence tagged alone (as aa_tag does): F1 $aa_sentences"
awk -v a="$aa_speed" -v o="$opennlp_speed" -v fa="$aa_f1" -v fo="$onlp_f1" \
	'BEGIN { printf "F1 difference: %+.2f points; speed ratio: %.1fx\n", fa - fo, a / o }'
