package graph_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/rewards"
)

// cabinetQuery asks for a member's lists with every per-row field: each row names its campaign,
// its member, a transaction, a plugin; a row's own look-ups must be batched with its siblings'.
// The catalogue lists the rewards available to the member, each bound to a campaign (as in
// production: a status-discount campaign quotes them) whose configuration it shows.
const cabinetQuery = `query($r: String!, $id: ID!, $p: String!) { member(externalRef: $r) {
  id name
  balances { program { code } available }
  transactions(first: 20) { edges { node { id kind points program { code } member { externalRef }
    reverses { id } reversedBy { id } } } }
  benefits(first: 20) { edges { node { key campaign { code plugin { name campaigns { code } } } member { externalRef } } } }
  enrollments(first: 20) { edges { node { campaign { code } member { externalRef } } } }
  events(first: 20) { edges { node { member { externalRef } outcome { campaigns { campaign { code } effects { transaction { id } } }
    waiting { campaign { code } } } } } }
  notifications(first: 20) { edges { node { campaign { code } deliveries { attempt } } } }
}
  rewards(filter: {program: $p, availableTo: $id}, first: 20) { edges { node { code program { code }
    campaign { code config status program { code } plugin { name } } } } }
}`

// TestCabinetStatementsDoNotGrowWithRows posts the cabinet of a member with one row in every
// list (and one reward of its own campaign in the catalogue) and of a member with 20, and
// counts the statements each sends to PostgreSQL: the same number, but for a loader's extra
// wave on a loaded machine (the lists' per-row fields are read through the request's loaders,
// a statement per field for all the rows, not one per row).
func TestCabinetStatementsDoNotGrowWithRows(t *testing.T) {
	ctx := context.Background()
	var counting atomic.Bool
	var mu sync.Mutex
	var sent []string
	bdb, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 8, OnStatement: func(sql string) {
		if counting.Load() {
			mu.Lock()
			sent = append(sent, sql)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	clk := clock.NewManual(testNow)
	log := hclog.NewNullLogger()
	host := pluginhost.New(bdb, log, clk.Now, nil, pluginhost.Options{})
	defer host.Close()
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	camps := campaigns.NewStore(bdb, clk.Now, host)
	bens := benefits.NewStore(bdb)
	eng := engine.New(bdb, led, mem, camps, bens, host, log, clk.Now, engine.Options{})
	r := &graph.Resolver{Ledger: led, MemberStore: mem, Host: host, CampaignStore: camps, Engine: eng, BenefitStore: bens,
		NotificationStore: notify.NewStore(bdb), Log: log, Now: clk.Now,
		Rewards: rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Campaigns: camps, Engine: eng, Plugins: host, Log: log, Now: clk.Now}),
		// Generous: several lists ask the campaign and transaction loaders, each as its own
		// rows arrive, and a loaded machine must still see them all within one wait.
		LoaderWait: 300 * time.Millisecond}
	a := &api{t: t, h: asAdmin(graph.NewHandler(r, graph.HandlerOptions{}))}

	count := func(rows int) (int, string) {
		t.Helper()
		// A programme per cabinet, so that its catalogue holds only that member's rewards.
		p, err := led.CreateProgram(ctx, fmt.Sprintf("stmts%d", seq.Add(1)), "Statements", "")
		if err != nil {
			t.Fatal(err)
		}
		m := seedCabinet(t, bdb, led, mem, p, rows)
		mu.Lock()
		sent = nil
		mu.Unlock()
		counting.Store(true)
		body := a.do(cabinetQuery, map[string]any{"r": m.ExternalRef, "id": gid("Member", m.ID), "p": p.Code})
		counting.Store(false)
		if strings.Contains(body, `"errors"`) || strings.Count(body, `"key":"`) != rows || strings.Count(body, `"attempt":1`) != rows ||
			strings.Count(body, `"silver":5},"level":`) != rows {
			t.Fatalf("cabinet of %d rows: %s", rows, body)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(sent), strings.Join(sent, "\n")
	}
	count(1) // warm-up: the first request reads what the process caches
	one, oneSent := count(1)
	twenty, twentySent := count(20)
	// A loader sends one statement for the keys that arrive within its wait; on a loaded
	// machine a list's rows can arrive in two or three waves, so either cabinet may send a
	// statement or two more than the other. A per-row look-up sends 19 more for 20 rows.
	const waves = 4
	if twenty >= one+waves {
		t.Errorf("statements for a cabinet of 1 row in each list: %d; of 20 rows: %d, expected no more than %d\n1 row:\n%s\n\n20 rows:\n%s",
			one, twenty, one+waves-1, oneSent, twentySent)
	}
	t.Logf("statements: %d for the cabinet of 1 row, %d for 20 rows", one, twenty)
}

// seedCabinet creates a member with rows of everything the cabinet lists, each row with its
// own campaign (of one plugin version): transactions (every other one reversed), benefits,
// enrollments, events whose outcome names the campaign and a transaction, notifications with a
// delivery, and a catalogue reward bound to the campaign (the catalogue of the programme holds
// only this member's rewards: each cabinet has a programme of its own). It returns the member.
func seedCabinet(t *testing.T, bdb *db.DB, led *ledger.Ledger, mem *members.Store, p *ledger.Program, rows int) *members.Member {
	t.Helper()
	ctx := context.Background()
	n := seq.Add(1)
	m, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: fmt.Sprintf("cabinet-%d", n), Name: ptr("Cabinet")})
	if err != nil {
		t.Fatal(err)
	}
	plugin := fmt.Sprintf("stmts-%d", n)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := bdb.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO plugins (name, version, path, sha256, protocol_version, registered_at, registered_by)
		VALUES (?, '1.0.0', '/nowhere', repeat('a', 64), 1, now(), 'test')`, plugin)
	for i := range rows {
		tx, err := led.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m.ID, Amount: 10, IdempotencyKey: fmt.Sprintf("c-%d-%d", n, i)})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			if _, err := led.Reverse(ctx, tx.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
		var cid int64
		if err := bdb.NewRaw(`INSERT INTO campaigns (code, name, program_id, plugin_name, plugin_version, config, status, starts_at, created_at, updated_at)
			VALUES (?, 'Campaign', ?, ?, '1.0.0', ?::jsonb, 'active', '2000-01-01', now(), now()) RETURNING id`,
			fmt.Sprintf("c-%d-%d", n, i), p.ID, plugin, fmt.Sprintf(`{"level": %d, "discounts": {"gold": 10, "silver": 5}}`, i)).
			Scan(ctx, &cid); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO rewards (program_id, code, title, category, price, campaign_id, created_at, updated_at)
			VALUES (?, ?, 'Reward', 'bench', 250, ?, now(), now())`, p.ID, fmt.Sprintf("r-%d-%d", n, i), cid)
		exec(`INSERT INTO benefits (member_id, campaign_id, key, kind, status, created_at, updated_at)
			VALUES (?, ?, ?, 'gift', 'active', now(), now())`, m.ID, cid, fmt.Sprintf("b-%d", i))
		exec(`INSERT INTO enrollments (campaign_id, member_id, idempotency_key, input_hash, enrolled_at)
			VALUES (?, ?, 'e', '\x00', now())`, cid, m.ID)
		outcome := fmt.Sprintf(`{"campaigns": [{"campaignId": %d, "campaignCode": "c", "plugin": %q, "pluginVersion": "1.0.0",
			"status": "applied", "effects": [{"kind": "credit_points", "points": 10, "transactionId": %d}]}],
			"waiting": [{"campaignId": %d, "campaignCode": "c", "plugin": %q, "pluginVersion": "1.0.0", "error": "x"}]}`,
			cid, plugin, tx.ID, cid, plugin)
		var eid int64
		if err := bdb.NewRaw(`INSERT INTO events (source, external_id, type, member_id, occurred_at, input_hash, received_at,
			status, next_attempt_at, outcome) VALUES ('test', ?, 'purchase', ?, now(), '\x00', now(), 'done', now(), ?::jsonb) RETURNING id`,
			fmt.Sprintf("ev-%d-%d", n, i), m.ID, outcome).Scan(ctx, &eid); err != nil {
			t.Fatal(err)
		}
		var nid int64
		if err := bdb.NewRaw(`INSERT INTO notifications (key, member_id, campaign_id, event_id, channel, template, recipient,
			next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'sms', 't', '+1', now(), now()) RETURNING id`,
			fmt.Sprintf("n-%d-%d", n, i), m.ID, cid, eid).Scan(ctx, &nid); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO notification_deliveries (notification_id, attempt, started_at, duration_ms, outcome)
			VALUES (?, 1, now(), 1, 'retry')`, nid)
	}
	return m
}

func ptr[T any](v T) *T { return &v }
