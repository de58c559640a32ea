package ledger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// JobResult counts what a scheduled ledger job did.
type JobResult struct {
	Accounts int
	Lots     int
	Points   int64
}

// ExpireDue expires the remainders of lots whose expiry is at or before now, for at most limit
// accounts. Each account's due lots become one expire transaction posting to the programme's
// expiry account. It is safe to run concurrently with spends and with itself on several
// replicas: everything happens under the accounts' row locks, and a lot already spent or
// expired has nothing left to expire.
//
// The accounts go in pages, one database transaction each: one statement finds and locks a page
// of accounts with due lots (in id order, skipping accounts another transaction holds), one
// set-based statement (expireSQL) writes every expire transaction, posting, lot consumption, lot
// and balance of the page. Up to expireWorkers pages run at once, each on its own connection:
// the page's rows are PostgreSQL's work, one backend each, so two use two CPUs. An account
// another writer holds (a spend, another page, another replica's job) is left to a later call,
// never waited for. The first error stops the call and is returned with the totals of the pages
// done.
func (l *Ledger) ExpireDue(ctx context.Context, now time.Time, limit int) (JobResult, error) {
	if limit <= 0 {
		return JobResult{}, nil
	}
	page := min(expirePage, (limit+expireWorkers-1)/expireWorkers)
	workers := min(expireWorkers, (limit+page-1)/page)
	var (
		mu    sync.Mutex
		res   JobResult
		left  = limit // accounts not yet given to a page
		done  bool    // a page found fewer due accounts than it could take, or one failed
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := min(left, page)
				left -= n
				stop := done || n == 0
				mu.Unlock()
				if stop {
					return
				}
				var one JobResult
				var found int
				err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) (err error) {
					one, found, err = l.expirePage(ctx, tx, now, n, workers*page)
					return err
				})
				mu.Lock()
				res.Accounts += one.Accounts
				res.Lots += one.Lots
				res.Points += one.Points
				if err != nil && first == nil {
					first = err
				}
				done = done || err != nil || found < n || one.Accounts == 0
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res, first
}

// expirePage is the most accounts ExpireDue expires in one database transaction: their row
// locks are held until it commits.
const expirePage = 1000

// expireWorkers is the most pages ExpireDue writes at once.
const expireWorkers = 2

// expirePage expires the due lots of up to limit accounts in tx and returns the totals and the
// number of accounts it found and locked (an account whose lots a concurrent job expired
// first is found but has nothing left). It looks for them among the first candidates accounts
// with due lots, skipping those another transaction has locked (the pages written at the same
// time hold up to candidates − limit of them).
func (l *Ledger) expirePage(ctx context.Context, tx db.Tx, now time.Time, limit, candidates int) (JobResult, int, error) {
	pg := db.PG(tx)
	rows, err := pg.Query(ctx, `SELECT id, member_id, program_id FROM accounts WHERE id IN (SELECT DISTINCT account_id FROM lots
		WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $1 LIMIT $3) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
		now, limit, candidates)
	if err != nil {
		return JobResult{}, 0, fmt.Errorf("ledger: lock accounts with due lots: %w", err)
	}
	var id, member, program int64
	var accounts, members, programs []int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &member, &program}, func() error {
		accounts, members, programs = append(accounts, id), append(members, member), append(programs, program)
		return nil
	}); err != nil {
		return JobResult{}, 0, fmt.Errorf("ledger: lock accounts with due lots: %w", err)
	}
	if len(accounts) == 0 {
		return JobResult{}, 0, nil
	}
	expiry := make([]int64, len(accounts))
	for i, p := range programs {
		sys, err := l.systemAccounts(ctx, tx, p)
		if err != nil {
			return JobResult{}, 0, err
		}
		expiry[i] = sys.expiry
	}
	// The statement's snapshot is taken after the locks: it sees every spend that committed
	// on these accounts before them, and no other writer changes their lots until we commit.
	rows, err = pg.Query(ctx, expireSQL, accounts, expiry, now, l.now().UTC(), members, programs)
	if err != nil {
		return JobResult{}, 0, fmt.Errorf("ledger: expire lots: %w", err)
	}
	var res JobResult
	var ts []*Transaction
	var t Transaction
	var lots int
	if _, err := pgx.ForEachRow(rows, []any{&t.ProgramID, &t.Points, &lots}, func() error {
		res.Accounts++
		res.Lots += lots
		res.Points -= t.Points
		ts = append(ts, &Transaction{ProgramID: t.ProgramID, Kind: KindExpire, Points: t.Points})
		return nil
	}); err != nil {
		if derr := constraintError(err); derr != nil {
			return JobResult{}, 0, derr
		}
		return JobResult{}, 0, fmt.Errorf("ledger: expire lots: %w", err)
	}
	l.counted(ctx, ts...)
	return res, len(accounts), nil
}

// expireSQL expires the due lots of the locked accounts $1 (of the members $5 in the programmes
// $6, whose expiry accounts are $2), due at $3, written at $4, and returns each expire
// transaction's programme, points (negative) and number of lots. Per account it writes what a
// spend writes: the transaction, its posting to the expiry account, a consumption of each lot's
// remainder, the lots and the balances (available or pending, as each lot is). The idempotency
// key names the account's latest transaction: every transaction on a member account is written
// under its row lock, so that id is stable here, and anything that gives an expired lot points
// back (a reversal) is a new transaction, so two expiries of one account never share a key. The
// input hash is inputHash("expire", account, total), computed in SQL.
//
// Every table is reached through the page's ids and an index, never scanned whole, whatever the
// planner estimates: the due lots account by account (OFFSET 0 keeps the look-up per account,
// on lots_spendable), the lots and accounts updated by id (= ANY of an array). A due lot's
// remainder is all of it, and no other writer changes it while the account's lock is held, so
// the lot is left at 0.
const expireSQL = `WITH acct AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $5::bigint[], $6::bigint[]) AS a(account_id, expiry, member_id, program_id)
), due AS MATERIALIZED (
	SELECT l.* FROM acct CROSS JOIN LATERAL (SELECT id, account_id, remaining, pending FROM lots
		WHERE account_id = acct.account_id AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $3 OFFSET 0) AS l
), per AS MATERIALIZED (
	SELECT a.account_id, a.program_id, a.member_id, a.expiry, d.total, d.lots, d.avail, d.pend,
		(SELECT coalesce(max(t.id), 0) FROM transactions t WHERE t.account_id = a.account_id) AS last_tx
	FROM acct a
	JOIN (SELECT account_id, sum(remaining)::bigint AS total, count(*)::int AS lots,
			coalesce(sum(remaining) FILTER (WHERE NOT pending), 0)::bigint AS avail,
			coalesce(sum(remaining) FILTER (WHERE pending), 0)::bigint AS pend
		FROM due GROUP BY account_id) AS d ON d.account_id = a.account_id
), tx AS (
	INSERT INTO transactions (program_id, account_id, member_id, kind, points, idempotency_key, input_hash, reason, created_at)
	SELECT p.program_id, p.account_id, p.member_id, 'expire', -p.total,
		'` + SystemKeyPrefix + `expire:' || p.account_id || ':after:' || p.last_tx,
		sha256(convert_to('expire', 'UTF8') || '\x00'::bytea || convert_to(p.account_id::text, 'UTF8') || '\x00'::bytea ||
			convert_to(p.total::text, 'UTF8') || '\x00'::bytea),
		'points expired', $4
	FROM per p
	RETURNING id, account_id
), posted AS (
	INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount)
	SELECT tx.id, p.account_id, p.expiry, p.total FROM tx JOIN per p ON p.account_id = tx.account_id
), consumed AS (
	INSERT INTO lot_consumptions (transaction_id, lot_id, kind, amount)
	SELECT tx.id, d.id, 'consume', d.remaining FROM due d JOIN tx ON tx.account_id = d.account_id
), emptied AS (
	UPDATE lots SET remaining = 0 WHERE id = ANY(ARRAY(SELECT id FROM due))
), balanced AS (
	UPDATE accounts SET available = accounts.available - p.avail, pending = accounts.pending - p.pend, updated_at = $4
	FROM per p WHERE accounts.id = ANY(ARRAY(SELECT account_id FROM per)) AND accounts.id = p.account_id
)
SELECT program_id, -total, lots FROM per`

// ReleaseDue makes pending lots whose available-at is at or before now available, for at most
// limit accounts, moving their remainders from the account's pending to its available balance.
// Like ExpireDue it works under each account's row lock and is safe to run anywhere at once.
func (l *Ledger) ReleaseDue(ctx context.Context, now time.Time, limit int) (JobResult, error) {
	var res JobResult
	accounts, err := queryIDs(ctx, l.db, `SELECT DISTINCT account_id FROM lots WHERE pending AND available_at <= $1 LIMIT $2`, now, limit)
	if err != nil {
		return res, fmt.Errorf("ledger: find due pending lots: %w", err)
	}
	for _, id := range accounts {
		var moved struct {
			Lots   int
			Points int64
		}
		err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) error {
			pg := db.PG(tx)
			if _, err := pg.Exec(ctx, "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", id); err != nil {
				return fmt.Errorf("ledger: lock account: %w", err)
			}
			err := pg.QueryRow(ctx, `WITH released AS (
					UPDATE lots SET pending = false
					WHERE account_id = $1 AND pending AND available_at <= $2
					RETURNING remaining)
				SELECT count(*) AS lots, coalesce(sum(remaining), 0)::bigint AS points FROM released`, id, now).Scan(&moved.Lots, &moved.Points)
			if err != nil {
				return fmt.Errorf("ledger: release lots: %w", err)
			}
			if moved.Lots == 0 {
				return nil
			}
			return updateBalances(ctx, tx, id, l.now().UTC(), moved.Points, -moved.Points, 0, 0)
		})
		if err != nil {
			return res, err
		}
		if moved.Lots > 0 {
			res.Accounts++
			res.Lots += moved.Lots
			res.Points += moved.Points
		}
	}
	return res, nil
}

// queryIDs runs a query returning one bigint column and returns its values.
func queryIDs(ctx context.Context, idb bun.IDB, query string, args ...any) ([]int64, error) {
	rows, err := db.PG(idb).Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
