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
// accounts, one database transaction per account. Each account's due lots become one expire
// transaction posting to the programme's expiry account. It is safe to run concurrently with
// spends and with itself on several replicas: everything happens under the account's row lock,
// and a lot already spent or expired has nothing left to expire.
//
// Up to expireWorkers accounts are expired at once, each in its own transaction: one account's
// work is a few short statements and a commit, so the job is bound by round trips and commit
// flushes, which concurrent transactions overlap and share. The first error stops the call
// (accounts already in flight finish) and is returned with the totals of the accounts done.
func (l *Ledger) ExpireDue(ctx context.Context, now time.Time, limit int) (JobResult, error) {
	accounts, err := queryIDs(ctx, l.db, `SELECT DISTINCT account_id FROM lots
		WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $1 LIMIT $2`, now, limit)
	if err != nil {
		return JobResult{}, fmt.Errorf("ledger: find due lots: %w", err)
	}
	return l.eachAccount(ctx, accounts, expireWorkers, func(ctx context.Context, tx db.Tx, id int64) (JobResult, error) {
		return l.expireAccount(ctx, tx, id, now)
	})
}

// expireWorkers is how many accounts ExpireDue works on at once (each holds one connection of
// the pool while it runs).
const expireWorkers = 8

// eachAccount runs fn for every account in its own database transaction, at most workers at a
// time, and adds up the results. The first error stops handing out accounts; it is returned
// once the accounts in flight have finished, with the totals of those that succeeded.
func (l *Ledger) eachAccount(ctx context.Context, accounts []int64, workers int,
	fn func(ctx context.Context, tx db.Tx, id int64) (JobResult, error)) (JobResult, error) {
	var (
		mu       sync.Mutex
		res      JobResult
		firstErr error
		wg       sync.WaitGroup
	)
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int64)
	for range min(workers, len(accounts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				var one JobResult
				err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) (err error) {
					one, err = fn(ctx, tx, id)
					return err
				})
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					res.Accounts += one.Accounts
					res.Lots += one.Lots
					res.Points += one.Points
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, id := range accounts {
		select {
		case next <- id:
		case <-stop.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return res, firstErr
}

func (l *Ledger) expireAccount(ctx context.Context, tx bun.IDB, accountID int64, now time.Time) (JobResult, error) {
	var acct Account
	if err := tx.NewSelect().Model(&acct).Where("id = ?", accountID).For("UPDATE").Scan(ctx); err != nil {
		return JobResult{}, fmt.Errorf("ledger: lock account: %w", err)
	}
	var lots []Lot
	err := tx.NewSelect().Model(&lots).
		Where("account_id = ? AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?", accountID, now).
		OrderExpr("expires_at ASC NULLS LAST, id ASC").For("UPDATE").Scan(ctx)
	if err != nil {
		return JobResult{}, fmt.Errorf("ledger: lock due lots: %w", err)
	}
	if len(lots) == 0 {
		return JobResult{}, nil
	}
	var total, dAvail, dPending int64
	take := make([]LotConsumption, len(lots))
	for i, lot := range lots {
		take[i] = LotConsumption{LotID: lot.ID, Kind: "consume", Amount: lot.Remaining}
		total += lot.Remaining
		if lot.Pending {
			dPending -= lot.Remaining
		} else {
			dAvail -= lot.Remaining
		}
	}
	sys, err := l.systemAccounts(ctx, tx, acct.ProgramID)
	if err != nil {
		return JobResult{}, err
	}
	at := l.now().UTC()
	// The key names the account's latest transaction. Every transaction on a member account is
	// written under its row lock, which we hold, so that id is stable here, and anything that
	// gives an expired lot points back (a reversal) is a new transaction: two expiries of one
	// account never share a key. (Keying on the last lot and the clock collided when a restored
	// lot expired again while the clock stood still — an injected clock, or two runs within the
	// clock's resolution — and the job then failed on that account at every run.)
	var lastTx int64
	if err := db.PG(tx).QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM transactions WHERE account_id = $1", accountID).Scan(&lastTx); err != nil {
		return JobResult{}, fmt.Errorf("ledger: latest transaction: %w", err)
	}
	key := fmt.Sprintf("%sexpire:%d:after:%d", SystemKeyPrefix, accountID, lastTx)
	t := &Transaction{
		ProgramID: acct.ProgramID, AccountID: acct.ID, MemberID: *acct.MemberID, Kind: KindExpire,
		Points: -total, IdempotencyKey: key, InputHash: inputHash("expire", accountID, total), Reason: "points expired",
		CreatedAt: at,
	}
	if err := insertTransaction(ctx, tx, t); err != nil {
		return JobResult{}, err
	}
	if err := insertPostings(ctx, tx, &Posting{TransactionID: t.ID, DebitAccountID: acct.ID, CreditAccountID: sys.expiry, Amount: total}); err != nil {
		return JobResult{}, err
	}
	if err := applyConsumptions(ctx, tx, t.ID, take); err != nil {
		return JobResult{}, err
	}
	if err := updateBalances(ctx, tx, acct.ID, at, dAvail, dPending, 0, 0); err != nil {
		return JobResult{}, err
	}
	l.counted(ctx, t)
	return JobResult{Accounts: 1, Lots: len(lots), Points: total}, nil
}

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
