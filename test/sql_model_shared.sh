#!/usr/bin/env bash
# The entity model's memory is shared between backends, through a copy in
# $PGDATA/pg_article_analytics that every backend maps read-only (issue 8):
#  1. four backends each tag a document and stay connected; in each one's
#     /proc/<pid>/smaps the mapping of the copy is resident in full
#     (Rss >= 90% of the model), shared (Shared_Clean >= 90%), never
#     dirtied, and its proportional share (Pss) at most half the model:
#     28 MB divided between four processes, not 28 MB each.  The code
#     before this test read the model into private memory: no such mapping
#     at all, so the test fails there;
#  2. a wrong file planted under the copy's name (a valid model of another
#     header, then the right header with one byte of the body flipped) is
#     detected and replaced by the right bytes, never used: the tags are
#     the model's own;
#  3. a copy directory the server cannot write: a model whose copy does
#     not exist yet is refused with SQLSTATE 42501 and a message naming
#     the copy, a model whose copy exists still loads (nothing is written),
#     and once the directory is writable again the new model loads;
#  4. a full disk (the directory a symbolic link to a 1 MB tmpfs, when this
#     user may mount one): SQLSTATE 53100, and no temporary file is left.
# The directory is mode 0700 and no temporary file is left anywhere.
set -u
fail=0
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS article_analytics" || exit 1

datadir=$(psql -X -A -t -c "SHOW data_directory")
copies="$datadir/pg_article_analytics"
dir=$(mktemp -d /tmp/aa_model_shared.XXXXXX)
tiny="$dir/tiny"
cleanup() {
	[ -n "${bg_pids:-}" ] && kill $bg_pids 2>/dev/null
	if [ -L "$copies" ]; then rm -f "$copies"; mv "$copies.saved" "$copies"; fi
	mountpoint -q "$tiny" 2>/dev/null && umount "$tiny"
	[ -d "$copies" ] && chmod 700 "$copies"
	rm -rf "$dir"
}
trap cleanup EXIT
chmod 755 "$dir"	# the server runs as another user
cp src/model/ner_en.model "$dir/live.model"
cp src/model/ner_en.model "$dir/other.model"
# the shipped bytes with another feature-hash seed (header bytes 20-23, not
# covered by the checksum): a valid model with another header
perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, 20, 0); print $f pack("V", 987654321); close($f) or die' "$dir/other.model"
chmod 644 "$dir"/*.model
model_kb=$(( $(stat -c %s "$dir/live.model") / 1024 ))
doc="Valery Gerasimov visited Moscow on Thursday, the Interfax news agency said. Gerasimov met Russian officials in Kabul."
tags_sql="SELECT 'tags ' || string_agg(entity || '/' || type, ', ' ORDER BY start_pos) FROM aa_entities('$doc')"
tags() {	# tags MODEL_PATH: the tags of $doc with that model
	psql -X -A -t -c "SET article_analytics.ner_model = '$1'" -c "$tags_sql" 2>&1 | sed -n 's/^tags //p'
}
started=$(psql -X -A -t -c "SELECT pg_postmaster_start_time()")

# 1. Four backends, one copy.
bg_pids=""
for i in 1 2 3 4; do
	PGAPPNAME="aa_shared_$i" psql -X -q -c "SET article_analytics.ner_model = '$dir/live.model'" \
		-c "SELECT count(*) FROM aa_entities('$doc')" -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
	bg_pids="$bg_pids $!"
done
backends=""
for _ in $(seq 1 120); do
	backends=$(psql -X -A -t -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
		WHERE application_name LIKE 'aa_shared_%' AND query = 'SELECT pg_sleep(300)' AND state = 'active'")
	[ "$(echo "$backends" | wc -w)" -eq 4 ] && break
	sleep 0.5
done
[ "$(echo "$backends" | wc -w)" -eq 4 ] || { echo "FAIL: the four backends did not all tag within 60 s"; fail=1; }
copy=""
echo "model file: $model_kb kB; per backend, the mapping of its copy in $copies (kB):"
for pid in $backends; do
	read -r rss pss shared_clean private_clean private_dirty < <(awk -v pat="/pg_article_analytics/" '
		/^[0-9a-f]+-[0-9a-f]+ / { inmap = index($0, pat) > 0; next }
		inmap && $1 == "Rss:" { rss += $2 }
		inmap && $1 == "Pss:" { pss += $2 }
		inmap && $1 == "Shared_Clean:" { sc += $2 }
		inmap && $1 == "Private_Clean:" { pc += $2 }
		inmap && $1 == "Private_Dirty:" { pd += $2 }
		END { printf "%d %d %d %d %d\n", rss, pss, sc, pc, pd }' "/proc/$pid/smaps")
	anon=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$pid/status")
	echo "  pid $pid: Rss $rss, Pss $pss, Shared_Clean $shared_clean, Private_Clean $private_clean, Private_Dirty $private_dirty; backend RssAnon $anon"
	[ "$rss" -ge $((model_kb * 9 / 10)) ] || { echo "FAIL: pid $pid does not map the copy of the model (Rss $rss kB)"; fail=1; }
	[ "$shared_clean" -ge $((model_kb * 9 / 10)) ] || { echo "FAIL: pid $pid: the model is not shared (Shared_Clean $shared_clean kB)"; fail=1; }
	[ "$pss" -le $((model_kb / 2)) ] || { echo "FAIL: pid $pid: Pss of the model $pss kB > half the model"; fail=1; }
	[ "$private_dirty" -eq 0 ] || { echo "FAIL: pid $pid dirtied the model's pages"; fail=1; }
	[ -n "$copy" ] || copy=$(grep -o "$copies/[0-9a-f]*\.model" "/proc/$pid/maps" | head -1)
done
psql -X -q -A -t -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'aa_shared_%'" >/dev/null
wait $bg_pids 2>/dev/null
bg_pids=""
[ "$(stat -c %a "$copies")" = "700" ] || { echo "FAIL: $copies is not mode 0700"; fail=1; }

# 2. Wrong bytes under the copy's name.
good=$(tags "$dir/live.model")
[ -n "$good" ] || { echo "FAIL: no entities with the model"; fail=1; }
if [ -n "$copy" ]; then
	cp "$dir/other.model" "$copies/planted" && mv -f "$copies/planted" "$copy"
	got=$(tags "$dir/live.model")
	[ "$got" = "$good" ] || { echo "FAIL: with a model of another header planted as the copy: $got"; fail=1; }
	cmp -s "$copy" "$dir/live.model" || { echo "FAIL: the planted copy (another header) was not replaced"; fail=1; }
	cp "$dir/live.model" "$copies/planted"
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, 5000000, 0); print $f "\x5a\x5a\x5a\x5a"; close($f) or die' "$copies/planted"
	mv -f "$copies/planted" "$copy"
	got=$(tags "$dir/live.model")
	[ "$got" = "$good" ] || { echo "FAIL: with a corrupt body planted as the copy: $got"; fail=1; }
	cmp -s "$copy" "$dir/live.model" || { echo "FAIL: the planted copy (corrupt body) was not replaced"; fail=1; }
	echo "planted copies detected and replaced"
else
	echo "FAIL: no copy found to plant over"; fail=1
fi

# 3. A directory the server cannot write.
cp "$dir/live.model" "$dir/new.model"
perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f; seek($f, 20, 0); print $f pack("V", $$ + 1000); close($f) or die' "$dir/new.model"
chmod 644 "$dir/new.model"
chmod 500 "$copies"
out=$(psql -X -A -t 2>&1 <<SQL
SET article_analytics.ner_model = '$dir/new.model';
SELECT count(*) FROM aa_entities('$doc');
\\echo 'sqlstate_readonly' :LAST_ERROR_SQLSTATE
SQL
)
echo "$out"
echo "$out" | grep -q 'new.model": cannot create its shared copy ".*pg_article_analytics/[0-9a-f]*\.model\.tmp\.[0-9]*": Permission denied' ||
	{ echo "FAIL: an unwritable copy directory is not reported as such"; fail=1; }
echo "$out" | grep -q 'HINT:  Backends share a copy of each model in' || { echo "FAIL: no hint"; fail=1; }
[ "$(echo "$out" | sed -n 's/^sqlstate_readonly //p')" = "42501" ] || { echo "FAIL: SQLSTATE is not 42501"; fail=1; }
got=$(tags "$dir/live.model")
[ "$got" = "$good" ] || { echo "FAIL: a model whose copy exists does not load from a read-only directory"; fail=1; }
chmod 700 "$copies"
[ -n "$(tags "$dir/new.model")" ] || { echo "FAIL: the new model does not load once the directory is writable"; fail=1; }

# 4. A full disk.
mkdir "$tiny"
if mount -t tmpfs -o size=1m,mode=0700 tmpfs "$tiny" 2>/dev/null; then
	chown "$(stat -c %U "$copies")" "$tiny"
	mv "$copies" "$copies.saved" && ln -s "$tiny" "$copies"
	out=$(psql -X -A -t 2>&1 <<SQL
SET article_analytics.ner_model = '$dir/other.model';
SELECT count(*) FROM aa_entities('$doc');
\\echo 'sqlstate_full' :LAST_ERROR_SQLSTATE
SQL
)
	echo "$out"
	echo "$out" | grep -q 'other.model": cannot write its shared copy .*No space left on device' ||
		{ echo "FAIL: a full disk is not reported as such"; fail=1; }
	[ "$(echo "$out" | sed -n 's/^sqlstate_full //p')" = "53100" ] || { echo "FAIL: SQLSTATE for a full disk is not 53100"; fail=1; }
	[ -z "$(ls -A "$tiny")" ] || { echo "FAIL: files left on the full disk: $(ls -A "$tiny")"; fail=1; }
	rm -f "$copies" && mv "$copies.saved" "$copies"
	umount "$tiny"
else
	echo "full disk: not tested (this user cannot mount a tmpfs)"
fi

leftover=$(ls -A "$copies" | grep -v '^[0-9a-f]\{32\}\.model$')
[ -z "$leftover" ] || { echo "FAIL: files other than copies in $copies: $leftover"; fail=1; }
if psql -X -A -t -c "SELECT 1" >/dev/null 2>&1; then
	[ "$(psql -X -A -t -c "SELECT pg_postmaster_start_time()")" = "$started" ] ||
		{ echo "FAIL: the server restarted"; fail=1; }
else
	echo "FAIL: the server is down"; fail=1
fi
echo "copies now: $(ls "$copies" | tr '\n' ' ')"
exit $fail
