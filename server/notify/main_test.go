package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/notify"
)

func TestMain(m *testing.M) {
	code := dbtest.Main(m)
	dropTemplate()
	os.Exit(code)
}

// runTag keeps member references and notification keys unique across the repetitions of
// -count=N, which share the package database.
var runTag = func() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var nameSeq atomic.Int64

// uniq returns a name unique within the test database.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, runTag, nameSeq.Add(1))
}

// isolatedDB returns a pool on a fresh, migrated database of the test's own and its URL. A
// dispatcher claims every due notification in its database, so dispatcher tests each get one,
// rather than the package database the store tests share. The database is a copy of a template
// migrated once per test binary, which is much faster than migrating each one.
func isolatedDB(t *testing.T) (*db.DB, string) {
	t.Helper()
	ctx := context.Background()
	tpl.once.Do(makeTemplate)
	if tpl.err != nil {
		t.Fatalf("template database: %v", tpl.err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "t_notify_" + hex.EncodeToString(b[:])
	if _, err := tpl.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tpl.name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := tpl.admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(tpl.url)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return openPool(t, u.String()), u.String()
}

// tpl is the migrated template database isolatedDB copies, and the one admin pool that
// creates and drops the copies.
var tpl struct {
	once  sync.Once
	err   error
	name  string
	url   string
	admin *db.DB
}

func makeTemplate() {
	ctx := context.Background()
	tpl.admin, tpl.err = db.Open(ctx, dbtest.AdminURL(), db.Options{MaxOpenConns: 2, ApplicationName: "promogate-test-admin"})
	if tpl.err != nil {
		return
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "t_notify_template_" + hex.EncodeToString(b[:])
	if _, tpl.err = tpl.admin.ExecContext(ctx, "CREATE DATABASE "+name); tpl.err != nil {
		return
	}
	tpl.name = name
	u, err := url.Parse(dbtest.AdminURL())
	if err != nil {
		tpl.err = err
		return
	}
	u.Path = "/" + name
	tpl.url = u.String()
	bdb, err := db.Open(ctx, tpl.url, db.Options{MaxOpenConns: 2, ApplicationName: "promogate-test"})
	if err != nil {
		tpl.err = err
		return
	}
	_, tpl.err = db.Migrate(ctx, bdb)
	bdb.Close() // a template must have no connections when it is copied
}

// dropTemplate drops the template database, if one was made, and closes the admin pool.
func dropTemplate() {
	if tpl.admin == nil {
		return
	}
	if tpl.name != "" {
		if _, err := tpl.admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+tpl.name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop %s: %v\n", tpl.name, err)
		}
	}
	tpl.admin.Close()
}

// openPool opens a small pool on url, closed when the test ends.
func openPool(t *testing.T, url string) *db.DB {
	t.Helper()
	bdb, err := db.Open(context.Background(), url, db.Options{MaxOpenConns: 6, ApplicationName: "promogate-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	return bdb
}

// newMember inserts a member with a phone number and an e-mail address.
func newMember(t *testing.T, idb bun.IDB) int64 {
	t.Helper()
	var id int64
	err := idb.NewRaw(`INSERT INTO members (external_ref, email, phone) VALUES (?, 'anna@example.com', '+37120000000') RETURNING id`,
		uniq("m")).Scan(context.Background(), &id)
	if err != nil {
		t.Fatalf("insert member: %v", err)
	}
	return id
}

// newCampaignEvent inserts a programme, a plugin, a campaign of it and an event of the member,
// and returns the campaign's and the event's ids.
func newCampaignEvent(t *testing.T, idb bun.IDB, memberID int64) (campaignID, eventID int64) {
	t.Helper()
	ctx := context.Background()
	var programID int64
	if err := idb.NewRaw(`INSERT INTO programs (code, name) VALUES (?, 'Programme') RETURNING id`, uniq("p")).Scan(ctx, &programID); err != nil {
		t.Fatalf("insert programme: %v", err)
	}
	plugin := uniq("plugin")
	if _, err := idb.NewRaw(`INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES (?, '1.0.0', '/bin/true', repeat('a', 64), 1, now(), 'test')`, plugin).Exec(ctx); err != nil {
		t.Fatalf("insert plugin: %v", err)
	}
	if err := idb.NewRaw(`INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, starts_at, created_at, updated_at)
		VALUES (?, 'Campaign', ?, ?, '1.0.0', now(), now(), now()) RETURNING id`, uniq("c"), programID, plugin).Scan(ctx, &campaignID); err != nil {
		t.Fatalf("insert campaign: %v", err)
	}
	if err := idb.NewRaw(`INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at, status, next_attempt_at, outcome)
		VALUES ('test', ?, 'purchase', ?, now(), '\x00', now(), 'done', now(), '{}') RETURNING id`, uniq("e"), memberID).Scan(ctx, &eventID); err != nil {
		t.Fatalf("insert event: %v", err)
	}
	return campaignID, eventID
}

// enqueue stores a notification on its own and fails the test on error.
func enqueue(t *testing.T, idb bun.IDB, n notify.Notification, now time.Time) *notify.Notification {
	t.Helper()
	got, err := notify.Enqueue(context.Background(), idb, n, now)
	if err != nil {
		t.Fatalf("enqueue %q: %v", n.Key, err)
	}
	return got
}

// sms returns an sms notification for the member with the given key.
func sms(memberID int64, key string) notify.Notification {
	return notify.Notification{Key: key, MemberID: memberID, Channel: notify.ChannelSMS, Template: "points-credited",
		Recipient: "+37120000000", Params: map[string]string{"points": "150"}}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(at time.Time) *fakeClock { return &fakeClock{t: at} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// verifySignature checks a webhook request the way docs/notifications.md tells a receiver to:
// the timestamp is recent and the signature is the HMAC-SHA256 of "<timestamp>.<body>".
func verifySignature(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts := h.Get("X-Promogate-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or malformed timestamp")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("timestamp %s is %s away from now", ts, age)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(h.Get("X-Promogate-Signature"))) {
		return errors.New("signature does not match")
	}
	return nil
}

// action is what the receiver does with one request.
type action struct {
	status int
	// ackLost: the receiver processes the message but the answer never arrives (it holds the
	// request until the dispatcher gives up on it).
	ackLost bool
	// drop: the receiver processes the message, then the connection breaks before it answers.
	drop   bool
	header http.Header
}

func respond(status int) action { return action{status: status} }

// received is one request the receiver got, and what it answered (0: no answer).
type received struct {
	key     string
	attempt string
	header  http.Header
	body    []byte
	status  int
}

// receiver is a webhook endpoint that verifies signatures and records every request. policy
// decides the answer to the n-th request (1-based) for a key. It notes as a problem a bad
// signature, two requests for one key at once, and any request for a key it already answered
// 2xx (the dispatcher must never send an accepted notification again).
type receiver struct {
	t      *testing.T
	secret []byte
	now    func() time.Time
	policy func(key string, n int) action

	mu       sync.Mutex
	requests []received
	byKey    map[string][]int // indexes into requests
	accepted map[string]int   // 2xx answers written (must be exactly 1 per delivered key)
	inflight map[string]bool
	problems []string
}

func newReceiver(t *testing.T, secret []byte, now func() time.Time, policy func(key string, n int) action) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret, now: now, policy: policy, byKey: map[string][]int{},
		accepted: map[string]int{}, inflight: map[string]bool{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) problem(format string, args ...any) {
	rc.problems = append(rc.problems, fmt.Sprintf(format, args...))
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	key := req.Header.Get("Idempotency-Key")
	rc.mu.Lock()
	if err != nil {
		rc.problem("read body of %q: %v", key, err)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/hook" {
		rc.problem("request %s %s, want POST /hook", req.Method, req.URL.Path)
	}
	if err := verifySignature(rc.secret, req.Header, body, rc.now(), 5*time.Minute); err != nil {
		rc.problem("key %q: %v", key, err)
	}
	if rc.inflight[key] {
		rc.problem("key %q: two requests at once", key)
	}
	rc.inflight[key] = true
	rc.requests = append(rc.requests, received{key: key, attempt: req.Header.Get("X-Promogate-Attempt"), header: req.Header.Clone(), body: body})
	i := len(rc.requests) - 1
	rc.byKey[key] = append(rc.byKey[key], i)
	if rc.accepted[key] > 0 {
		rc.problem("key %q sent again (request %d) after it was accepted", key, len(rc.byKey[key]))
	}
	a := rc.policy(key, len(rc.byKey[key]))
	if !a.ackLost && !a.drop {
		rc.requests[i].status = a.status
		if a.status >= 200 && a.status <= 299 {
			rc.accepted[key]++
		}
	}
	rc.inflight[key] = false
	rc.mu.Unlock()
	if a.ackLost {
		<-req.Context().Done()
		return
	}
	if a.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			rc.t.Errorf("receiver: hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = fmt.Fprintf(w, "status %d", a.status)
}

// requestsFor returns the requests received for key, in arrival order.
func (rc *receiver) requestsFor(key string) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, i := range rc.byKey[key] {
		out = append(out, rc.requests[i])
	}
	return out
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// check fails the test on any problem noted and on any key accepted (answered 2xx) more than
// once.
func (rc *receiver) check(t *testing.T) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, p := range rc.problems {
		t.Errorf("receiver: %s", p)
	}
	for k, n := range rc.accepted {
		if n != 1 {
			t.Errorf("receiver: key %q accepted (2xx) %d times, want once", k, n)
		}
	}
}

// expectedOutcome is the delivery-log outcome of one answer at attempt n of maxAttempts.
func expectedOutcome(status, n, maxAttempts int) string {
	switch {
	case status >= 200 && status <= 299:
		return notify.OutcomeDelivered
	case status == 0 || status == 408 || status == 429 || status >= 500:
		if n >= maxAttempts {
			return notify.OutcomeFailed
		}
		return notify.OutcomeRetry
	}
	return notify.OutcomeFailed
}

// checkLog fails the test unless n's delivery log has exactly one row per request the
// receiver got for it, in order, with the attempt number, status code and outcome that request
// implies, and n's attempts and status agree.
func checkLog(t *testing.T, store *notify.Store, rc *receiver, n *notify.Notification, maxAttempts int) []notify.Delivery {
	t.Helper()
	ctx := context.Background()
	got, err := store.Get(ctx, n.ID)
	if err != nil {
		t.Fatalf("get %q: %v", n.Key, err)
	}
	log, err := store.Deliveries(ctx, n.ID)
	if err != nil {
		t.Fatalf("deliveries of %q: %v", n.Key, err)
	}
	reqs := rc.requestsFor(n.Key)
	if len(log) != len(reqs) || got.Attempts != len(reqs) {
		t.Errorf("%s: receiver got %d requests, delivery log has %d rows, attempts = %d; want all equal", n.Key, len(reqs), len(log), got.Attempts)
		return log
	}
	for i, r := range reqs {
		d := log[i]
		wantCode := "nil"
		if r.status != 0 {
			wantCode = strconv.Itoa(r.status)
		}
		gotCode := "nil"
		if d.StatusCode != nil {
			gotCode = strconv.Itoa(*d.StatusCode)
		}
		want := expectedOutcome(r.status, i+1, maxAttempts)
		if d.Attempt != i+1 || r.attempt != strconv.Itoa(i+1) || gotCode != wantCode || d.Outcome != want {
			t.Errorf("%s request %d: log row {attempt %d, status %s, outcome %s}, header attempt %s; want {attempt %d, status %s, outcome %s}, header attempt %d",
				n.Key, i+1, d.Attempt, gotCode, d.Outcome, r.attempt, i+1, wantCode, want, i+1)
		}
		if (d.Outcome == notify.OutcomeDelivered) != (d.Error == "") {
			t.Errorf("%s request %d: outcome %s with error %q", n.Key, i+1, d.Outcome, d.Error)
		}
	}
	last := log[len(log)-1].Outcome
	wantStatus := map[string]string{notify.OutcomeDelivered: notify.StatusDelivered, notify.OutcomeFailed: notify.StatusFailed,
		notify.OutcomeRetry: notify.StatusPending}[last]
	if got.Status != wantStatus || (got.Status == notify.StatusDelivered) != (got.DeliveredAt != nil) {
		t.Errorf("%s: status %s (delivered at %v) after a last attempt that %s, want %s", n.Key, got.Status, got.DeliveredAt, last, wantStatus)
	}
	return log
}

// pendingCount returns how many notifications are pending in bdb.
func pendingCount(t *testing.T, bdb bun.IDB) int {
	t.Helper()
	var n int
	if err := bdb.NewRaw(`SELECT count(*) FROM notifications WHERE status = 'pending'`).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// drive runs d.RunOnce and moves clk past the longest back-off, until nothing is pending or
// rounds run out, then runs a few more rounds that must claim nothing.
func drive(t *testing.T, bdb bun.IDB, d *notify.Dispatcher, clk *fakeClock, step time.Duration, rounds int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < rounds && pendingCount(t, bdb) > 0; i++ {
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatalf("run once: %v", err)
		}
		clk.Advance(step)
	}
	if n := pendingCount(t, bdb); n > 0 {
		t.Fatalf("%d notifications still pending after %d rounds", n, rounds)
	}
	for range 3 {
		clk.Advance(step)
		if n, err := d.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("run once after everything settled: claimed %d (%v), want 0", n, err)
		}
	}
}
