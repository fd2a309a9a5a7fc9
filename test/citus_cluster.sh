#!/usr/bin/env bash
# A Citus cluster of its own for the distributed tests, sourced by
# test/sql_citus.sh:
#
#   citus_start N       start a coordinator and N workers (Citus must be
#                       installed: test/citus_build.sh), each in a data
#                       directory under a new temporary folder, on free
#                       ports of 127.0.0.1, sockets in that folder, trust
#                       authentication on those only; sets CITUS_DIR,
#                       CITUS_PORTS (coordinator first) and registers the
#                       workers with the coordinator
#   citus_add_worker    start one more node and add it (citus_add_node)
#   cq PORT [psql args] psql as postgres on a node, database aa_citus
#   citus_stop          stop every node and remove the folder
#
# Nothing here touches another cluster: the ports are checked free, the
# folder is new, and only the servers started here are stopped.
CITUS_PGBIN=${CITUS_PGBIN:-/usr/lib/postgresql/15/bin}
CITUS_DB=aa_citus
CITUS_PORTS=()

# run a server binary as the postgres user when we are root (initdb and
# postgres refuse to run as root)
citus_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# a TCP port of 127.0.0.1 that nothing listens on
citus_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			[[ " ${CITUS_PORTS[*]} " != *" $p "* ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# psql on the node at PORT, in the test database
cq() {
	local port=$1
	shift
	psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$port" -U postgres -d "$CITUS_DB" "$@"
}

# start one node and echo its port
citus_node() {
	local port name dir
	port=$(citus_free_port) || { echo "citus: no free port" >&2; return 1; }
	name=node$port
	dir=$CITUS_DIR/$name
	citus_as_pg "$CITUS_PGBIN/initdb" -D "$dir" -A trust -U postgres --no-sync -E UTF8 \
		--locale=C.UTF-8 > "$CITUS_DIR/$name.initdb.log" 2>&1 || {
		cat "$CITUS_DIR/$name.initdb.log" >&2
		return 1
	}
	cat >> "$dir/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CITUS_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
citus.max_cached_conns_per_worker = 2
citus.enable_statistics_collection = off
CONF
	# trust on 127.0.0.1 and the socket only (initdb's -A trust also
	# lists ::1, on which nothing listens)
	cat > "$dir/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
	citus_as_pg "$CITUS_PGBIN/pg_ctl" -D "$dir" -l "$CITUS_DIR/$name.log" -w -t 60 start > /dev/null || {
		tail -20 "$CITUS_DIR/$name.log" >&2
		return 1
	}
	CITUS_PORTS+=("$port")
	psql -X -q -h "$CITUS_DIR" -p "$port" -U postgres -d postgres \
		-c "CREATE DATABASE $CITUS_DB" > /dev/null &&
		cq "$port" -c "SET client_min_messages = warning; CREATE EXTENSION citus" || return 1
	CITUS_LAST_PORT=$port
}

citus_start() {
	local n=$1 i
	CITUS_DIR=$(mktemp -d /tmp/aa-citus.XXXXXX)
	chmod 755 "$CITUS_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$CITUS_DIR"
	citus_node || return 1
	cq "${CITUS_PORTS[0]}" -c "SELECT citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" > /dev/null || return 1
	for i in $(seq 1 "$n"); do
		citus_add_worker || return 1
	done
}

citus_add_worker() {
	citus_node || return 1
	cq "${CITUS_PORTS[0]}" -c "SELECT citus_add_node('127.0.0.1', $CITUS_LAST_PORT)" > /dev/null
}

citus_stop() {
	local port
	[ -n "${CITUS_DIR:-}" ] && [ -d "$CITUS_DIR" ] || return 0
	for port in "${CITUS_PORTS[@]}"; do
		citus_as_pg "$CITUS_PGBIN/pg_ctl" -D "$CITUS_DIR/node$port" -m immediate -w stop > /dev/null 2>&1
	done
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}
