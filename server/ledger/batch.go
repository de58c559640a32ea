package ledger

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// CreditBatchTx gives points for every input inside tx, with a fixed number of statements
// whatever the batch's size: one creates the missing member accounts and locks all of them (in
// programme, member order), one inserts the transactions, postings and lots and updates the
// balances; only an input whose key is taken (or whose member is unknown) costs one more, the
// look-up of its key. It is the one credit path: CreditTx is CreditBatchTx of one input.
//
// The result is the one CreditTx would give for each input in order: the same rows and
// balances, a replay (same key and input: the first transaction, Replayed set) writes nothing,
// a later input reusing an earlier input's key replays or conflicts with it. It returns the
// transactions in input order.
//
// Errors: those of CreditTx, for the first input (in input order) that has one. An invalid
// input or an unknown programme is refused before anything is written; on ErrMemberNotFound
// or ErrIdempotencyConflict the other inputs' rows are written and tx is still usable, so the
// caller that takes the error rolls back (the transaction or a savepoint).
func (l *Ledger) CreditBatchTx(ctx context.Context, tx bun.IDB, ins []CreditInput) ([]*Transaction, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	now := l.now().UTC()
	type acctKey struct{ program, member int64 }
	type txKey struct {
		program int64
		key     string
	}
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
	for i := range ins {
		if _, ok := sys[ins[i].ProgramID]; !ok {
			s, err := l.systemAccounts(ctx, tx, ins[i].ProgramID)
			if err != nil {
				return nil, err
			}
			sys[ins[i].ProgramID] = s
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
	// the row as lockMemberAccount does. Rows to insert are read from members, so an unknown
	// member inserts nothing and fails no statement.
	rows, err := db.PG(tx).Query(ctx, `INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
		SELECT k.p, m.id, 'member', $3::timestamptz, $3::timestamptz
		FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS k(p, m, n) JOIN members m ON m.id = k.m ORDER BY k.n
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
		return nil, accountError(err, "lock accounts")
	}

	// The write takes each key's first input whose member has an account; the other inputs
	// (an unknown member, a key used earlier in the batch) are answered by their key afterwards.
	var write []int
	firstOfKey := map[txKey]bool{}
	for i, t := range txs {
		t.AccountID = acctID[acctKey{ins[i].ProgramID, ins[i].MemberID}]
		k := txKey{t.ProgramID, t.IdempotencyKey}
		if t.AccountID == 0 || firstOfKey[k] {
			continue
		}
		firstOfKey[k] = true
		write = append(write, i)
	}
	n := len(write)
	var (
		programIDs, accountIDs, memberIDs, points, statusPoints, fromIDs = make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		kinds, keysText, hashes, reasons, eventIDs, campaignIDs, versions, avail, expires = make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n)
		pending = make([]bool, n)
	)
	for w, i := range write {
		in, t := &ins[i], txs[i]
		from := sys[in.ProgramID].issuance
		if in.Kind == KindAdjust {
			from = sys[in.ProgramID].adjustment
		}
		programIDs[w], accountIDs[w], memberIDs[w], points[w], statusPoints[w], fromIDs[w] =
			t.ProgramID, t.AccountID, t.MemberID, t.Points, t.StatusPoints, from
		kinds[w], keysText[w], hashes[w], reasons[w] = string(t.Kind), t.IdempotencyKey, hex.EncodeToString(t.InputHash), t.Reason
		eventIDs[w], campaignIDs[w], versions[w] = optionalID(t.EventID), optionalID(t.CampaignID), t.PluginVersion
		avail[w], expires[w], pending[w] = timestampText(availAt[i]), optionalTimestamp(in.ExpiresAt), availAt[i].After(now)
	}
	written := map[txKey]int64{}
	if n > 0 {
		rows, err = db.PG(tx).Query(ctx, creditBatch, programIDs, accountIDs, memberIDs, kinds, points, statusPoints,
			keysText, hashes, reasons, eventIDs, campaignIDs, versions, fromIDs, avail, expires, pending, now)
		if err == nil {
			for rows.Next() {
				var id int64
				var k txKey
				if err = rows.Scan(&id, &k.program, &k.key); err != nil {
					break
				}
				written[k] = id
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
		if err != nil {
			if derr := constraintError(err); derr != nil {
				return nil, derr
			}
			return nil, fmt.Errorf("ledger: write batch: %w", err)
		}
	}
	var fresh []*Transaction
	for i, t := range txs {
		k := txKey{t.ProgramID, t.IdempotencyKey}
		if id, ok := written[k]; ok && t.AccountID != 0 {
			t.ID = id
			delete(written, k) // a later input with the same key answers by the key
			fresh = append(fresh, t)
			continue
		}
		// The key is taken (by an earlier input, by this transaction or by one that had
		// committed when the insert gave up: it waits for an uncommitted one), or the member
		// is unknown: a later statement sees the key's row, if any.
		var missing error = idempotencyRace{fmt.Errorf("key %q is taken but its transaction is not visible", t.IdempotencyKey)}
		if t.AccountID == 0 {
			missing = ErrMemberNotFound
		}
		prev, err := l.replayOr(ctx, tx, t.ProgramID, t.IdempotencyKey, t.InputHash, missing)
		if err != nil {
			return nil, err
		}
		txs[i] = prev
	}
	l.counted(ctx, fresh...)
	return txs, nil
}

// creditBatch is CreditBatchTx's write: the inputs arrive as arrays ($1–$16, one element per
// input, their keys distinct; empty texts stand for NULL event, campaign and expiry), the time
// as $17. A transaction whose key is taken in the programme is not inserted, and only the
// inserted ones get postings, lots and balance changes (found by their key); it returns them.
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
		ON CONFLICT (program_id, idempotency_key) DO NOTHING
		RETURNING id, program_id, idempotency_key
	), w AS (
		SELECT t.id, d.* FROM t JOIN d USING (program_id, idempotency_key)
	), posting AS (
		INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount)
		SELECT id, from_account_id, account_id, points FROM w ORDER BY n
	), lot AS (
		INSERT INTO lots (account_id, transaction_id, amount, remaining, available_at, expires_at, pending, created_at)
		SELECT account_id, id, points, points, available_at, nullif(expires_at, '')::timestamptz, pending, $17::timestamptz
		FROM w ORDER BY n
	), balance AS (
		UPDATE accounts SET available = available + b.a, pending = pending + b.p, lifetime_earned = lifetime_earned + b.l,
			status_balance = status_balance + b.s, updated_at = $17::timestamptz
		FROM (SELECT account_id, sum(CASE WHEN pending THEN 0 ELSE points END)::bigint AS a,
				sum(CASE WHEN pending THEN points ELSE 0 END)::bigint AS p, sum(points)::bigint AS l,
				sum(status_points)::bigint AS s
			FROM w GROUP BY account_id) AS b
		WHERE accounts.id = b.account_id
	)
	SELECT id, program_id, idempotency_key FROM t`

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
