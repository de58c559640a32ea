package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// race runs fn(0..n-1) on n goroutines released together, and returns their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errors: nil under "ok", the listed domain errors under their text, anything else
// under "other: …".
func tally(errs []error, known ...error) map[string]int {
	out := map[string]int{}
	for _, err := range errs {
		switch err {
		case nil:
			out["ok"]++
		default:
			name := "other: " + err.Error()
			for _, k := range known {
				if errors.Is(err, k) {
					name = k.Error()
				}
			}
			out[name]++
		}
	}
	return out
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSpendStorm: 64 concurrent spends of 30 on exactly 1,000 points held in lots of varying
// expiry. Exactly 33 fit; the other 31 must fail with ErrInsufficientPoints, and the 10 points
// left must be in the lot that never expires (spends take the earliest expiry first).
func TestSpendStorm(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	l := newLedger(t, fixedClock(now))
	p := newProgram(t, l)
	m := newMember(t, dbtest.DB(t))
	grants := []struct {
		amount int64
		expiry time.Duration // 0: never
	}{{100, 24 * time.Hour}, {250, 72 * time.Hour}, {50, 48 * time.Hour}, {300, 0}, {200, 120 * time.Hour}, {100, 96 * time.Hour}}
	for i, g := range grants {
		in := ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: g.amount, IdempotencyKey: fmt.Sprintf("grant-%d", i)}
		if g.expiry != 0 {
			in.ExpiresAt = ptr(now.Add(g.expiry))
		}
		if _, err := l.Credit(ctx, in); err != nil {
			t.Fatalf("grant %d: %v", i, err)
		}
	}
	if b := balance(t, l, p.ID, m); b.Available != 1000 {
		t.Fatalf("available before the storm: expected 1000, got %d", b.Available)
	}

	errs := race(64, func(i int) error {
		_, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: fmt.Sprintf("spend-%d", i)})
		return err
	})
	want := map[string]int{"ok": 33, ledger.ErrInsufficientPoints.Error(): 31}
	if got := tally(errs, ledger.ErrInsufficientPoints); !sameCounts(got, want) {
		t.Errorf("outcomes: expected %v, got %v", want, got)
	}
	if b := balance(t, l, p.ID, m); b.Available != 10 || b.Pending != 0 {
		t.Errorf("balance after the storm: expected available 10 pending 0, got available %d pending %d", b.Available, b.Pending)
	}
	if got, want := remainders(lotsOf(t, dbtest.DB(t), p.ID, m)), []int64{0, 0, 0, 10, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("lot remainders (grant order): expected %v, got %v", want, got)
	}
	var redeems int
	err := dbtest.DB(t).NewRaw("SELECT count(*) FROM transactions WHERE program_id = ? AND kind = 'redeem'", p.ID).Scan(ctx, &redeems)
	if err != nil || redeems != 33 {
		t.Errorf("redeem transactions: expected 33, got %d (%v)", redeems, err)
	}
}

// TestFirstUse: 32 credits of 7 and 32 debits of 5 race on a member account that does not
// exist yet. Exactly one account row must result, every credit must succeed, every debit must
// either succeed or fail with ErrInsufficientPoints, and the balance must be 32·7 − 5·(debits
// that succeeded).
func TestFirstUse(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)

	errs := race(64, func(i int) error {
		if i%2 == 0 {
			_, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 7, IdempotencyKey: fmt.Sprintf("credit-%d", i)})
			return err
		}
		_, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: fmt.Sprintf("debit-%d", i)})
		return err
	})
	var credits, debits, short int
	for i, err := range errs {
		switch {
		case i%2 == 0 && err == nil:
			credits++
		case i%2 == 0:
			t.Errorf("credit %d: expected success, got %v", i, err)
		case err == nil:
			debits++
		case errors.Is(err, ledger.ErrInsufficientPoints):
			short++
		default:
			t.Errorf("debit %d: expected success or ErrInsufficientPoints, got %v", i, err)
		}
	}
	if credits != 32 || debits+short != 32 {
		t.Errorf("outcomes: expected 32 credits and 32 debits answered, got %d credits, %d debits, %d short", credits, debits, short)
	}
	var accounts int
	if err := bdb.NewRaw("SELECT count(*) FROM accounts WHERE program_id = ? AND member_id = ?", p.ID, m).Scan(ctx, &accounts); err != nil {
		t.Fatal(err)
	}
	if accounts != 1 {
		t.Errorf("member account rows: expected 1, got %d", accounts)
	}
	want := int64(32*7 - 5*debits)
	if b := balance(t, l, p.ID, m); b.Available != want || b.LifetimeEarned != 32*7 {
		t.Errorf("balance: expected available %d lifetime %d, got available %d lifetime %d", want, 32*7, b.Available, b.LifetimeEarned)
	}
	t.Logf("%d of 32 debits found enough points", debits)
}
