package ledger_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestTransactionPages: every combination of programme and cursor selects the member's
// transactions newest first, one page of Limit at a time, and says whether more follow; another
// member's transactions never show.
func TestTransactionPages(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, fixedClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)))
	p1, p2 := newProgram(t, l), newProgram(t, l)
	m, other := newMember(t, dbtest.DB(t)), newMember(t, dbtest.DB(t))
	// ids of m's transactions, oldest first, by programme: p1 gets 1, 3, 5; p2 gets 2, 4.
	var all, in1, in2 []int64
	for i := 1; i <= 5; i++ {
		p := p1
		if i%2 == 0 {
			p = p2
		}
		tx, err := l.Adjust(ctx, p.ID, m, int64(i), "page test", uniq("k"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Adjust(ctx, p.ID, other, 100, "other member", uniq("k")); err != nil {
			t.Fatal(err)
		}
		all = append(all, tx.ID)
		if p == p1 {
			in1 = append(in1, tx.ID)
		} else {
			in2 = append(in2, tx.ID)
		}
	}
	newestFirst := func(ids []int64) []int64 {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	for _, c := range []struct {
		name      string
		page      ledger.TransactionPage
		want      []int64
		wantMore  bool
		wantPoint int64 // points of the first transaction, checking the row is read whole
	}{
		{"all", ledger.TransactionPage{MemberID: m, Limit: 10}, newestFirst(all), false, 5},
		{"first two", ledger.TransactionPage{MemberID: m, Limit: 2}, newestFirst(all)[:2], true, 5},
		{"after a cursor", ledger.TransactionPage{MemberID: m, BeforeID: all[3], Limit: 2}, []int64{all[2], all[1]}, true, 3},
		{"last page", ledger.TransactionPage{MemberID: m, BeforeID: all[1], Limit: 2}, []int64{all[0]}, false, 1},
		{"one programme", ledger.TransactionPage{MemberID: m, ProgramID: p1.ID, Limit: 3}, newestFirst(in1), false, 5},
		{"one programme, limited", ledger.TransactionPage{MemberID: m, ProgramID: p2.ID, Limit: 1}, []int64{in2[1]}, true, 4},
		{"one programme after a cursor", ledger.TransactionPage{MemberID: m, ProgramID: p1.ID, BeforeID: in1[2], Limit: 1},
			[]int64{in1[1]}, true, 3},
		{"one programme, nothing before", ledger.TransactionPage{MemberID: m, ProgramID: p2.ID, BeforeID: in2[0], Limit: 5}, nil, false, 0},
	} {
		ts, more, err := l.Transactions(ctx, c.page)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []int64
		for _, tx := range ts {
			ids = append(ids, tx.ID)
			if tx.MemberID != m || tx.Kind != ledger.KindAdjust || tx.Reason != "page test" || tx.CreatedAt.IsZero() {
				t.Errorf("%s: transaction %d read as %+v", c.name, tx.ID, tx)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(c.want) || more != c.wantMore {
			t.Errorf("%s: got %v (more %v), want %v (more %v)", c.name, ids, more, c.want, c.wantMore)
		}
		if len(ts) > 0 && ts[0].Points != c.wantPoint {
			t.Errorf("%s: first transaction has %d points, want %d", c.name, ts[0].Points, c.wantPoint)
		}
	}
}
