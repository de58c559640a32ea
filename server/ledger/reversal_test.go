package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestReversal: a transaction is reversed at most once, even by 16 concurrent callers; a spend's
// reversal gives back exactly the lots it took; a credit's reversal takes the credit's own lot
// first, then the earliest expiry, and fails when the member has spent the points; reversals
// and expiries cannot be reversed.
func TestReversal(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	l := newLedger(t, fixedClock(now))
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	day := 24 * time.Hour

	credit := func(t *testing.T, m, amount int64, key string, expiry time.Duration) *ledger.Transaction {
		t.Helper()
		in := ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: amount, IdempotencyKey: fmt.Sprintf("%s-%d", key, m)}
		if expiry != 0 {
			in.ExpiresAt = ptr(now.Add(expiry))
		}
		c, err := l.Credit(ctx, in)
		if err != nil {
			t.Fatalf("credit %s: %v", key, err)
		}
		return c
	}
	debit := func(t *testing.T, m, amount int64, key string) *ledger.Transaction {
		t.Helper()
		d, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: amount, IdempotencyKey: fmt.Sprintf("%s-%d", key, m)})
		if err != nil {
			t.Fatalf("debit %s: %v", key, err)
		}
		return d
	}
	expectBalance := func(t *testing.T, m, available int64) {
		t.Helper()
		if b := balance(t, l, p.ID, m); b.Available != available {
			t.Errorf("available: expected %d, got %d", available, b.Available)
		}
	}
	expectLots := func(t *testing.T, m int64, want ...int64) {
		t.Helper()
		if got := remainders(lotsOf(t, bdb, p.ID, m)); !slices.Equal(got, want) {
			t.Errorf("lot remainders (credit order): expected %v, got %v", want, got)
		}
	}

	t.Run("16 concurrent reversals of one debit", func(t *testing.T) {
		m := newMember(t, bdb)
		credit(t, m, 100, "c", 10*day)
		d := debit(t, m, 60, "d")
		ids := make([]int64, 16)
		errs := race(16, func(i int) error {
			r, err := l.Reverse(ctx, d.ID, "storm")
			if err == nil {
				ids[i] = r.ID
			}
			return err
		})
		want := map[string]int{"ok": 1, ledger.ErrAlreadyReversed.Error(): 15}
		if got := tally(errs, ledger.ErrAlreadyReversed); !sameCounts(got, want) {
			t.Errorf("outcomes: expected %v, got %v", want, got)
		}
		rev, err := l.ReversalOf(ctx, d.ID)
		if err != nil || rev == nil || !slices.Contains(ids, rev.ID) || rev.Points != 60 || rev.Kind != ledger.KindReverse {
			t.Errorf("stored reversal: expected the winner's (one of %v) with +60 points, got %+v, %v", ids, rev, err)
		}
		expectBalance(t, m, 100)
		expectLots(t, m, 100)
	})

	t.Run("reversed spend restores the lots it took", func(t *testing.T) {
		m := newMember(t, bdb)
		credit(t, m, 50, "a", 30*day) // lot 0: expires last of the dated lots
		credit(t, m, 40, "b", 10*day) // lot 1: expires first
		credit(t, m, 30, "c", 20*day) // lot 2
		credit(t, m, 70, "d", 0)      // lot 3: never expires
		credit(t, m, 25, "e", 5*day)  // lot 4: spent by an earlier spend
		debit(t, m, 25, "early")      // takes lot 4
		expectLots(t, m, 50, 40, 30, 70, 0)
		spend := debit(t, m, 100, "spend") // 40 (lot 1) + 30 (lot 2) + 30 of lot 0
		expectLots(t, m, 20, 0, 0, 70, 0)
		debit(t, m, 15, "later") // 15 more of lot 0
		expectLots(t, m, 5, 0, 0, 70, 0)

		r, err := l.Reverse(ctx, spend.ID, "refund")
		if err != nil {
			t.Fatalf("reverse: %v", err)
		}
		expectLots(t, m, 35, 40, 30, 70, 0)
		expectBalance(t, m, 175)
		type take struct {
			Lot    int64
			Kind   string
			Amount int64
		}
		var taken, restored []take
		lots := lotsOf(t, bdb, p.ID, m)
		for _, q := range []struct {
			id  int64
			out *[]take
		}{{spend.ID, &taken}, {r.ID, &restored}} {
			if err := bdb.NewRaw("SELECT lot_id AS lot, kind, amount FROM lot_consumptions WHERE transaction_id = ? ORDER BY lot_id", q.id).Scan(ctx, q.out); err != nil {
				t.Fatal(err)
			}
		}
		wantTaken := []take{{lots[0].ID, "consume", 30}, {lots[1].ID, "consume", 40}, {lots[2].ID, "consume", 30}}
		wantRestored := []take{{lots[0].ID, "restore", 30}, {lots[1].ID, "restore", 40}, {lots[2].ID, "restore", 30}}
		if !slices.Equal(taken, wantTaken) || !slices.Equal(restored, wantRestored) {
			t.Errorf("consumptions: expected spend %v and reversal %v, got %v and %v", wantTaken, wantRestored, taken, restored)
		}
	})

	t.Run("reversed credit takes its own lot first then the earliest expiry", func(t *testing.T) {
		m := newMember(t, bdb)
		c := credit(t, m, 10, "own", 30*day) // lot 0
		debit(t, m, 5, "spend")              // only lot: own lot keeps 5
		credit(t, m, 10, "late", 20*day)     // lot 1
		credit(t, m, 10, "early", 10*day)    // lot 2: earliest expiry
		credit(t, m, 10, "never", 0)         // lot 3
		if _, err := l.Reverse(ctx, c.ID, "clawback"); err != nil {
			t.Fatalf("reverse: %v", err)
		}
		// 5 from its own lot, then 5 from the lot expiring first.
		expectLots(t, m, 0, 10, 5, 10)
		expectBalance(t, m, 25)
		if b := balance(t, l, p.ID, m); b.LifetimeEarned != 30 {
			t.Errorf("lifetime earned: expected 40 − 10 = 30, got %d", b.LifetimeEarned)
		}
	})

	t.Run("reversed pending credit takes its pending lot", func(t *testing.T) {
		m := newMember(t, bdb)
		credit(t, m, 20, "avail", 0)
		c, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: fmt.Sprintf("pend-%d", m),
			AvailableAt: ptr(now.Add(day)), StatusPoints: 30})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Reverse(ctx, c.ID, "cancelled"); err != nil {
			t.Fatalf("reverse: %v", err)
		}
		b := balance(t, l, p.ID, m)
		if b.Available != 20 || b.Pending != 0 || b.StatusBalance != 0 || b.LifetimeEarned != 20 {
			t.Errorf("balance: expected available 20 pending 0 status 0 lifetime 20, got %+v", b)
		}
		expectLots(t, m, 20, 0)
	})

	t.Run("reversed credit already spent", func(t *testing.T) {
		m := newMember(t, bdb)
		c := credit(t, m, 100, "c", 10*day)
		debit(t, m, 60, "d")
		credit(t, m, 20, "small", 0)
		_, err := l.Reverse(ctx, c.ID, "clawback")
		if !errors.Is(err, ledger.ErrInsufficientPoints) {
			t.Fatalf("reverse: expected ErrInsufficientPoints (60 left of 100), got %v", err)
		}
		expectBalance(t, m, 60)
		expectLots(t, m, 40, 20)
		if rev, _ := l.ReversalOf(ctx, c.ID); rev != nil {
			t.Errorf("reversal: expected none written, got %+v", rev)
		}
		// Once the member holds enough again the reversal goes through.
		credit(t, m, 50, "more", 0)
		if _, err := l.Reverse(ctx, c.ID, "clawback"); err != nil {
			t.Fatalf("reverse with 110 available: %v", err)
		}
		expectBalance(t, m, 10)
	})

	t.Run("not reversible", func(t *testing.T) {
		m := newMember(t, bdb)
		d := credit(t, m, 30, "c", 0)
		rev, err := l.Reverse(ctx, d.ID, "first")
		if err != nil {
			t.Fatal(err)
		}
		expired := expiredTransaction(t, m, p.ID)
		for _, tc := range []struct {
			name string
			id   int64
			want error
		}{
			{"a reversal", rev.ID, ledger.ErrNotReversible},
			{"an expiry", expired, ledger.ErrNotReversible},
			{"a reversed credit", d.ID, ledger.ErrAlreadyReversed},
			{"an unknown transaction", -1, ledger.ErrTransactionNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := l.Reverse(ctx, tc.id, "again"); !errors.Is(err, tc.want) {
					t.Errorf("expected %v, got %v", tc.want, err)
				}
			})
		}
	})
}

// expiredTransaction makes a lot of 5 points for the member that expires at once, runs the
// expiry job for it, and returns the expire transaction's id.
func expiredTransaction(t *testing.T, memberID, programID int64) int64 {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	l := ledger.New(dbtest.DB(t), fixedClock(at))
	if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: programID, MemberID: memberID, Amount: 5,
		IdempotencyKey: fmt.Sprintf("to-expire-%d", memberID), ExpiresAt: ptr(at.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ExpireDue(ctx, at.Add(time.Minute), 1000); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := dbtest.DB(t).NewRaw("SELECT id FROM transactions WHERE member_id = ? AND program_id = ? AND kind = 'expire'",
		memberID, programID).Scan(ctx, &id); err != nil {
		t.Fatalf("expire transaction: %v", err)
	}
	return id
}
