package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
)

// TestMonthCloseTwoReplicas runs two cores on one database, both with the scheduler on, and
// closes April 2021 of the gift programme over 10,000 enrolments: exactly 10,000 gifts, none
// twice.
func TestMonthCloseTwoReplicas(t *testing.T) {
	const n = 10000
	dbURL := newDatabase(t)
	args := []string{"--dev-clock", "--clock-start", "2021-04-28T12:00:00+03:00", "--scheduler-interval", "200ms"}
	a := startCore(t, dbURL, args...)
	data(t, a.gql(`mutation { createProgram(input: {code: "its2021", name: "ITS 2021"}) { code } }`, nil))
	path, sum := pluginBinary(t, "plugins/giftbymonth", "giftbymonth")
	data(t, a.register(t, "giftbymonth", "1.0.0", path, sum))
	id := data(t, a.gql(`mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"code": "gifts", "name": "Gifts 2021", "program": "its2021", "plugin": "giftbymonth", "pluginVersion": "1.0.0",
		"timeZone": "Europe/Kyiv", "startsAt": "2021-04-28T00:00:00+03:00", "endsAt": "2022-01-01T00:00:00+02:00",
	}}), "createCampaign", "id")
	data(t, a.gql(`mutation($id: ID!) { activateCampaign(id: $id) { status } }`, map[string]any{"id": id}))

	bdb, err := db.Open(context.Background(), dbURL, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	ctx := context.Background()
	// 10,000 companies with an April PROF contract each, registered on 10 April.
	if _, err := bdb.ExecContext(ctx, `
		INSERT INTO members (external_ref, name, attributes)
		SELECT 'bulk-' || i, 'Company ' || i, jsonb_build_object('productRegistered', true, 'itsContracts',
			jsonb_build_array(jsonb_build_object('id', 'B-' || i, 'level', 'PROF', 'termMonths', 12 + 12 * (i % 2),
			                                     'paidInFull', true, 'startMonth', '2021-04')))
		FROM generate_series(1, ?) AS i`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.ExecContext(ctx, `
		INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, answers, registered_by, enrolled_at)
		SELECT c.id, m.id, m.external_ref, '\x00', jsonb_build_object('contractId', 'B-' || substr(m.external_ref, 6),
		       'registeredBy', 'Employee ' || m.id), 'Employee ' || m.id, '2021-04-10T09:00:00+03:00'
		FROM members m, campaigns c WHERE m.external_ref LIKE 'bulk-%' AND c.code = 'gifts'`); err != nil {
		t.Fatal(err)
	}
	b := startCore(t, dbURL, args...)

	start := time.Now()
	for _, c := range []*core{a, b} {
		c.setClock(t, "2021-04-29T00:00:05+03:00")
	}
	deadline := time.Now().Add(4 * time.Minute)
	var gifts, members, done int
	for {
		// The run's status first: its last page's gifts commit with it, so once it reads done,
		// every gift is visible.
		if err := bdb.NewRaw(`SELECT count(*) FROM tick_runs WHERE due_at = '2021-04-29T00:00:00+03:00' AND status = 'done'`).Scan(ctx, &done); err != nil {
			t.Fatal(err)
		}
		if err := bdb.NewRaw(`SELECT count(*), count(DISTINCT member_id) FROM benefits WHERE kind = 'gift'`).Scan(ctx, &gifts, &members); err != nil {
			t.Fatal(err)
		}
		if done == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("month close over %d enrolments took about %s", n, time.Since(start).Round(100*time.Millisecond))
	if done != 1 || gifts != n || members != n {
		var runs []struct {
			DueAt     time.Time
			Status    string
			Cursor    int64
			Processed int64
			Owner     string
			LastError string
		}
		_ = bdb.NewRaw(`SELECT due_at, status, cursor, processed, owner, last_error FROM tick_runs ORDER BY due_at`).Scan(ctx, &runs)
		var missing []struct{ Min, Max, N int64 }
		_ = bdb.NewRaw(`SELECT min(e.id), max(e.id), count(*) AS n FROM enrollments e
			WHERE NOT EXISTS (SELECT 1 FROM benefits b WHERE b.member_id = e.member_id AND b.kind = 'gift')`).Scan(ctx, &missing)
		t.Fatalf("after the April close: run done %d, %d gift benefits for %d members; want 1, %d, %d\nruns %+v\nenrolments without a gift %+v",
			done, gifts, members, n, n, runs, missing)
	}
	var hairDryers int
	if err := bdb.NewRaw(`SELECT count(*) FROM benefits WHERE kind = 'gift' AND title = 'Branded calculator + branded travel hair dryer'`).
		Scan(ctx, &hairDryers); err != nil {
		t.Fatal(err)
	}
	if hairDryers != n/2 {
		t.Fatalf("%d 24-month gifts (calculator + hair dryer), want %d", hairDryers, n/2)
	}
	// Both replicas keep running passes over the same occurrence; nothing more appears.
	a.awaitFullPass(t)
	b.awaitFullPass(t)
	if err := bdb.NewRaw(`SELECT count(*) FROM benefits WHERE kind = 'gift'`).Scan(ctx, &gifts); err != nil || gifts != n {
		t.Fatalf("gifts after more passes: %d (%v)", gifts, err)
	}
}
