#!/usr/bin/env bash
# Build and install Citus for the distributed tests (test/sql_citus.sh),
# from the source kept in ../shared/vendor/citus (see its README): the
# archive, plus a one-line patch for PostgreSQL 15.20.
#
#   bash test/citus_build.sh SHARED_DIR
#
# Exit 0 when Citus is installed, 77 (after a SKIP line) when the vendored
# source is absent, other on failure.  The build is cached in
# test/build/citus and redone only when the archive or the patch changes
# (their checksums are kept in test/build/citus/stamp); the install into
# PostgreSQL's directories is redone when citus.so is missing there or
# differs from the one built.  Citus is a test dependency only:
# article_analytics never links or ships it.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
vendor="$shared/vendor/citus"
tarball="$vendor/citus-v13.2.2.tar.gz"
patchfile="$vendor/citus-pg15.20.patch"
if [ ! -f "$tarball" ] || [ ! -f "$patchfile" ]; then
	echo "SKIP citus: $vendor (Citus source and patch) is absent"
	exit 77
fi

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "citus_build: '$*' needs root, and sudo is not available." >&2
		exit 1
	fi
}

# Debian packages Citus's configure and build need (the others it can use,
# OpenSSL, ICU, readline, zlib, are installed with PostgreSQL's headers).
PACKAGES=(libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev
	libssl-dev libxslt1-dev libicu-dev libreadline-dev zlib1g-dev libpam0g-dev)
missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing Debian packages for Citus: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
patch_abs=$(realpath "$patchfile")
build=test/build/citus
stamp="$(sha256sum "$tarball" "$patchfile" | awk '{print $1}' | tr '\n' ' ') $("$PG_CONFIG" --version)"
if [ ! -f "$build/stamp" ] || [ "$(cat "$build/stamp")" != "$stamp" ] ||
	[ ! -f "$build/src/src/backend/distributed/citus.so" ]; then
	echo "== building Citus from $tarball (about 2 minutes)"
	start=$(date +%s)
	rm -rf "$build"
	mkdir -p "$build/src"
	tar xzf "$tarball" -C "$build/src" --strip-components=1
	(cd "$build/src" && patch -s -p1 < "$patch_abs")
	(cd "$build/src" && ./configure -q PG_CONFIG="$PG_CONFIG" > ../configure.log 2>&1) ||
		{ tail -30 "$build/configure.log"; exit 1; }
	(cd "$build/src" && make -s -j"$(nproc)" > ../make.log 2>&1) ||
		{ grep -E 'error|Error' "$build/make.log" | head -30; exit 1; }
	echo "$stamp" > "$build/stamp"
	echo "   built in $(( $(date +%s) - start )) s"
fi

libdir=$("$PG_CONFIG" --pkglibdir)
if ! cmp -s "$build/src/src/backend/distributed/citus.so" "$libdir/citus.so"; then
	echo "== installing Citus into $libdir"
	(cd "$build/src" && as_root make -s install > ../install.log 2>&1) ||
		{ tail -30 "$build/install.log"; exit 1; }
fi
exit 0
