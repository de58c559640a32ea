package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestIdempotency: the same key with the same input returns the first transaction; the same key
// with other input is refused; reserved and malformed keys are refused.
func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	l := newLedger(t, fixedClock(now))
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)
	m2 := newMember(t, bdb)
	exp := now.Add(48 * time.Hour)
	credit := ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 100, IdempotencyKey: "order-1", ExpiresAt: &exp, Reason: "order"}
	first, err := l.Credit(ctx, credit)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed {
		t.Errorf("first credit: expected Replayed=false, got true")
	}
	debit := ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: "redeem-1"}
	firstDebit, err := l.Debit(ctx, debit)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("same key and input replays", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() (*ledger.Transaction, error)
			want int64
		}{
			{"credit", func() (*ledger.Transaction, error) { return l.Credit(ctx, credit) }, first.ID},
			{"debit", func() (*ledger.Transaction, error) { return l.Debit(ctx, debit) }, firstDebit.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.call()
				if err != nil || got.ID != tc.want || !got.Replayed {
					t.Fatalf("expected transaction %d replayed, got %+v, %v", tc.want, got, err)
				}
			})
		}
		if b := balance(t, l, p.ID, m); b.Available != 70 {
			t.Errorf("available after replays: expected 70, got %d", b.Available)
		}
	})

	t.Run("same key other input conflicts", func(t *testing.T) {
		withCredit := func(f func(*ledger.CreditInput)) any { in := credit; f(&in); return in }
		withDebit := func(f func(*ledger.DebitInput)) any { in := debit; f(&in); return in }
		for _, tc := range []struct {
			name string
			in   any // a CreditInput or a DebitInput
		}{
			{"credit amount", withCredit(func(in *ledger.CreditInput) { in.Amount = 101 })},
			{"credit member", withCredit(func(in *ledger.CreditInput) { in.MemberID = m2 })},
			{"credit expiry", withCredit(func(in *ledger.CreditInput) { in.ExpiresAt = nil })},
			{"credit reason", withCredit(func(in *ledger.CreditInput) { in.Reason = "x" })},
			{"credit kind", withCredit(func(in *ledger.CreditInput) { in.Kind = ledger.KindAdjust })},
			{"credit with a debit's key", withCredit(func(in *ledger.CreditInput) { in.IdempotencyKey = debit.IdempotencyKey })},
			{"debit amount", withDebit(func(in *ledger.DebitInput) { in.Amount = 31 })},
			{"debit kind", withDebit(func(in *ledger.DebitInput) { in.Kind = ledger.KindAdjust })},
			{"debit with a credit's key", withDebit(func(in *ledger.DebitInput) { in.IdempotencyKey = credit.IdempotencyKey })},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var err error
				switch in := tc.in.(type) {
				case ledger.CreditInput:
					_, err = l.Credit(ctx, in)
				case ledger.DebitInput:
					_, err = l.Debit(ctx, in)
				}
				if !errors.Is(err, ledger.ErrIdempotencyConflict) {
					t.Errorf("expected ErrIdempotencyConflict, got %v", err)
				}
			})
		}
	})

	t.Run("invalid keys", func(t *testing.T) {
		for _, key := range []string{"@reverse:1", "@x", "", strings.Repeat("k", 201)} {
			name := key
			if len(name) > 20 {
				name = "201 bytes"
			}
			t.Run("key "+name, func(t *testing.T) {
				in := credit
				in.IdempotencyKey = key
				if _, err := l.Credit(ctx, in); !errors.Is(err, ledger.ErrInvalidIdempotencyKey) {
					t.Errorf("credit: expected ErrInvalidIdempotencyKey, got %v", err)
				}
				d := debit
				d.IdempotencyKey = key
				if _, err := l.Debit(ctx, d); !errors.Is(err, ledger.ErrInvalidIdempotencyKey) {
					t.Errorf("debit: expected ErrInvalidIdempotencyKey, got %v", err)
				}
			})
		}
	})

	t.Run("64 concurrent retries of one key", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() (*ledger.Transaction, error)
			lots int
		}{
			{"credit", func() (*ledger.Transaction, error) {
				return l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m2, Amount: 50, IdempotencyKey: "storm-credit", ExpiresAt: &exp})
			}, 1},
			{"debit", func() (*ledger.Transaction, error) {
				return l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m2, Amount: 20, IdempotencyKey: "storm-debit"})
			}, 1}, // the credit's lot, consumed once
		} {
			t.Run(tc.name, func(t *testing.T) {
				ids := make([]int64, 64)
				replays := make([]bool, 64)
				errs := race(64, func(i int) error {
					tr, err := tc.call()
					if err == nil {
						ids[i], replays[i] = tr.ID, tr.Replayed
					}
					return err
				})
				if got := tally(errs); got["ok"] != 64 {
					t.Fatalf("outcomes: expected 64 ok, got %v", got)
				}
				fresh := 0
				for i := range ids {
					if ids[i] != ids[0] {
						t.Errorf("call %d: expected transaction %d, got %d", i, ids[0], ids[i])
					}
					if !replays[i] {
						fresh++
					}
				}
				if fresh != 1 {
					t.Errorf("calls that wrote (Replayed=false): expected 1, got %d", fresh)
				}
				var rows, lots, consumptions int
				if err := bdb.NewRaw(`SELECT (SELECT count(*) FROM transactions WHERE program_id = ? AND idempotency_key = ?),
						(SELECT count(*) FROM lots WHERE transaction_id = ?),
						(SELECT count(*) FROM lot_consumptions WHERE transaction_id = ?)`,
					p.ID, "storm-"+tc.name, ids[0], ids[0]).Scan(ctx, &rows, &lots, &consumptions); err != nil {
					t.Fatal(err)
				}
				if rows != 1 || lots+consumptions != tc.lots {
					t.Errorf("rows: expected 1 transaction and %d lot or consumption, got %d transactions, %d lots, %d consumptions",
						tc.lots, rows, lots, consumptions)
				}
			})
		}
		if b := balance(t, l, p.ID, m2); b.Available != 30 {
			t.Errorf("available: expected 50 − 20 = 30, got %d", b.Available)
		}
	})
}

// TestLostCommitAck: the server commits but the client never hears so; db.RunInTx retries the
// unit of work, which must find what it wrote instead of writing again or reporting failure.
func TestLostCommitAck(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	proxy, proxyURL := startAckDropper(t, dbtest.URL(t))
	pool, err := db.Open(ctx, proxyURL, db.Options{MaxOpenConns: 4, ApplicationName: "promogate-test-ackdrop"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	lossy := ledger.New(pool, nil)
	p := newProgram(t, l)

	cases := []struct {
		name    string
		setup   func(t *testing.T, m int64) int64 // returns the id the call needs
		call    func(m, id int64) (*ledger.Transaction, error)
		balance int64
		rows    string // counts this call's transactions
	}{
		{"credit", func(t *testing.T, m int64) int64 { return 0 },
			func(m, _ int64) (*ledger.Transaction, error) {
				return lossy.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 40, IdempotencyKey: "lost-credit"})
			}, 40, "kind = 'earn'"},
		{"debit", func(t *testing.T, m int64) int64 {
			mustCredit(t, l, p.ID, m, 100, fmt.Sprintf("seed-%d", m))
			return 0
		}, func(m, _ int64) (*ledger.Transaction, error) {
			return lossy.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: "lost-debit"})
		}, 70, "kind = 'redeem'"},
		{"reverse", func(t *testing.T, m int64) int64 {
			mustCredit(t, l, p.ID, m, 100, fmt.Sprintf("seed-%d", m))
			d, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 30, IdempotencyKey: "spend"})
			if err != nil {
				t.Fatal(err)
			}
			return d.ID
		}, func(_, id int64) (*ledger.Transaction, error) {
			return lossy.Reverse(ctx, id, "lost ack")
		}, 100, "kind = 'reverse'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMember(t, bdb)
			id := tc.setup(t, m)
			proxy.dropped.Store(0)
			proxy.drop.Store(1)
			got, err := tc.call(m, id)
			proxy.drop.Store(0)
			if n := proxy.dropped.Load(); n != 1 {
				t.Fatalf("lost acknowledgements: expected 1, got %d", n)
			}
			if err != nil {
				t.Fatalf("expected success after the lost acknowledgement, got %v", err)
			}
			var rows int
			if err := bdb.NewRaw(fmt.Sprintf("SELECT count(*) FROM transactions WHERE program_id = ? AND member_id = ? AND %s", tc.rows), p.ID, m).Scan(ctx, &rows); err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Errorf("transactions written: expected 1, got %d", rows)
			}
			stored, err := l.Transaction(ctx, got.ID)
			if err != nil || stored.Points != got.Points {
				t.Errorf("returned transaction %d (points %d): expected it stored, got %+v, %v", got.ID, got.Points, stored, err)
			}
			if b := balance(t, l, p.ID, m); b.Available != tc.balance {
				t.Errorf("available: expected %d, got %d", tc.balance, b.Available)
			}
		})
	}
}

func mustCredit(t testing.TB, l *ledger.Ledger, programID, memberID, amount int64, key string) *ledger.Transaction {
	t.Helper()
	c, err := l.Credit(context.Background(), ledger.CreditInput{ProgramID: programID, MemberID: memberID, Amount: amount, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("credit %s: %v", key, err)
	}
	return c
}
