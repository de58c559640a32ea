package notify_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// TestSchemaGuarantees: migration 0004's named constraints refuse what they must, even for a
// writer that bypasses this package.
func TestSchemaGuarantees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bdb := dbtest.DB(t)
	m := newMember(t, bdb)
	n := enqueue(t, bdb, sms(m, uniq("evt")), time.Now())
	if _, err := bdb.NewRaw(`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome)
		VALUES (?, 1, now(), 0, 'retry')`, n.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO notifications (key, member_id, channel, template, recipient, params, status, next_attempt_at, created_at, delivered_at)
		VALUES (?, ?, ?, 'tpl', '+371', ?::jsonb, ?, now(), now(), ?)`
	var never *time.Time
	now := time.Now()
	cases := []struct {
		name, constraint string
		query            string
		args             []any
	}{
		{"duplicate key", "notifications_key_key", insert, []any{n.Key, m, "sms", "{}", "pending", never}},
		{"empty key", "notifications_key_length", insert, []any{"", m, "sms", "{}", "pending", never}},
		{"unknown member", "notifications_member_fkey", insert, []any{uniq("k"), int64(1) << 60, "sms", "{}", "pending", never}},
		{"unknown channel", "notifications_channel", insert, []any{uniq("k"), m, "push", "{}", "pending", never}},
		{"params not an object", "notifications_params_object", insert, []any{uniq("k"), m, "sms", "[]", "pending", never}},
		{"unknown status", "notifications_status", insert, []any{uniq("k"), m, "sms", "{}", "sent", never}},
		{"delivered without a time", "notifications_delivered_at", insert, []any{uniq("k"), m, "sms", "{}", "delivered", never}},
		{"pending with a delivery time", "notifications_delivered_at", insert, []any{uniq("k"), m, "sms", "{}", "pending", &now}},
		{"empty recipient", "notifications_recipient_length",
			`INSERT INTO notifications (key, member_id, channel, template, recipient, next_attempt_at, created_at) VALUES (?, ?, 'sms', 'tpl', '', now(), now())`,
			[]any{uniq("k"), m}},
		{"negative attempts", "notifications_attempts_nonnegative", `UPDATE notifications SET attempts = -1 WHERE id = ?`, []any{n.ID}},
		{"second log row for one attempt", "notification_deliveries_attempt_key",
			`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome) VALUES (?, 1, now(), 0, 'retry')`, []any{n.ID}},
		{"attempt 0", "notification_deliveries_attempt_positive",
			`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome) VALUES (?, 0, now(), 0, 'retry')`, []any{n.ID}},
		{"unknown outcome", "notification_deliveries_outcome",
			`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome) VALUES (?, 2, now(), 0, 'ok')`, []any{n.ID}},
		{"log of an unknown notification", "notification_deliveries_notification_fkey",
			`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome) VALUES (?, 1, now(), 0, 'retry')`, []any{int64(1) << 60}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := bdb.NewRaw(c.query, c.args...).Exec(ctx)
			if got := db.Constraint(err); got != c.constraint {
				t.Fatalf("got constraint %q (error %v), want %q", got, err, c.constraint)
			}
		})
	}
}

// TestMigrationDownUp: migration 0004's down script removes both tables and its up script
// creates them again.
func TestMigrationDownUp(t *testing.T) {
	ctx := context.Background()
	bdb, _ := isolatedDB(t)
	exists := func(table string) bool {
		t.Helper()
		var ok bool
		if err := bdb.NewRaw("SELECT to_regclass(?) IS NOT NULL", table).Scan(ctx, &ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, step := range []struct {
		file string
		want bool
	}{{"down", false}, {"up", true}} {
		sql, err := os.ReadFile("../../db/migrations/20261121000004_notifications.tx." + step.file + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bdb.ExecContext(ctx, string(sql)); err != nil {
			t.Fatalf("%s migration: %v", step.file, err)
		}
		for _, table := range []string{"notifications", "notification_deliveries"} {
			if got := exists(table); got != step.want {
				t.Fatalf("after the %s migration: table %s exists = %v, want %v", step.file, table, got, step.want)
			}
		}
	}
}
