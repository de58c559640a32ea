package rewards

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

// redeemStatements bounds the statements one redemption of a catalogue reward (no campaign,
// no stock, consuming 3 lots) sends to PostgreSQL: the member, the rewards, BEGIN, the account
// lock, the locked state (order id, a replay, limits, stock), the ledger's debit on the locked
// account (the lots, the entry), the order with its lines, COMMIT. The reward.redeemed event
// recorded afterwards goes through the engine (none in this test).
const redeemStatements = 9

// TestRedeemStatements redeems a reward priced 250 from a member holding lots of 100 points
// (as bench R1 does) and counts the statements sent: at most redeemStatements.
func TestRedeemStatements(t *testing.T) {
	ctx := context.Background()
	var counting atomic.Bool
	var mu sync.Mutex
	var sent []string
	bdb, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 4, OnStatement: func(sql string) {
		if counting.Load() {
			mu.Lock()
			sent = append(sent, strings.Join(strings.Fields(sql), " "))
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	clk := clock.NewManual(testNow)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	svc := New(Config{DB: bdb, Ledger: led, Members: mem, Campaigns: campaigns.NewStore(bdb, clk.Now, nil), Now: clk.Now})
	f := &fixture{t: t, svc: svc, led: led, mem: mem}
	if f.program, err = led.CreateProgram(ctx, "stmts", "Statements", ""); err != nil {
		t.Fatal(err)
	}
	r := f.reward(CreateInput{Code: "r1", Title: "R1", Category: "bench", Price: 250})
	m := f.member(0, "", nil)
	for i := range 30 {
		if _, err := led.Credit(ctx, ledger.CreditInput{ProgramID: f.program.ID, MemberID: m.ID, Amount: 100,
			IdempotencyKey: "lot-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	redeem := func(key string) int {
		t.Helper()
		mu.Lock()
		sent = nil
		mu.Unlock()
		counting.Store(true)
		res, err := svc.Redeem(ctx, RedeemInput{MemberID: m.ID, RewardIDs: []int64{r.ID}, IdempotencyKey: key})
		counting.Store(false)
		if err != nil || res.Rejection != nil || res.Redemption.Points != 250 {
			t.Fatalf("redeem %s: %+v, %v", key, res, err)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(sent)
	}
	redeem("warm-up") // the ledger caches the programme's system accounts
	if n := redeem("counted"); n > redeemStatements {
		t.Errorf("one redemption sent %d statements, want at most %d:\n%s", n, redeemStatements, strings.Join(sent, "\n"))
	}
}
