package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/ledger"
)

// TestCreditBatchMatchesCreditOneByOne credits the same inputs (two programmes, members
// credited several times in one batch, pending and expiring points, status points, an
// adjustment) once with CreditBatchTx and once with CreditTx per input, and requires the same
// balances, the same lots and the same transactions on both sides.
func TestCreditBatchMatchesCreditOneByOne(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLedger(t, fixedClock(at))
	bdb := dbtest.DB(t)
	progs := [2]*ledger.Program{newProgram(t, l), newProgram(t, l)}
	var batchMembers, soloMembers [3]int64
	for i := range batchMembers {
		batchMembers[i], soloMembers[i] = newMember(t, bdb), newMember(t, bdb)
	}
	exp := at.Add(90 * 24 * time.Hour)
	later := at.Add(14 * 24 * time.Hour)
	shape := []ledger.CreditInput{
		{Amount: 100, Reason: "purchase"},
		{Amount: 50, ExpiresAt: &exp, StatusPoints: 50},
		{Amount: 30, AvailableAt: &later, ExpiresAt: &exp},
		{Amount: 7, Kind: ledger.KindAdjust, Reason: "goodwill"},
		{Amount: 20, StatusPoints: 5},
	}
	build := func(ms [3]int64, tag string) []ledger.CreditInput {
		var ins []ledger.CreditInput
		for i, m := range ms {
			for j, s := range shape {
				in := s
				in.ProgramID, in.MemberID = progs[(i+j)%2].ID, m
				in.IdempotencyKey = fmt.Sprintf("%s-%d-%d-%s", tag, i, j, uniq("k"))
				ins = append(ins, in)
			}
		}
		return ins
	}
	batch := build(batchMembers, "batch")
	var got []*ledger.Transaction
	err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
		var err error
		got, err = l.CreditBatchTx(ctx, tx, batch)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(batch) {
		t.Fatalf("%d transactions for %d inputs", len(got), len(batch))
	}
	solo := build(soloMembers, "solo")
	var want []*ledger.Transaction
	for _, in := range solo {
		tr, err := l.Credit(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tr)
	}
	for i := range got {
		g, w := *got[i], *want[i]
		if g.ID == 0 || g.AccountID == 0 {
			t.Fatalf("transaction %d has no id or account: %+v", i, g)
		}
		if g.Points != w.Points || g.StatusPoints != w.StatusPoints || g.Kind != w.Kind || g.Reason != w.Reason ||
			!g.CreatedAt.Equal(w.CreatedAt) || g.IdempotencyKey != batch[i].IdempotencyKey {
			t.Fatalf("transaction %d:\n batch %+v\n  solo %+v", i, g, w)
		}
		var stored ledger.Transaction
		if err := bdb.NewSelect().Model(&stored).Where("id = ?", g.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if stored.IdempotencyKey != batch[i].IdempotencyKey || stored.MemberID != batch[i].MemberID || stored.Points != batch[i].Amount {
			t.Fatalf("transaction %d stored as %+v for input %+v", g.ID, stored, batch[i])
		}
	}
	for i := range batchMembers {
		for _, p := range progs {
			gb, wb := balance(t, l, p.ID, batchMembers[i]), balance(t, l, p.ID, soloMembers[i])
			gb.MemberID, wb.MemberID = 0, 0
			if !reflect.DeepEqual(gb, wb) {
				t.Fatalf("member %d programme %d balance:\n batch %+v\n  solo %+v", i, p.ID, gb, wb)
			}
			gl, wl := lotsOf(t, bdb, p.ID, batchMembers[i]), lotsOf(t, bdb, p.ID, soloMembers[i])
			if len(gl) != len(wl) {
				t.Fatalf("member %d programme %d: %d lots in the batch, %d one by one", i, p.ID, len(gl), len(wl))
			}
			for j := range gl {
				if gl[j].Amount != wl[j].Amount || gl[j].Remaining != wl[j].Remaining || gl[j].Pending != wl[j].Pending ||
					!gl[j].AvailableAt.Equal(wl[j].AvailableAt) || !reflect.DeepEqual(gl[j].ExpiresAt, wl[j].ExpiresAt) {
					t.Fatalf("member %d programme %d lot %d:\n batch %+v\n  solo %+v", i, p.ID, j, gl[j], wl[j])
				}
			}
		}
	}
	// The balance of the first member in the first programme, worked out by hand: inputs 0, 2
	// and 4 of the shape went to programme 0 (i+j even): 100 available, 30 pending, 20
	// available; lifetime 150; status 5.
	b := balance(t, l, progs[0].ID, batchMembers[0])
	if b.Available != 120 || b.Pending != 30 || b.LifetimeEarned != 150 || b.StatusBalance != 5 {
		t.Fatalf("balance %+v, want available 120, pending 30, lifetime 150, status 5", b)
	}
}

// TestCreditBatchKeys: inputs of a batch whose key is taken answer as CreditTx one by one
// would: a committed key with the same input, or a key repeated in the batch with the same
// input, replays (writing nothing more); a key taken by another input conflicts; an unknown
// member is refused and leaves the transaction usable; an invalid input or an unknown
// programme fails before writing.
func TestCreditBatchKeys(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, nil)
	bdb := dbtest.DB(t)
	p := newProgram(t, l)
	m := newMember(t, bdb)
	used, twice := uniq("used"), uniq("twice")
	first, err := l.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m, Amount: 10, IdempotencyKey: used})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("replays", func(t *testing.T) {
		again := uniq("again")
		ins := []ledger.CreditInput{
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: again},
			{ProgramID: p.ID, MemberID: m, Amount: 10, IdempotencyKey: used},
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: again},
		}
		var got []*ledger.Transaction
		err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) (err error) {
			got, err = l.CreditBatchTx(ctx, tx, ins)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Replayed || got[0].ID == 0 {
			t.Fatalf("input 0: %+v, want a new transaction", got[0])
		}
		if !got[1].Replayed || got[1].ID != first.ID {
			t.Fatalf("input 1: %+v, want the replay of transaction %d", got[1], first.ID)
		}
		if !got[2].Replayed || got[2].ID != got[0].ID {
			t.Fatalf("input 2: %+v, want the replay of transaction %d", got[2], got[0].ID)
		}
		if b := balance(t, l, p.ID, m); b.Available != 15 || b.LifetimeEarned != 15 {
			t.Fatalf("balance %+v, want 15 available and earned", b)
		}
	})

	for _, tc := range []struct {
		name string
		ins  []ledger.CreditInput
		want error
	}{
		{"used key, other input", []ledger.CreditInput{
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: uniq("new")},
			{ProgramID: p.ID, MemberID: m, Amount: 11, IdempotencyKey: used},
		}, ledger.ErrIdempotencyConflict},
		{"key repeated in the batch, other input", []ledger.CreditInput{
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: twice},
			{ProgramID: p.ID, MemberID: m, Amount: 6, IdempotencyKey: twice},
		}, ledger.ErrIdempotencyConflict},
		{"unknown member", []ledger.CreditInput{
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: uniq("new")},
			{ProgramID: p.ID, MemberID: -1, Amount: 5, IdempotencyKey: uniq("new")},
		}, ledger.ErrMemberNotFound},
		{"zero amount", []ledger.CreditInput{
			{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: uniq("new")},
			{ProgramID: p.ID, MemberID: m, Amount: 0, IdempotencyKey: uniq("new")},
		}, ledger.ErrInvalidAmount},
		{"reserved key", []ledger.CreditInput{{ProgramID: p.ID, MemberID: m, Amount: 5, IdempotencyKey: "@x"}},
			ledger.ErrInvalidIdempotencyKey},
		{"unknown programme", []ledger.CreditInput{{ProgramID: -1, MemberID: m, Amount: 5, IdempotencyKey: uniq("new")}},
			ledger.ErrProgramNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var after error
			err := db.RunInTx(ctx, bdb, func(ctx context.Context, tx db.Tx) error {
				_, err := l.CreditBatchTx(ctx, tx, tc.ins)
				_, after = tx.ExecContext(ctx, "SELECT 1") // the transaction is still usable
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if after != nil {
				t.Fatalf("transaction unusable after %v: %v", err, after)
			}
			if b := balance(t, l, p.ID, m); b.Available != 15 || b.LifetimeEarned != 15 {
				t.Fatalf("balance %+v after a refused batch, want 15 available", b)
			}
		})
	}
}
