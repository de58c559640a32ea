package notify_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/notify"
)

var (
	secret = []byte("test-webhook-secret")
	t0     = time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
)

// fakeClockConfig is the dispatcher configuration of the tests that move a fake clock by
// backoffMax per round, so that every retry is due at the next round.
func fakeClockConfig(url string) notify.Config {
	return notify.Config{URL: url + "/hook", Secret: secret, Timeout: 10 * time.Second, BackoffMin: time.Second, BackoffMax: backoffMax}
}

const backoffMax = 8 * time.Second

// TestDeliverHappyPath: one POST per notification with the exact body and headers, a signature
// the receiver verifies, and the notification delivered with one logged attempt.
func TestDeliverHappyPath(t *testing.T) {
	ctx := context.Background()
	bdb, _ := isolatedDB(t)
	clk := newClock(t0)
	rc, srv := newReceiver(t, secret, clk.Now, func(string, int) action { return respond(http.StatusOK) })
	m := newMember(t, bdb)
	c, e := newCampaignEvent(t, bdb, m)
	key1 := fmt.Sprintf("evt:%d:%d:0", e, c)
	n1 := enqueue(t, bdb, notify.Notification{Key: key1, MemberID: m, CampaignID: &c, EventID: &e, Channel: notify.ChannelSMS,
		Template: "points-credited", Recipient: "+37120000000",
		Params: map[string]string{"points": "150", "name": "Anna", "link": "https://x.example/?a=1&b=<2>"}}, clk.Now())
	n2 := enqueue(t, bdb, notify.Notification{Key: "welcome:" + strconv.FormatInt(m, 10), MemberID: m, Channel: notify.ChannelEmail,
		Template: "welcome", Recipient: "anna@example.com"}, clk.Now())

	d := notify.NewDispatcher(bdb, fakeClockConfig(srv.URL), nil, nil, clk.Now)
	if n, err := d.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("run once: claimed %d (%v), want 2", n, err)
	}
	wantBodies := map[string]string{
		key1: fmt.Sprintf(`{"id":%d,"key":"%s","channel":"sms","template":"points-credited","recipient":"+37120000000",`+
			`"params":{"link":"https://x.example/?a=1&b=<2>","name":"Anna","points":"150"},"memberId":%d,"campaignId":%d,"eventId":%d,`+
			`"createdAt":"2026-11-21T10:00:00.123456Z"}`, n1.ID, key1, m, c, e),
		n2.Key: fmt.Sprintf(`{"id":%d,"key":"%s","channel":"email","template":"welcome","recipient":"anna@example.com",`+
			`"params":{},"memberId":%d,"campaignId":null,"eventId":null,"createdAt":"2026-11-21T10:00:00.123456Z"}`, n2.ID, n2.Key, m),
	}
	store := notify.NewStore(bdb)
	for _, n := range []*notify.Notification{n1, n2} {
		reqs := rc.requestsFor(n.Key)
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests, want 1", n.Key, len(reqs))
		}
		r := reqs[0]
		if got := string(r.body); got != wantBodies[n.Key] {
			t.Errorf("%s body:\n got %s\nwant %s", n.Key, got, wantBodies[n.Key])
		}
		wantHeaders := map[string]string{
			"Content-Type":          "application/json",
			"Idempotency-Key":       n.Key,
			"X-Promogate-Timestamp": strconv.FormatInt(t0.Unix(), 10),
			"X-Promogate-Attempt":   "1",
			"User-Agent":            "Promogate-Webhook/1",
		}
		for h, want := range wantHeaders {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s header %s: got %q, want %q", n.Key, h, got, want)
			}
		}
		if sig := r.header.Get("X-Promogate-Signature"); !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
			t.Errorf("%s signature header %q, want sha256=<64 hex digits>", n.Key, sig)
		}
		log := checkLog(t, store, rc, n, notify.DefaultMaxAttempts)
		if len(log) == 1 && (!log[0].StartedAt.Equal(t0) || log[0].DurationMS < 0 || log[0].Error != "") {
			t.Errorf("%s delivery: %+v, want started at %s with no error", n.Key, log[0], t0)
		}
		got, err := store.Get(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != notify.StatusDelivered || got.Attempts != 1 || got.DeliveredAt == nil || !got.DeliveredAt.Equal(t0) || got.LastError != "" {
			t.Errorf("%s after delivery: %+v, want delivered at %s after 1 attempt", n.Key, got, t0)
		}
	}
	clk.Advance(time.Hour)
	if n, err := d.RunOnce(ctx); n != 0 || err != nil || rc.count() != 2 {
		t.Fatalf("second run: claimed %d (%v), receiver has %d requests; want 0 claimed and still 2 requests", n, err, rc.count())
	}
	rc.check(t)
}

// TestRetryUntilRecovered: an endpoint that fails for a while and then recovers gets every
// notification exactly once accepted, with the same Idempotency-Key on every attempt, and the
// attempts and delivery log match what the endpoint saw; one that never recovers fails the
// notifications after MaxAttempts.
func TestRetryUntilRecovered(t *testing.T) {
	mixed := []int{500, 429, 408, 502}
	cases := []struct {
		name         string
		maxAttempts  int
		policy       func(clk *fakeClock) func(key string, n int) action
		wantAttempts int
		wantStatus   string
		wantError    string
	}{
		{"503 three times then 200", 0, func(*fakeClock) func(string, int) action {
			return func(_ string, n int) action { return respond(map[bool]int{true: 503, false: 200}[n <= 3]) }
		}, 4, notify.StatusDelivered, ""},
		{"mixed transient answers then 200", 0, func(*fakeClock) func(string, int) action {
			return func(_ string, n int) action {
				if n <= len(mixed) {
					return respond(mixed[n-1])
				}
				return respond(200)
			}
		}, 5, notify.StatusDelivered, ""},
		{"outage for 40 seconds", 0, func(clk *fakeClock) func(string, int) action {
			return func(string, int) action {
				if clk.Now().Before(t0.Add(40 * time.Second)) {
					return respond(503)
				}
				return respond(200)
			}
		}, 6, notify.StatusDelivered, ""},
		{"last allowed attempt succeeds", 5, func(*fakeClock) func(string, int) action {
			return func(_ string, n int) action { return respond(map[bool]int{true: 503, false: 200}[n < 5]) }
		}, 5, notify.StatusDelivered, ""},
		{"never recovers", 4, func(*fakeClock) func(string, int) action {
			return func(string, int) action { return respond(503) }
		}, 4, notify.StatusFailed, "HTTP 503: status 503 (gave up after 4 attempts)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bdb, _ := isolatedDB(t)
			clk := newClock(t0)
			rc, srv := newReceiver(t, secret, clk.Now, c.policy(clk))
			m := newMember(t, bdb)
			var ns []*notify.Notification
			for i := range 5 {
				ns = append(ns, enqueue(t, bdb, sms(m, fmt.Sprintf("evt:%d:1:0", i)), clk.Now()))
			}
			cfg := fakeClockConfig(srv.URL)
			cfg.MaxAttempts = c.maxAttempts
			d := notify.NewDispatcher(bdb, cfg, nil, nil, clk.Now)
			drive(t, bdb, d, clk, backoffMax, 20)
			store := notify.NewStore(bdb)
			maxAttempts := c.maxAttempts
			if maxAttempts == 0 {
				maxAttempts = notify.DefaultMaxAttempts
			}
			for _, n := range ns {
				checkLog(t, store, rc, n, maxAttempts)
				got, err := store.Get(context.Background(), n.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Attempts != c.wantAttempts || got.Status != c.wantStatus || got.LastError != c.wantError {
					t.Errorf("%s: attempts %d, status %s, last error %q; want %d, %s, %q", n.Key, got.Attempts, got.Status, got.LastError,
						c.wantAttempts, c.wantStatus, c.wantError)
				}
				reqs := rc.requestsFor(n.Key)
				for _, r := range reqs {
					if r.header.Get("Idempotency-Key") != n.Key || string(r.body) != string(reqs[0].body) {
						t.Errorf("%s: a retry changed the Idempotency-Key (%q) or the body", n.Key, r.header.Get("Idempotency-Key"))
					}
				}
			}
			rc.check(t)
		})
	}
}

// TestStatusClassification: 2xx delivers; 408, 429 and 5xx retry after the back-off (or the
// Retry-After asked for, within BackoffMax); any other answer fails at once and is never retried.
func TestStatusClassification(t *testing.T) {
	ctx := context.Background()
	bdb, _ := isolatedDB(t)
	clk := newClock(t0)
	cases := []struct {
		name       string
		status     int
		retryAfter string
		outcome    string
		wantDelay  time.Duration // retries: next attempt after t0
	}{
		{"200", 200, "", notify.OutcomeDelivered, 0},
		{"201", 201, "", notify.OutcomeDelivered, 0},
		{"204", 204, "", notify.OutcomeDelivered, 0},
		{"301 not followed", 301, "", notify.OutcomeFailed, 0},
		{"400", 400, "", notify.OutcomeFailed, 0},
		{"401", 401, "", notify.OutcomeFailed, 0},
		{"403", 403, "", notify.OutcomeFailed, 0},
		{"404", 404, "", notify.OutcomeFailed, 0},
		{"409", 409, "", notify.OutcomeFailed, 0},
		{"422", 422, "", notify.OutcomeFailed, 0},
		{"408", 408, "", notify.OutcomeRetry, time.Second},
		{"429", 429, "", notify.OutcomeRetry, time.Second},
		{"429 with Retry-After 5", 429, "5", notify.OutcomeRetry, 5 * time.Second},
		{"500", 500, "", notify.OutcomeRetry, time.Second},
		{"502", 502, "", notify.OutcomeRetry, time.Second},
		{"503 with Retry-After beyond BackoffMax", 503, "3600", notify.OutcomeRetry, backoffMax},
		{"504", 504, "", notify.OutcomeRetry, time.Second},
	}
	byKey := map[string]int{}
	for i := range cases {
		byKey[fmt.Sprintf("case-%d", i)] = i
	}
	rc, srv := newReceiver(t, secret, clk.Now, func(key string, n int) action {
		c := cases[byKey[key]]
		if n > 1 {
			return respond(200)
		}
		a := respond(c.status)
		if c.retryAfter != "" {
			a.header = http.Header{"Retry-After": {c.retryAfter}}
		}
		return a
	})
	m := newMember(t, bdb)
	ns := make([]*notify.Notification, len(cases))
	for i := range cases {
		ns[i] = enqueue(t, bdb, sms(m, fmt.Sprintf("case-%d", i)), clk.Now())
	}
	d := notify.NewDispatcher(bdb, fakeClockConfig(srv.URL), nil, nil, clk.Now)
	if n, err := d.RunOnce(ctx); n != len(cases) || err != nil {
		t.Fatalf("first round: claimed %d (%v), want %d", n, err, len(cases))
	}
	store := notify.NewStore(bdb)
	for i, c := range cases {
		t.Run(c.name+" first attempt", func(t *testing.T) {
			got, err := store.Get(ctx, ns[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			log := checkLog(t, store, rc, ns[i], notify.DefaultMaxAttempts)
			if len(log) != 1 || log[0].StatusCode == nil || *log[0].StatusCode != c.status || log[0].Outcome != c.outcome {
				t.Fatalf("delivery log %+v, want one attempt with status %d and outcome %s", log, c.status, c.outcome)
			}
			if c.outcome == notify.OutcomeRetry {
				if got.Status != notify.StatusPending || !got.NextAttemptAt.Equal(t0.Add(c.wantDelay)) {
					t.Errorf("after a retryable %d: status %s, next attempt at %s; want pending, next attempt at %s",
						c.status, got.Status, got.NextAttemptAt, t0.Add(c.wantDelay))
				}
				if want := fmt.Sprintf("HTTP %d: status %d", c.status, c.status); got.LastError != want {
					t.Errorf("last error %q, want %q", got.LastError, want)
				}
			}
		})
	}
	clk.Advance(backoffMax)
	retries := 0
	for _, c := range cases {
		if c.outcome == notify.OutcomeRetry {
			retries++
		}
	}
	if n, err := d.RunOnce(ctx); n != retries || err != nil {
		t.Fatalf("second round: claimed %d (%v), want the %d retries", n, err, retries)
	}
	clk.Advance(time.Hour)
	if n, err := d.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("third round: claimed %d (%v), want 0", n, err)
	}
	for i, c := range cases {
		t.Run(c.name+" in the end", func(t *testing.T) {
			wantRequests := map[string]int{notify.OutcomeDelivered: 1, notify.OutcomeFailed: 1, notify.OutcomeRetry: 2}[c.outcome]
			if got := len(rc.requestsFor(ns[i].Key)); got != wantRequests {
				t.Errorf("requests: %d, want %d", got, wantRequests)
			}
			checkLog(t, store, rc, ns[i], notify.DefaultMaxAttempts)
		})
	}
	rc.check(t)
}

// TestAckLost: when the receiver takes a notification but its answer never arrives (the
// attempt times out), the retry carries the same Idempotency-Key and body, so the receiver
// accepts it once.
func TestAckLost(t *testing.T) {
	bdb, _ := isolatedDB(t)
	clk := newClock(t0)
	rc, srv := newReceiver(t, secret, clk.Now, func(_ string, n int) action {
		if n == 1 {
			return action{ackLost: true}
		}
		return respond(200)
	})
	m := newMember(t, bdb)
	n := enqueue(t, bdb, sms(m, "evt:1:1:0"), clk.Now())
	cfg := fakeClockConfig(srv.URL)
	cfg.Timeout = time.Second
	d := notify.NewDispatcher(bdb, cfg, nil, nil, clk.Now)
	drive(t, bdb, d, clk, backoffMax, 5)
	log := checkLog(t, notify.NewStore(bdb), rc, n, notify.DefaultMaxAttempts)
	if len(log) != 2 || log[0].StatusCode != nil || log[0].Error != "timeout: no answer within 1s" || log[0].DurationMS < 1000 {
		t.Fatalf("delivery log %+v, want a timed-out first attempt (no status, ≥ 1s) then a delivery", log)
	}
	reqs := rc.requestsFor(n.Key)
	if reqs[0].header.Get("Idempotency-Key") != reqs[1].header.Get("Idempotency-Key") || string(reqs[0].body) != string(reqs[1].body) {
		t.Fatalf("the retry changed the Idempotency-Key or the body:\n%s %s\n%s %s", reqs[0].header.Get("Idempotency-Key"), reqs[0].body,
			reqs[1].header.Get("Idempotency-Key"), reqs[1].body)
	}
	rc.check(t)
}

// TestStopDuringDelivery: an attempt cut short because the dispatcher stops is still logged,
// and the notification is retried after the back-off.
func TestStopDuringDelivery(t *testing.T) {
	bdb, _ := isolatedDB(t)
	clk := newClock(t0)
	rc, srv := newReceiver(t, secret, clk.Now, func(_ string, n int) action {
		if n == 1 {
			return action{ackLost: true}
		}
		return respond(200)
	})
	m := newMember(t, bdb)
	n := enqueue(t, bdb, sms(m, "evt:1:1:0"), clk.Now())
	cfg := fakeClockConfig(srv.URL)
	cfg.Timeout = time.Minute
	d := notify.NewDispatcher(bdb, cfg, nil, nil, clk.Now)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := d.RunOnce(ctx)
		done <- result{n, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); rc.count() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the receiver got no request")
		}
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunOnce did not return after its context was cancelled")
	}
	if r.n != 1 || r.err != nil {
		t.Fatalf("run once: claimed %d (%v), want 1 and no error", r.n, r.err)
	}
	store := notify.NewStore(bdb)
	log := checkLog(t, store, rc, n, notify.DefaultMaxAttempts)
	got, err := store.Get(context.Background(), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Error != "interrupted: the dispatcher is stopping" || got.Status != notify.StatusPending ||
		!got.NextAttemptAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("after stopping: log %+v, notification %+v; want one interrupted attempt, pending, next attempt at %s", log, got, t0.Add(time.Second))
	}
	clk.Advance(backoffMax)
	drive(t, bdb, d, clk, backoffMax, 3)
	checkLog(t, store, rc, n, notify.DefaultMaxAttempts)
	rc.check(t)
}

// TestLeaseExpiry: a notification claimed by a dispatcher that stopped before recording its
// attempt is taken over once the lease expires, under the next attempt number; one whose lost
// claim was its last allowed attempt fails without another request.
func TestLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	bdb, _ := isolatedDB(t)
	clk := newClock(t0)
	rc, srv := newReceiver(t, secret, clk.Now, func(string, int) action { return respond(200) })
	m := newMember(t, bdb)
	n1 := enqueue(t, bdb, sms(m, "evt:1:1:0"), clk.Now())
	n2 := enqueue(t, bdb, sms(m, "evt:2:1:0"), clk.Now())
	cfg := fakeClockConfig(srv.URL)
	cfg.MaxAttempts, cfg.Lease = 3, 30*time.Second
	// What a claim by another replica that then died leaves behind.
	if _, err := bdb.NewRaw(`UPDATE notifications SET attempts = CASE WHEN id = ? THEN 1 ELSE 3 END, next_attempt_at = ?,
		last_error = CASE WHEN id = ? THEN '' ELSE 'HTTP 503: status 503' END WHERE id IN (?, ?)`,
		n1.ID, t0.Add(cfg.Lease), n1.ID, n1.ID, n2.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	d := notify.NewDispatcher(bdb, cfg, nil, nil, clk.Now)
	clk.Advance(cfg.Lease - time.Second)
	if n, err := d.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("run during the lease: claimed %d (%v), want 0", n, err)
	}
	clk.Advance(time.Second)
	if n, err := d.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("run after the lease: claimed %d (%v), want 2", n, err)
	}
	store := notify.NewStore(bdb)
	got1, err := store.Get(ctx, n1.ID)
	if err != nil {
		t.Fatal(err)
	}
	log1, err := store.Deliveries(ctx, n1.ID)
	if err != nil {
		t.Fatal(err)
	}
	reqs := rc.requestsFor(n1.Key)
	if got1.Status != notify.StatusDelivered || got1.Attempts != 2 || len(log1) != 1 || log1[0].Attempt != 2 ||
		len(reqs) != 1 || reqs[0].attempt != "2" {
		t.Errorf("taken over: status %s, attempts %d, log %+v, %d requests; want delivered on attempt 2, logged as attempt 2",
			got1.Status, got1.Attempts, log1, len(reqs))
	}
	got2, err := store.Get(ctx, n2.ID)
	if err != nil {
		t.Fatal(err)
	}
	log2, err := store.Deliveries(ctx, n2.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantErr := "gave up: claim 4 exceeds the 3 attempts allowed; last error: HTTP 503: status 503"
	if got2.Status != notify.StatusFailed || got2.Attempts != 4 || got2.LastError != wantErr || len(log2) != 0 || len(rc.requestsFor(n2.Key)) != 0 {
		t.Errorf("lost last attempt: status %s, attempts %d, last error %q, log %+v; want failed, 4, %q, no log and no request",
			got2.Status, got2.Attempts, got2.LastError, log2, wantErr)
	}
	rc.check(t)
}

// countingTransport counts the requests a dispatcher sends.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// TestTwoDispatchers: two dispatchers on two pools (as two core replicas) share 200
// notifications through Run against an endpoint that fails now and then and sometimes breaks
// the connection after taking a notification: every notification is delivered, no key is sent twice at once or accepted twice,
// both dispatchers take part, and each delivery log matches what the endpoint saw.
func TestTwoDispatchers(t *testing.T) {
	bdb, url := isolatedDB(t)
	const total = 200
	index := map[string]int{}
	for i := range total {
		index[fmt.Sprintf("evt:%d:1:0", i)] = i
	}
	rc, srv := newReceiver(t, secret, time.Now, func(key string, n int) action {
		if index[key]%17 == 0 && n == 1 {
			return action{drop: true}
		}
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", key, n)
		if n <= 3 && h.Sum32()%3 == 0 {
			return respond(503)
		}
		return respond(200)
	})
	m := newMember(t, bdb)
	var ns []*notify.Notification
	for i := range total {
		ns = append(ns, enqueue(t, bdb, sms(m, fmt.Sprintf("evt:%d:1:0", i)), time.Now()))
	}
	cfg := notify.Config{URL: srv.URL + "/hook", Secret: secret, Timeout: 10 * time.Second, MaxAttempts: 100,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond, BatchSize: 10, PollInterval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var transports []*countingTransport
	for _, pool := range []*db.DB{bdb, openPool(t, url)} {
		base := http.DefaultTransport.(*http.Transport).Clone()
		// A fresh connection per request: Go's transport re-sends a request whose kept-alive
		// connection breaks before any answer, which would put two requests in one logged attempt.
		base.DisableKeepAlives = true
		t.Cleanup(base.CloseIdleConnections)
		ct := &countingTransport{base: base}
		transports = append(transports, ct)
		d := notify.NewDispatcher(pool, cfg, &http.Client{Transport: ct}, nil, nil)
		wg.Go(func() { d.Run(ctx) })
	}
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	for pendingCount(t, bdb) > 0 {
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("%d of %d notifications still pending after 90s", pendingCount(t, bdb), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()

	store := notify.NewStore(bdb)
	logged := 0
	for _, n := range ns {
		logged += len(checkLog(t, store, rc, n, cfg.MaxAttempts))
		got, err := store.Get(context.Background(), n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != notify.StatusDelivered {
			t.Errorf("%s: status %s, want delivered", n.Key, got.Status)
		}
	}
	sent := transports[0].n.Load() + transports[1].n.Load()
	if int64(rc.count()) != sent || int64(logged) != sent {
		t.Errorf("requests: %d sent, %d received, %d logged; want all equal", sent, rc.count(), logged)
	}
	if transports[0].n.Load() == 0 || transports[1].n.Load() == 0 {
		t.Errorf("requests per dispatcher: %d and %d, want both to take part", transports[0].n.Load(), transports[1].n.Load())
	}
	t.Logf("%d notifications delivered in %s, %d requests (%d and %d per dispatcher)", total, elapsed.Round(time.Millisecond), sent, transports[0].n.Load(), transports[1].n.Load())
	rc.check(t)
}
