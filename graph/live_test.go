package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/live"
	"github.com/promogate/promogate/server/members"
)

// liveAPI is a GraphQL server with live updates over the package database, reached over real
// HTTP and WebSocket.
type liveAPI struct {
	t       *testing.T
	url     string
	hub     *live.Hub
	led     *ledger.Ledger
	mem     *members.Store
	program *ledger.Program
}

// Fake credentials of liveAPI: "Bearer admin-key", "Bearer frontend-key", "Bearer ingest-key",
// "Bearer token:<member ref>"; "Bearer down" fails like an unreachable key store; anything
// else is refused.
func fakeAuthenticate(_ context.Context, h, addr string) (*auth.Principal, error) {
	cred, _ := strings.CutPrefix(h, "Bearer ")
	switch {
	case h == "":
		return auth.Anonymous(addr, nil), nil
	case cred == "down":
		return nil, errors.New("connection refused")
	case strings.HasSuffix(cred, "-key"):
		role := auth.Role(strings.TrimSuffix(cred, "-key"))
		return &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{role}, KeyID: 1, KeyName: string(role), RateKey: cred}, nil
	case strings.HasPrefix(cred, "token:"):
		ref := strings.TrimPrefix(cred, "token:")
		return &auth.Principal{Kind: auth.KindToken, Roles: []auth.Role{auth.RoleMember}, MemberRef: ref, RateKey: "member:" + ref}, nil
	}
	return nil, auth.ErrUnauthenticated
}

// newLiveAPI serves live updates; the HTTP middleware is played by fakeAuthenticate on the
// upgrade request's Authorization header.
func newLiveAPI(t *testing.T, opts graph.LiveOptions) *liveAPI {
	t.Helper()
	bdb := dbtest.DB(t)
	clk := clock.NewManual(testNow)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	hub := live.NewHub(0)
	l := &live.Listener{URL: dbtest.URL(t), Hub: hub}
	relay := &live.Relay{DB: bdb, Interval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	wg.Go(func() { relay.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-l.WaitListening():
	case <-time.After(10 * time.Second):
		t.Fatal("the listener does not listen")
	}
	r := &graph.Resolver{Ledger: led, MemberStore: mem, BenefitStore: benefits.NewStore(bdb), Live: hub,
		Log: hclog.NewNullLogger(), Now: clk.Now}
	opts.Authenticate = fakeAuthenticate
	h := graph.NewHandler(r, graph.HandlerOptions{Live: &opts, Limits: graph.Limits{MaxDepth: 5}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, err := fakeAuthenticate(req.Context(), req.Header.Get("Authorization"), "127.0.0.1")
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, req.WithContext(auth.WithPrincipal(req.Context(), p)))
	}))
	t.Cleanup(srv.Close)
	p, err := led.CreateProgram(context.Background(), fmt.Sprintf("p%d", seq.Add(1)), "Live programme", "")
	if err != nil {
		t.Fatal(err)
	}
	return &liveAPI{t: t, url: srv.URL + "/graphql", hub: hub, led: led, mem: mem, program: p}
}

func (a *liveAPI) member(ref string) *members.Member {
	a.t.Helper()
	m, _, err := a.mem.Upsert(context.Background(), members.UpsertInput{ExternalRef: ref})
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

func (a *liveAPI) credit(m *members.Member, points int64, key string) {
	a.t.Helper()
	if _, err := a.led.Adjust(context.Background(), a.program.ID, m.ID, points, "test", key); err != nil {
		a.t.Fatal(err)
	}
}

// wsClient speaks graphql-transport-ws.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

// dial opens a connection, sending header with the upgrade request.
func (a *liveAPI) dial(header http.Header) *wsClient {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		a.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c.SetReadLimit(-1)
	a.t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: a.t, c: c}
}

func (w *wsClient) send(msg map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(msg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send %s: %v", b, err)
	}
}

// read returns the next message other than a ping (which it answers), or the close error.
func (w *wsClient) read() (map[string]any, error) {
	w.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := w.c.Read(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		var msg map[string]any
		if err := json.Unmarshal(b, &msg); err != nil {
			w.t.Fatalf("message is not JSON: %s", b)
		}
		if msg["type"] == "ping" {
			w.send(map[string]any{"type": "pong"})
			continue
		}
		return msg, nil
	}
}

// init sends connection_init and expects connection_ack.
func (w *wsClient) init(payload map[string]any) {
	w.t.Helper()
	w.send(map[string]any{"type": "connection_init", "payload": payload})
	msg, err := w.read()
	if err != nil || msg["type"] != "connection_ack" {
		w.t.Fatalf("connection_init: expected connection_ack, got %v (%v)", msg, err)
	}
}

// refused sends connection_init and expects the connection closed with code and a reason
// containing reason.
func (w *wsClient) refused(payload map[string]any, code websocket.StatusCode, reason string) {
	w.t.Helper()
	w.send(map[string]any{"type": "connection_init", "payload": payload})
	msg, err := w.read()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Reason, reason) {
		w.t.Fatalf("connection_init %v: expected close %d %q, got %v (%v)", payload, code, reason, msg, err)
	}
}

func (w *wsClient) subscribe(id, query string, vars map[string]any) {
	w.t.Helper()
	w.send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": query, "variables": vars}})
}

// next returns the next message of subscription id: its type and its payload as compact JSON.
func (w *wsClient) next(id string) string {
	w.t.Helper()
	msg, err := w.read()
	if err != nil {
		w.t.Fatalf("waiting for a message of %s: %v", id, err)
	}
	if msg["id"] != id {
		w.t.Fatalf("waiting for a message of %s, got %v", id, msg)
	}
	if msg["payload"] == nil {
		return fmt.Sprint(msg["type"])
	}
	b, _ := json.Marshal(msg["payload"])
	return fmt.Sprintf("%s %s", msg["type"], b)
}

func (w *wsClient) expect(id, want string) {
	w.t.Helper()
	if typ, doc, ok := strings.Cut(want, " "); ok {
		want = typ + " " + canonical(w.t, doc)
	}
	if got := w.next(id); got != want {
		w.t.Fatalf("subscription %s:\n got: %s\nwant: %s", id, got, want)
	}
}

func bearer(cred string) map[string]any { return map[string]any{"Authorization": "Bearer " + cred} }

// TestSubscribeMember: the first message is the selection now; a committed change sends the
// new result; a change that leaves the selection as it was sends nothing; completing stops
// the subscription.
func TestSubscribeMember(t *testing.T) {
	a := newLiveAPI(t, graph.LiveOptions{})
	m := a.member(fmt.Sprintf("live-anna-%d", seq.Add(1)))
	a.credit(m, 40, m.ExternalRef+"-1")
	w := a.dial(nil)
	w.init(bearer("frontend-key"))
	w.subscribe("1", `subscription($ref: String) { member(externalRef: $ref) { balances { available } } }`,
		map[string]any{"ref": m.ExternalRef})
	w.expect("1", `next {"data":{"member":{"balances":[{"available":40}]}}}`)
	a.credit(m, 2, m.ExternalRef+"-2")
	w.expect("1", `next {"data":{"member":{"balances":[{"available":42}]}}}`)
	// A tier notifies the member, but the selection is unchanged: no message. The next one is
	// the debit after it.
	if _, err := dbtest.DB(t).ExecContext(context.Background(), "INSERT INTO tiers (member_id, program_id, tier, updated_at) VALUES (?, ?, 'gold', now())",
		m.ID, a.program.ID); err != nil {
		t.Fatal(err)
	}
	a.credit(m, -2, m.ExternalRef+"-3")
	w.expect("1", `next {"data":{"member":{"balances":[{"available":40}]}}}`)
	w.send(map[string]any{"type": "complete", "id": "1"})
	w.expect("1", "complete")
	waitCount(t, a.hub, 0)
}

// waitCount waits until the hub holds n subscriptions.
func waitCount(t *testing.T, hub *live.Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for hub.Count() != n {
		if time.Now().After(deadline) {
			t.Fatalf("expected %d subscriptions, the hub holds %d", n, hub.Count())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSubscriptionCredentials: the connection's credentials come from connection_init's
// payload or the upgrade request's header (the same when both); bad ones close the
// connection with 4403, a failing key store with 4500, two different ones with 4400, none at
// all with 4403; every subscription is authorised with the table like the query of the same
// name, and a member token follows only its own member.
func TestSubscriptionCredentials(t *testing.T) {
	a := newLiveAPI(t, graph.LiveOptions{})
	a.member("cred-self")
	other := a.member("cred-other")
	const q = `subscription($ref: String) { member(externalRef: $ref) { externalRef } }`
	self := map[string]any{"ref": "cred-self"}
	want := `next {"data":{"member":{"externalRef":"cred-self"}}}`

	a.dial(nil).refused(nil, 4403, "Forbidden")
	a.dial(nil).refused(bearer("stolen"), 4403, "Forbidden: the API key or token is invalid")
	a.dial(nil).refused(bearer("down"), 4500, "authentication is unavailable")
	a.dial(nil).refused(map[string]any{"Authorization": 7}, 4400, "must be a string")
	a.dial(http.Header{"Authorization": {"Bearer admin-key"}}).refused(bearer("frontend-key"), 4400, "different credentials")

	// The header alone, the payload alone, both the same.
	for name, w := range map[string]*wsClient{
		"header":  a.dial(http.Header{"Authorization": {"Bearer frontend-key"}}),
		"payload": a.dial(nil),
		"both":    a.dial(http.Header{"Authorization": {"Bearer frontend-key"}}),
	} {
		payload := bearer("frontend-key")
		if name == "header" {
			payload = nil
		}
		w.init(payload)
		w.subscribe("1", q, self)
		if got := w.next("1"); got != want {
			t.Errorf("credentials in the %s: got %s", name, got)
		}
	}

	forbidden := func(field, msg string) string {
		return fmt.Sprintf(`next {"errors":[{"message":%q,"path":[%q],"locations":[{"line":1,"column":%d}],"extensions":{"code":"FORBIDDEN"}}],"data":null}`,
			msg, field, 1+strings.Index(q, field))
	}
	m := a.dial(nil)
	m.init(bearer("token:cred-self"))
	m.subscribe("own", q, self)
	m.expect("own", want)
	m.subscribe("other", q, map[string]any{"ref": "cred-other"})
	m.expect("other", forbidden("member", "a member token may only act for its own member"))
	m.expect("other", "complete")
	m.subscribe("by-id", `subscription($id: ID) { member(id: $id) { externalRef } }`, map[string]any{"id": gid("Member", other.ID)})
	if got := m.next("by-id"); !strings.Contains(got, `"code":"FORBIDDEN"`) || strings.Contains(got, "cred-other") {
		t.Errorf("a member token following another member by id: %s", got)
	}
	m.expect("by-id", "complete")
	m.subscribe("campaign", `subscription { campaign(code: "x") { code } }`, nil)
	if got := m.next("campaign"); !strings.Contains(got, `"code":"FORBIDDEN"`) {
		t.Errorf("a member token following a campaign: %s", got)
	}

	i := a.dial(nil)
	i.init(bearer("ingest-key"))
	i.subscribe("1", q, self)
	if got := i.next("1"); !strings.Contains(got, `your roles (ingest) may not run Subscription.member`) {
		t.Errorf("an ingest key following a member: %s", got)
	}
}

// TestSubscriptionLimits: a connection holds at most MaxSubscriptions at once (completing one
// makes room); the query limits apply to subscription documents; over HTTP a subscription is
// refused with WEBSOCKET_REQUIRED.
func TestSubscriptionLimits(t *testing.T) {
	a := newLiveAPI(t, graph.LiveOptions{MaxSubscriptions: 2})
	a.member("limit-1")
	const q = `subscription { member(externalRef: "limit-1") { externalRef } }`
	const first = `next {"data":{"member":{"externalRef":"limit-1"}}}`
	w := a.dial(nil)
	w.init(bearer("admin-key"))
	w.subscribe("a", q, nil)
	w.expect("a", first)
	w.subscribe("b", q, nil)
	w.expect("b", first)
	w.subscribe("c", q, nil)
	w.expect("c", `error [{"message":"this connection holds 2 subscriptions, the most allowed; complete one first","extensions":{"code":"TOO_MANY_SUBSCRIPTIONS"}}]`)
	w.send(map[string]any{"type": "complete", "id": "a"})
	w.expect("a", "complete")
	waitCount(t, a.hub, 1)
	w.subscribe("d", q, nil)
	w.expect("d", first)

	w.subscribe("deep", `subscription { member(externalRef: "limit-1") { transactions { edges { node { member { externalRef } } } } } }`, nil)
	if got := w.next("deep"); !strings.Contains(got, `"code":"QUERY_TOO_DEEP"`) {
		t.Errorf("a subscription deeper than the limit: %s", got)
	}

	body := `{"query":"subscription { member(externalRef: \"limit-1\") { externalRef } }"}`
	resp, err := http.Post(a.url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(out.String(), `"code":"WEBSOCKET_REQUIRED"`) || strings.Contains(out.String(), `"data"`) {
		t.Errorf("a subscription over HTTP POST: %d %s", resp.StatusCode, out.String())
	}
}

// TestSubscriptionsEndWithTheirConnection: when a client goes away without completing, every
// subscription and goroutine of its connection ends.
func TestSubscriptionsEndWithTheirConnection(t *testing.T) {
	a := newLiveAPI(t, graph.LiveOptions{})
	a.member("gone-1")
	before := runtime.NumGoroutine()
	for range 3 {
		w := a.dial(nil)
		w.init(bearer("admin-key"))
		for i := range 5 {
			id := fmt.Sprint(i)
			w.subscribe(id, `subscription { member(externalRef: "gone-1") { externalRef } }`, nil)
			w.expect(id, `next {"data":{"member":{"externalRef":"gone-1"}}}`)
		}
		_ = w.c.CloseNow()
	}
	waitCount(t, a.hub, 0)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after the connections closed\n%s", before, runtime.NumGoroutine(),
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowClientDisconnected: a client that stops reading does not hold its subscriptions'
// goroutines forever: once a message cannot be written within WriteTimeout the connection is
// closed, and its subscriptions end.
func TestSlowClientDisconnected(t *testing.T) {
	// Pings would end the connection too (the client does not answer them); not within the test.
	a := newLiveAPI(t, graph.LiveOptions{WriteTimeout: 200 * time.Millisecond, PingInterval: time.Hour})
	m := a.member(fmt.Sprintf("slow-%d", seq.Add(1)))
	w := a.dial(nil)
	w.init(bearer("admin-key"))
	w.subscribe("1", `subscription($ref: String) { member(externalRef: $ref) { transactions(first: 100) { edges { node { idempotencyKey reason } } } } }`,
		map[string]any{"ref": m.ExternalRef})
	w.expect("1", `next {"data":{"member":{"transactions":{"edges":[]}}}}`)
	// From now on the client reads nothing; each credit makes the next message larger.
	reason := strings.Repeat("r", 4000)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; a.hub.Count() > 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %d credits the unread subscription is still open", i)
		}
		if _, err := a.led.Adjust(context.Background(), a.program.ID, m.ID, 1, reason, fmt.Sprintf("%s-%d", m.ExternalRef, i)); err != nil {
			t.Fatal(err)
		}
	}
}
