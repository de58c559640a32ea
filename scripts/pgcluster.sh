#!/usr/bin/env bash
# pgcluster.sh manages a private PostgreSQL cluster for Promogate development
# and tests. It never touches a system PostgreSQL server.
#
# Usage: scripts/pgcluster.sh COMMAND [DIR]
#
# Commands:
#   start    initialise DIR if it is empty, then start the cluster (does
#            nothing when it is already running; data survives restarts)
#   stop     stop the cluster (does nothing when it is not running)
#   status   print whether the cluster runs; exit 0 if it runs, 3 if not
#   url      print the admin connection URL:
#              postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   destroy  stop the cluster and delete its data directory
#
# DIR defaults to .data/pg under the repository root; a relative DIR is taken
# from the current directory.
#
# Environment:
#   PROMOGATE_PG_PORT  TCP port on 127.0.0.1 (default 25432). "url" prefers the
#                      port of the running cluster, then this variable, then
#                      the port the cluster was last started on.
#   PROMOGATE_PG_FAST  1 = fsync, synchronous_commit and full_page_writes off
#                      (for throwaway test clusters; data may be lost on a
#                      crash). Applied on every start.
#   PROMOGATE_PG_BIN   directory holding initdb/pg_ctl/postgres (default: the
#                      newest /usr/lib/postgresql/*/bin, else pg_config --bindir,
#                      else initdb on PATH).
#
# PostgreSQL refuses to run as root. When this script runs as root, the
# cluster runs as the "postgres" OS user and DIR is owned by it. If that user
# cannot reach DIR (for example the repository lives under /root), the cluster
# goes to /var/tmp/promogate-pg-NAME-HASH instead, and the script says so.
#
# Exit codes: 0 success, 1 error, 2 usage error, 3 "status": not running.
set -euo pipefail

PROG=scripts/pgcluster.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEFAULT_PORT=25432

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

note() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# find_bindir prints the directory holding the PostgreSQL server binaries.
find_bindir() {
	local d=
	if [[ -n ${PROMOGATE_PG_BIN:-} ]]; then
		[[ -x $PROMOGATE_PG_BIN/initdb && -x $PROMOGATE_PG_BIN/pg_ctl ]] ||
			die "PROMOGATE_PG_BIN=$PROMOGATE_PG_BIN has no initdb/pg_ctl"
		printf '%s\n' "$PROMOGATE_PG_BIN"
		return
	fi
	d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n $d && -x $d/initdb ]]; then
		printf '%s\n' "$d"
		return
	fi
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [[ -n $d && -x $d/initdb ]]; then
			printf '%s\n' "$d"
			return
		fi
	fi
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install them (Debian: apt-get install postgresql) or set PROMOGATE_PG_BIN"
}

# valid_port reports whether $1 is a usable TCP port number.
valid_port() {
	[[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

# port_in_use reports whether something accepts TCP connections on
# 127.0.0.1:$1.
port_in_use() {
	# shellcheck disable=SC2016 # $1 expands in the inner shell.
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# write_file writes stdin to $1, owned by the cluster's OS user.
write_file() {
	cat >"$1"
	if ((EUID == 0)); then
		chown postgres:postgres "$1"
	fi
}

# fallback_dir prints the data directory used as root when the postgres user
# cannot reach $1.
fallback_dir() {
	local base=/var/tmp hash
	[[ -d $base && -w $base ]] || base=/tmp
	hash=$(printf '%s' "$1" | sha256sum | cut -c1-12)
	printf '%s/promogate-pg-%s-%s\n' "$base" "$(basename "$1")" "$hash"
}

# pg_usable reports whether the cluster's OS user can create files in $1.
pg_usable() {
	as_pg test -d "$1" -a -w "$1" -a -x "$1" 2>/dev/null
}

# is_running reports whether a postmaster serves the data directory $DIR.
is_running() {
	[[ -f $DIR/PG_VERSION ]] && as_pg "$BIN/pg_ctl" status -D "$DIR" >/dev/null 2>&1
}

# running_pid prints the postmaster's pid from postmaster.pid.
running_pid() {
	sed -n 1p "$DIR/postmaster.pid" 2>/dev/null || true
}

# running_port prints the port of the running postmaster from postmaster.pid.
running_port() {
	sed -n 4p "$DIR/postmaster.pid" 2>/dev/null || true
}

# conf_port prints the port the cluster was last started on, if recorded.
conf_port() {
	sed -n 's/^port = \([0-9][0-9]*\).*/\1/p' "$DIR/promogate.conf" 2>/dev/null | tail -n 1 || true
}

# pick_existing_dir sets DIR to the fallback directory when, as root, the
# cluster lives there rather than in the requested place.
pick_existing_dir() {
	local fb
	((EUID == 0)) || return 0
	[[ -f $DIR/PG_VERSION ]] && return 0
	fb=$(fallback_dir "$DIR")
	if [[ -f $fb/PG_VERSION ]]; then
		DIR=$fb
	fi
	return 0
}

# prepare_dir creates $DIR for a new cluster, owned by the cluster's OS user,
# falling back to a directory under /var/tmp when, as root, the postgres user
# cannot reach it.
prepare_dir() {
	local d created=() i
	if ((EUID != 0)); then
		mkdir -p -- "$DIR" || die "cannot create $DIR"
		chmod 700 "$DIR"
		return
	fi
	d=$DIR
	while [[ ! -e $d ]]; do
		created+=("$d")
		d=$(dirname "$d")
	done
	mkdir -p -- "$DIR"
	# Directories this script created must be traversable by postgres.
	for ((i = ${#created[@]} - 1; i > 0; i--)); do
		chmod 755 "${created[i]}"
	done
	if [[ -z $(ls -A "$DIR") ]]; then
		chown postgres:postgres "$DIR"
		chmod 700 "$DIR"
	fi
	if pg_usable "$DIR"; then
		return
	fi
	# postgres cannot reach DIR: undo what was created and fall back.
	for d in "${created[@]}"; do
		rmdir "$d" 2>/dev/null || break
	done
	local fb
	fb=$(fallback_dir "$DIR")
	note "the postgres user cannot reach $DIR (a parent directory is not traversable by it, or it is owned by another user); using $fb instead"
	DIR=$fb
	mkdir -p -- "$DIR"
	if [[ -z $(ls -A "$DIR") ]]; then
		chown postgres:postgres "$DIR"
		chmod 700 "$DIR"
	fi
	pg_usable "$DIR" || die "the postgres user cannot use $DIR either"
}

# lock serialises start/stop/destroy on one data directory.
lock() {
	command -v flock >/dev/null 2>&1 || return 0
	local f=$DIR.lock
	exec 9>>"$f" || return 0
	flock -w 120 9 || die "timed out waiting for another $PROG on $DIR (lock $f)"
}

cmd_start() {
	local port=${PROMOGATE_PG_PORT:-$DEFAULT_PORT}
	valid_port "$port" || die "PROMOGATE_PG_PORT=$port is not a valid port"
	pick_existing_dir
	if ((EUID != 0)) && [[ -e $DIR && ! -O $DIR ]]; then
		die "$DIR belongs to $(stat -c %U "$DIR"), not to $(id -un); run this script as $(stat -c %U "$DIR") (or as root if that is postgres), or pass another DIR"
	fi
	if [[ ! -f $DIR/PG_VERSION ]]; then
		if [[ -d $DIR && -n $(ls -A "$DIR") ]]; then
			die "$DIR is not empty and is not a PostgreSQL data directory; remove it or choose another DIR"
		fi
		prepare_dir
	fi
	lock

	if is_running; then
		local rport
		rport=$(running_port)
		note "already running in $DIR (pid $(running_pid), port $rport)"
		if [[ -n ${PROMOGATE_PG_PORT:-} && $rport != "$port" ]]; then
			note "warning: PROMOGATE_PG_PORT=$port but the running cluster listens on $rport; stop it first to change the port"
		fi
		return 0
	fi

	local bin_major
	bin_major=$("$BIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\.[0-9].*/\1/p')

	if [[ ! -f $DIR/PG_VERSION ]]; then
		if [[ -n $(ls -A "$DIR") ]]; then
			die "$DIR is not empty and is not a PostgreSQL data directory; remove it or choose another DIR"
		fi
		local out initdb_args=(-D "$DIR" --auth=trust -U postgres --encoding=UTF8 --locale=C)
		[[ ${PROMOGATE_PG_FAST:-} == 1 ]] && initdb_args+=(--no-sync)
		note "initialising a new PostgreSQL $bin_major cluster in $DIR"
		if ! out=$(as_pg "$BIN/initdb" "${initdb_args[@]}" 2>&1); then
			printf '%s\n' "$out" >&2
			die "initdb failed for $DIR"
		fi
		printf "\n# Promogate settings, rewritten by %s on every start.\ninclude_if_exists = 'promogate.conf'\n" "$PROG" >>"$DIR/postgresql.conf"
	else
		local data_major
		data_major=$(<"$DIR/PG_VERSION")
		if [[ -n $bin_major && $data_major != "$bin_major" ]]; then
			die "$DIR holds a PostgreSQL $data_major cluster but the binaries in $BIN are PostgreSQL $bin_major; remove the directory ($PROG destroy $DIR) or set PROMOGATE_PG_BIN"
		fi
		if ((EUID == 0)) && [[ $(stat -c %U "$DIR") != postgres ]]; then
			die "$DIR is owned by $(stat -c %U "$DIR"), but as root the cluster runs as postgres; run this script as $(stat -c %U "$DIR"), or chown -R postgres:postgres $DIR"
		fi
		grep -q "include_if_exists = 'promogate.conf'" "$DIR/postgresql.conf" ||
			printf "\ninclude_if_exists = 'promogate.conf'\n" >>"$DIR/postgresql.conf"
	fi

	if port_in_use "$port"; then
		die "port $port on 127.0.0.1 is already in use by another program; choose a free port, e.g. PROMOGATE_PG_PORT=$((port + 10)) $PROG start${1:+ $1}"
	fi

	# A Unix socket path is limited to 107 bytes; without room, TCP only.
	local sockdir=$DIR
	if ((${#DIR} + ${#port} + 10 > 107)); then
		note "data directory path too long for a Unix socket; listening on TCP only"
		sockdir=
	fi
	{
		printf '# Written by %s on every start; edit the script, not this file.\n' "$PROG"
		printf "listen_addresses = '127.0.0.1'\n"
		printf 'port = %s\n' "$port"
		printf 'max_connections = 300\n'
		printf "unix_socket_directories = '%s'\n" "${sockdir//\'/\'\'}"
		printf "timezone = 'UTC'\n"
		if [[ ${PROMOGATE_PG_FAST:-} == 1 ]]; then
			printf '# PROMOGATE_PG_FAST=1: a crash may lose or corrupt data.\n'
			printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
		fi
	} | write_file "$DIR/promogate.conf"

	local log=$DIR/postgres.log
	if [[ -f $log ]] && (($(stat -c %s "$log") > 10 * 1024 * 1024)); then
		mv -f "$log" "$log.old"
	fi
	# A port in Linux's ephemeral range (32768-60999; the defaults are below it)
	# may be held in TIME_WAIT by an outgoing connection for up to 60 s;
	# PostgreSQL cannot bind it until then. Retry a failed bind for up to 75 s
	# unless a listener owns the port.
	local before waited=0 deadline=$((SECONDS + 75))
	while :; do
		before=0
		[[ -f $log ]] && before=$(wc -l <"$log")
		if as_pg "$BIN/pg_ctl" start -w -t 60 -s -D "$DIR" -l "$log" >/dev/null 2>&1; then
			break
		fi
		local bindfail=0
		grep -qs 'could not bind\|Address already in use' <(tail -n "+$((before + 1))" "$log" 2>/dev/null) && bindfail=1
		if ((bindfail && SECONDS < deadline)) && ! port_in_use "$port"; then
			if ((!waited)); then
				note "port $port is held by a closed connection (TIME_WAIT); waiting up to 75 s for it to be released"
				waited=1
			fi
			sleep 3
			continue
		fi
		note "PostgreSQL failed to start; the end of $log:"
		tail -n "+$((before + 1))" "$log" 2>/dev/null | tail -n 20 >&2 || true
		if ((bindfail)); then
			die "port $port is in use by another program; choose a free port with PROMOGATE_PG_PORT (one below 32768 avoids the ephemeral range)"
		fi
		die "could not start PostgreSQL in $DIR"
	done
	local mode=
	[[ ${PROMOGATE_PG_FAST:-} == 1 ]] && mode=' (fast: fsync off)'
	note "PostgreSQL $bin_major running in $DIR on 127.0.0.1:$port$mode"
}

cmd_stop() {
	pick_existing_dir
	if [[ ! -f $DIR/PG_VERSION ]]; then
		note "no cluster in $DIR"
		return 0
	fi
	lock
	if ! is_running; then
		note "not running ($DIR)"
		return 0
	fi
	as_pg "$BIN/pg_ctl" stop -w -t 60 -s -m fast -D "$DIR" || die "could not stop PostgreSQL in $DIR"
	note "stopped ($DIR)"
}

cmd_status() {
	pick_existing_dir
	if [[ ! -f $DIR/PG_VERSION ]]; then
		printf 'not initialised: %s\n' "$DIR"
		return 3
	fi
	if is_running; then
		printf 'running: pid %s, port %s, data %s\n' "$(running_pid)" "$(running_port)" "$DIR"
		return 0
	fi
	printf 'stopped: %s\n' "$DIR"
	return 3
}

cmd_url() {
	local port=
	pick_existing_dir
	if is_running; then
		port=$(running_port)
	fi
	[[ -n $port ]] || port=${PROMOGATE_PG_PORT:-}
	[[ -n $port ]] || port=$(conf_port)
	[[ -n $port ]] || port=$DEFAULT_PORT
	valid_port "$port" || die "invalid port $port"
	printf 'postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable\n' "$port"
}

cmd_destroy() {
	pick_existing_dir
	if [[ ! -e $DIR ]]; then
		note "nothing to destroy ($DIR does not exist)"
		return 0
	fi
	if [[ ! -f $DIR/PG_VERSION && -n $(ls -A "$DIR") ]]; then
		die "$DIR is not a PostgreSQL data directory; not deleting it"
	fi
	lock
	if is_running; then
		as_pg "$BIN/pg_ctl" stop -w -t 60 -s -m fast -D "$DIR" || die "could not stop PostgreSQL in $DIR"
	fi
	rm -rf -- "$DIR"
	rm -f -- "$DIR.lock"
	note "deleted $DIR"
}

main() {
	[[ $# -ge 1 && $# -le 2 ]] || usage
	local cmd=$1 raw=${2:-$ROOT/.data/pg}
	case $cmd in
	start | stop | status | url | destroy) ;;
	-h | --help | help) usage ;;
	*)
		printf '%s: unknown command %q\n' "$PROG" "$cmd" >&2
		usage
		;;
	esac

	[[ $raw == /* ]] || raw=$PWD/$raw
	DIR=$(realpath -m -- "$raw")
	[[ $DIR != / ]] || die "refusing to use / as a data directory"

	if ((EUID == 0)); then
		id -u postgres >/dev/null 2>&1 ||
			die "running as root, but PostgreSQL refuses to run as root and there is no 'postgres' OS user to run it as; create one (useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres) or run as an unprivileged user"
		if command -v runuser >/dev/null 2>&1; then
			as_pg() { (cd / && runuser -u postgres -- "$@" 9>&-); }
		else
			as_pg() { (cd / && su -s /bin/sh postgres -c "$(printf '%q ' "$@")" 9>&-); }
		fi
	else
		# fd 9 holds the lock; the postmaster must not inherit it.
		as_pg() { "$@" 9>&-; }
	fi

	if [[ $cmd != url ]]; then
		BIN=$(find_bindir)
	else
		# "url" works without binaries when the cluster is not running.
		BIN=$(find_bindir 2>/dev/null || echo /nonexistent)
	fi

	"cmd_$cmd" "$raw"
}

main "$@"
