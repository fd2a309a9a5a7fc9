#!/usr/bin/env bash
# Set-up shared by make demo, make test and make bench on Debian 12:
# install the Debian packages the build and the tests need (only those that
# are missing), then build and install the extension.  Safe to run again.
#
# Installing packages and the extension needs root.  As root it just runs;
# otherwise it uses sudo when sudo is there, and says plainly what to do
# when it is not.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	build-essential clang pkg-config
	postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-common
	libstemmer-dev libxxhash-dev libicu-dev
	postgresql-15-cron postgresql-client-15 libpostgresql-jdbc-java openjdk-17-jdk-headless
)
# make eval adds OpenNLP (AA_EXTRA_PACKAGES=opennlp).
# shellcheck disable=SC2206
PACKAGES+=(${AA_EXTRA_PACKAGES:-})

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "article_analytics: '$*' needs root, and sudo is not available." >&2
		echo "Run this command as root, or install sudo." >&2
		exit 1
	fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Optional packages a target asks for (make eval: opennlp): installed when
# missing, but a failure only says so, since the target can go on without.
extra=()
for pkg in ${AA_EXTRA_PACKAGES:-}; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		extra+=("$pkg")
	fi
done
if [ ${#extra[@]} -gt 0 ]; then
	echo "== installing optional Debian packages: ${extra[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! (as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${extra[@]}" >/dev/null); then
		echo "article_analytics: could not install ${extra[*]} (apt-get install ${extra[*]} as root); going on without" >&2
	fi
fi
# AA_SETUP_PACKAGES_ONLY=1: packages only, no build or install of the
# extension (make eval needs no server).
if [ "${AA_SETUP_PACKAGES_ONLY:-}" = 1 ]; then
	exit 0
fi

export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
echo "== building article_analytics against $("$PG_CONFIG" --version)"
make -s PG_CONFIG="$PG_CONFIG" AA_WERROR="${AA_WERROR:-}" all
as_root make -s PG_CONFIG="$PG_CONFIG" install
