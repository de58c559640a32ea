package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestExpiryRacesSpend: 50 members each hold one lot expiring at T. For each, a debit of
// exactly the lot races the expiry job run at T+1s. The lot's points must be spent or expired,
// never both: exactly one of the redeem and the expire transaction took them, the lot's
// consumptions add up to its amount, and nothing is left.
//
// DebitTx skips lots whose expiry is at or before its clock, so the debit runs on a clock of
// T−1ms (the lot is still spendable for it) while the job expires at T+1s; the case with the
// debit's clock at T+1ms checks that an already-due lot can never be spent.
func TestExpiryRacesSpend(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	T := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	grant := newLedger(t, fixedClock(T.Add(-time.Hour)))
	expirer := ledger.New(bdb, fixedClock(T.Add(time.Second)))

	for _, tc := range []struct {
		name       string
		debitClock time.Time
		debitsWin  bool // whether a debit may take the lot at all
	}{
		{"debit just before expiry", T.Add(-time.Millisecond), true},
		{"debit just after expiry", T.Add(time.Millisecond), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spender := ledger.New(bdb, fixedClock(tc.debitClock))
			p := newProgram(t, grant)
			const n = 50
			members := make([]int64, n)
			for i := range members {
				members[i] = newMember(t, bdb)
				if _, err := grant.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: members[i], Amount: lotAmount(i),
					IdempotencyKey: fmt.Sprintf("grant-%d", i), ExpiresAt: &T}); err != nil {
					t.Fatal(err)
				}
			}
			errs := race(2*n, func(i int) error {
				if i%2 == 1 {
					_, err := expirer.ExpireDue(ctx, T.Add(time.Second), 1000)
					return err
				}
				m := i / 2
				_, err := spender.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: members[m], Amount: lotAmount(m),
					IdempotencyKey: fmt.Sprintf("spend-%d", m)})
				if errors.Is(err, ledger.ErrInsufficientPoints) {
					return nil // lost the race; checked below from the rows
				}
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("call %d: expected success or ErrInsufficientPoints, got %v", i, err)
				}
			}
			// Expire whatever the racing jobs left (there should be nothing).
			if _, err := expirer.ExpireDue(ctx, T.Add(time.Second), 1000); err != nil {
				t.Fatal(err)
			}
			spent := 0
			for i, m := range members {
				var row struct {
					Remaining int64
					Consumed  int64
					Redeemed  int64
					Expired   int64
					Takers    int
				}
				err := bdb.NewRaw(`SELECT l.remaining,
						(SELECT coalesce(sum(c.amount), 0) FROM lot_consumptions c WHERE c.lot_id = l.id AND c.kind = 'consume') AS consumed,
						(SELECT coalesce(-sum(points), 0) FROM transactions WHERE account_id = l.account_id AND kind = 'redeem') AS redeemed,
						(SELECT coalesce(-sum(points), 0) FROM transactions WHERE account_id = l.account_id AND kind = 'expire') AS expired,
						(SELECT count(DISTINCT c.transaction_id) FROM lot_consumptions c WHERE c.lot_id = l.id) AS takers
					FROM lots l JOIN accounts a ON a.id = l.account_id WHERE a.program_id = ? AND a.member_id = ?`, p.ID, m).
					Scan(ctx, &row.Remaining, &row.Consumed, &row.Redeemed, &row.Expired, &row.Takers)
				if err != nil {
					t.Fatal(err)
				}
				amount := lotAmount(i)
				ok := row.Remaining == 0 && row.Consumed == amount && row.Takers == 1 &&
					((row.Redeemed == amount && row.Expired == 0) || (row.Redeemed == 0 && row.Expired == amount))
				if !ok {
					t.Errorf("member %d: expected the lot of %d spent or expired by exactly one transaction, got remaining %d, consumed %d by %d transactions, redeemed %d, expired %d",
						i, amount, row.Remaining, row.Consumed, row.Takers, row.Redeemed, row.Expired)
				}
				if row.Redeemed != 0 {
					spent++
				}
				if b := balance(t, grant, p.ID, m); b.Available != 0 || b.Pending != 0 {
					t.Errorf("member %d: expected a zero balance, got available %d pending %d", i, b.Available, b.Pending)
				}
			}
			if !tc.debitsWin && spent != 0 {
				t.Errorf("debits that took an expired lot: expected 0, got %d", spent)
			}
			t.Logf("spent %d of %d lots, expired %d", spent, n, n-spent)
		})
	}
}

func lotAmount(i int) int64 { return int64(10 + i) }

// TestReleaseDue: pending points become available exactly when their time comes, once, even
// with eight jobs releasing at the same moment, and can then be spent.
func TestReleaseDue(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	t0 := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLedger(t, fixedClock(t0))
	p := newProgram(t, l)
	m := newMember(t, bdb)
	for _, c := range []ledger.CreditInput{
		{Amount: 30, AvailableAt: ptr(t0.Add(time.Hour))},
		{Amount: 20, AvailableAt: ptr(t0.Add(2 * time.Hour)), ExpiresAt: ptr(t0.Add(5 * time.Hour)), StatusPoints: 20},
		{Amount: 10},
	} {
		c.ProgramID, c.MemberID, c.IdempotencyKey = p.ID, m, fmt.Sprintf("grant-%d", c.Amount)
		if _, err := l.Credit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name               string
		at                 time.Duration
		available, pending int64
		pendingLots        []bool // by credit order
	}{
		{"nothing due yet", 30 * time.Minute, 10, 50, []bool{true, true, false}},
		{"first lot due on the second", time.Hour, 40, 20, []bool{false, true, false}},
		{"again at the same time", time.Hour, 40, 20, []bool{false, true, false}},
		{"second lot long due", 3 * time.Hour, 60, 0, []bool{false, false, false}},
	} {
		t.Run(step.name, func(t *testing.T) {
			errs := race(8, func(int) error {
				_, err := l.ReleaseDue(ctx, t0.Add(step.at), 1000)
				return err
			})
			if got := tally(errs); got["ok"] != 8 {
				t.Fatalf("release jobs: expected 8 ok, got %v", got)
			}
			b := balance(t, l, p.ID, m)
			if b.Available != step.available || b.Pending != step.pending || b.LifetimeEarned != 60 || b.StatusBalance != 20 {
				t.Errorf("balance: expected available %d pending %d lifetime 60 status 20, got %+v", step.available, step.pending, b)
			}
			var pending []bool
			for _, lot := range lotsOf(t, bdb, p.ID, m) {
				pending = append(pending, lot.Pending)
			}
			if fmt.Sprint(pending) != fmt.Sprint(step.pendingLots) {
				t.Errorf("pending lots: expected %v, got %v", step.pendingLots, pending)
			}
		})
	}
	later := ledger.New(bdb, fixedClock(t0.Add(3*time.Hour)))
	if _, err := later.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 60, IdempotencyKey: "all"}); err != nil {
		t.Fatalf("spend the released points: %v", err)
	}
}

// TestExpireRestoredLotAtSameInstant: a spend's reversal gives points back to a lot that has
// already expired; the next expiry run must expire them again even when the clock has not
// moved (an injected clock, or two runs within the clock's resolution).
func TestExpireRestoredLotAtSameInstant(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	t1 := time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLedger(t, fixedClock(t1))
	late := ledger.New(bdb, fixedClock(t1.Add(2*time.Hour)))
	p := newProgram(t, l)
	m := newMember(t, bdb)
	if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 10, IdempotencyKey: "grant", ExpiresAt: ptr(t1.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	d, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 4, IdempotencyKey: "spend"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		do        func() error
		available int64
		expired   int64
	}{
		{"expire", func() error { _, err := late.ExpireDue(ctx, t1.Add(2*time.Hour), 1000); return err }, 0, 6},
		{"reverse the spend", func() error { _, err := late.Reverse(ctx, d.ID, "refund"); return err }, 4, 6},
		{"expire again at the same instant", func() error { _, err := late.ExpireDue(ctx, t1.Add(2*time.Hour), 1000); return err }, 0, 10},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var expired int64
		if err := bdb.NewRaw("SELECT coalesce(-sum(points), 0) FROM transactions WHERE program_id = ? AND member_id = ? AND kind = 'expire'", p.ID, m).Scan(ctx, &expired); err != nil {
			t.Fatal(err)
		}
		if b := balance(t, l, p.ID, m); b.Available != s.available || expired != s.expired {
			t.Errorf("after %s: expected available %d and %d expired, got available %d and %d expired", s.name, s.available, s.expired, b.Available, expired)
		}
	}
}

// TestExpiryWritesWhatASpendWrites: a member's due lots, available and pending, and one lot not
// due yet. ExpireDue writes one expire transaction with the ledger's key and input hash, a
// posting of the total to the programme's expiry account, a consumption of each due lot's
// remainder, empties those lots and takes the points off the available and pending balances.
func TestExpiryWritesWhatASpendWrites(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	t0 := time.Now().UTC().Truncate(time.Second).Add(-48 * time.Hour)
	l := newLedger(t, fixedClock(t0))
	p := newProgram(t, l)
	m := newMember(t, bdb)
	credit := func(key string, amount int64, available, expires time.Time) {
		t.Helper()
		if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: amount, IdempotencyKey: key,
			AvailableAt: &available, ExpiresAt: &expires}); err != nil {
			t.Fatal(err)
		}
	}
	credit("a", 7, t0, t0.Add(time.Hour))
	credit("b", 5, t0, t0.Add(2*time.Hour))
	credit("pending", 3, t0.Add(time.Hour), t0.Add(2*time.Hour)) // due while still pending (not released)
	credit("later", 11, t0, t0.Add(100*time.Hour))
	now := t0.Add(3 * time.Hour)
	res, err := ledger.New(bdb, fixedClock(now)).ExpireDue(ctx, now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res != (ledger.JobResult{Accounts: 1, Lots: 3, Points: 15}) {
		t.Errorf("ExpireDue: got %+v, want 1 account, 3 lots, 15 points", res)
	}
	var got struct {
		Account   int64
		LastTx    int64
		Key       string
		Hash      []byte
		Points    int64
		Posted    int64
		Expiry    string
		Consumed  int64
		Lots      int
		Remaining int64
		Available int64
		Pending   int64
	}
	err = bdb.NewRaw(`SELECT t.account_id AS account, (SELECT max(id) FROM transactions WHERE account_id = t.account_id AND id < t.id) AS last_tx,
		t.idempotency_key AS key, t.input_hash AS hash, t.points,
		(SELECT sum(amount) FROM postings WHERE transaction_id = t.id AND debit_account_id = t.account_id) AS posted,
		(SELECT a.kind FROM postings x JOIN accounts a ON a.id = x.credit_account_id WHERE x.transaction_id = t.id) AS expiry,
		(SELECT sum(amount) FROM lot_consumptions WHERE transaction_id = t.id AND kind = 'consume') AS consumed,
		(SELECT count(*) FROM lot_consumptions WHERE transaction_id = t.id) AS lots,
		(SELECT sum(remaining) FROM lots WHERE account_id = t.account_id) AS remaining,
		a.available, a.pending
		FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.program_id = ? AND t.member_id = ? AND t.kind = 'expire'`,
		p.ID, m).Scan(ctx, &got)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := fmt.Sprintf("%sexpire:%d:after:%d", ledger.SystemKeyPrefix, got.Account, got.LastTx)
	wantHash := sha256.Sum256(fmt.Appendf(nil, "expire\x00%d\x00%d\x00", got.Account, 15))
	if got.Key != wantKey || !bytes.Equal(got.Hash, wantHash[:]) || got.Points != -15 || got.Posted != 15 || got.Expiry != "expiry" ||
		got.Consumed != 15 || got.Lots != 3 || got.Remaining != 11 || got.Available != 11 || got.Pending != 0 {
		t.Errorf("expire transaction: got %+v, want key %s, hash %x, points -15 posted to the expiry account, 3 lots consumed, 11 left available, 0 pending",
			got, wantKey, wantHash)
	}
}
