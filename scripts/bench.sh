#!/usr/bin/env bash
# bench.sh measures Promogate against PostgreSQL itself, on one machine, in one run; `make bench`
# calls it. It is not part of `make test`.
#
# Usage: scripts/bench.sh            (or: make bench)
#
# It starts (or reuses) a private PostgreSQL cluster in .data/pg-bench on port 55434 with the
# server's durable defaults (fsync and synchronous_commit on), builds the core, the
# weekenddouble plugin and the load tools (bench/loadgen, bench/ledgerjob) into the run's
# directory, and measures:
#
#   B   pgbench tpcb-like, -M prepared, scale 16, 16 clients, 30 s: the baseline
#   S   pgbench select-only (-S), -M prepared, 32 clients, 30 s
#   E1  recordEvent over HTTP, 16 clients, each event credited by the weekenddouble plugin
#   E2  recordEvents with batches of 500 events
#   R1  redeemRewards of a catalogue reward consuming 3 lots, 16 clients (when the API has it)
#   Q1  the member-cabinet query at 32 clients; the catalogue's rewards are bound to a campaign
#   QP  the same cabinet over the same tables on PostGraphile (bench/postgraphile; needs node
#       and npm: its pinned packages are installed into bench/postgraphile/node_modules)
#   MC  month close over 100,000 enrolments: bench/monthclose times one scheduler pass that
#       closes April 2021 of the giftbymonth programme (a real plugin process) and checks every
#       gift and plugin state it wrote
#   J1  ledger.ExpireDue over 1,000,000 seeded lots (100,000 members x 10)
#   H   recordEvent latency of a healthy campaign's events (8 clients), without and then with
#       a plugin that hangs (e2e/plugins/misbehave sleeping past every deadline) taking
#       other events (2 clients) at the same time
#   BT  a backtest over 1,000,000 recorded events: bench/backtest runs a weekenddouble draft (a
#       real plugin process) over a year of recorded purchases with server/backtest and checks
#       its points against the plugin's rules applied by SQL
#   RSS peak resident set of the core (and of the plugin) during E1, E2 and Q1
#   idle the share of the machine's CPU time that was idle during each phase's measured window
#
# and then profiles a short run of E1, E2, Q1 and R1 (perf, when it works, and
# pg_stat_statements). Results, logs and profiles go to .data/bench/<UTC time>/; results.md
# there is the summary to copy into docs/benchmarks.md.
#
# Environment (all optional):
#   BENCH_PG_DIR         cluster directory (default .data/pg-bench)
#   BENCH_PG_PORT        cluster port (default 55434)
#   BENCH_CORE_PORT      core's HTTP port on 127.0.0.1 (default 18480)
#   BENCH_QP_PORT        PostGraphile's port on 127.0.0.1 for QP (default BENCH_CORE_PORT + 1)
#   BENCH_PGBENCH_SECS   duration of B and S (default 30)
#   BENCH_LOAD_SECS      measured window of E1, E2, Q1 (default 20, after a 3 s warm-up)
#   BENCH_E2_CLIENTS     concurrent recordEvents clients (default 4)
#   BENCH_MEMBERS        members events are spread over (default 10000)
#   BENCH_J1_MEMBERS, BENCH_J1_LOTS   J1 shape (default 100000 x 10)
#   BENCH_MC_MEMBERS     MC shape: enrolments (one member each; default 100000)
#   BENCH_MC_VIA_ENGINE  of those, enrolled through engine.Enroll, against which the set-based
#                        seed of the others is checked (default 200)
#   BENCH_MC_PAGE        scheduler page size for MC (default 0: the scheduler's default)
#   BENCH_MC_PREFETCH    pages the scheduler evaluates ahead of the one it applies (default 0:
#                        the scheduler's default; -1: none)
#   BENCH_MC_PROFILE     1 (default): CPU profile of the driver (MC.cpu.pprof, MC-driver-*.txt)
#                        and pg_stat_statements (MC-statements.txt) during the timed pass;
#                        0: neither
#   BENCH_BT_EVENTS, BENCH_BT_MEMBERS   BT shape (default 1000000 events of 10000 members)
#   BENCH_ONLY           space-separated subset of: B S E1 E2 R1 Q1 QP MC J1 BT PROFILE H
#                        (PROFILE profiles those of E1 E2 R1 Q1 that are selected with it)
#   BENCH_AUTH_HEADER    header the load generator sends (default: set automatically when the
#                        core has an admin API key flag)
#   BENCH_KEEP_PG=1      leave the cluster running at the end (default: stop it if this run
#                        started it)
#
# Exit code: 0 when every selected measurement ran (targets missed are reported, not failed),
# 1 when the setup failed or a measurement broke.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

PG_DIR=${BENCH_PG_DIR:-$ROOT/.data/pg-bench}
PG_PORT=${BENCH_PG_PORT:-55434}
CORE_PORT=${BENCH_CORE_PORT:-18480}
PGBENCH_SECS=${BENCH_PGBENCH_SECS:-30}
LOAD_SECS=${BENCH_LOAD_SECS:-20}
E2_CLIENTS=${BENCH_E2_CLIENTS:-4}
MEMBERS=${BENCH_MEMBERS:-10000}
J1_MEMBERS=${BENCH_J1_MEMBERS:-100000}
J1_LOTS=${BENCH_J1_LOTS:-10}
MC_MEMBERS=${BENCH_MC_MEMBERS:-100000}
MC_VIA_ENGINE=${BENCH_MC_VIA_ENGINE:-200}
MC_PAGE=${BENCH_MC_PAGE:-0}
MC_PREFETCH=${BENCH_MC_PREFETCH:-0}
MC_PROFILE=${BENCH_MC_PROFILE:-1}
BT_EVENTS=${BENCH_BT_EVENTS:-1000000}
BT_MEMBERS=${BENCH_BT_MEMBERS:-10000}
ONLY=${BENCH_ONLY:-B S E1 E2 R1 Q1 QP MC J1 BT PROFILE H}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/.data/bench/$STAMP
RESULTS=$OUT/results.env
mkdir -p "$OUT"
: >"$RESULTS"

T0=$SECONDS
note() {
	printf '[bench %3ds] %s\n' "$((SECONDS - T0))" "$*" | tee -a "$OUT/bench.log" >&2
}

die() {
	note "error: $*"
	exit 1
}

wants() {
	[[ " $ONLY " == *" $1 "* ]]
}

# record KEY VALUE stores one figure for the report; get KEY prints it back.
record() {
	printf '%s=%q\n' "$1" "$2" >>"$RESULTS"
}
get() {
	(
		# shellcheck source=/dev/null
		. "$RESULTS"
		eval "printf '%s' \"\${$1:-}\""
	)
}

# --- PostgreSQL -------------------------------------------------------------------------------

find_pgbin() {
	local d
	d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n ${PROMOGATE_PG_BIN:-} ]]; then
		printf '%s\n' "$PROMOGATE_PG_BIN"
	elif [[ -n $d ]]; then
		printf '%s\n' "$d"
	elif command -v pg_config >/dev/null 2>&1; then
		pg_config --bindir
	else
		dirname "$(command -v pgbench || echo /nonexistent/pgbench)"
	fi
}

PGBIN=$(find_pgbin)
[[ -x $PGBIN/pgbench && -x $PGBIN/psql ]] || die "pgbench and psql not found in $PGBIN; install the PostgreSQL server package (Debian: apt-get install postgresql)"

started_pg=0
core_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $core_pid ]] && kill -0 "$core_pid" 2>/dev/null; then
		kill -TERM "$core_pid" 2>/dev/null || true
		wait "$core_pid" 2>/dev/null || true
	fi
	rm -rf "${BIN:?}"
	if ((started_pg)) && [[ ${BENCH_KEEP_PG:-} != 1 ]]; then
		scripts/pgcluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_pg() {
	if ! PROMOGATE_PG_PORT=$PG_PORT scripts/pgcluster.sh status "$PG_DIR" >/dev/null 2>&1; then
		started_pg=1
	fi
	# A benchmark of the real thing: durability on, whatever the environment says.
	env -u PROMOGATE_PG_FAST PROMOGATE_PG_PORT="$PG_PORT" scripts/pgcluster.sh start "$PG_DIR"
	ADMIN_URL=$(PROMOGATE_PG_PORT=$PG_PORT scripts/pgcluster.sh url "$PG_DIR")
	local fsync
	fsync=$(psqla -c 'SHOW fsync')
	[[ $fsync == on ]] || die "the cluster in $PG_DIR runs with fsync=$fsync; destroy it (scripts/pgcluster.sh destroy $PG_DIR) and run again"
	# pg_stat_statements is loaded but off (track = none) except during the profile runs.
	if [[ -f $("$PGBIN"/pg_config --pkglibdir 2>/dev/null || echo /nonexistent)/pg_stat_statements.so ]] ||
		[[ -f /usr/lib/postgresql/$(basename "$(dirname "$PGBIN")")/lib/pg_stat_statements.so ]]; then
		if [[ $(psqla -c 'SHOW shared_preload_libraries') != *pg_stat_statements* ]]; then
			note "loading pg_stat_statements (track = none outside the profile runs); restarting the cluster"
			psqla -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
			scripts/pgcluster.sh stop "$PG_DIR"
			env -u PROMOGATE_PG_FAST PROMOGATE_PG_PORT="$PG_PORT" scripts/pgcluster.sh start "$PG_DIR"
		fi
		HAVE_PGSS=1
	else
		HAVE_PGSS=0
	fi
	psqla -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" >/dev/null 2>&1 || true
	psqla -c 'SELECT pg_reload_conf()' >/dev/null
}

# psqla runs psql on the admin database; psqld DB runs it on DB. Unaligned, tuples only.
psqla() {
	"$PGBIN/psql" "$ADMIN_URL" -XAtq -v ON_ERROR_STOP=1 "$@"
}
psqld() {
	local dbname=$1
	shift
	"$PGBIN/psql" "${ADMIN_URL/\/postgres\?//$dbname?}" -XAtq -v ON_ERROR_STOP=1 "$@"
}

recreate_db() {
	psqla -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
	psqla -c "CREATE DATABASE $1" >/dev/null
}

# --- build ------------------------------------------------------------------------------------

# The binaries go to the run's own directory: nothing else (say a `make build` while the run
# goes on) replaces them under the running core, its plugin's checksum or perf's symbols.
BIN=$OUT/bin

build() {
	note "building promogate, the weekenddouble and giftbymonth plugins, loadgen, ledgerjob and monthclose into ${BIN#"$ROOT"/}"
	mkdir -p "$BIN/plugins"
	go build -o "$BIN/promogate" ./server
	go build -o "$BIN/plugins/weekenddouble" ./plugins/examples/weekenddouble
	go build -o "$BIN/loadgen" ./bench/loadgen
	go build -o "$BIN/ledgerjob" ./bench/ledgerjob
	go build -o "$BIN/plugins/giftbymonth" ./plugins/giftbymonth
	go build -o "$BIN/monthclose" ./bench/monthclose
	go build -o "$BIN/plugins/misbehave" ./e2e/plugins/misbehave
	go build -o "$BIN/backtest" ./bench/backtest
}

# cpu_mark prints the machine's CPU time so far (all CPUs, clock ticks): total and idle
# (idle + iowait), from /proc/stat; idle_share A B prints the idle share between two marks.
cpu_mark() {
	awk '$1 == "cpu" {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat
}
idle_share() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); if (y[1] <= x[1]) print -1; else printf "%.3f", (y[2] - x[2]) / (y[1] - x[1]) }'
}

# --- machine ----------------------------------------------------------------------------------

machine() {
	record DATE "$(date -u '+%Y-%m-%d %H:%M UTC')"
	record NPROC "$(nproc)"
	record CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	record MEM "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	record KERNEL "$(uname -r)"
	record GO "$(go version | awk '{print $3, $4}')"
	record PG "$(psqla -c 'SELECT version()' | sed 's/ on .*//')"
	record PG_SETTINGS "$(psqla -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings
		WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_sync_method', 'max_connections', 'full_page_writes')")"
	record COMMIT "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
	record LOAD_START "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# loadavg prints the 1-minute load average (the machine may be shared).
loadavg() {
	cut -d' ' -f1 /proc/loadavg
}

# --- pgbench: B and S -------------------------------------------------------------------------

PGB_DB=bench_pgbench

measure_B() {
	note "B: pgbench -i -s 16"
	recreate_db $PGB_DB
	"$PGBIN/pgbench" -i -s 16 -q "${ADMIN_URL/\/postgres\?//$PGB_DB?}" >"$OUT/pgbench-init.log" 2>&1
	note "B: pgbench tpcb-like -M prepared -c 16 -j 2 -T $PGBENCH_SECS"
	local m0
	m0=$(cpu_mark)
	"$PGBIN/pgbench" -M prepared -c 16 -j 2 -T "$PGBENCH_SECS" -P 10 "${ADMIN_URL/\/postgres\?//$PGB_DB?}" >"$OUT/pgbench-B.log" 2>&1
	record B_idle_cpu "$(idle_share "$m0" "$(cpu_mark)")"
	local tps lat
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/pgbench-B.log" | head -n 1)
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$OUT/pgbench-B.log")
	[[ -n $tps ]] || die "B: no tps in $OUT/pgbench-B.log"
	record B_TPS "$tps"
	record B_LAT "$lat"
	record B_LOAD "$(loadavg)"
	note "B: $tps tps (latency average $lat ms)"
}

measure_S() {
	if ! psqld $PGB_DB -c 'SELECT 1 FROM pgbench_branches LIMIT 1' >/dev/null 2>&1; then
		recreate_db $PGB_DB
		"$PGBIN/pgbench" -i -s 16 -q "${ADMIN_URL/\/postgres\?//$PGB_DB?}" >"$OUT/pgbench-init.log" 2>&1
	fi
	note "S: pgbench select-only -S -M prepared -c 32 -j 2 -T $PGBENCH_SECS"
	local m0
	m0=$(cpu_mark)
	"$PGBIN/pgbench" -S -M prepared -c 32 -j 2 -T "$PGBENCH_SECS" -P 10 "${ADMIN_URL/\/postgres\?//$PGB_DB?}" >"$OUT/pgbench-S.log" 2>&1
	record S_idle_cpu "$(idle_share "$m0" "$(cpu_mark)")"
	local tps
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/pgbench-S.log" | head -n 1)
	[[ -n $tps ]] || die "S: no tps in $OUT/pgbench-S.log"
	record S_TPS "$tps"
	record S_LAT "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$OUT/pgbench-S.log")"
	record S_LOAD "$(loadavg)"
	note "S: $tps tps"
}

# --- the core ---------------------------------------------------------------------------------

APP_DB=promogate_bench
CORE_URL=http://127.0.0.1:$CORE_PORT
LOADGEN_H=()
INGEST_H=()
FRONTEND_H=()
LOAD_H=()

start_core() {
	recreate_db $APP_DB
	APP_URL=${ADMIN_URL/\/postgres\?//$APP_DB?}
	local help
	help=$("$BIN/promogate" serve -h 2>&1 || true)
	# Authentication: when the core takes a bootstrap admin key, make one and send it
	# (docs/security.md: Authorization: Bearer <key>).
	if [[ -n ${BENCH_AUTH_HEADER:-} ]]; then
		LOADGEN_H=(-H "$BENCH_AUTH_HEADER")
	elif grep -q 'PROMOGATE_BOOTSTRAP_ADMIN_KEY' <<<"$help"; then
		local key
		key=$("$BIN/promogate" apikey generate 2>/dev/null) || key=bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
		export PROMOGATE_BOOTSTRAP_ADMIN_KEY=$key
		LOADGEN_H=(-H "Authorization: Bearer $key")
		note "the core takes API keys: sending Authorization: Bearer <a generated admin key>"
	fi
	# The benchmark measures capacity, not the per-caller rate limiter; Q1 builds its query by
	# introspection.
	local flags=()
	grep -q -- '-rate-limit' <<<"$help" && flags+=(--rate-limit 0)
	grep -q -- '-introspection' <<<"$help" && flags+=(--introspection=true)
	record CORE_FLAGS "--db-max-conns 32 --log-level warn ${flags[*]}"
	note "starting the core on $CORE_URL (database $APP_DB; ${flags[*]})"
	DATABASE_URL=$APP_URL "$BIN/promogate" serve --listen "127.0.0.1:$CORE_PORT" --migrate \
		--log-level warn --db-max-conns 32 "${flags[@]}" >"$OUT/core.log" 2>&1 &
	core_pid=$!
	local i
	for ((i = 0; i < 300; i++)); do
		if curl -fsS "$CORE_URL/readyz" >/dev/null 2>&1; then
			break
		fi
		kill -0 "$core_pid" 2>/dev/null || die "the core exited; see $OUT/core.log"
		sleep 0.1
	done
	curl -fsS "$CORE_URL/readyz" >/dev/null || die "the core is not ready after 30 s; see $OUT/core.log"
	local version
	version=$(sed -n 's/^[[:space:]]*Version[[:space:]]*= "\(.*\)"/\1/p' plugins/examples/weekenddouble/plugin.go | head -n 1)
	# The measured calls run as the roles that make them in production: billing sends events with
	# an ingest key, a cabinet reads and redeems with a frontend key (admin calls are audited, one
	# audit_log row each; those are not). Setup keeps the admin key.
	INGEST_H=("${LOADGEN_H[@]}")
	FRONTEND_H=("${LOADGEN_H[@]}")
	if [[ -z ${BENCH_AUTH_HEADER:-} && -n ${PROMOGATE_BOOTSTRAP_ADMIN_KEY:-} ]]; then
		local k
		k=$(DATABASE_URL=$APP_URL "$BIN/promogate" apikey create --name bench-ingest --role ingest 2>>"$OUT/bench.log") &&
			INGEST_H=(-H "Authorization: Bearer $k")
		k=$(DATABASE_URL=$APP_URL "$BIN/promogate" apikey create --name bench-frontend --role frontend 2>>"$OUT/bench.log") &&
			FRONTEND_H=(-H "Authorization: Bearer $k")
		note "E1 and E2 send an ingest key, R1 and Q1 a frontend key"
	fi
	local setup
	setup=$("$BIN/loadgen" setup -url "$CORE_URL" "${LOADGEN_H[@]}" -program bench -plugin-path "$BIN/plugins/weekenddouble" \
		-plugin-name weekenddouble -plugin-version "${version:-1.0.0}" 2> >(tee -a "$OUT/bench.log" >&2))
	REWARDS=$(sed -n 's/^REWARDS //p' <<<"$setup")
	note "seeding $MEMBERS members b-1 … b-$MEMBERS"
	"$BIN/ledgerjob" seed -db "$APP_URL" -program bench -prefix b- -members "$MEMBERS" -lots 0 2>>"$OUT/bench.log"
}

stop_core() {
	if [[ -n $core_pid ]]; then
		kill -TERM "$core_pid" 2>/dev/null || true
		wait "$core_pid" 2>/dev/null || true
		core_pid=
	fi
}

# Peak RSS: VmHWM of the core and its plugin processes, reset before each measurement
# (writing 5 to clear_refs resets the peak).
reset_hwm() {
	local p
	for p in "$core_pid" $(pgrep -P "$core_pid" 2>/dev/null || true); do
		echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true
	done
}
hwm_kb() {
	awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}
record_rss() {
	local tag=$1 p plugin=0
	record "${tag}_CORE_RSS_MB" "$(($(hwm_kb "$core_pid") / 1024))"
	for p in $(pgrep -P "$core_pid" 2>/dev/null || true); do
		plugin=$((plugin + $(hwm_kb "$p")))
	done
	record "${tag}_PLUGIN_RSS_MB" "$((plugin / 1024))"
}

# db_counters prints commits in the app database and WAL syncs (cluster-wide).
db_counters() {
	psqla -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '$APP_DB') || ' ' ||
		(SELECT wal_sync FROM pg_stat_wal)"
}

# run_load NAME ARGS... runs the load generator with the headers in LOAD_H and records its
# figures as NAME_*.
run_load() {
	local name=$1
	shift
	local before after out
	before=$(db_counters)
	reset_hwm
	out=$("$BIN/loadgen" "$@" -url "$CORE_URL" "${LOAD_H[@]}" 2> >(tee -a "$OUT/bench.log" >&2))
	after=$(db_counters)
	local json=${out#RESULT }
	[[ $json == \{* ]] || die "$name: no result from the load generator"
	printf '%s\n' "$json" >"$OUT/$name.json"
	local key
	for key in items_per_s req_per_s p50_ms p99_ms mean_ms max_ms items all_items requests errors not_done idle_cpu; do
		record "${name}_$key" "$(jq -r ".$key" <<<"$json")"
	done
	read -r c0 w0 <<<"$before"
	read -r c1 w1 <<<"$after"
	record "${name}_commits" "$((c1 - c0))"
	record "${name}_walsyncs" "$((w1 - w0))"
	record "${name}_LOAD" "$(loadavg)"
	record_rss "$name"
	local errors
	errors=$(jq -r .errors <<<"$json")
	((errors == 0)) || die "$name: $errors failed requests, first: $(jq -r .first_error <<<"$json")"
}

measure_E1() {
	note "E1: recordEvent, 16 clients, ${LOAD_SECS}s"
	LOAD_H=("${INGEST_H[@]}")
	run_load E1 e1 -clients 16 -duration "${LOAD_SECS}s" -members "$MEMBERS" -member-prefix b- -source bench-e1
	# Every event must have exactly one credit, written by the plugin's decision.
	local check
	check=$(psqld $APP_DB -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'done') || ' ' ||
		(SELECT count(*) FROM transactions t JOIN events e ON e.id = t.event_id WHERE e.source = 'bench-e1')
		FROM events WHERE source = 'bench-e1'")
	read -r n ndone credits <<<"$check"
	note "E1: $n events stored, $ndone done, $credits credits"
	((n == ndone && n == credits)) || die "E1: $n events, $ndone done, $credits credits; want all equal"
}

measure_E2() {
	note "E2: recordEvents x 500, $E2_CLIENTS clients, ${LOAD_SECS}s"
	LOAD_H=("${INGEST_H[@]}")
	run_load E2 e2 -clients "$E2_CLIENTS" -batch 500 -duration "${LOAD_SECS}s" -members "$MEMBERS" -member-prefix b- -source bench-e2
	local check
	check=$(psqld $APP_DB -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'done') || ' ' ||
		(SELECT count(*) FROM transactions t JOIN events e ON e.id = t.event_id WHERE e.source = 'bench-e2')
		FROM events WHERE source = 'bench-e2'")
	read -r n ndone credits <<<"$check"
	note "E2: $n events stored, $ndone done, $credits credits"
	((n == ndone && n == credits)) || die "E2: $n events, $ndone done, $credits credits; want all equal"
}

measure_Q1() {
	note "Q1: seeding 2000 cabinet members q-1 … q-2000 with 30 credits each"
	"$BIN/ledgerjob" seed -db "$APP_URL" -program bench -prefix q- -members 2000 -lots 30 -expires-in 8760h 2>>"$OUT/bench.log"
	note "Q1: member cabinet, 32 clients, ${LOAD_SECS}s"
	LOAD_H=("${FRONTEND_H[@]}")
	run_load Q1 q1 -clients 32 -duration "${LOAD_SECS}s" -members 2000 -member-prefix q-
	jq -r .query "$OUT/Q1.json" >"$OUT/Q1.graphql"
}

# Redemption: 2,000 members with 30 lots of 100 points each; the reward costs 250, so every
# redemption consumes 3 lots (100 + 100 + 50, or 50 + 100 + 100), 12 per member at most.
measure_R1() {
	if ! grep -qE '^\s*redeemRewards\(' ./*.graphqls; then
		record R1_NOTE "not measured — redemption not built yet"
		note "R1: $(get R1_NOTE)"
		return 0
	fi
	if [[ ${REWARDS:-0} == 0* ]]; then
		record R1_NOTE "not measured — the API has redeemRewards, but creating a catalogue reward failed in this build (${REWARDS#0 })"
		note "R1: $(get R1_NOTE)"
		return 0
	fi
	note "R1: seeding 2000 members r-1 … r-2000 with 30 lots of 100 points"
	"$BIN/ledgerjob" seed -db "$APP_URL" -program bench -prefix r- -members 2000 -lots 30 -amount 100 -expires-in 8760h 2>>"$OUT/bench.log"
	note "R1: redeemRewards of one reward (price 250: 3 lots), 16 clients, ${LOAD_SECS}s"
	LOAD_H=("${FRONTEND_H[@]}")
	run_load R1 r1 -clients 16 -duration "${LOAD_SECS}s" -members 2000 -member-prefix r- -reward bench-r1
}

# QP: the cabinet of Q1 on PostGraphile (bench/postgraphile) over the same database, members
# and rewards, 32 clients, right after Q1; the core stays up but idle.
QP_PORT=${BENCH_QP_PORT:-$((CORE_PORT + 1))}
measure_QP() {
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		record QP_NOTE "not measured — node and npm are needed"
		note "QP: $(get QP_NOTE)"
		return 0
	fi
	[[ -f $OUT/Q1.json ]] || die "QP needs Q1's members: select Q1 too"
	note "QP: PostGraphile on 127.0.0.1:$QP_PORT over $APP_DB"
	bench/postgraphile/run.sh "$APP_URL" "$QP_PORT" >"$OUT/postgraphile.log" 2>&1 &
	local pid=$! i
	for ((i = 0; i < 600; i++)); do
		curl -fsS -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' "http://127.0.0.1:$QP_PORT/graphql" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || die "QP: PostGraphile exited; see $OUT/postgraphile.log"
		sleep 0.5
	done
	record QP_VERSION "$(node -p 'require("./bench/postgraphile/node_modules/postgraphile/package.json").version')"
	note "QP: the cabinet on PostGraphile $(get QP_VERSION), 32 clients, ${LOAD_SECS}s"
	local saved=$CORE_URL rc=0
	CORE_URL=http://127.0.0.1:$QP_PORT
	LOAD_H=()
	(run_load QP q1 -clients 32 -duration "${LOAD_SECS}s" -members 2000 -member-prefix q- -query-file bench/postgraphile/cabinet.graphql) || rc=$?
	CORE_URL=$saved
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	((rc == 0)) || die "QP: the load failed"
}

# H: a healthy campaign's events while another campaign's plugin hangs. The hanging campaign
# (e2e/plugins/misbehave, mode sleep for an hour: every call runs into the core's plugin-call
# deadline) takes only purchases that occurred in 2019, when the benchmark's weekenddouble
# campaign (from 2020) takes none; the measured purchases occur now and only the healthy
# campaign takes them. H0 measures them alone, H1 while 2 clients keep sending 2019 purchases.
measure_H() {
	note "H: a campaign of the misbehave plugin that hangs, taking purchases of 2019 only"
	"$BIN/loadgen" setup -url "$CORE_URL" "${LOADGEN_H[@]}" -program bench -plugin-path "$BIN/plugins/misbehave" \
		-plugin-name misbehave -plugin-version 1.0.0 -campaign bench-hang -config '{"mode":"sleep","sleepMs":3600000}' \
		-starts-at 2015-01-01T00:00:00Z -ends-at 2020-01-01T00:00:00Z -rewards 0 >/dev/null 2> >(tee -a "$OUT/bench.log" >&2)
	LOAD_H=("${INGEST_H[@]}")
	note "H0: recordEvent of the healthy campaign, 8 clients, ${LOAD_SECS}s, nothing hanging"
	run_load H0 e1 -clients 8 -duration "${LOAD_SECS}s" -members "$MEMBERS" -member-prefix b- -source bench-h0
	note "H1: the same while 2 clients send purchases of 2019 to the hanging plugin"
	"$BIN/loadgen" e1 -url "$CORE_URL" "${LOAD_H[@]}" -clients 2 -warmup 1s -duration "$((LOAD_SECS + 8))s" -members "$MEMBERS" \
		-member-prefix b- -source bench-hang -occurred-at 2019-06-03T12:00:00Z >"$OUT/H-hang.out" 2>>"$OUT/bench.log" &
	local hang=$!
	sleep 5
	run_load H1 e1 -clients 8 -duration "${LOAD_SECS}s" -members "$MEMBERS" -member-prefix b- -source bench-h1
	wait "$hang" || true
	local json
	json=$(sed -n 's/^RESULT //p' "$OUT/H-hang.out")
	record H_hang_requests "$(jq -r '.requests // empty' <<<"$json")"
	record H_hang_not_done "$(jq -r '.not_done // empty' <<<"$json")"
	record H_hang_p50_ms "$(jq -r '.p50_ms // empty' <<<"$json")"
	note "H: p99 $(get H0_p99_ms) ms alone, $(get H1_p99_ms) ms beside the hanging plugin ($(get H_hang_requests) hanging-campaign requests, p50 $(get H_hang_p50_ms) ms)"
}

# --- MC: month close -----------------------------------------------------------------------------

MC_DB=bench_mc

# Month close: bench/monthclose seeds MC_MEMBERS enrolments of the giftbymonth programme in a
# fresh database (the first MC_VIA_ENGINE through engine.Enroll, the rest with set-based SQL
# checked against them), then times one scheduler pass at 29 April 2021 00:00:05 Kyiv through
# the real scheduler, engine and plugin process, and checks every gift and plugin state.
measure_MC() {
	recreate_db $MC_DB
	local url=${ADMIN_URL/\/postgres\?//$MC_DB?} flags=()
	if ((MC_PROFILE)); then
		flags+=(-cpuprofile "$OUT/MC.cpu.pprof")
		if ((HAVE_PGSS)); then
			psqld $MC_DB -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
			psqla -c "ALTER SYSTEM SET pg_stat_statements.track = 'top'" -c 'SELECT pg_reload_conf()' >/dev/null
			flags+=(-pgss "$OUT/MC-statements.txt")
		fi
	fi
	note "MC: month close over $MC_MEMBERS enrolments (page size ${MC_PAGE/#0/default}, prefetch ${MC_PREFETCH/#0/default}; profile $MC_PROFILE)"
	local out json rc=0
	record MC_LOAD_BEFORE "$(cut -d' ' -f1-3 /proc/loadavg)"
	out=$("$BIN/monthclose" -db "$url" -plugin "$BIN/plugins/giftbymonth" -members "$MC_MEMBERS" -via-engine "$MC_VIA_ENGINE" \
		-page "$MC_PAGE" -prefetch "$MC_PREFETCH" "${flags[@]}" 2> >(tee -a "$OUT/bench.log" >&2)) || rc=$?
	if ((MC_PROFILE && HAVE_PGSS)); then
		psqla -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" -c 'SELECT pg_reload_conf()' >/dev/null
	fi
	record MC_LOAD "$(cut -d' ' -f1-3 /proc/loadavg)"
	((rc == 0)) || die "MC: the driver failed (exit $rc); see $OUT/bench.log"
	json=${out#RESULT }
	[[ $json == \{* ]] || die "MC: no result from the driver"
	printf '%s\n' "$json" >"$OUT/MC.json"
	local key
	for key in enrolments gifts seconds enrolments_per_s pages page_size prefetch driver_rss_kb plugin_rss_kb driver_cpu_s plugin_cpu_s \
		postgres_cpu_s seed_seconds statements exec_ms idle_cpu; do
		record "MC_$key" "$(jq -r ".$key // empty" <<<"$json")"
	done
	if [[ -f $OUT/MC.cpu.pprof ]]; then
		go tool pprof -top -nodecount=40 "$BIN/monthclose" "$OUT/MC.cpu.pprof" >"$OUT/MC-driver-top.txt" 2>/dev/null || true
		go tool pprof -top -cum -nodecount=60 "$BIN/monthclose" "$OUT/MC.cpu.pprof" >"$OUT/MC-driver-cum.txt" 2>/dev/null || true
	fi
	note "MC: $(jq -r '"\(.enrolments) enrolments, \(.gifts) gifts in \(.seconds * 100 | floor / 100) s: \(.enrolments_per_s | floor) enrolments/s, \(.pages) pages; CPU s driver \(.driver_cpu_s * 10 | floor / 10), plugin \(.plugin_cpu_s * 10 | floor / 10), PostgreSQL \(.postgres_cpu_s * 10 | floor / 10); peak RSS driver \(.driver_rss_kb / 1024 | floor) MB, plugin \(.plugin_rss_kb / 1024 | floor) MB"' <<<"$json")"
	psqla -c "DROP DATABASE $MC_DB" >/dev/null
}

# --- BT: backtest --------------------------------------------------------------------------------

BT_DB=bench_bt

# Backtest: bench/backtest records BT_EVENTS purchases of BT_MEMBERS members over 2025 in a fresh
# database (COPY), then times one backtest of a weekenddouble draft over 2025 (server/backtest:
# events read in pages from one query, batched Evaluate calls to the real plugin process) and
# checks its points, events and members against the plugin's rules applied by SQL.
measure_BT() {
	recreate_db $BT_DB
	local url=${ADMIN_URL/\/postgres\?//$BT_DB?} out json rc=0
	note "BT: backtest over $BT_EVENTS recorded events of $BT_MEMBERS members"
	out=$("$BIN/backtest" -db "$url" -plugin "$BIN/plugins/weekenddouble" -events "$BT_EVENTS" -members "$BT_MEMBERS" \
		2> >(tee -a "$OUT/bench.log" >&2)) || rc=$?
	record BT_LOAD "$(cut -d' ' -f1-3 /proc/loadavg)"
	((rc == 0)) || die "BT: the driver failed (exit $rc); see $OUT/bench.log"
	json=${out#RESULT }
	[[ $json == \{* ]] || die "BT: no result from the driver"
	printf '%s\n' "$json" >"$OUT/BT.json"
	local key
	for key in events members seconds events_per_s points driver_cpu_s plugin_cpu_s seed_seconds; do
		record "BT_$key" "$(jq -r ".$key // empty" <<<"$json")"
	done
	note "BT: $(jq -r '"\(.events) events in \(.seconds * 100 | floor / 100) s: \(.events_per_s | floor) events/s, \(.points) points; CPU s driver \(.driver_cpu_s * 10 | floor / 10), plugin \(.plugin_cpu_s * 10 | floor / 10)"' <<<"$json")"
	psqla -c "DROP DATABASE $BT_DB" >/dev/null
}

# --- profile ------------------------------------------------------------------------------------

perf_works() {
	command -v perf >/dev/null 2>&1 && perf record -q -a -F 99 -o "$OUT/.perf-probe" -- true >/dev/null 2>&1
}

pgss() {
	((HAVE_PGSS)) || return 0
	case $1 in
	on)
		psqld $APP_DB -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
		psqla -c "ALTER SYSTEM SET pg_stat_statements.track = 'top'" -c 'SELECT pg_reload_conf()' >/dev/null
		psqld $APP_DB -c 'SELECT pg_stat_statements_reset()' >/dev/null
		;;
	off)
		psqla -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" -c 'SELECT pg_reload_conf()' >/dev/null
		;;
	report)
		local events=$2 file=$3
		psqld $APP_DB -P footer=off -F ' | ' -c "SELECT round(s.calls::numeric / $events, 2) AS per_event,
			round(s.total_exec_time::numeric / $events * 1000, 1) AS us_per_event,
			round(s.mean_exec_time::numeric, 3) AS mean_ms,
			regexp_replace(left(s.query, 110), '\s+', ' ', 'g') AS query
			FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid AND d.datname = '$APP_DB'
			ORDER BY s.total_exec_time DESC LIMIT 25" >"$file"
		psqld $APP_DB -c "SELECT round(sum(calls)::numeric / $events, 1) || ' statements/event, ' ||
			round(sum(total_exec_time)::numeric / $events * 1000, 0) || ' µs execution/event'
			FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid AND d.datname = '$APP_DB'"
		;;
	esac
}

profile_one() {
	local name=$1
	shift
	local secs=10 perfdata="$OUT/$name.perf.data" events stat
	note "profile $name: ${secs}s under perf and pg_stat_statements"
	pgss on
	if ((HAVE_PERF)); then
		perf record -q -a -g -F 499 -o "$perfdata" -- \
			"$BIN/loadgen" "$@" -url "$CORE_URL" "${LOAD_H[@]}" -warmup 1s -duration "${secs}s" \
			>"$OUT/$name-profile.out" 2>>"$OUT/bench.log"
	else
		"$BIN/loadgen" "$@" -url "$CORE_URL" "${LOAD_H[@]}" -warmup 1s -duration "${secs}s" \
			>"$OUT/$name-profile.out" 2>>"$OUT/bench.log"
	fi
	events=$(sed -n 's/^RESULT //p' "$OUT/$name-profile.out" | jq -r '.all_items')
	stat=$(pgss report "$((events > 0 ? events : 1))" "$OUT/$name-statements.txt" || true)
	pgss off
	record "${name}_statements" "${stat:-n/a}"
	if ((HAVE_PERF)); then
		perf report -i "$perfdata" --no-children --sort comm --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 8 >"$OUT/$name-by-process.txt" || true
		perf report -i "$perfdata" --no-children --comm promogate --percentage relative --sort sym --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 40 >"$OUT/$name-core-self.txt" || true
		perf report -i "$perfdata" --children --comm promogate --percentage relative --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 60 >"$OUT/$name-core-children.txt" || true
		perf report -i "$perfdata" --no-children --comm postgres --percentage relative --sort sym --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 25 >"$OUT/$name-postgres-self.txt" || true
		record "${name}_by_process" "$(awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}' "$OUT/$name-by-process.txt")"
		rm -f "$perfdata"
	fi
	note "profile $name: by process: $(get "${name}_by_process")"
	note "profile $name: database: ${stat:-n/a}"
}

measure_PROFILE() {
	HAVE_PERF=0
	if perf_works; then
		HAVE_PERF=1
	else
		note "perf is not usable here (install linux-perf, allow perf_event_paranoid); profiling with pg_stat_statements only"
	fi
	rm -f "$OUT/.perf-probe"
	# Each profile reuses the data its measurement set up, so only the selected phases are profiled.
	LOAD_H=("${INGEST_H[@]}")
	if wants E1; then
		profile_one PE1 e1 -clients 16 -members "$MEMBERS" -member-prefix b- -source bench-pe1
	fi
	if wants E2; then
		profile_one PE2 e2 -clients "$E2_CLIENTS" -batch 500 -members "$MEMBERS" -member-prefix b- -source bench-pe2
	fi
	LOAD_H=("${FRONTEND_H[@]}")
	if wants Q1; then
		profile_one PQ1 q1 -clients 32 -members 2000 -member-prefix q-
	fi
	if wants R1 && [[ -f $OUT/R1.json ]]; then
		profile_one PR1 r1 -clients 16 -members 2000 -member-prefix r- -reward bench-r1
	fi
}

# --- J1: expiry ---------------------------------------------------------------------------------

J1_DB=bench_j1

# The J1 data (a million lots) is seeded once into a template database named after the
# migrations, the seeding code and the shape, and copied for every run: seeding is setup, not
# part of the measurement, and takes minutes on a small machine.
measure_J1() {
	local lots=$((J1_MEMBERS * J1_LOTS)) hash tmpl t url
	hash=$(cat db/migrations/*.sql bench/ledgerjob/main.go | sha256sum | cut -c1-12)
	tmpl=bench_j1_tmpl_${hash}_${J1_MEMBERS}x$J1_LOTS
	t=$SECONDS
	if [[ $(psqla -c "SELECT 1 FROM pg_database WHERE datname = '$tmpl'") != 1 ]]; then
		note "J1: seeding $J1_MEMBERS members x $J1_LOTS lots = $lots lots, already due, into template $tmpl (once)"
		local old
		for old in $(psqla -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench\_j1\_tmpl\_%'"); do
			psqla -c "DROP DATABASE $old" >/dev/null
		done
		recreate_db bench_j1_seed
		url=${ADMIN_URL/\/postgres\?//bench_j1_seed?}
		DATABASE_URL=$url "$BIN/promogate" migrate --log-level warn >>"$OUT/bench.log" 2>&1
		"$BIN/ledgerjob" seed -db "$url" -program bench -create-program -prefix j1- -members "$J1_MEMBERS" -lots "$J1_LOTS" \
			-expires-in -24h 2>>"$OUT/bench.log"
		psqld bench_j1_seed -c 'VACUUM ANALYZE' >/dev/null
		psqla -c "ALTER DATABASE bench_j1_seed RENAME TO $tmpl" >/dev/null
		record J1_SEED "seeded in $((SECONDS - t)) s"
	else
		record J1_SEED "reused template $tmpl"
	fi
	psqla -c "DROP DATABASE IF EXISTS $J1_DB WITH (FORCE)" >/dev/null
	psqla -c "CREATE DATABASE $J1_DB TEMPLATE $tmpl STRATEGY = FILE_COPY" >/dev/null 2>&1 ||
		psqla -c "CREATE DATABASE $J1_DB TEMPLATE $tmpl" >/dev/null
	psqla -c CHECKPOINT >/dev/null
	url=${ADMIN_URL/\/postgres\?//$J1_DB?}
	note "J1: ledger.ExpireDue(now, 1000) until nothing is due ($lots lots of $J1_MEMBERS accounts)"
	local out json
	out=$("$BIN/ledgerjob" expire -db "$url" -limit 1000 2> >(tee -a "$OUT/bench.log" >&2))
	json=${out#RESULT }
	printf '%s\n' "$json" >"$OUT/J1.json"
	local key
	for key in lots accounts seconds lots_per_s accounts_per_s calls find_query_ms peak_rss_kb idle_cpu; do
		record "J1_$key" "$(jq -r ".$key" <<<"$json")"
	done
	record J1_LOAD "$(loadavg)"
	note "J1: $(jq -r '"\(.lots) lots of \(.accounts) accounts in \(.seconds * 10 | floor / 10) s: \(.lots_per_s | floor) lots/s"' <<<"$json")"
	(($(jq -r .lots <<<"$json") == lots)) || die "J1: expired $(jq -r .lots <<<"$json") lots, want $lots"
	note "J1: checking the ledger's invariants"
	"$BIN/ledgerjob" check -db "$url" -program bench -expired 2>>"$OUT/bench.log" >/dev/null ||
		die "J1: ledger invariants broken; see $OUT/bench.log"
	record J1_CHECK ok
	psqla -c "DROP DATABASE $J1_DB" >/dev/null
}

# --- report -------------------------------------------------------------------------------------

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}
verdict() {
	awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v == "" || v == "n/a") print "—"; else if ((op == ">=" && v >= t) || (op == "<" && v < t)) print "met"; else print "**missed**" }'
}
fmt() {
	[[ -n ${1:-} ]] && printf "%'.0f" "$1" 2>/dev/null || printf '%s' "${1:-n/a}"
}

report() {
	# shellcheck source=/dev/null
	. "$RESULTS"
	local e1b e2b q1s r1b q1qp h10
	q1qp=$(ratio "${Q1_req_per_s:-}" "${QP_req_per_s:-}")
	h10=$(ratio "${H1_p99_ms:-}" "${H0_p99_ms:-}")
	e1b=$(ratio "${E1_items_per_s:-}" "${B_TPS:-}")
	e2b=$(ratio "${E2_items_per_s:-}" "${B_TPS:-}")
	q1s=$(ratio "${Q1_req_per_s:-}" "${S_TPS:-}")
	r1b=$(ratio "${R1_items_per_s:-}" "${B_TPS:-}")
	local maxrss=0 v
	for v in "${E1_CORE_RSS_MB:-0}" "${E2_CORE_RSS_MB:-0}" "${Q1_CORE_RSS_MB:-0}" "${R1_CORE_RSS_MB:-0}"; do
		if ((v > maxrss)); then maxrss=$v; fi
	done
	{
		printf '## Run of %s\n\n' "$DATE"
		# shellcheck disable=SC2016 # literal backquotes (Markdown)
		printf 'Command: %s (scripts/bench.sh), selection: %s\n\n' '`make bench`' "$ONLY"
		printf '| machine | |\n|---|---|\n'
		printf '| CPU | %s, nproc = %s |\n| memory | %s |\n| kernel | %s |\n| Go | %s |\n| PostgreSQL | %s |\n' \
			"$CPU" "$NPROC" "$MEM" "$KERNEL" "$GO" "$PG"
		printf '| settings | %s |\n| core flags | %s |\n| commit | %s |\n| load average at start | %s |\n\n' \
			"$PG_SETTINGS" "${CORE_FLAGS:-n/a}" "$COMMIT" "$LOAD_START"
		printf '| figure | measured | ratio | target | |\n|---|---:|---:|---|---|\n'
		printf '| B pgbench tpcb-like, 16 clients | %s tps (%s ms avg) | 1 | baseline | |\n' "$(fmt "${B_TPS:-}")" "${B_LAT:-n/a}"
		printf '| S pgbench select-only, 32 clients | %s tps | 1 | baseline | |\n' "$(fmt "${S_TPS:-}")"
		printf '| E1 recordEvent, 16 clients | %s events/s, p50 %s ms, p99 %s ms | E1/B = %s | ≥ 0.6 | %s |\n' \
			"$(fmt "${E1_items_per_s:-}")" "${E1_p50_ms:-n/a}" "${E1_p99_ms:-n/a}" "$e1b" "$(verdict "$e1b" 0.6 '>=')"
		printf '| E2 recordEvents × 500, %s clients | %s events/s, p50 %s ms, p99 %s ms per call | E2/B = %s | ≥ 3 | %s |\n' \
			"$E2_CLIENTS" "$(fmt "${E2_items_per_s:-}")" "${E2_p50_ms:-n/a}" "${E2_p99_ms:-n/a}" "$e2b" "$(verdict "$e2b" 3 '>=')"
		if [[ -n ${R1_items_per_s:-} ]]; then
			printf '| R1 redeemRewards (3 lots each), 16 clients | %s redemptions/s, p50 %s ms, p99 %s ms | R1/B = %s | ≥ 0.4 | %s |\n' \
				"$(fmt "$R1_items_per_s")" "${R1_p50_ms:-n/a}" "${R1_p99_ms:-n/a}" "$r1b" "$(verdict "$r1b" 0.4 '>=')"
		else
			printf '| R1 redemption, 16 clients | %s | — | ≥ 0.4 | |\n' "${R1_NOTE:-not run}"
		fi
		printf '| Q1 member cabinet (campaign-bound rewards), 32 clients | %s req/s, p50 %s ms, p99 %s ms | Q1/S = %s | p99 < 25 ms; Q1/S ≥ 0.05 | %s; %s |\n' \
			"$(fmt "${Q1_req_per_s:-}")" "${Q1_p50_ms:-n/a}" "${Q1_p99_ms:-n/a}" "$q1s" "$(verdict "${Q1_p99_ms:-n/a}" 25 '<')" "$(verdict "$q1s" 0.05 '>=')"
		if [[ -n ${QP_req_per_s:-} ]]; then
			printf '| QP the same cabinet on PostGraphile %s, 32 clients | %s req/s, p50 %s ms, p99 %s ms | Q1/QP = %s | ≥ 3 | %s |\n' \
				"${QP_VERSION:-}" "$(fmt "$QP_req_per_s")" "${QP_p50_ms:-n/a}" "${QP_p99_ms:-n/a}" "$q1qp" "$(verdict "$q1qp" 3 '>=')"
		else
			printf '| QP the same cabinet on PostGraphile | %s | — | Q1 ≥ 3 × QP | |\n' "${QP_NOTE:-not run}"
		fi
		if [[ -n ${H1_p99_ms:-} ]]; then
			printf '| H healthy campaign'"'"'s recordEvent, 8 clients, beside a hanging plugin | p99 %s ms alone, %s ms beside it (%s / %s events/s) | H1/H0 p99 = %s | < 2 | %s |\n' \
				"${H0_p99_ms:-n/a}" "$H1_p99_ms" "$(fmt "${H0_items_per_s:-}")" "$(fmt "${H1_items_per_s:-}")" "$h10" "$(verdict "$h10" 2 '<')"
		else
			printf '| H healthy campaign beside a hanging plugin | not run | — | p99 < 2 × without | |\n'
		fi
		if [[ -n ${MC_seconds:-} ]]; then
			printf '| MC month close, %s enrolments (%s pages of %s, %s evaluated ahead) | %.1f s, %s enrolments/s | — | ≥ 30,000/s | %s |\n' \
				"$(fmt "$MC_enrolments")" "$MC_pages" "$MC_page_size" "$MC_prefetch" "$MC_seconds" "$(fmt "$MC_enrolments_per_s")" \
				"$(verdict "$MC_enrolments_per_s" 30000 '>=')"
			printf '| MC peak RSS (driver = the core'"'"'s scheduler and engine / plugin process) | %s / %s MB | — | — | |\n' \
				"$((MC_driver_rss_kb / 1024))" "$((MC_plugin_rss_kb / 1024))"
		else
			printf '| MC month close, %s enrolments | not run | — | ≥ 30,000/s | |\n' "$(fmt "$MC_MEMBERS")"
		fi
		if [[ -n ${BT_seconds:-} ]]; then
			printf '| BT backtest over %s recorded events (%s members) | %.1f s, %s events/s | — | ≥ 50,000/s | %s |\n' \
				"$(fmt "$BT_events")" "$(fmt "$BT_members")" "$BT_seconds" "$(fmt "$BT_events_per_s")" "$(verdict "$BT_events_per_s" 50000 '>=')"
		else
			printf '| BT backtest over %s recorded events | not run | — | ≥ 50,000/s | |\n' "$(fmt "$BT_EVENTS")"
		fi
		printf '| J1 expiry of %s lots (%s accounts) | %s s, %s lots/s | — | ≥ 50,000 lots/s | %s |\n' \
			"$(fmt "${J1_lots:-}")" "$(fmt "${J1_accounts:-}")" "$(printf '%.1f' "${J1_seconds:-0}")" "$(fmt "${J1_lots_per_s:-}")" "$(verdict "${J1_lots_per_s:-}" 50000 '>=')"
		printf '| core peak RSS (E1 / E2 / R1 / Q1) | %s / %s / %s / %s MB | — | < 200 MB | %s |\n' \
			"${E1_CORE_RSS_MB:-n/a}" "${E2_CORE_RSS_MB:-n/a}" "${R1_CORE_RSS_MB:-n/a}" "${Q1_CORE_RSS_MB:-n/a}" "$(verdict "$maxrss" 200 '<')"
		printf '| plugin process peak RSS (E1 / E2) | %s / %s MB | — | — | |\n' "${E1_PLUGIN_RSS_MB:-n/a}" "${E2_PLUGIN_RSS_MB:-n/a}"
		printf '| J1 job process peak RSS | %s MB | — | — | |\n\n' "$((${J1_peak_rss_kb:-0} / 1024))"
		printf 'Per event in the database: E1 %s transactions (xact_commit: every statement outside a transaction counts as one) and %s WAL flushes (pg_stat_wal.wal_sync); E2 %s and %s.\n\n' \
			"$(ratio "${E1_commits:-}" "${E1_all_items:-}")" "$(ratio "${E1_walsyncs:-}" "${E1_all_items:-}")" \
			"$(ratio "${E2_commits:-}" "${E2_all_items:-}")" "$(ratio "${E2_walsyncs:-}" "${E2_all_items:-}")"
		printf 'Load average (1 min) after each phase: B %s, S %s, E1 %s, E2 %s, R1 %s, Q1 %s, QP %s, H %s, J1 %s.\n\n' \
			"${B_LOAD:-}" "${S_LOAD:-}" "${E1_LOAD:-}" "${E2_LOAD:-}" "${R1_LOAD:-}" "${Q1_LOAD:-}" "${QP_LOAD:-}" "${H1_LOAD:-}" "${J1_LOAD:-}"
		local idle="" ph v
		for ph in B S E1 E2 R1 Q1 QP H0 H1 MC J1; do
			v=$(get "${ph}_idle_cpu")
			[[ -n $v && $v != -1 ]] && idle+="${idle:+, }$ph $(awk -v v="$v" 'BEGIN { printf "%.0f %%", 100 * v }')"
		done
		printf 'Idle CPU share of the machine over each measured window (/proc/stat: idle + iowait): %s.\n\n' "${idle:-n/a}"
		if [[ -n ${PE1_statements:-} ]]; then
			printf 'Profile runs (10 s each, under perf): E1 %s; E2 %s; R1 %s; Q1 %s.\n' \
				"${PE1_statements:-}" "${PE2_statements:-}" "${PR1_statements:-n/a}" "${PQ1_statements:-}"
			printf 'CPU by process (%% of both CPUs, all processes on the machine): E1 %s; E2 %s; R1 %s; Q1 %s.\n\n' \
				"${PE1_by_process:-n/a}" "${PE2_by_process:-n/a}" "${PR1_by_process:-n/a}" "${PQ1_by_process:-n/a}"
		fi
		if [[ -n ${MC_seconds:-} ]]; then
			local mcdb="not profiled"
			if [[ -n ${MC_statements:-} ]]; then
				mcdb=$(printf '%s statements, %.0f ms execution (pg_stat_statements; MC-statements.txt)' "$MC_statements" "$MC_exec_ms")
			fi
			printf 'MC: CPU seconds during the pass: driver %.1f, plugin %.1f, PostgreSQL %.1f; database: %s; load average (1, 5, 15 min) before MC %s, after it %s; seeding took %.0f s.\n\n' \
				"$MC_driver_cpu_s" "$MC_plugin_cpu_s" "$MC_postgres_cpu_s" "$mcdb" "${MC_LOAD_BEFORE:-}" "${MC_LOAD:-}" "$MC_seed_seconds"
		fi
		if [[ -n ${J1_lots:-} ]]; then
			printf 'J1: one find-due-accounts query (1,000 accounts) took %s ms; %s calls of ExpireDue; the data was %s.\n\n' \
				"${J1_find_query_ms:-n/a}" "${J1_calls:-n/a}" "${J1_SEED:-n/a}"
		fi
		printf 'Files: %s\n' "${OUT#"$ROOT"/}"
	} >"$OUT/results.md"
	cat "$OUT/results.md"
}

# --- main ---------------------------------------------------------------------------------------

note "results in ${OUT#"$ROOT"/}"
build
start_pg
machine
failed=()
run() {
	local m=$1
	wants "$m" || return 0
	set +e
	(
		set -e
		"measure_$m"
	)
	local rc=$?
	set -e
	if ((rc != 0)); then
		note "$m failed (exit $rc); going on"
		failed+=("$m")
	fi
}
run B
run S
if wants E1 || wants E2 || wants R1 || wants Q1 || wants QP || wants PROFILE || wants H; then
	start_core
fi
run E1
run E2
run R1
run Q1
run QP
run MC
run BT
run PROFILE
run H
stop_core
run J1
report
note "done in $((SECONDS - T0)) s"
if ((${#failed[@]} > 0)); then
	note "failed: ${failed[*]}"
	exit 1
fi
