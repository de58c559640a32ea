// Command backtest times a backtest over many recorded events (benchmark BT of
// scripts/bench.sh): the weekenddouble plugin (a real plugin process, started by pluginhost as
// the core starts it) run by server/backtest over a year of purchases.
//
// Usage:
//
//	backtest -db URL -plugin bin/plugins/weekenddouble [-events 1000000] [-members 10000] [-conns 8]
//	    [-checkpoint 10s] [-batch 2000] [-parallel 2] [-cpuprofile FILE] [-plugin-cpuprofile DIR]
//
// On an empty database it applies the migrations, creates a programme, registers the plugin
// binary, creates a draft campaign with the plugin's default configuration (time zone
// Europe/Kyiv) and records the events with COPY: purchases of members 1..members spread evenly
// over 2025 (amounts 1..500.00 in cents, no event outside the year). It then times one
// backtest.Service.RunOnce over 2025 (events read in pages from one query, plugin Evaluate calls
// of a few thousand events, several in flight) and checks the outcome against what the
// plugin's rules give, computed by SQL from the same events: events evaluated, points issued,
// members reached, and nothing live written.
//
// It prints a RESULT line of JSON: events, members, seconds, events/s, points, and the CPU
// seconds of the driver and the plugin.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/backtest"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

type result struct {
	Events      int64   `json:"events"`
	Members     int     `json:"members"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"events_per_s"`
	Points      int64   `json:"points"`
	DriverCPU   float64 `json:"driver_cpu_s"`
	PluginCPU   float64 `json:"plugin_cpu_s"`
	SeedSeconds float64 `json:"seed_seconds"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backtest:", err)
		os.Exit(1)
	}
}

var (
	year    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	yearEnd = year.AddDate(1, 0, 0)
)

func run(args []string) error {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	url := fs.String("db", "", "database URL of an empty database (default $DATABASE_URL)")
	pluginPath := fs.String("plugin", "", "the weekenddouble plugin binary")
	n := fs.Int64("events", 1_000_000, "recorded events")
	nm := fs.Int("members", 10_000, "members the events are spread over")
	conns := fs.Int("conns", 8, "database pool size")
	checkpoint := fs.Duration("checkpoint", 0, "time between checkpoints (0: the service's default)")
	batch := fs.Int("batch", 0, "events per plugin Evaluate call (0: the service's default)")
	parallel := fs.Int("parallel", 0, "Evaluate calls in flight (0: the service's default)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed run to this file")
	pluginProfile := fs.String("plugin-cpuprofile", "", "directory the plugin processes write CPU profiles of their lives to ("+
		sdk.CPUProfileEnv+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pluginPath == "" {
		return errors.New("-plugin is required")
	}
	if *url == "" {
		*url = os.Getenv("DATABASE_URL")
	}
	if *pluginProfile != "" {
		if err := os.Setenv(sdk.CPUProfileEnv, *pluginProfile); err != nil {
			return err
		}
	}
	ctx := context.Background()
	bdb, err := db.Open(ctx, *url, db.Options{MaxOpenConns: *conns, ApplicationName: "backtest-bench"})
	if err != nil {
		return err
	}
	defer bdb.Close()
	if _, err := db.Migrate(ctx, bdb); err != nil {
		return err
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "backtest", Level: hclog.Warn, Output: os.Stderr})
	now := func() time.Time { return time.Now() }
	led := ledger.New(bdb, now)
	mem := members.NewStore(bdb, now)
	host := pluginhost.New(bdb, log.Named("pluginhost"), now, pluginhost.NewMetrics(prometheus.NewRegistry()), pluginhost.Options{})
	defer host.Close()
	camps := campaigns.NewStore(bdb, now, host)
	eng := engine.New(bdb, led, mem, camps, benefits.NewStore(bdb), host, log.Named("engine"), now, engine.Options{})
	svc := backtest.New(bdb, host, eng, camps, led, mem, log, now, backtest.Options{Checkpoint: *checkpoint, BatchSize: *batch,
		Parallel: *parallel})

	res := result{Events: *n, Members: *nm}
	seedStart := time.Now()
	sum, err := fileSHA256(*pluginPath)
	if err != nil {
		return err
	}
	prog, err := led.CreateProgram(ctx, "bt", "Backtest bench", "")
	if err != nil {
		return err
	}
	entry, err := host.Register(ctx, pluginhost.RegisterInput{Name: "weekenddouble", Version: "1.0.0", Path: *pluginPath, SHA256: sum,
		By: "backtest-bench"})
	if err != nil {
		return err
	}
	c, err := camps.Create(ctx, campaigns.CreateInput{Code: "bt-draft", Name: "Weekend double draft", ProgramID: prog.ID,
		PluginName: entry.Name, PluginVersion: entry.Version, Config: entry.Description.DefaultConfig, TimeZone: "Europe/Kyiv",
		StartsAt: year})
	if err != nil {
		return err
	}
	if err := seed(ctx, bdb, *n, *nm); err != nil {
		return err
	}
	if _, err := db.PG(bdb).Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		return err
	}
	res.SeedSeconds = time.Since(seedStart).Seconds()
	fmt.Fprintf(os.Stderr, "backtest: %d events of %d members recorded in %.1fs\n", *n, *nm, res.SeedSeconds)

	b, err := svc.Start(ctx, backtest.StartInput{CampaignID: c.ID, From: year, To: yearEnd, By: "backtest-bench"})
	if err != nil {
		return err
	}
	before, err := liveRows(ctx, bdb)
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	pid := pluginPID(entry.Path)
	pluginCPU0, driverCPU0 := pidCPU(pid), selfCPU()
	start := time.Now()
	ran, err := svc.RunOnce(ctx)
	elapsed := time.Since(start)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Fprintf(os.Stderr, "backtest: %d events in %.2fs (%.0f/s); checking the outcome\n", *n, elapsed.Seconds(), float64(*n)/elapsed.Seconds())
	if err != nil {
		return err
	}
	if !ran {
		return errors.New("the backtest was not run")
	}
	if pid == 0 {
		pid = pluginPID(entry.Path)
	}
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(*n) / res.Seconds
	res.DriverCPU = selfCPU() - driverCPU0
	res.PluginCPU = pidCPU(pid) - pluginCPU0
	if res.Points, err = check(ctx, bdb, svc, b.ID, entry.Description.DefaultConfig, *n, *nm, before); err != nil {
		return err
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return nil
}

// seed records n purchases over 2025 by members bt-1..bt-m with COPY: event k (0-based) is
// member k mod m's, at year start + k × (year / n), amount 1 + (k × 7919) mod 50000 cents.
func seed(ctx context.Context, bdb *db.DB, n int64, m int) error {
	pg := db.PG(bdb)
	if _, err := pg.Exec(ctx, `INSERT INTO members (external_ref, name, created_at, updated_at)
		SELECT 'bt-' || i, 'Member ' || i, now(), now() FROM generate_series(1, $1::int) AS i`, m); err != nil {
		return err
	}
	var first int64
	if err := pg.QueryRow(ctx, `SELECT min(id) FROM members WHERE external_ref LIKE 'bt-%'`).Scan(&first); err != nil {
		return err
	}
	step := yearEnd.Sub(year) / time.Duration(n)
	outcome := json.RawMessage(`{"campaigns":[]}`)
	hash := []byte{0}
	var k int64
	_, err := pg.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"source", "external_id", "type", "member_id", "occurred_at",
		"attributes", "input_hash", "received_at", "status", "next_attempt_at", "outcome"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if k == n {
				return nil, nil
			}
			at := year.Add(time.Duration(k) * step)
			row := []any{"bench", "bt-" + strconv.FormatInt(k, 10), "purchase", first + k%int64(m), at,
				map[string]any{"amount": 1 + (k*7919)%50000}, hash, at, "done", at, outcome}
			k++
			return row, nil
		}))
	return err
}

// check compares the finished backtest with the plugin's rules applied by SQL to the same
// events, and returns the points issued.
func check(ctx context.Context, bdb *db.DB, svc *backtest.Service, id int64, config json.RawMessage, n int64, m int, before string) (int64, error) {
	b, err := svc.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	var cfg struct {
		PointsPerUnit, UnitAmount, WeekendMultiplier int64
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return 0, err
	}
	var points, reached int64
	if err := db.PG(bdb).QueryRow(ctx, `SELECT coalesce(sum((a / $1) * $2 * CASE WHEN extract(isodow FROM occurred_at AT TIME ZONE 'Europe/Kyiv') >= 6
			THEN $3 ELSE 1 END), 0), count(DISTINCT member_id) FILTER (WHERE a >= $1)
		FROM (SELECT member_id, occurred_at, (attributes->>'amount')::bigint AS a FROM events WHERE type = 'purchase') e`,
		cfg.UnitAmount, cfg.PointsPerUnit, cfg.WeekendMultiplier).Scan(&points, &reached); err != nil {
		return 0, err
	}
	var problems []string
	if b.Status != backtest.StatusDone {
		problems = append(problems, fmt.Sprintf("status %s (%s)", b.Status, b.Error))
	}
	if b.Totals.EventsEvaluated != n || b.EventsDone != n {
		problems = append(problems, fmt.Sprintf("%d events evaluated, %d done; want %d", b.Totals.EventsEvaluated, b.EventsDone, n))
	}
	if b.Totals.PointsIssued != points {
		problems = append(problems, fmt.Sprintf("%d points issued; the rules give %d", b.Totals.PointsIssued, points))
	}
	if b.Totals.MembersReached != reached {
		problems = append(problems, fmt.Sprintf("%d members reached; want %d of %d", b.Totals.MembersReached, reached, m))
	}
	after, err := liveRows(ctx, bdb)
	if err != nil {
		return 0, err
	}
	if after != before {
		problems = append(problems, fmt.Sprintf("live rows (transactions/accounts/states/benefits) %s before, %s after", before, after))
	}
	if len(problems) > 0 {
		return 0, errors.New(strings.Join(problems, "; "))
	}
	return points, nil
}

// liveRows counts the rows a backtest must not write.
func liveRows(ctx context.Context, bdb *db.DB) (string, error) {
	var s string
	err := db.PG(bdb).QueryRow(ctx, `SELECT (SELECT count(*) FROM transactions) || '/' || (SELECT count(*) FROM accounts)
		|| '/' || (SELECT count(*) FROM plugin_state) || '/' || (SELECT count(*) FROM benefits)`).Scan(&s)
	return s, err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pluginPID finds the process running the binary at path (0 when none).
func pluginPID(path string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path {
			return pid
		}
	}
	return 0
}

// pidCPU returns the user+system CPU seconds of process pid (0 when unknown).
func pidCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
