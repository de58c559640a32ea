package ledger

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// ErrKeyUsed is returned by CreditBatchTx when one of the batch's idempotency keys already
// has a transaction (a replay or a conflict). Nothing of the batch is usable: the caller rolls
// back and credits the inputs one by one with CreditTx, which tells replays from conflicts.
var ErrKeyUsed = errors.New("ledger: idempotency key already used in a batch credit")

// CreditBatchTx gives points for every input inside tx with two statements whatever the
// batch's size: one creates the missing member accounts and locks all of them (in programme,
// member order), the other inserts the transactions, postings and lots and updates the
// balances. The result is the same as calling CreditTx for each input in order on new
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

	// Accounts: create the missing ones and lock all of them in key order, in one statement: an
	// insert that finds the account there updates it instead, changing no value, which locks
	// the row as lockMemberAccount does.
	rows, err := db.PG(tx).Query(ctx, `INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
		SELECT k.p, k.m, 'member', $3::timestamptz, $3::timestamptz
		FROM unnest($1::bigint[], $2::bigint[]) AS k(p, m) ORDER BY k.p, k.m
		ON CONFLICT (program_id, member_id) WHERE member_id IS NOT NULL DO UPDATE SET updated_at = accounts.updated_at
		RETURNING id, program_id, member_id`, progs, mems, now)
	if err != nil {
		return nil, accountError(err, "lock accounts")
	}
	acctID := make(map[acctKey]int64, len(keys))
	for rows.Next() {
		var id int64
		var k acctKey
		if err := rows.Scan(&id, &k.program, &k.member); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: lock accounts: %w", err)
		}
		acctID[k] = id
	}
	if err := rows.Err(); err != nil {
		switch db.Constraint(err) {
		case "accounts_program_id_fkey":
			return nil, ErrProgramNotFound
		case "accounts_member_id_fkey":
			return nil, ErrMemberNotFound
		}
		return nil, fmt.Errorf("ledger: lock accounts: %w", err)
	}
	for i, t := range txs {
		t.AccountID = acctID[acctKey{ins[i].ProgramID, ins[i].MemberID}]
		if t.AccountID == 0 {
			return nil, fmt.Errorf("ledger: account of member %d in programme %d not found after creating it", t.MemberID, t.ProgramID)
		}
	}

	n := len(ins)
	var (
		programIDs, accountIDs, memberIDs, points, statusPoints, fromIDs = make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		kinds, keysText, hashes, reasons, eventIDs, campaignIDs, versions, avail, expires, pending = make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	type delta struct{ avail, pending, lifetime, status int64 }
	deltas := map[int64]*delta{}
	for i, t := range txs {
		in := &ins[i]
		from := sys[in.ProgramID].issuance
		if in.Kind == KindAdjust {
			from = sys[in.ProgramID].adjustment
		}
		isPending := availAt[i].After(now)
		programIDs[i], accountIDs[i], memberIDs[i], points[i], statusPoints[i], fromIDs[i] =
			t.ProgramID, t.AccountID, t.MemberID, t.Points, t.StatusPoints, from
		kinds[i], keysText[i], hashes[i], reasons[i] = string(t.Kind), t.IdempotencyKey, hex.EncodeToString(t.InputHash), t.Reason
		eventIDs[i], campaignIDs[i], versions[i] = optionalID(t.EventID), optionalID(t.CampaignID), t.PluginVersion
		avail[i], expires[i], pending[i] = timestampText(availAt[i]), optionalTimestamp(in.ExpiresAt), strconv.FormatBool(isPending)
		d := deltas[t.AccountID]
		if d == nil {
			d = &delta{}
			deltas[t.AccountID] = d
		}
		if isPending {
			d.pending += in.Amount
		} else {
			d.avail += in.Amount
		}
		d.lifetime += in.Amount
		d.status += in.StatusPoints
	}
	m := len(deltas)
	ids, dAvail, dPend, dLife, dStat := make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m)
	for id, d := range deltas {
		ids, dAvail, dPend, dLife, dStat = append(ids, id), append(dAvail, d.avail), append(dPend, d.pending), append(dLife, d.lifetime), append(dStat, d.status)
	}
	rows, err = db.PG(tx).Query(ctx, creditBatch, programIDs, accountIDs, memberIDs, kinds, points, statusPoints,
		keysText, hashes, reasons, eventIDs, campaignIDs, versions, fromIDs, avail, expires, pending, now,
		ids, dAvail, dPend, dLife, dStat)
	if err == nil {
		err = scanBatchIDs(rows, txs)
	}
	if err != nil {
		switch db.Constraint(err) {
		case "transactions_idempotency_key":
			return nil, ErrKeyUsed
		case "transactions_idempotency_key_length":
			return nil, ErrInvalidIdempotencyKey
		}
		return nil, fmt.Errorf("ledger: write batch: %w", err)
	}
	l.counted(ctx, txs...)
	return txs, nil
}

// creditBatch is CreditBatchTx's write: the inputs arrive as arrays ($1–$16, one element per
// input; empty texts stand for NULL event, campaign and expiry), the time as $17, the balance
// changes per account as $18–$22. Postings and lots find their transaction by its key.
const creditBatch = `WITH d AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::timestamptz[], $15::text[],
			$16::boolean[])
			WITH ORDINALITY AS d(program_id, account_id, member_id, kind, points, status_points, idempotency_key,
				input_hash, reason, event_id, campaign_id, plugin_version, from_account_id, available_at, expires_at,
				pending, n)
	), t AS (
		INSERT INTO transactions (program_id, account_id, member_id, kind, points, status_points, idempotency_key,
			input_hash, reason, event_id, campaign_id, plugin_version, created_at)
		SELECT program_id, account_id, member_id, kind, points, status_points, idempotency_key, decode(input_hash, 'hex'),
			reason, nullif(event_id, '')::bigint, nullif(campaign_id, '')::bigint, plugin_version, $17::timestamptz
		FROM d ORDER BY n
		RETURNING id, program_id, idempotency_key
	), posting AS (
		INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount)
		SELECT t.id, d.from_account_id, d.account_id, d.points FROM t JOIN d USING (program_id, idempotency_key) ORDER BY d.n
	), lot AS (
		INSERT INTO lots (account_id, transaction_id, amount, remaining, available_at, expires_at, pending, created_at)
		SELECT d.account_id, t.id, d.points, d.points, d.available_at, nullif(d.expires_at, '')::timestamptz, d.pending,
			$17::timestamptz
		FROM t JOIN d USING (program_id, idempotency_key) ORDER BY d.n
	), balance AS (
		UPDATE accounts SET available = available + b.a, pending = pending + b.p, lifetime_earned = lifetime_earned + b.l,
			status_balance = status_balance + b.s, updated_at = $17::timestamptz
		FROM unnest($18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[]) AS b(id, a, p, l, s)
		WHERE accounts.id = b.id
	)
	SELECT id, program_id, idempotency_key FROM t`

// scanBatchIDs sets the ids creditBatch returns on txs, matched by programme and key.
func scanBatchIDs(rows pgx.Rows, txs []*Transaction) error {
	defer rows.Close()
	type txKey struct {
		program int64
		key     string
	}
	byKey := make(map[txKey]int64, len(txs))
	for rows.Next() {
		var id int64
		var k txKey
		if err := rows.Scan(&id, &k.program, &k.key); err != nil {
			return err
		}
		byKey[k] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range txs {
		if t.ID = byKey[txKey{t.ProgramID, t.IdempotencyKey}]; t.ID == 0 {
			return fmt.Errorf("no transaction returned for key %q", t.IdempotencyKey)
		}
	}
	return nil
}

// timestampText is t as a timestamptz literal, to the microsecond PostgreSQL keeps (truncated,
// as bun and pgdriver write times).
func timestampText(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
}

// optionalTimestamp is timestampText of *t, or "" (NULL) for nil.
func optionalTimestamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timestampText(*t)
}

// optionalID is *id in decimal, or "" (NULL) for nil.
func optionalID(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}
