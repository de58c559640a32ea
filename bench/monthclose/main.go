// Command monthclose times one month close of the giftbymonth programme over many enrolments
// through the scheduler and engine the core runs (benchmark MC of scripts/bench.sh).
//
// Usage:
//
//	monthclose -db URL -plugin bin/plugins/giftbymonth [-members 100000] [-via-engine 200] [-page 0]
//	           [-prefetch 0] [-conns 32] [-cpuprofile FILE] [-pgss FILE]
//
// On an empty database it applies the migrations, creates the programme its2021, registers the
// giftbymonth plugin binary (a real plugin process, started by pluginhost as the core starts
// it), creates and activates the 2021 gift campaign with the plugin's own default config (the
// seed's 2021 gift table; time zone Europe/Kyiv) and seeds the members (see seed.go). The
// first -via-engine members are enrolled through engine.Enroll (the plugin's eligibility check
// and put_state, at each member's registration time); the rest get the same rows from
// set-based SQL, and the SQL's rows for the engine-enrolled members are compared with what the
// engine wrote, so the seed cannot drift from the engine. The daily month-close run of 28 April
// is recorded as done (nothing closes that day).
//
// It then sets programme time to 29 April 2021 00:00:05 Kyiv and times one scheduler.RunOnce:
// the month-close occurrence of 29 April pages through every enrolment (engine.TickPage: one
// plugin Tick per page) and releases April's gifts. Afterwards it checks the outcome: the run is
// done with every enrolment processed and no error; every member has exactly its April gift
// (key, title, recipient, attributes, validity as the programme's rules say) and nothing for
// May; every member's plugin state carries the gift's key and its version was bumped once.
//
// It prints a RESULT line of JSON: enrolments, gifts, seconds, enrolments/s, pages, the peak
// resident set (VmHWM, reset before the run) of the driver and of the plugin process, and the
// CPU seconds the driver, the plugin and the PostgreSQL cluster used during the run.
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
	"math"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/bench/cpustat"
	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/scheduler"
)

const (
	pluginName = "giftbymonth"
	hook       = "month-close"
)

// result is the RESULT line.
type result struct {
	Enrolments  int     `json:"enrolments"`
	ViaEngine   int     `json:"via_engine"`
	Gifts       int     `json:"gifts"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"enrolments_per_s"`
	Pages       int     `json:"pages"` // enrolments / page size, rounded up
	PageSize    int     `json:"page_size"`
	Prefetch    int     `json:"prefetch"`
	DriverRSSKB int64   `json:"driver_rss_kb"`
	PluginRSSKB int64   `json:"plugin_rss_kb"`
	DriverCPU   float64 `json:"driver_cpu_s"`
	PluginCPU   float64 `json:"plugin_cpu_s"`
	PostgresCPU float64 `json:"postgres_cpu_s"`
	SeedSeconds float64 `json:"seed_seconds"`
	// IdleCPU is the share of the machine's CPU time that was idle during the pass (-1: unknown).
	IdleCPU float64 `json:"idle_cpu"`
	// Statements and ExecMs are the database's statements and execution time during the pass
	// (pg_stat_statements, with -pgss).
	Statements   int64   `json:"statements,omitempty"`
	ExecMs       float64 `json:"exec_ms,omitempty"`
	PluginDigest string  `json:"plugin_sha256"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "monthclose:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("monthclose", flag.ContinueOnError)
	url := fs.String("db", "", "database URL of an empty database (default $DATABASE_URL)")
	pluginPath := fs.String("plugin", "", "the giftbymonth plugin binary")
	version := fs.String("plugin-version", "1.0.0", "the plugin's version")
	n := fs.Int("members", 100_000, "members, one enrolment each")
	viaEngine := fs.Int("via-engine", 200, "members enrolled through engine.Enroll (the rest with set-based SQL)")
	page := fs.Int("page", 0, "scheduler page size (0: the scheduler's default)")
	prefetch := fs.Int("prefetch", 0, "pages the scheduler evaluates ahead of the one it applies (0: its default; negative: none)")
	conns := fs.Int("conns", 32, "database pool size (the core's --db-max-conns in bench.sh)")
	chunk := fs.Int("chunk", 10_000, "members per seeding statement")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed pass to this file")
	pgss := fs.String("pgss", "", "reset pg_stat_statements before the timed pass and write its costliest statements to this file after it")
	verbose := fs.Bool("v", false, "log the core's components at info level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pluginPath == "" {
		return errors.New("-plugin is required")
	}
	*viaEngine = min(*viaEngine, *n)
	if *url == "" {
		*url = os.Getenv("DATABASE_URL")
	}
	ctx := context.Background()
	bdb, err := db.Open(ctx, *url, db.Options{MaxOpenConns: *conns, ApplicationName: "monthclose"})
	if err != nil {
		return err
	}
	defer bdb.Close()
	if _, err := db.Migrate(ctx, bdb); err != nil {
		return err
	}
	level := hclog.Warn
	if *verbose {
		level = hclog.Info
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "monthclose", Level: level, Output: os.Stderr})
	clk := clock.NewManual(firstRegistration.Add(-time.Hour))

	// The core's components, wired as server/main.go wires them.
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	host := pluginhost.New(bdb, log.Named("pluginhost"), clk.Now, pluginhost.NewMetrics(prometheus.NewRegistry()), pluginhost.Options{})
	defer host.Close()
	camps := campaigns.NewStore(bdb, clk.Now, host)
	bens := benefits.NewStore(bdb)
	eng := engine.New(bdb, led, mem, camps, bens, host, log.Named("engine"), clk.Now, engine.Options{})
	sched := scheduler.New(bdb, led, bens, eng, host, log.Named("scheduler"), clk.Now, scheduler.Options{PageSize: *page, Prefetch: *prefetch})

	res := result{Enrolments: *n, ViaEngine: *viaEngine, PageSize: sched.Options().PageSize, Prefetch: sched.Options().Prefetch}
	seedStart := time.Now()
	if res.PluginDigest, err = fileSHA256(*pluginPath); err != nil {
		return err
	}
	prog, err := led.CreateProgram(ctx, "its2021", "ITS 2021", "")
	if err != nil {
		return err
	}
	entry, err := host.Register(ctx, pluginhost.RegisterInput{Name: pluginName, Version: *version, Path: *pluginPath,
		SHA256: res.PluginDigest, By: "monthclose"})
	if err != nil {
		return err
	}
	starts, ends := time.Date(2021, 1, 1, 0, 0, 0, 0, kyiv), time.Date(2022, 1, 1, 0, 0, 0, 0, kyiv)
	c, err := camps.Create(ctx, campaigns.CreateInput{Code: "gifts2021", Name: "ITS PROF gifts 2021", ProgramID: prog.ID,
		PluginName: pluginName, PluginVersion: *version, Config: entry.Description.DefaultConfig, TimeZone: "Europe/Kyiv",
		StartsAt: starts, EndsAt: &ends})
	if err != nil {
		return err
	}
	if c, err = camps.Transition(ctx, c.ID, campaigns.Active); err != nil {
		return err
	}
	if err := seedMembers(ctx, bdb, *n, *chunk, clk.Now()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "monthclose: %d members created; enrolling %d through the engine\n", *n, *viaEngine)
	var ids []int64
	if err := bdb.NewRaw(`SELECT m.id FROM generate_series(1, ?::int) AS i JOIN members m ON m.external_ref = 'mc-' || i ORDER BY i`,
		*viaEngine).Scan(ctx, &ids); err != nil {
		return err
	}
	for i, id := range ids {
		clk.Set(registeredAt(i + 1))
		r, err := eng.Enroll(ctx, id, c.ID, answersFor(i+1), "mc-"+strconv.Itoa(i+1))
		if err != nil {
			return fmt.Errorf("enrol mc-%d: %w", i+1, err)
		}
		if r.Enrollment == nil {
			return fmt.Errorf("enrol mc-%d refused: %+v", i+1, r.Reasons)
		}
	}
	if err := seedRegistrations(ctx, bdb, c.ID, *viaEngine+1, *n, *chunk); err != nil {
		return err
	}
	if *viaEngine > 0 {
		diff, err := compareWithEngine(ctx, bdb, c.ID, *viaEngine)
		if err != nil {
			return err
		}
		if len(diff) > 0 {
			return fmt.Errorf("the set-based seed differs from what the engine wrote:\n%s", strings.Join(diff, "\n"))
		}
	}
	// The previous daily run (28 April 00:00) found nothing to release: April was still open.
	if _, err := bdb.NewRaw(`INSERT INTO tick_runs (campaign_id, hook, due_at, status, cursor, processed, lease_until, owner,
			started_at, finished_at)
		SELECT ?, ?, ?, 'done', max(id), count(*), ?, 'monthclose', ?, ? FROM enrollments WHERE campaign_id = ?`,
		c.ID, hook, aprilClose.AddDate(0, 0, -1), aprilClose.AddDate(0, 0, -1).Add(time.Minute),
		aprilClose.AddDate(0, 0, -1), aprilClose.AddDate(0, 0, -1).Add(time.Second), c.ID).Exec(ctx); err != nil {
		return err
	}
	if _, err := bdb.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	if _, err := bdb.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return err
	}
	res.SeedSeconds = time.Since(seedStart).Seconds()
	fmt.Fprintf(os.Stderr, "monthclose: seeded %d enrolments in %.1fs (%d through the engine, matching the set-based rows)\n",
		*n, res.SeedSeconds, *viaEngine)

	// The timed pass.
	pid := pluginPID(entry.Path)
	var postmaster, backend int
	if err := bdb.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &backend); err != nil {
		return err
	}
	if st, ok := readStat(backend); ok {
		postmaster = st.ppid
	}
	resetHWM("self")
	if pid != 0 {
		resetHWM(strconv.Itoa(pid))
	}
	pluginCPU0, pgCPU0, driverCPU0 := pidCPU(pid), clusterCPU(postmaster), selfCPU()
	if *pgss != "" {
		if _, err := bdb.ExecContext(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
			return fmt.Errorf("pg_stat_statements: %w", err)
		}
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
	clk.Set(runAt)
	cpu0, cpuErr := cpustat.Read()
	start := time.Now()
	err = sched.RunOnce(ctx)
	elapsed := time.Since(start)
	res.IdleCPU = -1
	if cpu1, err := cpustat.Read(); err == nil && cpuErr == nil {
		res.IdleCPU = cpustat.IdleShare(cpu0, cpu1)
	}
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if pid == 0 {
		pid = pluginPID(entry.Path)
	}
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(*n) / res.Seconds
	res.Pages = int(math.Ceil(float64(*n) / float64(res.PageSize)))
	res.DriverRSSKB = hwmKB("self")
	res.PluginRSSKB = hwmKB(strconv.Itoa(pid))
	res.DriverCPU = selfCPU() - driverCPU0
	res.PluginCPU = pidCPU(pid) - pluginCPU0
	res.PostgresCPU = clusterCPU(postmaster) - pgCPU0
	fmt.Fprintf(os.Stderr, "monthclose: month close over %d enrolments in %.2fs (%.0f/s); checking the outcome\n",
		*n, res.Seconds, res.PerSecond)
	if *pgss != "" {
		if res.Statements, res.ExecMs, err = statements(ctx, bdb, *n, *pgss); err != nil {
			return err
		}
	}

	if res.Gifts, err = check(ctx, bdb, c.ID, *n); err != nil {
		return err
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return nil
}

// check verifies the month close's outcome and returns the number of gifts.
func check(ctx context.Context, bdb *db.DB, campaignID int64, n int) (int, error) {
	var run struct {
		Status    string
		Processed int64
		LastError string
	}
	if err := bdb.NewRaw(`SELECT status, processed, last_error FROM tick_runs WHERE campaign_id = ? AND hook = ? AND due_at = ?`,
		campaignID, hook, aprilClose).Scan(ctx, &run); err != nil {
		return 0, fmt.Errorf("the run of %s: %w", aprilClose.Format(time.RFC3339), err)
	}
	if run.Status != "done" || run.Processed != int64(n) || run.LastError != "" {
		return 0, fmt.Errorf("the run: status %s, %d processed, error %q; want done, %d, none", run.Status, run.Processed, run.LastError, n)
	}
	var gifts, members, exact, may int
	if err := bdb.NewRaw(`SELECT count(*), count(DISTINCT member_id), count(*) FILTER (WHERE attributes->>'month' = '2021-05')
		FROM benefits WHERE campaign_id = ?`, campaignID).Scan(ctx, &gifts, &members, &may); err != nil {
		return 0, err
	}
	// Every benefit field as the rules say, for every member.
	if err := bdb.NewRaw(`SELECT count(*) FROM (`+registrationsSQL+`) r
		JOIN benefits b ON b.member_id = r.member_id AND b.campaign_id = r.campaign_id AND b.key = r.gift_key
		WHERE b.kind = 'gift' AND b.title = r.gift_title AND b.recipient = r.gift_recipient AND b.attributes = r.gift_attributes
		  AND b.percent = 0 AND b.scope = '' AND b.exclusions = '{}' AND b.quantity = 0 AND b.code = ''
		  AND b.valid_from = ?3 AND b.valid_until IS NULL AND b.status = 'active' AND b.fulfillment = 'to_deliver'
		  AND b.end_reason = '' AND b.ended_at IS NULL AND b.event_id IS NULL AND b.created_at = ?4 AND b.updated_at = ?4`,
		1, n, campaignID, aprilClose, runAt).Scan(ctx, &exact); err != nil {
		return 0, err
	}
	if gifts != n || members != n || exact != n || may != 0 {
		return gifts, fmt.Errorf("%d benefits for %d members, %d exactly as the rules say, %d for May; want %d, %d, %d, 0",
			gifts, members, exact, may, n, n, n)
	}
	var states int
	if err := bdb.NewRaw(`SELECT count(*) FROM (`+registrationsSQL+`) r
		JOIN plugin_state s ON s.campaign_id = r.campaign_id AND s.member_id = r.member_id
		WHERE s.state = r.closed_state AND s.version = r.version + 1 AND s.updated_at = ?3`,
		1, n, campaignID, runAt).Scan(ctx, &states); err != nil {
		return 0, err
	}
	if states != n {
		return gifts, fmt.Errorf("%d plugin states record the gift with their version bumped once; want %d", states, n)
	}
	return gifts, nil
}

// statements reads pg_stat_statements for this database: the totals, and the 25 costliest
// statements per enrolment into file.
func statements(ctx context.Context, bdb *db.DB, n int, file string) (int64, float64, error) {
	var rows []struct {
		Calls  int64
		ExecMs float64
		MeanMs float64
		Query  string
	}
	if err := bdb.NewRaw(`SELECT s.calls, s.total_exec_time AS exec_ms, s.mean_exec_time AS mean_ms,
			regexp_replace(left(s.query, 140), '\s+', ' ', 'g') AS query
		FROM pg_stat_statements s WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY s.total_exec_time DESC`).Scan(ctx, &rows); err != nil {
		return 0, 0, fmt.Errorf("pg_stat_statements: %w", err)
	}
	var calls int64
	var exec float64
	var sb strings.Builder
	fmt.Fprintf(&sb, "%12s %12s %10s %10s  %s\n", "calls/enrol", "µs/enrol", "mean ms", "total ms", "query")
	for i, r := range rows {
		calls += r.Calls
		exec += r.ExecMs
		if i < 25 {
			fmt.Fprintf(&sb, "%12.3f %12.2f %10.3f %10.0f  %s\n", float64(r.Calls)/float64(n), r.ExecMs*1000/float64(n), r.MeanMs, r.ExecMs, r.Query)
		}
	}
	fmt.Fprintf(&sb, "total: %d statements (%.2f per enrolment), %.0f ms execution (%.1f µs per enrolment)\n",
		calls, float64(calls)/float64(n), exec, exec*1000/float64(n))
	return calls, exec, os.WriteFile(file, []byte(sb.String()), 0o644)
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func pidCPU(pid int) float64 {
	st, _ := readStat(pid)
	return st.cpu
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
