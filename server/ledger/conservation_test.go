package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestConservationCheckDetectsDrift makes sure the conservation check, which every other test
// runs when it ends, actually notices a broken invariant: each case corrupts one row inside a
// transaction, runs the check in that transaction, and rolls back.
func TestConservationCheckDetectsDrift(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	other := newProgram(t, l)
	m := newMember(t, bdb)
	exp := time.Now().Add(72 * time.Hour)
	c, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 100, IdempotencyKey: "c1", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Debit(ctx, ledger.DebitInput{ProgramID: p.ID, MemberID: m, Amount: 40, IdempotencyKey: "d1"}); err != nil {
		t.Fatal(err)
	}
	lot := lotsOf(t, bdb, p.ID, m)[0]

	cases := []struct {
		name    string
		corrupt string
		args    []any
		want    []string // names of the checks that must report it
	}{
		{"lot remaining drifts", "UPDATE lots SET remaining = remaining - 1 WHERE id = ?", []any{lot.ID},
			[]string{"lot remaining = amount − consumed + restored", "balances = Σ lot remainders"}},
		{"available balance drifts", "UPDATE accounts SET available = available + 1 WHERE id = ?", []any{lot.AccountID},
			[]string{"balances = Σ lot remainders", "Σ transaction points = balance", "member balance = Σ credit postings − Σ debit postings"}},
		{"posting amount drifts", "UPDATE postings SET amount = amount + 1 WHERE transaction_id = ?", []any{c.ID},
			[]string{"transaction postings move its points", "member balance = Σ credit postings − Σ debit postings"}},
		{"posting crosses programmes", `UPDATE postings SET debit_account_id =
				(SELECT id FROM accounts WHERE program_id = ? AND kind = 'issuance') WHERE transaction_id = ?`, []any{other.ID, c.ID},
			[]string{"postings stay within one programme", "postings sum to zero per programme"}},
		{"transaction points drift", "UPDATE transactions SET points = points + 5 WHERE id = ?", []any{c.ID},
			[]string{"Σ transaction points = balance", "transaction postings move its points"}},
		{"consumption lost", "DELETE FROM lot_consumptions WHERE lot_id = ?", []any{lot.ID},
			[]string{"lot remaining = amount − consumed + restored"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errRollback := errors.New("rollback")
			var broken map[string][]string
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				if _, err := tx.ExecContext(ctx, tc.corrupt, tc.args...); err != nil {
					return err
				}
				var err error
				broken, err = conservationViolations(ctx, tx)
				if err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("corrupt: %v", err)
			}
			for _, name := range tc.want {
				if len(broken[name]) == 0 {
					t.Errorf("check %q: expected a violation, got none (all violations: %v)", name, broken)
				}
			}
			for name, lines := range broken {
				if !contains(tc.want, name) {
					t.Logf("also reported (%s): %s", name, strings.Join(lines, "; "))
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
