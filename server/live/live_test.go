package live_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/live"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// marker is a topic no trigger names: tests notify it last and wait for it, and since
// PostgreSQL delivers notifications in commit order, anything committed before it has then
// been delivered too.
var marker = live.Campaign(1 << 62)

// startListener runs a listener on the package database until the test ends and waits until
// it listens.
func startListener(t *testing.T) (*live.Hub, *live.Listener) {
	t.Helper()
	hub := live.NewHub(0)
	l := &live.Listener{URL: dbtest.URL(t), Hub: hub, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, l.WaitListening(), "the listener to listen")
	return hub, l
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// recorder subscribes to topics and tells which were signalled.
type recorder struct {
	t    *testing.T
	subs map[live.Topic]*live.Subscription
}

func record(t *testing.T, hub *live.Hub, topics ...live.Topic) *recorder {
	t.Helper()
	r := &recorder{t: t, subs: map[live.Topic]*live.Subscription{}}
	for _, tp := range append(topics, marker) {
		s, err := hub.Subscribe(tp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		r.subs[tp] = s
	}
	return r
}

// settle relays what the triggers recorded (one relay pass), then commits a notification of
// the marker, waits for it and returns the topics signalled before it (and clears them).
func (r *recorder) settle(bdb *db.DB) []live.Topic {
	r.t.Helper()
	if _, _, err := (&live.Relay{DB: bdb}).Pass(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	if _, err := bdb.ExecContext(context.Background(), fmt.Sprintf("SELECT pg_notify('%s', 'campaign %d')", live.Channel, marker.ID)); err != nil {
		r.t.Fatal(err)
	}
	waitFor(r.t, r.subs[marker].Changed(), "the marker notification")
	var got []live.Topic
	for tp, s := range r.subs {
		select {
		case <-s.Changed():
			got = append(got, tp)
		default:
		}
	}
	slices.SortFunc(got, func(a, b live.Topic) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return int(a.ID - b.ID)
	})
	return got
}

// TestNotifiedOnCommitOnly: a notification made inside a transaction reaches subscribers when
// the transaction commits, not before, and never when it rolls back.
func TestNotifiedOnCommitOnly(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	hub, _ := startListener(t)
	r := record(t, hub, live.Member(1), live.Member(2), live.Event(3))

	tx, err := bdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify('promogate_live', 'member 1 2')"); err != nil {
		t.Fatal(err)
	}
	if got := r.settle(bdb); len(got) != 0 {
		t.Errorf("before commit: expected no signal, got %v", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.settle(bdb), []live.Topic{live.Member(1), live.Member(2)}; !slices.Equal(got, want) {
		t.Errorf("after commit: expected %v, got %v", want, got)
	}

	tx, err = bdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify('promogate_live', 'event 3')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := r.settle(bdb); len(got) != 0 {
		t.Errorf("after rollback: expected no signal, got %v", got)
	}
}

// TestSignalsMerge: a subscription holds one pending signal; changes made while it is pending
// merge into it, and other subscriptions of the topic get theirs.
func TestSignalsMerge(t *testing.T) {
	hub := live.NewHub(2)
	a, err := hub.Subscribe(live.Member(7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hub.Subscribe(live.Member(7))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Subscribe(live.Member(8)); !errors.Is(err, live.ErrTooManySubscriptions) {
		t.Errorf("third subscription with a maximum of 2: expected ErrTooManySubscriptions, got %v", err)
	}
	for range 1000 {
		hub.Publish(live.Member(7))
	}
	hub.Publish(live.Member(9))
	for name, s := range map[string]*live.Subscription{"a": a, "b": b} {
		n := 0
		for loop := true; loop; {
			select {
			case <-s.Changed():
				n++
			default:
				loop = false
			}
		}
		if n != 1 {
			t.Errorf("subscription %s after 1000 changes: expected 1 pending signal, got %d", name, n)
		}
	}
	a.Close()
	a.Close()
	if got := hub.Count(); got != 1 {
		t.Errorf("after closing one subscription twice: expected 1 open, got %d", got)
	}
	b.Close()
	if got := hub.Count(); got != 0 {
		t.Errorf("after closing both: expected 0 open, got %d", got)
	}
}

// TestReconnect: when the listening connection is killed, the listener connects again and
// signals every subscription (what was committed meanwhile was not heard), then delivers
// notifications as before.
func TestReconnect(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	hub, l := startListener(t)
	r := record(t, hub, live.Member(11), live.Event(12))
	var killed int
	if err := bdb.NewRaw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'promogate-live' AND datname = current_database()").Scan(ctx, &killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("expected one listening session to terminate, found %d", killed)
	}
	waitFor(t, r.subs[live.Member(11)].Changed(), "the signal after reconnecting")
	waitFor(t, r.subs[live.Event(12)].Changed(), "the signal after reconnecting")
	waitFor(t, r.subs[marker].Changed(), "the signal after reconnecting")
	if !l.Listening() {
		t.Error("signalled before listening again")
	}
	if _, err := bdb.ExecContext(ctx, "SELECT pg_notify('promogate_live', 'event 12')"); err != nil {
		t.Fatal(err)
	}
	if got, want := r.settle(bdb), []live.Topic{live.Event(12)}; !slices.Equal(got, want) {
		t.Errorf("after reconnecting: expected %v, got %v", want, got)
	}
}

// TestTriggers: each write the live_notify migration watches notifies exactly the topics it
// changes, when it commits.
func TestTriggers(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	hub, _ := startListener(t)
	var prog, m1, m2, acc1, acc2, camp, ev int64
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := bdb.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	scan := func(dst *int64, q string, args ...any) {
		t.Helper()
		if err := bdb.NewRaw(q, args...).Scan(ctx, dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	scan(&prog, "INSERT INTO programs (code, name) VALUES ('live', 'Live') RETURNING id")
	scan(&m1, "INSERT INTO members (external_ref) VALUES ('live-1') RETURNING id")
	scan(&m2, "INSERT INTO members (external_ref) VALUES ('live-2') RETURNING id")
	scan(&acc1, "INSERT INTO accounts (program_id, member_id, kind) VALUES (?, ?, 'member') RETURNING id", prog, m1)
	scan(&acc2, "INSERT INTO accounts (program_id, member_id, kind) VALUES (?, ?, 'member') RETURNING id", prog, m2)
	exec(`INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES ('p', '1', '/p', repeat('a', 64), 1, now(), 'test')`)
	scan(&camp, `INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, starts_at, created_at, updated_at)
		VALUES ('live', 'Live', ?, 'p', '1', now(), now(), now()) RETURNING id`, prog)
	scan(&ev, `INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at, next_attempt_at)
		VALUES ('test', 'e1', 'payment', ?, now(), '\x00', now(), now()) RETURNING id`, m1)
	r := record(t, hub, live.Member(m1), live.Member(m2), live.Campaign(camp), live.Event(ev))
	if got := r.settle(bdb); len(got) != 0 {
		t.Fatalf("set-up: expected nothing watched to notify, got %v", got)
	}
	member1, member2, campaign, event := live.Member(m1), live.Member(m2), live.Campaign(camp), live.Event(ev)
	cases := []struct {
		name string
		sql  string
		args []any
		want []live.Topic
	}{
		{"one account's balance", "UPDATE accounts SET available = available + 5 WHERE id = ?", []any{acc1}, []live.Topic{member1}},
		{"two accounts in one statement", "UPDATE accounts SET pending = pending + 1 WHERE id IN (?, ?)", []any{acc1, acc2}, []live.Topic{member1, member2}},
		{"a statement changing no row", "UPDATE accounts SET available = 0 WHERE id = -1", nil, nil},
		{"a tier granted", "INSERT INTO tiers (member_id, program_id, tier, updated_at) VALUES (?, ?, 'gold', now())", []any{m2, prog}, []live.Topic{member2}},
		{"a tier renewed by upsert", `INSERT INTO tiers (member_id, program_id, tier, updated_at) VALUES (?, ?, 'gold', now())
			ON CONFLICT (member_id, program_id) DO UPDATE SET tier = 'platinum'`, []any{m2, prog}, []live.Topic{member2}},
		{"a tier lapsed", "DELETE FROM tiers WHERE member_id = ?", []any{m2}, []live.Topic{member2}},
		{"a benefit granted", `INSERT INTO benefits (member_id, campaign_id, key, kind, status, created_at, updated_at)
			VALUES (?, ?, 'k', 'gift', 'active', now(), now())`, []any{m1, camp}, []live.Topic{member1, campaign}},
		{"a benefit ended", "UPDATE benefits SET status = 'ended' WHERE member_id = ?", []any{m1}, []live.Topic{member1, campaign}},
		{"an enrolment", `INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, enrolled_at)
			VALUES (?, ?, 'en-1', '\x00', now())`, []any{camp, m2}, []live.Topic{member2, campaign}},
		{"a transaction (its account's update notifies the member)", `INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, campaign_id, created_at)
			VALUES (?, ?, ?, 'earn', 10, 't-1', '\x00', ?, now())`, []any{prog, acc1, m1, camp}, nil},
		{"a campaign paused", "UPDATE campaigns SET status = 'paused' WHERE id = ?", []any{camp}, []live.Topic{campaign}},
		{"an event's outcome", `UPDATE events SET status = 'done', outcome = jsonb_build_object('campaigns',
			jsonb_build_array(jsonb_build_object('campaignId', ?::bigint, 'status', 'applied'))) WHERE id = ?`, []any{camp, ev}, []live.Topic{event, campaign}},
		{"an event waiting for a campaign", `UPDATE events SET status = 'pending', outcome = jsonb_build_object('campaigns', '[]'::jsonb,
			'waiting', jsonb_build_array(jsonb_build_object('campaignId', ?::bigint))) WHERE id = ?`, []any{camp, ev}, []live.Topic{event, campaign}},
		{"an event without campaigns", `UPDATE events SET outcome = '{"campaigns": [], "reason": "none"}' WHERE id = ?`, []any{ev}, []live.Topic{event}},
	}
	for _, tc := range cases {
		tx, err := bdb.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, tc.sql, tc.args...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := r.settle(bdb); len(got) != 0 {
			t.Errorf("%s, before commit: expected no signal, got %v", tc.name, got)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := r.settle(bdb); !slices.Equal(got, tc.want) {
			t.Errorf("%s: expected %v, got %v", tc.name, tc.want, got)
		}
	}
}

// membersWithAccounts creates a programme named code with n members, each with an account in
// it, and returns the programme's id, the members' ids and their topics.
func membersWithAccounts(t *testing.T, bdb *db.DB, code string, n int) (prog int64, ids []int64, topics []live.Topic) {
	t.Helper()
	ctx := context.Background()
	if err := bdb.NewRaw("INSERT INTO programs (code, name) VALUES (?, ?) RETURNING id", code, code).Scan(ctx, &prog); err != nil {
		t.Fatal(err)
	}
	if err := bdb.NewRaw(`WITH m AS (INSERT INTO members (external_ref) SELECT ? || '-' || g FROM generate_series(1, ?::int) g RETURNING id)
		INSERT INTO accounts (program_id, member_id, kind) SELECT ?, id, 'member' FROM m RETURNING member_id`, code, n, prog).Scan(ctx, &ids); err != nil {
		t.Fatal(err)
	}
	topics = make([]live.Topic, len(ids))
	for i, id := range ids {
		topics[i] = live.Member(id)
	}
	return prog, ids, topics
}

// TestBatchNotifications: a statement changing 1,000 accounts sends its members in
// notifications of 300 ids, and every member is signalled.
func TestBatchNotifications(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	hub, l := startListener(t)
	prog, ids, topics := membersWithAccounts(t, bdb, "batch", 1000)
	r := record(t, hub, topics...)
	r.settle(bdb)
	before := l.Received()
	if _, err := bdb.ExecContext(ctx, "UPDATE accounts SET available = available + 1 WHERE program_id = ?", prog); err != nil {
		t.Fatal(err)
	}
	got := r.settle(bdb)
	if len(got) != len(ids) {
		t.Errorf("expected all %d members signalled, got %d", len(ids), len(got))
	}
	// Four notifications (300 + 300 + 300 + 100 ids) and the marker's.
	if n := l.Received() - before; n != 5 {
		t.Errorf("expected 5 notifications, got %d", n)
	}
}

// TestRelaysShareTheWork: two relays passing at the same time over the changes of 20
// transactions (replicas do) take each change once between them, every member is signalled,
// and each id goes out once, however many transactions changed it.
func TestRelaysShareTheWork(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	hub, l := startListener(t)
	_, ids, topics := membersWithAccounts(t, bdb, "share", 200)
	r := record(t, hub, topics...)
	r.settle(bdb)
	// 20 transactions of 20 members each, every member changed twice.
	for i := range 20 {
		part := ids[(i%10)*20 : (i%10+1)*20]
		if _, err := db.PG(bdb).Exec(ctx, "UPDATE accounts SET available = available + 1 WHERE member_id = ANY($1::bigint[])", part); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Received()
	a, b := &live.Relay{DB: bdb}, &live.Relay{DB: bdb}
	errs := make(chan error, 2)
	for _, rl := range []*live.Relay{a, b} {
		go func() { _, _, err := rl.Pass(ctx); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Relayed() + b.Relayed(); got != 20 {
		t.Errorf("expected the two relays to take the 20 changes between them, got %d (%d + %d)", got, a.Relayed(), b.Relayed())
	}
	got := r.settle(bdb)
	if len(got) != len(ids) {
		t.Errorf("expected all %d members signalled, got %d", len(ids), len(got))
	}
	// One relay alone sends 200 distinct ids in one notification of 200 ids; two relays at
	// most one each; and the marker's.
	if n := l.Received() - before; n < 2 || n > 3 {
		t.Errorf("expected 2 or 3 notifications, got %d", n)
	}
}
