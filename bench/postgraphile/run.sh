#!/usr/bin/env bash
# run.sh serves PostGraphile (v4, pinned in package-lock.json; v5 needs Node 22) over a
# Promogate database, for scripts/bench.sh's phase QP: the same cabinet as Q1 (cabinet.graphql)
# over the same tables. It installs the pinned packages when node_modules is missing, then runs
# PostGraphile in the foreground until it is stopped. Not part of make test.
#
# Usage: bench/postgraphile/run.sh DATABASE_URL PORT
#
# Queries only: default mutations off, no query log; the schema is Promogate's public schema as
# it is (the smart tags in postgraphile.tags.json5 only resolve a naming collision).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ $# == 2 ]] || {
	echo "usage: $0 DATABASE_URL PORT" >&2
	exit 2
}
if [[ ! -x node_modules/.bin/postgraphile ]]; then
	npm ci --no-audit --no-fund >&2
fi
exec node_modules/.bin/postgraphile --connection "$1" --schema public --host 127.0.0.1 --port "$2" \
	--disable-default-mutations --disable-query-log --no-ignore-rbac
