package ledger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/promogate/promogate/db"
)

// ErrKeyUsed is returned by CreditBatchTx when one of the batch's idempotency keys already
// has a transaction (a replay or a conflict). Nothing of the batch is usable: the caller rolls
// back and credits the inputs one by one with CreditTx, which tells replays from conflicts.
var ErrKeyUsed = errors.New("ledger: idempotency key already used in a batch credit")

// CreditBatchTx gives points for every input inside tx with a fixed number of statements
// whatever the batch's size: member accounts are created and locked (in program, member order),
// then the transactions, postings and lots are inserted and the balances updated, one
// statement each. The result is the same as calling CreditTx for each input in order on new
// idempotency keys: same rows, same balances. It returns the transactions in input order.
//
// Errors: those of CreditTx for an invalid input (nothing is written); ErrKeyUsed when a key
// already has a transaction, in which case tx is no longer usable (PostgreSQL aborted it) and
// the caller rolls it back and falls back to CreditTx per input.
func (l *Ledger) CreditBatchTx(ctx context.Context, tx bun.IDB, ins []CreditInput) ([]*Transaction, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	now := l.now().UTC()
	type acctKey struct{ program, member int64 }
	var keys []acctKey
	seen := map[acctKey]bool{}
	sys := map[int64]systemAccounts{}
	txs := make([]*Transaction, len(ins))
	availAt := make([]time.Time, len(ins))
	for i := range ins {
		in := &ins[i]
		at, hash, err := in.check(now)
		if err != nil {
			return nil, err
		}
		availAt[i] = at
		if _, ok := sys[in.ProgramID]; !ok {
			s, err := l.systemAccounts(ctx, tx, in.ProgramID)
			if err != nil {
				return nil, err
			}
			sys[in.ProgramID] = s
		}
		k := acctKey{in.ProgramID, in.MemberID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		txs[i] = &Transaction{
			ProgramID: in.ProgramID, MemberID: in.MemberID, Kind: in.Kind,
			Points: in.Amount, StatusPoints: in.StatusPoints, IdempotencyKey: in.IdempotencyKey,
			InputHash: hash,
			Reason:    in.Reason, EventID: in.Origin.EventID, CampaignID: in.Origin.CampaignID,
			PluginVersion: in.Origin.PluginVersion, CreatedAt: now,
		}
	}
	slices.SortFunc(keys, func(a, b acctKey) int {
		if a.program != b.program {
			return cmp.Compare(a.program, b.program)
		}
		return cmp.Compare(a.member, b.member)
	})
	progs := make([]int64, len(keys))
	mems := make([]int64, len(keys))
	for i, k := range keys {
		progs[i], mems[i] = k.program, k.member
	}

	// Accounts: create the missing ones, then lock all of them in key order.
	if _, err := tx.NewRaw(`INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
		SELECT p, m, 'member', ?, ? FROM unnest(?::bigint[], ?::bigint[]) AS k(p, m)
		ON CONFLICT (program_id, member_id) WHERE member_id IS NOT NULL DO NOTHING`,
		now, now, pgdialect.Array(progs), pgdialect.Array(mems)).Exec(ctx); err != nil {
		switch db.Constraint(err) {
		case "accounts_program_id_fkey":
			return nil, ErrProgramNotFound
		case "accounts_member_id_fkey":
			return nil, ErrMemberNotFound
		}
		return nil, fmt.Errorf("ledger: create accounts: %w", err)
	}
	var accts []Account
	if err := tx.NewRaw(`SELECT a.id, a.program_id, a.member_id FROM accounts a
		JOIN unnest(?::bigint[], ?::bigint[]) AS k(p, m) ON a.program_id = k.p AND a.member_id = k.m
		ORDER BY a.program_id, a.member_id FOR UPDATE OF a`,
		pgdialect.Array(progs), pgdialect.Array(mems)).Scan(ctx, &accts); err != nil {
		return nil, fmt.Errorf("ledger: lock accounts: %w", err)
	}
	acctID := make(map[acctKey]int64, len(accts))
	for _, a := range accts {
		acctID[acctKey{a.ProgramID, *a.MemberID}] = a.ID
	}
	for i, t := range txs {
		t.AccountID = acctID[acctKey{ins[i].ProgramID, ins[i].MemberID}]
		if t.AccountID == 0 {
			return nil, fmt.Errorf("ledger: account of member %d in programme %d not found after creating it", t.MemberID, t.ProgramID)
		}
	}

	if _, err := tx.NewInsert().Model(&txs).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		switch db.Constraint(err) {
		case "transactions_idempotency_key":
			return nil, ErrKeyUsed
		case "transactions_idempotency_key_length":
			return nil, ErrInvalidIdempotencyKey
		}
		return nil, fmt.Errorf("ledger: insert transactions: %w", err)
	}

	postings := make([]*Posting, len(ins))
	lots := make([]*Lot, len(ins))
	type delta struct{ avail, pending, lifetime, status int64 }
	deltas := map[int64]*delta{}
	for i, t := range txs {
		in := &ins[i]
		from := sys[in.ProgramID].issuance
		if in.Kind == KindAdjust {
			from = sys[in.ProgramID].adjustment
		}
		postings[i] = &Posting{TransactionID: t.ID, DebitAccountID: from, CreditAccountID: t.AccountID, Amount: in.Amount}
		pending := availAt[i].After(now)
		lots[i] = &Lot{AccountID: t.AccountID, TransactionID: t.ID, Amount: in.Amount, Remaining: in.Amount,
			AvailableAt: availAt[i], ExpiresAt: utcPtr(in.ExpiresAt), Pending: pending, CreatedAt: now}
		d := deltas[t.AccountID]
		if d == nil {
			d = &delta{}
			deltas[t.AccountID] = d
		}
		if pending {
			d.pending += in.Amount
		} else {
			d.avail += in.Amount
		}
		d.lifetime += in.Amount
		d.status += in.StatusPoints
	}
	if err := insertPostings(ctx, tx, postings...); err != nil {
		return nil, err
	}
	if _, err := tx.NewInsert().Model(&lots).ExcludeColumn("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("ledger: insert lots: %w", err)
	}
	n := len(deltas)
	ids, avail, pend, life, stat := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for id, d := range deltas {
		ids, avail, pend, life, stat = append(ids, id), append(avail, d.avail), append(pend, d.pending), append(life, d.lifetime), append(stat, d.status)
	}
	if _, err := tx.NewRaw(`UPDATE accounts SET available = available + d.a, pending = pending + d.p,
		lifetime_earned = lifetime_earned + d.l, status_balance = status_balance + d.s, updated_at = ?
		FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) AS d(id, a, p, l, s)
		WHERE accounts.id = d.id`, now, pgdialect.Array(ids), pgdialect.Array(avail), pgdialect.Array(pend),
		pgdialect.Array(life), pgdialect.Array(stat)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("ledger: update balances: %w", err)
	}
	return txs, nil
}
