#!/usr/bin/env bash
# test.sh runs Promogate's checks: go vet ./... then go test ./... against a
# PostgreSQL server, in the core module and in every nested Go module (the plugin
# SDK in plugins/sdk has its own go.mod, which the core's ./... does not reach).
#
# Usage: scripts/test.sh [GO TEST ARGS...]   e.g. -race, -run TestFoo, -v
#
# The database comes from TEST_DATABASE_URL if set, else DATABASE_URL, else a
# private cluster in .data/pg-test on port 25433 (PROMOGATE_PG_TEST_PORT
# overrides), started with PROMOGATE_PG_FAST=1 and stopped again at the end if
# this script started it. TEST_DATABASE_URL is exported as an admin URL: test
# packages create their own throwaway databases from it.
#
# Extra arguments go to go test only. If one of them looks like a package
# pattern (./x, ../x, x/...), the arguments replace the default ./... of every
# module; a pattern inside a nested module (./plugins/sdk/...) runs in that module.
#
# Exit code: that of go vet if it fails, else that of the last failing go test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

note() {
	printf 'scripts/test.sh: %s\n' "$*" >&2
}

# redact hides the password of a connection URL.
redact() {
	sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"
}

started_dir=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $started_dir ]]; then
		scripts/pgcluster.sh stop "$started_dir" || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${TEST_DATABASE_URL:-} ]]; then
	note "using TEST_DATABASE_URL=$(redact "$TEST_DATABASE_URL")"
elif [[ -n ${DATABASE_URL:-} ]]; then
	TEST_DATABASE_URL=$DATABASE_URL
	note "using DATABASE_URL=$(redact "$TEST_DATABASE_URL")"
else
	dir=$ROOT/.data/pg-test
	export PROMOGATE_PG_PORT=${PROMOGATE_PG_TEST_PORT:-25433} PROMOGATE_PG_FAST=1
	if ! scripts/pgcluster.sh status "$dir" >/dev/null 2>&1; then
		started_dir=$dir
	fi
	scripts/pgcluster.sh start "$dir"
	TEST_DATABASE_URL=$(scripts/pgcluster.sh url "$dir")
	unset PROMOGATE_PG_PORT PROMOGATE_PG_FAST
	note "using private cluster $TEST_DATABASE_URL"
fi
export TEST_DATABASE_URL

# modules lists the directories of the Go modules: the core (.) first, then each
# nested go.mod (not under .data, bin or node_modules; tools/ only pins the
# developer tools, such as golangci-lint for make lint, and has no packages).
mapfile -t nested < <(find . \( -path ./.data -o -path ./.git -o -path ./bin -o -path ./tools -o -name node_modules \) -prune \
	-o -name go.mod -type f -print | sed -e 's#^\./##' -e 's#/go.mod$##' | grep -vx 'go.mod' | sort)
modules=(. "${nested[@]}")

# module_of prints the module directory holding package pattern $1 (the longest
# nested module whose directory prefixes it, else .).
module_of() {
	local p=${1#./} best=.
	for m in "${nested[@]}"; do
		if [[ $p == "$m" || $p == "$m"/* ]] && ((${#m} > ${#best})); then
			best=$m
		fi
	done
	printf '%s\n' "$best"
}

flags=()
declare -A patterns=()
for a in "$@"; do
	case $a in
	./* | ../* | */...)
		m=$(module_of "$a")
		rel=${a#./}
		if [[ $m != . ]]; then rel=${rel#"$m"}; rel=${rel#/}; fi
		patterns[$m]+=" ./${rel:-.}"
		;;
	*) flags+=("$a") ;;
	esac
done
if ((${#patterns[@]} == 0)); then
	for m in "${modules[@]}"; do patterns[$m]=" ./..."; done
fi

for m in "${modules[@]}"; do
	note "go vet ./... (module ${m})"
	(cd "$m" && go vet ./...)
done
rc=0
for m in "${modules[@]}"; do
	[[ -n ${patterns[$m]:-} ]] || continue
	read -ra pkgs <<<"${patterns[$m]}"
	note "$(printf '%s ' "(module ${m})" go test -count=1 -timeout 15m "${flags[@]}" "${pkgs[@]}")"
	(cd "$m" && go test -count=1 -timeout 15m "${flags[@]}" "${pkgs[@]}") || rc=$?
done
exit "$rc"
