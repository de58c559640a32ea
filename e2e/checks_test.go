package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/promogate/promogate/db"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// assertConservation checks the ledger invariants on a whole database: postings balance per
// programme, each member account's balances equal its postings and its lots, and each lot's
// remainder equals its amount less what was consumed plus what was restored.
func assertConservation(t *testing.T, bdb *db.DB) {
	t.Helper()
	ctx := context.Background()
	checks := map[string]string{
		"postings do not sum to zero per programme": `
			SELECT a.program_id FROM postings p JOIN accounts a ON a.id = p.credit_account_id
			JOIN accounts d ON d.id = p.debit_account_id WHERE a.program_id <> d.program_id`,
		"member balance differs from its postings": `
			SELECT a.id FROM accounts a WHERE a.member_id IS NOT NULL AND a.available + a.pending <>
			  coalesce((SELECT sum(amount) FROM postings WHERE credit_account_id = a.id), 0) -
			  coalesce((SELECT sum(amount) FROM postings WHERE debit_account_id = a.id), 0)`,
		"available differs from its lots": `
			SELECT a.id FROM accounts a WHERE a.member_id IS NOT NULL AND a.available <>
			  coalesce((SELECT sum(remaining) FROM lots WHERE account_id = a.id AND NOT pending), 0)`,
		"pending differs from its lots": `
			SELECT a.id FROM accounts a WHERE a.member_id IS NOT NULL AND a.pending <>
			  coalesce((SELECT sum(remaining) FROM lots WHERE account_id = a.id AND pending), 0)`,
		"transactions do not add up to the balance": `
			SELECT a.id FROM accounts a WHERE a.member_id IS NOT NULL AND a.available + a.pending <>
			  coalesce((SELECT sum(points) FROM transactions WHERE account_id = a.id), 0)`,
		"lot remainder differs from its consumptions": `
			SELECT l.id FROM lots l WHERE l.remaining <> l.amount
			  - coalesce((SELECT sum(amount) FROM lot_consumptions WHERE lot_id = l.id AND kind = 'consume'), 0)
			  + coalesce((SELECT sum(amount) FROM lot_consumptions WHERE lot_id = l.id AND kind = 'restore'), 0)`,
	}
	for what, q := range checks {
		var ids []int64
		if err := bdb.NewRaw(q).Scan(ctx, &ids); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(ids) > 0 {
			t.Errorf("conservation: %s: %v", what, ids)
		}
	}
}
