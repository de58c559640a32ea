#!/usr/bin/env bash
# run.sh serves Promogate locally with demo data; `make run` builds and then
# calls it.
#
# Usage: scripts/run.sh [EXTRA SERVE FLAGS...]
#
# If DATABASE_URL is unset, the private development cluster (.data/pg, port
# PROMOGATE_PG_PORT or 25432) is started with scripts/pgcluster.sh, the
# database "promogate" is created in it if missing, and DATABASE_URL points at
# it. Data survives between runs. Then it execs
#   bin/promogate serve --listen $PROMOGATE_LISTEN --migrate --demo \
#     --plugins-dir bin/plugins [EXTRA SERVE FLAGS...]
# with PROMOGATE_LISTEN defaulting to 127.0.0.1:8080.
#
# An admin API key is kept in .data/dev-admin-key (or taken from
# PROMOGATE_BOOTSTRAP_ADMIN_KEY) and printed; introspection is on for the
# explorer unless PROMOGATE_INTROSPECTION says otherwise. For local
# development only, it also trusts member tokens signed with a key pair kept
# in .data (scripts/dev-jwt.sh; `make member-token REF=…` prints one) and lets
# pages on http://localhost:*, http://127.0.0.1:* and http://[::1]:* (any port)
# call the API (PROMOGATE_CORS_ORIGINS, when set, replaces that list).
#
# PROMOGATE_DEV_DIR (default .data) holds the development key files,
# PROMOGATE_BIN (default bin/promogate) is the binary and PROMOGATE_PLUGINS_DIR
# (default bin/plugins) the plugins registered at start.
#
# Exit code: 1 if the binary is missing or the cluster cannot be prepared,
# else that of the server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

note() {
	printf 'scripts/run.sh: %s\n' "$*" >&2
}

die() {
	note "error: $*"
	exit 1
}

bin=${PROMOGATE_BIN:-bin/promogate}
dev=${PROMOGATE_DEV_DIR:-.data}
[[ -x $bin ]] || die "$bin is missing; build it with 'make build' (or use 'make run')"

# find_psql prints the psql that matches the cluster's binaries.
find_psql() {
	local d
	d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n ${PROMOGATE_PG_BIN:-} && -x $PROMOGATE_PG_BIN/psql ]]; then
		printf '%s\n' "$PROMOGATE_PG_BIN/psql"
	elif [[ -n $d && -x $d/psql ]]; then
		printf '%s\n' "$d/psql"
	elif command -v psql >/dev/null 2>&1; then
		command -v psql
	else
		die "psql not found; install the PostgreSQL client (Debian: apt-get install postgresql-client)"
	fi
}

if [[ -z ${DATABASE_URL:-} ]]; then
	scripts/pgcluster.sh start
	admin=$(scripts/pgcluster.sh url)
	psql=$(find_psql)
	exists=$("$psql" "$admin" -XAtq -c "select 1 from pg_database where datname = 'promogate'")
	if [[ $exists != 1 ]]; then
		note "creating database promogate"
		"$psql" "$admin" -Xq -v ON_ERROR_STOP=1 -c 'create database promogate'
	fi
	DATABASE_URL=${admin/\/postgres\?/\/promogate?}
	export DATABASE_URL
	note "DATABASE_URL=$DATABASE_URL (private cluster; 'make pg-stop' stops it)"
fi

# An admin API key for local use: kept in .data/dev-admin-key (created on the
# first run) unless PROMOGATE_BOOTSTRAP_ADMIN_KEY is set, stored hashed by the
# server at start, and printed here to paste into the explorer's Headers pane.
if [[ -z ${PROMOGATE_BOOTSTRAP_ADMIN_KEY:-} ]]; then
	mkdir -p "$dev"
	if [[ ! -s $dev/dev-admin-key ]]; then
		(umask 077 && "$bin" apikey generate >"$dev/dev-admin-key")
	fi
	PROMOGATE_BOOTSTRAP_ADMIN_KEY=$(<"$dev/dev-admin-key")
	export PROMOGATE_BOOTSTRAP_ADMIN_KEY
fi
# Local development only: member tokens signed with the key pair in .data
# (`make member-token REF=demo-anna` prints one), unless JWT settings are given.
# shellcheck source=scripts/dev-jwt.sh
source scripts/dev-jwt.sh
# Local development only: pages served by development servers on this machine
# (http://localhost:3000, Vite's :5173, …) may call the API and open
# subscriptions. The port wildcard is accepted for loopback hosts only.
export PROMOGATE_CORS_ORIGINS=${PROMOGATE_CORS_ORIGINS-http://localhost:*,http://127.0.0.1:*,http://[::1]:*}
# The explorer needs introspection, which is off by default.
export PROMOGATE_INTROSPECTION=${PROMOGATE_INTROSPECTION:-true}
# Local development only: anonymous callers on 127.0.0.1 may read like a frontend, so
# `curl` and the explorer work without a key. A deployment leaves this unset (no anonymous
# access beyond the explorer and health endpoints); set it to "" here to try that.
export PROMOGATE_ANONYMOUS_ROLES=${PROMOGATE_ANONYMOUS_ROLES-frontend}

listen=${PROMOGATE_LISTEN:-127.0.0.1:8080}
note "serving on http://$listen/ (the explorer) and http://$listen/console (the marketing console: sign in with the key below)"
note "admin API key (explorer Headers: {\"Authorization\": \"Bearer <key>\"}): $PROMOGATE_BOOTSTRAP_ADMIN_KEY"
if [[ -n ${PROMOGATE_JWT_SIGNING_KEY:-} ]]; then
	note "member token for development: make member-token REF=demo-anna"
fi
note "CORS origins: $PROMOGATE_CORS_ORIGINS"
exec "$bin" serve --listen "$listen" --migrate --demo --plugins-dir "${PROMOGATE_PLUGINS_DIR:-bin/plugins}" "$@"
