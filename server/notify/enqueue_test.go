package notify_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/notify"
)

// releaseIdle closes the shared pool's idle connections, keeping its settings, so that a test
// that opened several at once does not hold them against the server's connection limit, which
// other test packages share.
func releaseIdle(bdb *db.DB) {
	bdb.SetMaxIdleConns(0)
	bdb.SetMaxIdleConns(bdb.Stats().MaxOpenConnections)
}

func countKey(t *testing.T, idb bun.IDB, key string) int {
	t.Helper()
	var n int
	if err := idb.NewRaw(`SELECT count(*) FROM notifications WHERE key = ?`, key).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEnqueueStoresPending: Enqueue returns the stored row, pending and due at once, and Get
// reads it back equal.
func TestEnqueueStoresPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	c, e := newCampaignEvent(t, bdb, m)
	now := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.FixedZone("EET", 2*3600))
	in := notify.Notification{Key: uniq("evt:1:2:0"), MemberID: m, CampaignID: &c, EventID: &e, Channel: notify.ChannelEmail,
		Template: "welcome", Recipient: "anna@example.com", Params: map[string]string{"name": "Anna"},
		Status: notify.StatusDelivered, Attempts: 7} // Status and Attempts are ignored
	got := enqueue(t, bdb, in, now)
	at := now.UTC().Truncate(time.Microsecond)
	want := &notify.Notification{ID: got.ID, Key: in.Key, MemberID: m, CampaignID: &c, EventID: &e, Channel: "email",
		Template: "welcome", Recipient: "anna@example.com", Params: map[string]string{"name": "Anna"},
		Status: notify.StatusPending, Attempts: 0, NextAttemptAt: at, CreatedAt: at}
	if got.ID == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("enqueue returned\n%+v\nwant\n%+v", got, want)
	}
	read, err := notify.NewStore(bdb).Get(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	read.NextAttemptAt, read.CreatedAt = read.NextAttemptAt.UTC(), read.CreatedAt.UTC()
	if !reflect.DeepEqual(read, want) {
		t.Fatalf("get returned\n%+v\nwant\n%+v", read, want)
	}
	if _, err := notify.NewStore(bdb).Get(ctx, -1); !errors.Is(err, notify.ErrNotFound) {
		t.Fatalf("get of an unknown id: got %v, want ErrNotFound", err)
	}
}

// TestEnqueueIdempotent: one key gives one row however it is enqueued again — later, in the same
// transaction, with other content, or by concurrent transactions.
func TestEnqueueIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	now := time.Now()

	t.Run("twice", func(t *testing.T) {
		key := uniq("evt")
		first := enqueue(t, bdb, sms(m, key), now)
		other := sms(m, key)
		other.Template, other.Params = "something-else", map[string]string{"x": "y"}
		second := enqueue(t, bdb, other, now.Add(time.Hour))
		if second.ID != first.ID || second.Template != first.Template || !second.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("second enqueue returned %+v, want the first row %+v", second, first)
		}
		if n := countKey(t, bdb, key); n != 1 {
			t.Fatalf("rows with key %q: %d, want 1", key, n)
		}
	})

	t.Run("twice in one transaction", func(t *testing.T) {
		key := uniq("evt")
		var ids [2]int64
		err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
			for i := range ids {
				n, err := notify.Enqueue(ctx, tx, sms(m, key), now)
				if err != nil {
					return err
				}
				ids[i] = n.ID
			}
			return nil
		})
		if err != nil || ids[0] != ids[1] {
			t.Fatalf("enqueue twice in one transaction: ids %v (%v), want one id twice", ids, err)
		}
		if n := countKey(t, bdb, key); n != 1 {
			t.Fatalf("rows with key %q: %d, want 1", key, n)
		}
	})

	t.Run("concurrently", func(t *testing.T) {
		t.Cleanup(func() { releaseIdle(bdb) })
		key := uniq("evt")
		const writers = 8
		ids := make([]int64, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				errs[i] = db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
					n, err := notify.Enqueue(ctx, tx, sms(m, key), now)
					if err == nil {
						ids[i] = n.ID
					}
					return err
				})
			})
		}
		wg.Wait()
		for i := range writers {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("writer %d: id %d (%v), want id %d like writer 0", i, ids[i], errs[i], ids[0])
			}
		}
		if n := countKey(t, bdb, key); n != 1 {
			t.Fatalf("rows with key %q: %d, want 1", key, n)
		}
	})
}

// TestEnqueueRollsBackWithCaller: a notification enqueued in a transaction that rolls back is
// not stored (the outbox commits with the effects or not at all).
func TestEnqueueRollsBackWithCaller(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	key := uniq("evt")
	boom := errors.New("a later effect failed")
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		if _, err := notify.Enqueue(ctx, tx, sms(m, key), time.Now()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("transaction: got %v, want %v", err, boom)
	}
	if n := countKey(t, bdb, key); n != 0 {
		t.Fatalf("rows with key %q after rollback: %d, want 0", key, n)
	}
}

// TestEnqueueRejects: invalid notifications are refused with the documented error, and nothing
// is stored.
func TestEnqueueRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	missing := int64(1) << 60
	cases := []struct {
		name string
		edit func(n *notify.Notification)
		want error
	}{
		{"empty recipient", func(n *notify.Notification) { n.Recipient = "" }, notify.ErrNoRecipient},
		{"blank recipient", func(n *notify.Notification) { n.Recipient = "  " }, notify.ErrNoRecipient},
		{"empty key", func(n *notify.Notification) { n.Key = "" }, notify.ErrInvalidNotification},
		{"key with a space", func(n *notify.Notification) { n.Key = "evt 1" }, notify.ErrInvalidNotification},
		{"key too long", func(n *notify.Notification) { n.Key = strings.Repeat("k", 201) }, notify.ErrInvalidNotification},
		{"no member", func(n *notify.Notification) { n.MemberID = 0 }, notify.ErrInvalidNotification},
		{"unknown channel", func(n *notify.Notification) { n.Channel = "push" }, notify.ErrInvalidNotification},
		{"empty template", func(n *notify.Notification) { n.Template = "" }, notify.ErrInvalidNotification},
		{"NUL in a param", func(n *notify.Notification) { n.Params = map[string]string{"a": "x\x00y"} }, notify.ErrInvalidNotification},
		{"invalid UTF-8 recipient", func(n *notify.Notification) { n.Recipient = "\xff" }, notify.ErrInvalidNotification},
		{"unknown member", func(n *notify.Notification) { n.MemberID = missing }, notify.ErrMemberNotFound},
		{"unknown campaign", func(n *notify.Notification) { n.CampaignID = &missing }, notify.ErrCampaignNotFound},
		{"unknown event", func(n *notify.Notification) { n.EventID = &missing }, notify.ErrEventNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := sms(m, uniq("evt"))
			c.edit(&n)
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				_, err := notify.Enqueue(ctx, tx, n, time.Now())
				return err
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if n.Key != "" {
				if got := countKey(t, bdb, n.Key); got != 0 {
					t.Fatalf("rows stored: %d, want 0", got)
				}
			}
		})
	}
}

// TestList: a member's notifications page newest first; other members' are not listed.
func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	store := notify.NewStore(bdb)
	m, other := newMember(t, bdb), newMember(t, bdb)
	var ids []int64
	for range 5 {
		ids = append(ids, enqueue(t, bdb, sms(m, uniq("evt")), time.Now()).ID)
		enqueue(t, bdb, sms(other, uniq("evt")), time.Now())
	}
	pages := []struct {
		before int64
		want   []int64
		more   bool
	}{
		{0, []int64{ids[4], ids[3]}, true},
		{ids[3], []int64{ids[2], ids[1]}, true},
		{ids[1], []int64{ids[0]}, false},
	}
	for _, p := range pages {
		ns, more, err := store.List(ctx, m, p.before, 2)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, n := range ns {
			got = append(got, n.ID)
			if n.MemberID != m {
				t.Errorf("listed notification %d of member %d, want member %d", n.ID, n.MemberID, m)
			}
		}
		if !reflect.DeepEqual(got, p.want) || more != p.more {
			t.Errorf("list before %d: got %v more=%v, want %v more=%v", p.before, got, more, p.want, p.more)
		}
	}
	all, more, err := store.List(ctx, m, 0, 0)
	if err != nil || len(all) != 5 || more {
		t.Errorf("list with the default limit: got %d more=%v (%v), want 5 more=false", len(all), more, err)
	}
	if ds, err := store.Deliveries(ctx, ids[0]); err != nil || len(ds) != 0 {
		t.Errorf("deliveries of a notification never attempted: got %v (%v), want none", ds, err)
	}
}

// TestNoWebhook: without a URL (or with an invalid one), RunOnce refuses, Run only waits for
// its context, and notifications stay pending and unattempted.
func TestNoWebhook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	n := enqueue(t, bdb, sms(m, uniq("evt")), time.Now().Add(-time.Hour))
	d := notify.NewDispatcher(bdb, notify.Config{}, nil, nil, nil)
	if _, err := d.RunOnce(ctx); !errors.Is(err, notify.ErrNoWebhook) {
		t.Fatalf("run once without a URL: got %v, want ErrNoWebhook", err)
	}
	if _, err := notify.NewDispatcher(bdb, notify.Config{URL: "ftp://example.com/hook"}, nil, nil, nil).RunOnce(ctx); err == nil {
		t.Fatal("run once with an ftp URL: no error, want the URL refused")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	select {
	case <-done:
		t.Fatal("Run without a URL returned before its context was done")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	got, err := notify.NewStore(bdb).Get(ctx, n.ID)
	if err != nil || got.Status != notify.StatusPending || got.Attempts != 0 {
		t.Fatalf("notification after Run without a URL: %+v (%v), want pending with 0 attempts", got, err)
	}
}

// TestConfigValidate: only absolute http and https URLs are accepted; empty disables delivery.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://hooks.example.com/promogate", true},
		{"http://127.0.0.1:9000/hook?token=x", true},
		{"ftp://example.com/hook", false},
		{"/hook", false},
		{"https://", false},
		{"http://[::1", false},
	}
	for _, c := range cases {
		err := notify.Config{URL: c.url}.Validate()
		if (err == nil) != c.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", c.url, err, c.ok)
		}
	}
}
