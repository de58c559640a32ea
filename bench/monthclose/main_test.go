package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// TestMonthClose runs the driver at a small shape (the engine enrols some members, the seed
// must match them; several pages) and then shows that its check refuses a month close that
// wrote a wrong gift, bumped a state twice or skipped an enrolment.
func TestMonthClose(t *testing.T) {
	admin := dbtest.AdminURL()
	if admin == "" {
		t.Fatal("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	plugin := filepath.Join(t.TempDir(), "giftbymonth")
	if out, err := exec.Command("go", "build", "-o", plugin, "../../plugins/giftbymonth").CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	url, drop, err := dbtest.CreateDatabase(ctx, admin, "monthclose")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	const n = 150
	if err := run([]string{"-db", url, "-plugin", plugin, "-members", "150", "-via-engine", "30", "-page", "40", "-prefetch", "2"}); err != nil {
		t.Fatal(err)
	}

	bdb, err := db.Open(ctx, url, db.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var campaignID int64
	if err := bdb.NewRaw(`SELECT id FROM campaigns WHERE code = 'gifts2021'`).Scan(ctx, &campaignID); err != nil {
		t.Fatal(err)
	}
	if gifts, err := check(ctx, bdb, campaignID, n); gifts != n || err != nil {
		t.Fatalf("check after the run: %d gifts, %v", gifts, err)
	}
	for _, tc := range []struct{ name, breaks, repairs, want string }{
		{"a gift to someone else",
			`UPDATE benefits SET recipient = 'Employee 6' WHERE key = 'gift-2021-04-A-5'`,
			`UPDATE benefits SET recipient = 'Manager 5' WHERE key = 'gift-2021-04-A-5'`,
			"150 benefits for 150 members, 149 exactly as the rules say, 0 for May; want 150, 150, 150, 0"},
		{"a gift for May",
			`UPDATE benefits SET attributes = attributes || '{"month": "2021-05"}' WHERE key = 'gift-2021-04-A-7'`,
			`UPDATE benefits SET attributes = attributes || '{"month": "2021-04"}' WHERE key = 'gift-2021-04-A-7'`,
			"150 benefits for 150 members, 149 exactly as the rules say, 1 for May; want 150, 150, 150, 0"},
		{"a state bumped twice",
			`UPDATE plugin_state SET version = version + 1 WHERE member_id = (SELECT id FROM members WHERE external_ref = 'mc-9')`,
			`UPDATE plugin_state SET version = version - 1 WHERE member_id = (SELECT id FROM members WHERE external_ref = 'mc-9')`,
			"149 plugin states record the gift with their version bumped once; want 150"},
		{"an enrolment not processed",
			`UPDATE tick_runs SET processed = processed - 1 WHERE due_at = '2021-04-29 00:00:00+03'`,
			`UPDATE tick_runs SET processed = processed + 1 WHERE due_at = '2021-04-29 00:00:00+03'`,
			`the run: status done, 149 processed, error ""; want done, 150, none`},
	} {
		if _, err := bdb.ExecContext(ctx, tc.breaks); err != nil {
			t.Fatal(err)
		}
		if _, err := check(ctx, bdb, campaignID, n); err == nil || err.Error() != tc.want {
			t.Errorf("%s: check says %v, want %q", tc.name, err, tc.want)
		}
		if _, err := bdb.ExecContext(ctx, tc.repairs); err != nil {
			t.Fatal(err)
		}
	}
}
