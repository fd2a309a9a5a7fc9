#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster of its own:
# pg_virtualenv creates it in a temporary folder on a free port (never a
# cluster the user already runs), sets PGHOST, PGPORT, PGUSER and
# PGPASSWORD for the command, and drops the cluster when it exits.
# Extra server settings can be passed in AA_CLUSTER_OPTS as -o guc=value.
set -euo pipefail
export PGVERSION=15
# shellcheck disable=SC2086
exec pg_virtualenv -t -v 15 ${AA_CLUSTER_OPTS:-} "$@"
