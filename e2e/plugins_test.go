package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
)

// clock2021 runs the core's programme time from 20 April 2021, after the test events occur.
var clock2021 = []string{"--clock-start", "2021-04-20T00:00:00Z"}

// pluginBinary builds the plugin main package pkg into a fresh copy for this test and returns
// its path and hex SHA-256.
func pluginBinary(t *testing.T, pkg, name string) (string, string) {
	t.Helper()
	src := build(t, pkg, name)
	dst := filepath.Join(t.TempDir(), name)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return dst, hex.EncodeToString(sum[:])
}

// data digs a value out of a GraphQL response by path (map keys and slice indexes), failing
// with the whole response when the path is missing or the response has errors.
func data(t *testing.T, resp map[string]any, path ...any) any {
	t.Helper()
	if errs, ok := resp["errors"]; ok {
		t.Fatalf("GraphQL errors: %v", errs)
	}
	cur := resp["data"]
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("no %q in %v", k, resp)
			}
			cur = m[k]
		case int:
			s, ok := cur.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("no [%d] in %v", k, resp)
			}
			cur = s[k]
		}
	}
	return cur
}

// errorCode returns extensions.code of the first error in resp, or "".
func errorCode(resp map[string]any) string {
	errs, _ := resp["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}

// setup creates a programme and members m1..mN through the API.
func (c *core) setup(t *testing.T, program string, members int) {
	t.Helper()
	data(t, c.gql(`mutation($c: String!) { createProgram(input: {code: $c, name: "Test"}) { code } }`, map[string]any{"c": program}))
	for i := 1; i <= members; i++ {
		data(t, c.gql(`mutation($r: String!) { upsertMember(input: {externalRef: $r}) { created } }`,
			map[string]any{"r": fmt.Sprintf("m%d", i)}))
	}
}

func (c *core) register(t *testing.T, name, version, path, sum string) map[string]any {
	t.Helper()
	return c.gql(`mutation($n: String!, $v: String!, $p: String!, $s: String!) {
		registerPlugin(input: {name: $n, version: $v, path: $p, sha256: $s}) { name version checksum eventTypes } }`,
		map[string]any{"n": name, "v": version, "p": path, "s": sum})
}

// campaign creates and activates a campaign and returns its id.
func (c *core) campaign(t *testing.T, code, program, plugin, version string, config map[string]any) string {
	t.Helper()
	resp := c.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id status } }`, map[string]any{"in": map[string]any{
		"code": code, "name": code, "program": program, "plugin": plugin, "pluginVersion": version,
		"config": config, "timeZone": "Europe/Kyiv", "startsAt": "2020-01-01T00:00:00Z",
	}})
	id := data(t, resp, "createCampaign", "id").(string)
	if st := data(t, c.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": id}),
		"activateCampaign", "status"); st != "ACTIVE" {
		t.Fatalf("campaign status %v", st)
	}
	return id
}

const recordQ = `mutation($in: EventInput!) { recordEvent(input: $in) {
	duplicate error { code message }
	event { id status outcome { reason campaigns { campaign { code } status code reason effects { kind points } }
	                            waiting { campaign { code } error } } } } }`

func (c *core) record(t *testing.T, member, externalID, at string, attrs map[string]any) map[string]any {
	t.Helper()
	return data(t, c.gql(recordQ, map[string]any{"in": map[string]any{
		"type": "purchase", "memberRef": member, "occurredAt": at, "source": "shop", "externalId": externalID, "attributes": attrs,
	}}), "recordEvent").(map[string]any)
}

func (c *core) available(t *testing.T, member, program string) int64 {
	t.Helper()
	bs := data(t, c.gql(`query($r: String!, $p: String) { member(externalRef: $r) { balances(program: $p) { available } } }`,
		map[string]any{"r": member, "p": program}), "member", "balances").([]any)
	return int64(bs[0].(map[string]any)["available"].(float64))
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRegisterPluginAtRunTime is the partner path: build the sample plugin, register it with its
// checksum on a running core, create a campaign, record events, and see the plugin's decision
// in the balance, all without restarting the core.
func TestRegisterPluginAtRunTime(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")

	bad := strings.Repeat("0", 64)
	if code := errorCode(c.register(t, "weekenddouble", "1.0.0", path, bad)); code != "CHECKSUM_MISMATCH" {
		t.Fatalf("wrong sha256: code %q", code)
	}
	got := data(t, c.register(t, "weekenddouble", "1.0.0", path, sum), "registerPlugin")
	if want := fmt.Sprintf(`{"checksum":%q,"eventTypes":["purchase"],"name":"weekenddouble","version":"1.0.0"}`, sum); compact(got) != want {
		t.Fatalf("registerPlugin: got %s want %s", compact(got), want)
	}
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})

	// 2021-04-14 is a Wednesday, 2021-04-17 a Saturday (Europe/Kyiv).
	wed := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 1250})
	if want := `{"campaigns":[{"campaign":{"code":"weekend"},"code":null,"effects":[{"kind":"credit_points","points":12}],"reason":null,"status":"APPLIED"}],"reason":null,"waiting":[]}`; compact(wed["event"].(map[string]any)["outcome"]) != want {
		t.Fatalf("weekday outcome: got %s\nwant %s", compact(wed["event"].(map[string]any)["outcome"]), want)
	}
	c.record(t, "m1", "o-2", "2021-04-17T00:00:00+03:00", map[string]any{"amount": 1000})
	if got := c.available(t, "m1", "shop"); got != 12+20 {
		t.Fatalf("balance %d, want 32", got)
	}
	// A duplicate delivery is answered with the first outcome and changes nothing.
	dup := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 1250})
	if dup["duplicate"] != true || compact(dup["event"].(map[string]any)["outcome"]) != compact(wed["event"].(map[string]any)["outcome"]) {
		t.Fatalf("duplicate: %s", compact(dup))
	}
	conflict := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 9999})
	if compact(conflict["error"]) != `{"code":"EVENT_CONFLICT","message":"event id reused with different content: source \"shop\" externalId \"o-1\""}` {
		t.Fatalf("conflict: %s", compact(conflict))
	}
	if got := c.available(t, "m1", "shop"); got != 32 {
		t.Fatalf("balance after duplicate %d, want 32", got)
	}

	plugins := data(t, c.gql(`{ plugins { name version checksum health { state } campaigns { code } } }`, nil), "plugins")
	if want := fmt.Sprintf(`[{"campaigns":[{"code":"weekend"}],"checksum":%q,"health":{"state":"RUNNING"},"name":"weekenddouble","version":"1.0.0"}]`, sum); compact(plugins) != want {
		t.Fatalf("plugins: got %s want %s", compact(plugins), want)
	}
	metrics := httpGet(t, c.URL+"/metrics")
	if !strings.Contains(metrics, `promogate_plugin_calls_total{method="Evaluate",plugin="weekenddouble",result="ok",version="1.0.0"} 2`) {
		t.Fatalf("metrics lack the Evaluate counter:\n%s", grepLines(metrics, "promogate_plugin"))
	}
}

// TestChangedBinaryRefusedAtSpawn: a binary replaced after registration is refused when the
// core (re)starts it, and the waiting event's outcome says why.
func TestChangedBinaryRefusedAtSpawn(t *testing.T) {
	c := startCore(t, newDatabase(t), append(clock2021, "--plugin-backoff-max", "200ms")...)
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0", nil)

	// Replace the binary (a running executable cannot be written in place).
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", append(b, "tampered"...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}

	resp := c.gql(`mutation { reloadPlugin(name: "weekenddouble", version: "1.0.0") { name } }`, nil)
	if code := errorCode(resp); code != "CHECKSUM_MISMATCH" {
		t.Fatalf("reload of a changed binary: %s", compact(resp))
	}
	ev := c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 500})["event"].(map[string]any)
	waiting := ev["outcome"].(map[string]any)["waiting"].([]any)
	if ev["status"] != "PENDING" || len(waiting) != 1 || !strings.Contains(waiting[0].(map[string]any)["error"].(string), "checksum mismatch") {
		t.Fatalf("event with a changed binary: %s", compact(ev))
	}
	if got := c.available(t, "m1", "shop"); got != 0 {
		t.Fatalf("balance %d, want 0", got)
	}
}

// TestMisbehavingPluginsAreContained runs one campaign per kind of bad answer next to a
// well-behaved one; each bad one fails its own campaign with a reason, the good one applies.
func TestMisbehavingPluginsAreContained(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
	data(t, c.register(t, "misbehave", "1.0.0", path, sum))
	for _, mode := range []string{"ok", "unknown_effect", "negative_credit", "absurd_credit", "wrong_count"} {
		c.campaign(t, strings.ReplaceAll(mode, "_", "-"), "shop", "misbehave", "1.0.0", map[string]any{"mode": mode})
	}
	ev := c.record(t, "m1", "e-1", "2021-04-14T12:00:00Z", nil)["event"].(map[string]any)
	want := `{"id":"","outcome":{"campaigns":[` +
		`{"campaign":{"code":"ok"},"code":null,"effects":[{"kind":"credit_points","points":10}],"reason":null,"status":"APPLIED"},` +
		`{"campaign":{"code":"unknown-effect"},"code":"INVALID_EFFECT","effects":[],"reason":"invalid effect: effect 0 has unknown kind \"teleport_points\"","status":"FAILED"},` +
		`{"campaign":{"code":"negative-credit"},"code":"INVALID_EFFECT","effects":[],"reason":"effect 0 (credit_points): invalid effect: amount -50 is outside 1..1000000","status":"FAILED"},` +
		`{"campaign":{"code":"absurd-credit"},"code":"INVALID_EFFECT","effects":[],"reason":"effect 0 (credit_points): invalid effect: amount 1000000000000000 is outside 1..1000000","status":"FAILED"},` +
		`{"campaign":{"code":"wrong-count"},"code":"INVALID_EFFECT","effects":[],"reason":"invalid effect: plugin returned 0 results for 1 events","status":"FAILED"}` +
		`],"reason":null,"waiting":[]},"status":"DONE"}`
	ev["id"] = ""
	if compact(ev) != want {
		t.Fatalf("outcome:\n got %s\nwant %s", compact(ev), want)
	}
	if got := c.available(t, "m1", "shop"); got != 10 {
		t.Fatalf("balance %d, want 10", got)
	}
}

// TestHangingAndCrashingPluginsAreContained: a plugin that sleeps past its deadline and one
// that crashes leave their events waiting with the reason, and the core keeps serving.
func TestHangingAndCrashingPluginsAreContained(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"sleep", "misbehave@1.0.0: did not answer within the 500ms deadline"},
		{"crash", "plugin unavailable"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := startCore(t, newDatabase(t), append(clock2021, "--plugin-call-timeout", "500ms")...)
			c.setup(t, "shop", 1)
			path, sum := pluginBinary(t, "e2e/plugins/misbehave", "misbehave")
			data(t, c.register(t, "misbehave", "1.0.0", path, sum))
			c.campaign(t, tc.mode, "shop", "misbehave", "1.0.0", map[string]any{"mode": tc.mode, "sleepMs": 3000})
			start := time.Now()
			ev := c.record(t, "m1", "e-1", "2021-04-14T12:00:00Z", nil)["event"].(map[string]any)
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Fatalf("recordEvent took %s; the deadline should have cut it", took)
			}
			waiting := ev["outcome"].(map[string]any)["waiting"].([]any)
			if ev["status"] != "PENDING" || len(waiting) != 1 || !strings.Contains(waiting[0].(map[string]any)["error"].(string), tc.want) {
				t.Fatalf("outcome: %s", compact(ev))
			}
			if got := data(t, c.gql(`{ programs { code } }`, nil), "programs"); compact(got) != `[{"code":"shop"}]` {
				t.Fatalf("core stopped serving: %s", compact(got))
			}
		})
	}
}

// weekendDouble is the sample plugin in one language: the Go and the TypeScript samples decide
// the same, so the tests below hold both to the same guarantees.
type weekendDouble struct {
	lang, name string
	file       func(t *testing.T) (path, sum string)
}

var weekendDoubles = []weekendDouble{
	{"go", "weekenddouble", func(t *testing.T) (string, string) {
		return pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	}},
	{"typescript", "weekenddouble-ts", func(t *testing.T) (string, string) {
		return tsPlugin(t, "examples/weekenddouble/main.ts", "weekenddouble-ts.cjs")
	}},
}

// TestChaosPluginKilledWhileRecording records 2,000 events from 8 clients while the plugin
// process (Go, then TypeScript on Node.js) is SIGKILLed every 200 ms, then checks that every
// event has exactly one outcome, the ledger conserves points, and every balance equals the
// test's own sum.
func TestChaosPluginKilledWhileRecording(t *testing.T) {
	for _, kind := range weekendDoubles {
		t.Run(kind.lang, func(t *testing.T) { chaosPluginKilledWhileRecording(t, kind) })
	}
}

func chaosPluginKilledWhileRecording(t *testing.T, kind weekendDouble) {
	dbURL := newDatabase(t)
	c := startCore(t, dbURL, append(clock2021, "--plugin-backoff-max", "300ms", "--event-retry-max", "500ms")...)
	const members, clients, events = 20, 8, 2000
	c.setup(t, "shop", members)
	path, sum := kind.file(t)
	data(t, c.register(t, kind.name, "1.0.0", path, sum))
	c.campaign(t, "weekend", "shop", kind.name, "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})

	stop := make(chan struct{})
	var kills int
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for _, pid := range processesOf(path) {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						kills++
					}
				}
			}
		}
	}()

	expected := make([]int64, members+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < events; i += clients {
				m := i%members + 1
				amount := int64(100 + (i*37)%900)
				day := 12 + i%7 // 2021-04-12 (Mon) … 2021-04-18 (Sun)
				points := amount / 100
				if day >= 17 {
					points *= 2
				}
				resp := c.gql(`mutation($in: EventInput!) { recordEvent(input: $in) { error { code } event { id } } }`,
					map[string]any{"in": map[string]any{"type": "purchase", "memberRef": fmt.Sprintf("m%d", m),
						"occurredAt": fmt.Sprintf("2021-04-%02dT12:00:00+03:00", day), "source": "chaos",
						"externalId": strconv.Itoa(i), "attributes": map[string]any{"amount": amount}}})
				if resp["errors"] != nil || data(t, resp, "recordEvent", "error") != nil {
					t.Errorf("event %d: %s", i, compact(resp))
					return
				}
				mu.Lock()
				expected[m] += points
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	killer.Wait()
	t.Logf("plugin process killed %d times while recording", kills)
	if kills < 5 {
		t.Fatalf("only %d kills; the chaos did not happen", kills)
	}

	bdb, err := db.Open(context.Background(), dbURL, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var pending int
		if err := bdb.NewRaw("SELECT count(*) FROM events WHERE status = 'pending'").Scan(ctx, &pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still pending", pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var check struct {
		Events, OneOutcome, Credits, DistinctEvents int
	}
	err = bdb.NewRaw(`SELECT
		(SELECT count(*) FROM events) AS events,
		(SELECT count(*) FROM events WHERE jsonb_array_length(outcome->'campaigns') = 1
		   AND outcome->'campaigns'->0->>'status' = 'applied') AS one_outcome,
		(SELECT count(*) FROM transactions WHERE event_id IS NOT NULL) AS credits,
		(SELECT count(DISTINCT event_id) FROM transactions WHERE event_id IS NOT NULL) AS distinct_events`).Scan(ctx, &check)
	if err != nil {
		t.Fatal(err)
	}
	if check.Events != events || check.OneOutcome != events || check.Credits != events || check.DistinctEvents != events {
		t.Fatalf("events %d, with exactly one applied outcome %d, credits %d for %d distinct events; want %d each",
			check.Events, check.OneOutcome, check.Credits, check.DistinctEvents, events)
	}
	for m := 1; m <= members; m++ {
		if got := c.available(t, fmt.Sprintf("m%d", m), "shop"); got != expected[m] {
			t.Errorf("m%d: balance %d, want %d", m, got, expected[m])
		}
	}
	assertConservation(t, bdb)
}

// TestNoPluginOutlivesTheCore stops the core with SIGTERM and with SIGKILL and checks the
// process table for its plugin processes, Go and TypeScript.
func TestNoPluginOutlivesTheCore(t *testing.T) {
	for _, kind := range weekendDoubles {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			t.Run(kind.lang+"/"+sig.String(), func(t *testing.T) {
				c := startCore(t, newDatabase(t), clock2021...)
				c.setup(t, "shop", 1)
				path, sum := kind.file(t)
				data(t, c.register(t, kind.name, "1.0.0", path, sum))
				c.campaign(t, "weekend", "shop", kind.name, "1.0.0", nil)
				c.record(t, "m1", "o-1", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 100})
				if n := len(processesOf(path)); n != 1 {
					t.Fatalf("%d plugin processes running before the stop, want 1", n)
				}
				_ = c.stop(sig, 15*time.Second) // a killed core exits with an error
				deadline := time.Now().Add(5 * time.Second)
				for len(processesOf(path)) > 0 {
					if time.Now().After(deadline) {
						t.Fatalf("plugin processes %v outlived the core (%s)", processesOf(path), sig)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
	}
}

// processesOf lists the pids of live processes running the executable at path: a binary, or a
// script run by its interpreter through a shebang (node PATH …, whose first argument is path).
func processesOf(path string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(exe, " (deleted)") != path {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if args := strings.Split(string(cmdline), "\x00"); len(args) < 2 || args[1] != path {
				continue
			}
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie has exited; only its parent's wait is missing
		}
		pids = append(pids, pid)
	}
	return pids
}

// TestRecordEventsBatch records a batch holding a new event, the same event again, an event
// recorded before, and one for an unknown member: one payload per input, in order.
func TestRecordEventsBatch(t *testing.T) {
	c := startCore(t, newDatabase(t), clock2021...)
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0", nil)
	c.record(t, "m1", "before", "2021-04-14T12:00:00+03:00", map[string]any{"amount": 300})
	ev := func(id, member string, amount int) map[string]any {
		return map[string]any{"type": "purchase", "memberRef": member, "occurredAt": "2021-04-14T12:00:00+03:00",
			"source": "shop", "externalId": id, "attributes": map[string]any{"amount": amount}}
	}
	got := data(t, c.gql(`mutation($in: [EventInput!]!) { recordEvents(inputs: $in) {
		duplicate error { code } event { externalId status outcome { campaigns { effects { points } } } } } }`,
		map[string]any{"in": []any{ev("new", "m1", 500), ev("new", "m1", 500), ev("before", "m1", 300), ev("x", "nobody", 100)}}), "recordEvents")
	want := `[{"duplicate":false,"error":null,"event":{"externalId":"new","outcome":{"campaigns":[{"effects":[{"points":5}]}]},"status":"DONE"}},` +
		`{"duplicate":true,"error":null,"event":{"externalId":"new","outcome":{"campaigns":[{"effects":[{"points":5}]}]},"status":"DONE"}},` +
		`{"duplicate":true,"error":null,"event":{"externalId":"before","outcome":{"campaigns":[{"effects":[{"points":3}]}]},"status":"DONE"}},` +
		`{"duplicate":false,"error":{"code":"UNKNOWN_MEMBER"},"event":null}]`
	if compact(got) != want {
		t.Fatalf("recordEvents:\n got %s\nwant %s", compact(got), want)
	}
	if got := c.available(t, "m1", "shop"); got != 8 {
		t.Fatalf("balance %d, want 8", got)
	}
}
