package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// statementLog records the statements sent to PostgreSQL through the connections of a pool
// opened with countedPool: bun's own queries and those run through db.Prepared alike.
type statementLog struct {
	mu    sync.Mutex
	stmts []string
}

func (s *statementLog) add(query string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stmts = append(s.stmts, strings.Join(strings.Fields(query), " "))
}

// take returns the statements recorded since the last call and forgets them.
func (s *statementLog) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stmts
	s.stmts = nil
	return out
}

// countedPool opens a pool on the test database whose connections record every statement in
// log (db.Options.OnStatement).
func countedPool(t *testing.T, log *statementLog) *db.DB {
	bdb, err := db.Open(context.Background(), dbtest.URL(t), db.Options{MaxOpenConns: 4, OnStatement: log.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	return bdb
}

// TestStatementsPerWrite counts the statements each write sends to PostgreSQL inside a caller's
// transaction (every one is a round trip), once the programme's system accounts are cached.
func TestStatementsPerWrite(t *testing.T) {
	ctx := context.Background()
	newLedger(t, nil) // conservation check
	bdb := dbtest.DB(t)
	var log statementLog
	l := ledger.New(countedPool(t, &log), nil)
	p := newProgram(t, l)
	m, other, third := newMember(t, bdb), newMember(t, bdb), newMember(t, bdb)
	mustCredit(t, l, p.ID, other, 10, "warm-up") // caches the programme's system accounts

	credit := ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 100, IdempotencyKey: "c1"}
	debit := ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: "d1"}
	for _, tc := range []struct {
		name string
		want int
		call func(tx db.Tx) error
		err  error
	}{
		{"credit, first use of the account", 2, func(tx db.Tx) error { _, err := l.CreditTx(ctx, tx, credit); return err }, nil},
		{"credit", 2, func(tx db.Tx) error {
			_, err := l.CreditTx(ctx, tx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: "c2"})
			return err
		}, nil},
		{"credit replayed", 3, func(tx db.Tx) error { _, err := l.CreditTx(ctx, tx, credit); return err }, nil},
		{"credit, key taken by other input", 3, func(tx db.Tx) error {
			in := credit
			in.Amount++
			_, err := l.CreditTx(ctx, tx, in)
			return err
		}, ledger.ErrIdempotencyConflict},
		{"debit", 3, func(tx db.Tx) error { _, err := l.DebitTx(ctx, tx, debit); return err }, nil},
		{"debit replayed", 4, func(tx db.Tx) error { _, err := l.DebitTx(ctx, tx, debit); return err }, nil},
		{"debit beyond the balance", 2, func(tx db.Tx) error {
			_, err := l.DebitTx(ctx, tx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 1000, IdempotencyKey: "d2"})
			return err
		}, ledger.ErrInsufficientPoints},
		{"lock account", 1, func(tx db.Tx) error { _, err := l.LockAccountTx(ctx, tx, p.ID, m); return err }, nil},
		{"lock account, then debit it", 3, func(tx db.Tx) error {
			acct, err := l.LockAccountTx(ctx, tx, p.ID, m)
			if err != nil {
				return err
			}
			_, err = l.DebitLockedTx(ctx, tx, acct, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 1, IdempotencyKey: "d3"})
			return err
		}, nil},
		{"debit on another member's locked account", 1, func(tx db.Tx) error {
			acct, err := l.LockAccountTx(ctx, tx, p.ID, other)
			if err != nil {
				return err
			}
			_, err = l.DebitLockedTx(ctx, tx, acct, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 1, IdempotencyKey: "d4"})
			if err == nil {
				return errors.New("DebitLockedTx debited another member's account")
			}
			return nil
		}, nil},
		{"batch credit, two members, one new account", 2, func(tx db.Tx) error {
			_, err := l.CreditBatchTx(ctx, tx, []ledger.CreditInput{
				{ProgramID: p.ID, MemberID: m, Amount: 1, IdempotencyKey: "b1"},
				{ProgramID: p.ID, MemberID: third, Amount: 2, IdempotencyKey: "b2"},
				{ProgramID: p.ID, MemberID: m, Amount: 3, IdempotencyKey: "b3"},
			})
			return err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stmts []string
			err := db.RunInTx(ctx, l.DB(), func(ctx context.Context, tx db.Tx) error {
				log.take()
				err := tc.call(tx)
				stmts = log.take()
				return err
			})
			if !errors.Is(err, tc.err) {
				t.Fatalf("expected error %v, got %v", tc.err, err)
			}
			if len(stmts) != tc.want {
				t.Errorf("expected %d statements, got %d:\n%s", tc.want, len(stmts), strings.Join(stmts, "\n"))
			}
		})
	}
	if b := balance(t, l, p.ID, m); b.Available != 78 {
		t.Errorf("available: expected 100 + 5 − 30 − 1 + 1 + 3 = 78, got %d", b.Available)
	}
	if b := balance(t, l, p.ID, third); b.Available != 2 {
		t.Errorf("available of the batch's new account: expected 2, got %d", b.Available)
	}
}

// rowCounts returns how many transactions carry the key in the programme, and how many
// postings, lots and lot consumptions those transactions have.
func rowCounts(t *testing.T, idb bun.IDB, programID int64, key string) [4]int {
	t.Helper()
	var n [4]int
	err := idb.NewRaw(`WITH t AS (SELECT id FROM transactions WHERE program_id = ? AND idempotency_key = ?)
		SELECT (SELECT count(*) FROM t),
		       (SELECT count(*) FROM postings WHERE transaction_id IN (SELECT id FROM t)),
		       (SELECT count(*) FROM lots WHERE transaction_id IN (SELECT id FROM t)),
		       (SELECT count(*) FROM lot_consumptions WHERE transaction_id IN (SELECT id FROM t))`,
		programID, key).Scan(context.Background(), &n[0], &n[1], &n[2], &n[3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayWritesNothing: a replay, in the transaction that wrote the key or in a later one,
// returns the first transaction and writes no second row of any kind; a reused key is refused
// without aborting the caller's transaction; a replay wins over the balance check of a debit.
func TestReplayWritesNothing(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)
	credit := ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 60, IdempotencyKey: "grant", Reason: "welcome"}
	debit := ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 60, IdempotencyKey: "spend-all"}

	var first *ledger.Transaction
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) (err error) {
		if first, err = l.CreditTx(ctx, tx, credit); err != nil {
			return err
		}
		again, err := l.CreditTx(ctx, tx, credit)
		if err != nil || again.ID != first.ID || !again.Replayed || again.Points != 60 || again.Reason != "welcome" {
			return fmt.Errorf("replay in the same transaction: expected transaction %d replayed, got %+v, %v", first.ID, again, err)
		}
		other := credit
		other.Amount = 61
		if _, err := l.CreditTx(ctx, tx, other); !errors.Is(err, ledger.ErrIdempotencyConflict) {
			return fmt.Errorf("reused key in the same transaction: expected ErrIdempotencyConflict, got %v", err)
		}
		// The transaction is still usable: a refusal is not a failed statement.
		_, err = l.CreditTx(ctx, tx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 15, IdempotencyKey: "bonus"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || first.ID == 0 || first.CreatedAt.IsZero() || first.AccountID == 0 {
		t.Errorf("first credit: expected a fresh transaction with id, account and time, got %+v", first)
	}
	if got := rowCounts(t, bdb, p.ID, "grant"); got != [4]int{1, 1, 1, 0} {
		t.Errorf("rows for the credit (transactions, postings, lots, consumptions): expected [1 1 1 0], got %v", got)
	}

	again, err := l.Credit(ctx, credit)
	if err != nil || again.ID != first.ID || !again.Replayed {
		t.Fatalf("replay in a later transaction: expected transaction %d replayed, got %+v, %v", first.ID, again, err)
	}
	spent, err := l.Debit(ctx, debit)
	if err != nil || spent.Replayed || spent.Points != -60 {
		t.Fatalf("debit: expected a fresh transaction of −60, got %+v, %v", spent, err)
	}
	// The balance (15) no longer covers the debit: the replay must still be found.
	replayed, err := l.Debit(ctx, debit)
	if err != nil || replayed.ID != spent.ID || !replayed.Replayed {
		t.Fatalf("debit replay with the balance spent: expected transaction %d replayed, got %+v, %v", spent.ID, replayed, err)
	}
	other := debit
	other.Amount = 61
	if _, err := l.Debit(ctx, other); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("debit with a reused key beyond the balance: expected ErrIdempotencyConflict, got %v", err)
	}
	other.Amount = 10
	if _, err := l.Debit(ctx, other); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("debit with a reused key within the balance: expected ErrIdempotencyConflict, got %v", err)
	}
	if got := rowCounts(t, bdb, p.ID, "grant"); got != [4]int{1, 1, 1, 0} {
		t.Errorf("rows for the credit after its replays: expected [1 1 1 0], got %v", got)
	}
	if got := rowCounts(t, bdb, p.ID, "spend-all"); got != [4]int{1, 1, 0, 1} {
		t.Errorf("rows for the debit (transactions, postings, lots, consumptions): expected [1 1 0 1], got %v", got)
	}
	if got := remainders(lotsOf(t, bdb, p.ID, m)); fmt.Sprint(got) != "[0 15]" {
		t.Errorf("lot remainders: expected [0 15] (the grant spent), got %v", got)
	}
	b := balance(t, l, p.ID, m)
	if b.Available != 15 || b.LifetimeEarned != 75 {
		t.Errorf("balance: expected available 15 and lifetime 75, got %+v", b)
	}
}

// TestKeyRaceAcrossMembers: writers of one key for different members do not share an account
// lock; exactly one writes and the others are told the key is taken by other input.
func TestKeyRaceAcrossMembers(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	const n = 16
	ms := make([]int64, n)
	for i := range ms {
		ms[i] = newMember(t, bdb)
		mustCredit(t, l, p.ID, ms[i], 100, fmt.Sprintf("seed-%d", i))
	}
	for _, tc := range []struct {
		name  string
		call  func(i int) (*ledger.Transaction, error)
		delta int64
	}{
		{"credit", func(i int) (*ledger.Transaction, error) {
			return l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: ms[i], Amount: 7, IdempotencyKey: "shared-credit"})
		}, 7},
		{"debit", func(i int) (*ledger.Transaction, error) {
			return l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: ms[i], Amount: 9, IdempotencyKey: "shared-debit"})
		}, -9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := make([]int64, n)
			for i := range ms {
				before[i] = balance(t, l, p.ID, ms[i]).Available
			}
			errs := race(n, func(i int) error {
				tr, err := tc.call(i)
				if err == nil && tr.Replayed {
					return fmt.Errorf("member %d: unexpected replay of transaction %d", i, tr.ID)
				}
				return err
			})
			if got := tally(errs, ledger.ErrIdempotencyConflict); !sameCounts(got, map[string]int{"ok": 1, ledger.ErrIdempotencyConflict.Error(): n - 1}) {
				t.Fatalf("outcomes: expected 1 ok and %d conflicts, got %v", n-1, got)
			}
			for i := range ms {
				want := before[i]
				if errs[i] == nil {
					want += tc.delta
				}
				if got := balance(t, l, p.ID, ms[i]).Available; got != want {
					t.Errorf("member %d: expected available %d, got %d", i, want, got)
				}
			}
		})
	}
	if got := rowCounts(t, bdb, p.ID, "shared-credit"); got != [4]int{1, 1, 1, 0} {
		t.Errorf("rows for the shared credit key: expected [1 1 1 0], got %v", got)
	}
	if got := rowCounts(t, bdb, p.ID, "shared-debit"); got != [4]int{1, 1, 0, 1} {
		t.Errorf("rows for the shared debit key: expected [1 1 0 1], got %v", got)
	}
}

// TestUnknownProgramOrMember: writes and locks for an unknown programme or member are refused and
// create no account; a key already taken by other input is reported as such first.
func TestUnknownProgramOrMember(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)
	mustCredit(t, l, p.ID, m, 50, "taken")
	const noProgram, noMember = int64(1) << 40, int64(1) << 41
	for _, tc := range []struct {
		name               string
		programID, member  int64
		key                string
		credit, debit, lck error
	}{
		{"unknown member", p.ID, noMember, "fresh", ledger.ErrMemberNotFound, ledger.ErrMemberNotFound, ledger.ErrMemberNotFound},
		{"unknown programme", noProgram, m, "fresh", ledger.ErrProgramNotFound, ledger.ErrProgramNotFound, ledger.ErrProgramNotFound},
		{"unknown programme and member", noProgram, noMember, "fresh", ledger.ErrProgramNotFound, ledger.ErrProgramNotFound, ledger.ErrProgramNotFound},
		{"unknown member, key taken", p.ID, noMember, "taken", ledger.ErrIdempotencyConflict, ledger.ErrIdempotencyConflict, ledger.ErrMemberNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: tc.programID, MemberID: tc.member, Amount: 5, IdempotencyKey: tc.key}); !errors.Is(err, tc.credit) {
				t.Errorf("credit: expected %v, got %v", tc.credit, err)
			}
			if _, err := l.Debit(ctx, ledger.DebitInput{ProgramID: tc.programID, MemberID: tc.member, Amount: 5, IdempotencyKey: tc.key}); !errors.Is(err, tc.debit) {
				t.Errorf("debit: expected %v, got %v", tc.debit, err)
			}
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				_, err := l.LockAccountTx(ctx, tx, tc.programID, tc.member)
				return err
			})
			if !errors.Is(err, tc.lck) {
				t.Errorf("lock: expected %v, got %v", tc.lck, err)
			}
			var accounts int
			if err := bdb.NewRaw("SELECT count(*) FROM accounts WHERE program_id = ? OR member_id = ?", noProgram, noMember).Scan(ctx, &accounts); err != nil {
				t.Fatal(err)
			}
			if accounts != 0 {
				t.Errorf("accounts of the unknown programme or member: expected 0, got %d", accounts)
			}
		})
	}
}

// TestLockAccount: LockAccountTx creates a first-use account with zero balances, returns an
// existing one with its balances and timestamps untouched, and holds a lock that makes a ledger
// write on the account wait for the locking transaction.
func TestLockAccount(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	l := newLedger(t, fixedClock(t0))
	later := ledger.New(dbtest.DB(t), fixedClock(t0.Add(time.Hour)))
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)

	lock := func(led *ledger.Ledger) *ledger.Account {
		t.Helper()
		var acct *ledger.Account
		err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) (err error) {
			acct, err = led.LockAccountTx(ctx, tx, p.ID, m)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	fresh := lock(l)
	if fresh.ID == 0 || fresh.ProgramID != p.ID || fresh.MemberID == nil || *fresh.MemberID != m || fresh.Kind != "member" ||
		fresh.Available != 0 || fresh.Pending != 0 || fresh.LifetimeEarned != 0 || fresh.StatusBalance != 0 ||
		!fresh.CreatedAt.Equal(t0) || !fresh.UpdatedAt.Equal(t0) {
		t.Fatalf("first use: expected an empty member account created at %v, got %+v", t0, fresh)
	}
	if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 30, StatusPoints: 4, IdempotencyKey: "c1",
		AvailableAt: ptr(t0.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 20, IdempotencyKey: "c2"}); err != nil {
		t.Fatal(err)
	}
	got := lock(later)
	if got.ID != fresh.ID || got.Available != 20 || got.Pending != 30 || got.LifetimeEarned != 50 || got.StatusBalance != 4 ||
		!got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) {
		t.Errorf("existing account: expected account %d with available 20, pending 30, lifetime 50, status 4, created and updated at %v; got %+v",
			fresh.ID, t0, got)
	}
	var stored ledger.Account
	if err := bdb.NewSelect().Model(&stored).Where("id = ?", fresh.ID).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if !stored.UpdatedAt.Equal(t0) {
		t.Errorf("updated_at after a lock by a later clock: expected %v, got %v", t0, stored.UpdatedAt)
	}

	// A credit through its own pool waits for the lock; its backend is found by application name.
	const app = "promogate-test-lockwait"
	pool, err := db.Open(ctx, dbtest.URL(t), db.Options{MaxOpenConns: 2, ApplicationName: app})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	waiter := ledger.New(pool, nil)
	tx, err := bdb.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }() // committed below; a no-op then
	if _, err := l.LockAccountTx(ctx, tx, p.ID, m); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 1, IdempotencyKey: "blocked"})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := bdb.NewRaw(`SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND wait_event_type = 'Lock'`, app).
			Scan(ctx, &waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("credit finished while the account was locked: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("credit never waited for the account lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("credit after the lock was released: %v", err)
	}
	if b := balance(t, l, p.ID, m); b.Available != 21 {
		t.Errorf("available: expected 21, got %d", b.Available)
	}
}
