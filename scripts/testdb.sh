#!/usr/bin/env bash
# Private MariaDB and PostgreSQL servers for the storage tests.
#
#   scripts/testdb.sh start DIR   install the servers if missing (apt-get, as
#                                 root), start both into DIR, write DIR/env
#   scripts/testdb.sh env DIR     print DIR/env: eval "$(scripts/testdb.sh env DIR)"
#   scripts/testdb.sh stop DIR    stop the servers started into DIR, remove DIR
#
# Nothing of the system's own MariaDB or PostgreSQL is used or touched: the
# servers run from data directories in DIR, listen on 127.0.0.1 on free ports
# and on sockets in DIR, and are stopped by pid (read from DIR). DIR/env
# exports DIEGO_TEST_MYSQL_DSN (root, no database) and DIEGO_TEST_POSTGRES_DSN
# (user postgres, trust auth), read by internal/sqldb/sqltest, plus the ports,
# sockets and pids. scripts/with-testdbs.sh wraps start/stop around a command.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
START_TIMEOUT=${DIEGO_TESTDB_START_TIMEOUT:-90} # seconds per server
# MariaDB sizes (the small defaults suit tests; benchmarks at scale want
# e.g. DIEGO_TESTDB_MYSQL_BUFFER_POOL=4G DIEGO_TESTDB_MYSQL_LOG_FILE_SIZE=512M).
MYSQL_BUFFER_POOL=${DIEGO_TESTDB_MYSQL_BUFFER_POOL:-64M}
MYSQL_LOG_FILE_SIZE=${DIEGO_TESTDB_MYSQL_LOG_FILE_SIZE:-16M}
MARKER=.diego-testdb

log() { echo "testdb: $*" >&2; }
die() {
	log "$*"
	exit 1
}
usage() { die "usage: $0 start|stop|env DIR"; }

pg_bindir() { # newest installed PostgreSQL's bin directory, or nothing
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; fi
}

# ensure_installed installs the Debian packages whose binaries are missing.
# A policy-rc.d stops the packages from starting their system services.
ensure_installed() {
	local pkgs=()
	if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null ||
		! command -v mariadb >/dev/null; then
		pkgs+=(mariadb-server mariadb-client)
	fi
	if [ -z "$(pg_bindir)" ] || ! command -v psql >/dev/null; then
		pkgs+=(postgresql)
	fi
	[ ${#pkgs[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing ${pkgs[*]}; run as root to install them, or install them yourself"
	log "installing ${pkgs[*]} (apt-get)"
	local policy=/usr/sbin/policy-rc.d created=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# written by diego scripts/testdb.sh during apt-get install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created=$policy
	fi
	local out rc=0
	out=$(mktemp)
	{
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$out" 2>&1 ||
			{ apt-get update -q >>"$out" 2>&1 && apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$out" 2>&1; }
	} || rc=$?
	if [ -n "$created" ]; then rm -f "$created"; fi
	if [ $rc -ne 0 ]; then
		tail -n 30 "$out" >&2
		rm -f "$out"
		die "apt-get install ${pkgs[*]} failed"
	fi
	rm -f "$out"
	[ -n "$(pg_bindir)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
	local p i
	for i in $(seq 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# ours PID: the process is alive and was started on a data directory in $DIR.
ours() { alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"; }

# as_pg CMD...: PostgreSQL refuses to run as root, so root runs it as the
# postgres OS user (created by Debian's postgresql package).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------- MariaDB

mariadb_conf() { # mariadb_conf PORT
	local user=""
	if [ "$(id -u)" -eq 0 ]; then user="user=root"; fi
	cat >"$DIR/mariadb.cnf" <<EOF
# Private test instance written by scripts/testdb.sh.
[mysqld]
$user
datadir=$DIR/mariadb
socket=$DIR/mariadb.sock
pid-file=$DIR/mariadb/mariadbd.pid
log-error=$DIR/mariadb.log
port=$1
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_connections=1000
performance_schema=OFF
innodb_buffer_pool_size=$MYSQL_BUFFER_POOL
innodb_log_file_size=$MYSQL_LOG_FILE_SIZE
innodb_data_file_path=ibdata1:12M:autoextend
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=OFF
EOF
}

start_mariadb() {
	log "initializing MariaDB in $DIR/mariadb"
	mariadb_conf 0
	mariadb-install-db --defaults-file="$DIR/mariadb.cnf" --auth-root-authentication-method=normal \
		--skip-test-db >"$DIR/mariadb-install.log" 2>&1 ||
		{
			tail -n 30 "$DIR/mariadb-install.log" >&2
			die "mariadb-install-db failed"
		}
	local attempt port pid deadline
	for attempt in 1 2 3; do
		port=$(pick_port)
		mariadb_conf "$port"
		setsid mariadbd --defaults-file="$DIR/mariadb.cnf" </dev/null >>"$DIR/mariadb.out" 2>&1 &
		pid=$!
		echo "$pid" >"$DIR/mariadb.started.pid"
		deadline=$((SECONDS + START_TIMEOUT))
		while alive "$pid" && [ $SECONDS -lt $deadline ]; do
			if mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u root \
				-e 'SELECT 1' >/dev/null 2>&1; then
				MYSQL_PORT=$port MYSQL_PID=$pid
				log "MariaDB ready on 127.0.0.1:$port (pid $pid)"
				return 0
			fi
			sleep 0.1 # poll interval
		done
		if alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			tail -n 30 "$DIR/mariadb.log" >&2 || true
			die "MariaDB did not accept connections within ${START_TIMEOUT}s (logs in $DIR)"
		fi
		wait "$pid" 2>/dev/null || true
		rm -f "$DIR/mariadb.started.pid"
		if grep -qiE 'address already in use|bind on tcp/ip port' "$DIR/mariadb.log" 2>/dev/null; then
			log "port $port was taken, trying another"
			continue
		fi
		tail -n 30 "$DIR/mariadb.log" >&2 || true
		die "MariaDB exited during start (logs in $DIR)"
	done
	die "MariaDB could not bind a free port"
}

# ---------------------------------------------------------------- PostgreSQL

start_postgres() {
	local bin
	bin=$(pg_bindir)
	log "initializing PostgreSQL ($bin) in $DIR/pg"
	mkdir -p "$DIR/pg" "$DIR/pg-run"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR/pg" "$DIR/pg-run"; fi
	as_pg test -x "$DIR" || die "$DIR (or a parent) is not searchable by the postgres user"
	as_pg "$bin/initdb" -D "$DIR/pg" -U postgres -A trust -E UTF8 --no-locale -N \
		>"$DIR/pg-initdb.log" 2>&1 ||
		{
			tail -n 30 "$DIR/pg-initdb.log" >&2
			die "initdb failed"
		}
	as_pg tee -a "$DIR/pg/postgresql.conf" >/dev/null <<EOF
# Private test instance written by scripts/testdb.sh.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/pg-run'
max_connections = 500
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
deadlock_timeout = 100ms
logging_collector = off
EOF
	local attempt port pid deadline
	for attempt in 1 2 3; do
		port=$(pick_port)
		rm -f "$DIR/pg-run/postgres.log"
		as_pg setsid "$bin/pg_ctl" -D "$DIR/pg" -l "$DIR/pg-run/postgres.log" -o "-p $port" -W start \
			>"$DIR/pg-ctl.log" 2>&1 || {
			cat "$DIR/pg-ctl.log" >&2
			die "pg_ctl start failed"
		}
		deadline=$((SECONDS + START_TIMEOUT))
		pid=""
		while [ $SECONDS -lt $deadline ]; do
			if [ -z "$pid" ] && [ -s "$DIR/pg/postmaster.pid" ]; then
				pid=$(head -n 1 "$DIR/pg/postmaster.pid")
				echo "$pid" >"$DIR/pg.started.pid"
			fi
			if [ -n "$pid" ] && ! alive "$pid"; then break; fi
			if [ -z "$pid" ] && grep -qiE 'could not (create|bind)|FATAL' "$DIR/pg-run/postgres.log" 2>/dev/null; then break; fi
			if "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'SELECT 1' \
				>/dev/null 2>&1; then
				if [ -z "$pid" ]; then pid=$(head -n 1 "$DIR/pg/postmaster.pid"); fi
				echo "$pid" >"$DIR/pg.started.pid"
				PG_PORT=$port PG_PID=$pid
				log "PostgreSQL ready on 127.0.0.1:$port (pid $pid)"
				return 0
			fi
			sleep 0.1 # poll interval
		done
		if alive "$pid"; then
			kill -INT "$pid" 2>/dev/null || true
			tail -n 30 "$DIR/pg-run/postgres.log" >&2 || true
			die "PostgreSQL did not accept connections within ${START_TIMEOUT}s (logs in $DIR)"
		fi
		rm -f "$DIR/pg.started.pid"
		if grep -qiE 'could not bind|address already in use' "$DIR/pg-run/postgres.log" 2>/dev/null; then
			log "port $port was taken, trying another"
			continue
		fi
		tail -n 30 "$DIR/pg-run/postgres.log" >&2 || true
		die "PostgreSQL exited during start (logs in $DIR)"
	done
	die "PostgreSQL could not bind a free port"
}

# ---------------------------------------------------------------- commands

# stop_pid NAME PIDFILE SIGNAL: signal the server we started, wait for it.
stop_pid() {
	local name=$1 file=$2 sig=$3 pid deadline
	[ -s "$file" ] || return 0
	pid=$(cat "$file")
	if ! ours "$pid"; then
		rm -f "$file"
		return 0
	fi
	kill "-$sig" "$pid" 2>/dev/null || true
	deadline=$((SECONDS + 30))
	while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
	if alive "$pid"; then
		log "$name (pid $pid) ignored SIG$sig for 30s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		while alive "$pid"; do sleep 0.1; done
	fi
	rm -f "$file"
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	[ -e "$DIR/$MARKER" ] || die "$DIR was not made by $0 start; not touching it"
	stop_pid MariaDB "$DIR/mariadb.started.pid" TERM
	stop_pid PostgreSQL "$DIR/pg.started.pid" INT # fast shutdown
	rm -rf "$DIR"
}

write_env() {
	cat >"$DIR/env.tmp" <<EOF
export DIEGO_TESTDB_DIR='$DIR'
export DIEGO_TEST_MYSQL_DSN='root@tcp(127.0.0.1:$MYSQL_PORT)/'
export DIEGO_TEST_MYSQL_PORT=$MYSQL_PORT
export DIEGO_TEST_MYSQL_SOCKET='$DIR/mariadb.sock'
export DIEGO_TEST_MYSQL_PID=$MYSQL_PID
export DIEGO_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'
export DIEGO_TEST_POSTGRES_PORT=$PG_PORT
export DIEGO_TEST_POSTGRES_SOCKET_DIR='$DIR/pg-run'
export DIEGO_TEST_POSTGRES_PID=$PG_PID
EOF
	mv "$DIR/env.tmp" "$DIR/env"
}

cmd_start() {
	if [ -e "$DIR/$MARKER" ]; then die "$DIR is in use; run: $0 stop $DIR"; fi
	if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then die "$DIR is not empty"; fi
	ensure_installed
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	touch "$DIR/$MARKER"
	# From here on a failure (die or set -e) stops what this run started.
	trap 'rc=$?; if [ $rc -ne 0 ]; then stop_pid MariaDB "$DIR/mariadb.started.pid" TERM; stop_pid PostgreSQL "$DIR/pg.started.pid" INT; log "start failed; logs in $DIR, remove with: $0 stop $DIR"; fi' EXIT
	start_mariadb
	start_postgres
	write_env
}

[ $# -eq 2 ] || usage
cmd=$1
case "$2" in
/*) DIR=${2%/} ;;
*) DIR=$(pwd)/${2%/} ;;
esac
[ -n "$DIR" ] && [ "$DIR" != "/" ] || die "refusing DIR $2"

case "$cmd" in
start) cmd_start ;;
stop) cmd_stop ;;
env)
	[ -s "$DIR/env" ] || die "no $DIR/env; run: $0 start $DIR"
	cat "$DIR/env"
	;;
*) usage ;;
esac
