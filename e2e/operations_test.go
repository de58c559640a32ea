package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// scrape reads the core's /metrics into metric families by name.
func (c *core) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(c.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricValue returns the value of the series of family name whose labels include want, and
// whether there is one. Counters, gauges and untyped series give their value, histograms their
// sample count.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	sum, found := 0.0, false
series:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue series
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, found
}

// TestMetricsAfterAWorkload runs a short workload (events, a duplicate, a redemption-free
// adjustment, scheduler passes) and checks every metric family of docs/operations.md: present
// from the start, and with the exact counts where work happened.
func TestMetricsAfterAWorkload(t *testing.T) {
	c := startCore(t, newDatabase(t), append(clock2021, "--scheduler-interval", "100ms")...)
	c.setup(t, "shop", 2)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")

	// Before any plugin call: the plugin's restart counter exists at zero once registered.
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	if v, ok := metricValue(c.scrape(t), "promogate_plugin_restarts_total", map[string]string{"plugin": "weekenddouble", "version": "1.0.0"}); !ok || v != 0 {
		t.Fatalf("promogate_plugin_restarts_total before any restart = %v (present %v), want 0", v, ok)
	}
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})

	// Five purchases on a Monday (2021-04-12): 3, 4, 5, 6 and 7 points; one delivered twice.
	for i := 0; i < 5; i++ {
		out := c.record(t, fmt.Sprintf("m%d", i%2+1), fmt.Sprintf("p%d", i), "2021-04-12T10:00:00+03:00", map[string]any{"amount": 300 + 100*i})
		if st := data(t, map[string]any{"data": out}, "event", "status"); st != "DONE" {
			t.Fatalf("event p%d: %v", i, compact(out))
		}
	}
	if dup := c.record(t, "m1", "p0", "2021-04-12T10:00:00+03:00", map[string]any{"amount": 300}); dup["duplicate"] != true {
		t.Fatalf("second delivery of p0 is not a duplicate: %v", compact(dup))
	}
	m2 := data(t, c.gql(`{ member(externalRef: "m2") { id } }`, nil), "member", "id")
	resp := c.gql(`mutation OpsAdjust($m: ID!) { adjustPoints(memberId: $m, program: "shop", amount: -2, reason: "goodwill back", idempotencyKey: "adj-1") { transaction { points } } }`,
		map[string]any{"m": m2})
	data(t, resp, "adjustPoints")

	var fams map[string]*dto.MetricFamily
	waitFor(t, "two scheduler passes", func() bool {
		fams = c.scrape(t)
		v, _ := metricValue(fams, "promogate_scheduler_passes_total", map[string]string{"result": "ok"})
		return v >= 2
	})
	exact := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"promogate_events_recorded_total", map[string]string{"result": "stored"}, 5},
		{"promogate_events_recorded_total", map[string]string{"result": "duplicate"}, 1},
		{"promogate_events_recorded_total", map[string]string{"result": "conflict"}, 0},
		{"promogate_events_decided_total", map[string]string{"outcome": "applied"}, 5},
		{"promogate_event_campaign_outcomes_total", map[string]string{"status": "applied"}, 5},
		{"promogate_events_waiting", nil, 0},
		{"promogate_events_oldest_waiting_age_seconds", nil, 0},
		{"promogate_ledger_transactions_total", map[string]string{"kind": "earn"}, 5},
		{"promogate_ledger_points_total", map[string]string{"kind": "earn"}, 3 + 4 + 5 + 6 + 7},
		{"promogate_ledger_transactions_total", map[string]string{"kind": "adjust"}, 1},
		{"promogate_ledger_points_total", map[string]string{"kind": "adjust"}, 2},
		{"promogate_plugin_restarts_total", map[string]string{"plugin": "weekenddouble"}, 0},
		{"promogate_plugin_up", map[string]string{"plugin": "weekenddouble", "version": "1.0.0", "state": "running"}, 1},
		{"promogate_plugin_consecutive_failures", map[string]string{"plugin": "weekenddouble"}, 0},
		{"promogate_outbox_pending", nil, 0},
		{"promogate_outbox_attempts_total", map[string]string{"outcome": "delivered"}, 0},
		{"promogate_graphql_operations_total", map[string]string{"operation": "OpsAdjust", "type": "mutation", "outcome": "ok"}, 1},
		{"promogate_graphql_operation_duration_seconds", map[string]string{"operation": "OpsAdjust"}, 1},
	}
	for _, e := range exact {
		if v, ok := metricValue(fams, e.name, e.labels); !ok || v != e.want {
			t.Errorf("%s%v = %v (present %v), want %v", e.name, e.labels, v, ok, e.want)
		}
	}
	positive := []struct {
		name   string
		labels map[string]string
	}{
		{"promogate_http_requests_total", map[string]string{"route": "/graphql", "method": "POST", "status": "200"}},
		{"promogate_http_request_duration_seconds", map[string]string{"route": "/graphql"}},
		{"promogate_graphql_operations_total", map[string]string{"type": "mutation", "outcome": "ok"}},
		{"promogate_plugin_calls_total", map[string]string{"plugin": "weekenddouble", "method": "Evaluate", "result": "ok"}},
		{"promogate_plugin_call_duration_seconds", map[string]string{"plugin": "weekenddouble", "method": "Evaluate"}},
		{"promogate_scheduler_passes_total", map[string]string{"result": "ok"}},
		{"promogate_scheduler_pass_duration_seconds", nil},
		{"promogate_scheduler_last_pass_timestamp_seconds", nil},
		{"go_sql_open_connections", map[string]string{"db_name": "promogate"}},
		{"go_sql_max_open_connections", map[string]string{"db_name": "promogate"}},
	}
	for _, p := range positive {
		if v, ok := metricValue(fams, p.name, p.labels); !ok || v <= 0 {
			t.Errorf("%s%v = %v (present %v), want > 0", p.name, p.labels, v, ok)
		}
	}
	for _, name := range []string{"promogate_scheduler_hook_lag_seconds", "promogate_scheduler_tick_pages_total",
		"promogate_outbox_oldest_pending_age_seconds", "promogate_outbox_attempts_total", "go_sql_wait_count_total"} {
		if fams[name] == nil {
			t.Errorf("metric family %s is missing", name)
		}
	}

	// docs/operations.md lists every family the core exports, and the Grafana dashboard uses
	// only families that exist.
	doc, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range fams {
		if strings.HasPrefix(name, "promogate_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/operations.md does not list %s", name)
		}
	}
	dash, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\b(?:promogate|go_sql|process)_[a-z_]+`).FindAllString(string(dash), -1) {
		base := strings.TrimSuffix(name, "_bucket")
		if fams[base] == nil {
			t.Errorf("deploy/grafana-dashboard.json uses %s, which the core does not export", name)
		}
	}

	// The access log has one line per GraphQL request with its operation, role and status.
	logs := c.logs.String()
	var line map[string]any
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"operation":"OpsAdjust"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("access log line is not JSON: %s", l)
			}
		}
	}
	if line == nil || line["@message"] != "request" || line["role"] != "admin" || line["status"] != float64(200) ||
		line["type"] != "mutation" || line["path"] != "/graphql" {
		t.Errorf("access log line of OpsAdjust: %v", line)
	}
	if d, _ := line["duration"].(string); !strings.HasSuffix(d, "s") {
		t.Errorf("access log duration %q is not in human units", d)
	}
}

// privateCluster starts a PostgreSQL cluster of this test's own (scripts/pgcluster.sh, as the
// postgres user when run as root) on a free port, so the test may stop and start it without
// disturbing other packages. It returns the cluster's admin URL and a function running
// pgcluster.sh commands (stop, start) on it.
func privateCluster(t *testing.T) (string, func(cmd string)) {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "promogate-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	port := freeAddr(t)[len("127.0.0.1:"):]
	script := filepath.Join(repoRoot(), "scripts", "pgcluster.sh")
	cluster := func(command string) string {
		t.Helper()
		cmd := exec.Command(script, command, dir)
		cmd.Env = append(os.Environ(), "PROMOGATE_PG_PORT="+port, "PROMOGATE_PG_FAST=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pgcluster.sh %s: %v\n%s", command, err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	cluster("start")
	t.Cleanup(func() { cluster("destroy") })
	return cluster("url"), func(cmd string) { cluster(cmd) }
}

// TestPostgresRestartUnderLoad stops and starts the core's PostgreSQL while clients record
// events (retrying with the same external id on UNAVAILABLE, as a billing system does): the
// core answers UNAVAILABLE with HTTP 503 and Retry-After and reports not ready during the
// outage, recovers by itself, evaluates the events whose in-line evaluation died within
// --event-retry-max of the database's return, and loses or doubles nothing.
func TestPostgresRestartUnderLoad(t *testing.T) {
	admin, cluster := privateCluster(t)
	ctx := context.Background()
	adminDB, err := db.Open(ctx, admin, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE restart"); err != nil {
		t.Fatal(err)
	}
	adminDB.Close()
	dbURL := strings.Replace(admin, "/postgres?", "/restart?", 1)

	const retryMax = 2 * time.Second
	c := startCore(t, dbURL, append(clock2021, "--event-retry-max", retryMax.String(), "--plugin-backoff-max", "300ms")...)
	const members, clients, perClient = 4, 4, 16
	c.setup(t, "shop", members)
	path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
	data(t, c.register(t, "misbehave", "1.0.0", path, sum))
	// Every evaluation takes 400 ms, so some are in flight when the database goes away.
	c.campaign(t, "slow", "shop", "misbehave", "1.0.0", map[string]any{"mode": "sleep", "sleepMs": 400})

	var (
		mu          sync.Mutex
		acked       = make([]int, members+1) // acknowledged events per member
		unavailable int                      // UNAVAILABLE answers seen by the clients
		other       []string                 // anything else that went wrong
	)
	post := func(body []byte) (int, http.Header, map[string]any, error) {
		req, _ := http.NewRequest(http.MethodPost, c.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, resp.Header, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
		}
		return resp.StatusCode, resp.Header, out, nil
	}
	var load sync.WaitGroup
	for w := 0; w < clients; w++ {
		load.Add(1)
		go func(w int) {
			defer load.Done()
			for i := 0; i < perClient; i++ {
				m := (w+i)%members + 1
				body := gqlBody(`mutation($in: EventInput!) { recordEvent(input: $in) { error { code } event { id } } }`,
					map[string]any{"in": map[string]any{"type": "purchase", "memberRef": fmt.Sprintf("m%d", m), "source": "billing",
						"externalId": fmt.Sprintf("w%d-%d", w, i), "occurredAt": "2021-04-12T10:00:00+03:00", "attributes": map[string]any{"amount": 100}}})
				for attempt := 0; ; attempt++ {
					if attempt == 600 {
						mu.Lock()
						other = append(other, fmt.Sprintf("w%d-%d: not acknowledged after %d attempts", w, i, attempt))
						mu.Unlock()
						return
					}
					status, header, out, err := post(body)
					if err == nil && out["errors"] == nil {
						if id := data(t, out, "recordEvent", "event", "id"); id == nil {
							mu.Lock()
							other = append(other, fmt.Sprintf("w%d-%d: %v", w, i, compact(out)))
							mu.Unlock()
							return
						}
						mu.Lock()
						acked[m]++
						mu.Unlock()
						break
					}
					if err == nil && errorCode(out) == "UNAVAILABLE" {
						mu.Lock()
						unavailable++
						if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
							other = append(other, fmt.Sprintf("UNAVAILABLE with HTTP %d, Retry-After %q", status, header.Get("Retry-After")))
						}
						mu.Unlock()
					} else if err == nil {
						mu.Lock()
						other = append(other, fmt.Sprintf("w%d-%d: HTTP %d %v", w, i, status, compact(out)))
						mu.Unlock()
						return
					}
					time.Sleep(50 * time.Millisecond) // a client's pause before retrying
				}
			}
		}(w)
	}

	readyz := func() (int, string) {
		resp, err := http.Get(c.URL + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	waitFor(t, "a few events recorded before the outage", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range acked {
			n += a
		}
		return n >= 4
	})
	cluster("stop")
	waitFor(t, "/readyz to report not ready", func() bool {
		status, body := readyz()
		if status == http.StatusServiceUnavailable && body != `{"status":"not ready"}` {
			t.Fatalf("/readyz body during the outage shows more than its status: %s", body)
		}
		return status == http.StatusServiceUnavailable
	})
	status, header, out, err := post(gqlBody(`{ programs { code } }`, nil))
	if err != nil || status != http.StatusServiceUnavailable || header.Get("Retry-After") != "5" || errorCode(out) != "UNAVAILABLE" {
		t.Fatalf("a read during the outage: HTTP %d, Retry-After %q, %v, %v", status, header.Get("Retry-After"), compact(out), err)
	}
	cluster("start")
	waitFor(t, "/readyz to report ready again", func() bool { s, _ := readyz(); return s == http.StatusOK })
	back := time.Now()
	bdb, err := db.Open(ctx, dbURL, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	// The events stored before the outage whose in-line evaluation it cut short.
	var stranded []int64
	if err := bdb.NewRaw(`SELECT id FROM events WHERE status = 'pending' AND received_at < ?`, back.Add(-time.Second)).
		Scan(ctx, &stranded); err != nil {
		t.Fatal(err)
	}
	if len(stranded) == 0 {
		t.Fatal("no event was being evaluated when the database stopped: the test proves nothing about their recovery")
	}
	// Wide margin: the retry bound, the worker's poll and one slow evaluation.
	deadline := back.Add(retryMax + 3*time.Second)
	for {
		var pending int
		if err := bdb.NewRaw(`SELECT count(*) FROM events WHERE id IN (?) AND status = 'pending'`, bun.List(stranded)).
			Scan(ctx, &pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events cut short by the outage still pending %s after the database came back (--event-retry-max %s)",
				pending, len(stranded), time.Since(back).Round(time.Millisecond), retryMax)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d events cut short by the outage, all decided %s after the database came back",
		len(stranded), time.Since(back).Round(time.Millisecond))
	load.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected answers: %v", other)
	}
	waitFor(t, "every event decided", func() bool {
		var pending int
		if err := bdb.NewRaw(`SELECT count(*) FROM events WHERE status = 'pending'`).Scan(ctx, &pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})
	t.Logf("%d UNAVAILABLE answers to the clients", unavailable)

	for m := 1; m <= members; m++ {
		if got, want := c.available(t, fmt.Sprintf("m%d", m), "shop"), int64(10*acked[m]); got != want {
			t.Errorf("m%d: %d points, want %d (10 for each of %d acknowledged events)", m, got, want, acked[m])
		}
	}
	var doubled []int64
	if err := bdb.NewRaw(`SELECT event_id FROM transactions WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1`).
		Scan(ctx, &doubled); err != nil {
		t.Fatal(err)
	}
	if len(doubled) > 0 {
		t.Errorf("events credited twice: %v", doubled)
	}
	var events int
	if err := bdb.NewRaw(`SELECT count(*) FROM events`).Scan(ctx, &events); err != nil {
		t.Fatal(err)
	}
	if events != clients*perClient {
		t.Errorf("%d events stored, want %d", events, clients*perClient)
	}
	assertConservation(t, bdb)
}
