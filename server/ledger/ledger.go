package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Ledger applies point transactions to PostgreSQL. It is safe for concurrent use.
type Ledger struct {
	db  *db.DB
	now func() time.Time

	mu  sync.RWMutex
	sys map[int64]systemAccounts // programme id → its system accounts (immutable once created)

	metrics *Metrics // nil: not counted
}

type systemAccounts struct {
	issuance, redemption, expiry, adjustment int64
}

// New returns a Ledger on bdb that reads the time from now (the core's clock).
func New(bdb *db.DB, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{db: bdb, now: now, sys: map[int64]systemAccounts{}}
}

// DB returns the pool the ledger writes to.
func (l *Ledger) DB() *db.DB { return l.db }

// CreditInput describes points given to a member.
type CreditInput struct {
	ProgramID int64
	MemberID  int64
	// Amount is the number of points, 1..MaxAmount.
	Amount int64
	// Kind is KindEarn (the default) or KindAdjust.
	Kind           Kind
	IdempotencyKey string
	Reason         string
	// AvailableAt makes the points pending until then; nil means now.
	AvailableAt *time.Time
	// ExpiresAt makes the points expire then; nil means never.
	ExpiresAt *time.Time
	// StatusPoints also count toward the member's status balance (not reduced by spending).
	StatusPoints int64
	Origin       Origin
}

// DebitInput describes points taken from a member.
type DebitInput struct {
	ProgramID int64
	MemberID  int64
	// Amount is the number of points, 1..MaxAmount.
	Amount int64
	// Kind is KindRedeem (the default) or KindAdjust.
	Kind           Kind
	IdempotencyKey string
	Reason         string
	Origin         Origin
}

// Credit gives points to a member in its own database transaction. See CreditTx.
func (l *Ledger) Credit(ctx context.Context, in CreditInput) (*Transaction, error) {
	var out *Transaction
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) (err error) {
		out, err = l.CreditTx(ctx, tx, in)
		return err
	})
	return out, err
}

// Debit takes points from a member in its own database transaction. See DebitTx.
func (l *Ledger) Debit(ctx context.Context, in DebitInput) (*Transaction, error) {
	var out *Transaction
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) (err error) {
		out, err = l.DebitTx(ctx, tx, in)
		return err
	})
	return out, err
}

// Reverse undoes a transaction in its own database transaction. See ReverseTx. When the
// commit's acknowledgement is lost and the unit of work is retried, the retry returns the
// reversal this call wrote (Replayed set) rather than ErrAlreadyReversed.
func (l *Ledger) Reverse(ctx context.Context, id int64, reason string) (*Transaction, error) {
	// A reversal has no caller-chosen idempotency key, so a per-call nonce in its input hash is
	// what lets a retry of this call tell its own committed reversal from somebody else's.
	nonce := rand.Text()
	var out *Transaction
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) (err error) {
		out, err = l.reverseTx(ctx, tx, id, reason, nonce)
		return err
	})
	return out, err
}

// Adjust credits (amount > 0) or debits (amount < 0) a member's points as an operator
// correction, in its own database transaction. Credits made this way never expire.
func (l *Ledger) Adjust(ctx context.Context, programID, memberID, amount int64, reason, key string) (*Transaction, error) {
	if amount > 0 {
		return l.Credit(ctx, CreditInput{ProgramID: programID, MemberID: memberID, Amount: amount, Kind: KindAdjust, IdempotencyKey: key, Reason: reason})
	}
	if amount == 0 || amount < -MaxAmount {
		return nil, fmt.Errorf("%w: adjustment must be non-zero and at most %d in size", ErrInvalidAmount, MaxAmount)
	}
	return l.Debit(ctx, DebitInput{ProgramID: programID, MemberID: memberID, Amount: -amount, Kind: KindAdjust, IdempotencyKey: key, Reason: reason})
}

// check fills in the default kind, validates a credit made at now, and returns when its points
// become available and the input hash its idempotency key is bound to.
func (in *CreditInput) check(now time.Time) (availableAt time.Time, hash []byte, err error) {
	if in.Kind == "" {
		in.Kind = KindEarn
	}
	if in.Kind != KindEarn && in.Kind != KindAdjust {
		return now, nil, fmt.Errorf("ledger: credit of kind %q", in.Kind)
	}
	if err := checkAmount(in.Amount); err != nil {
		return now, nil, err
	}
	if in.StatusPoints < 0 || in.StatusPoints > MaxAmount {
		return now, nil, fmt.Errorf("%w: status points must be between 0 and %d", ErrInvalidAmount, MaxAmount)
	}
	availableAt = now
	if in.AvailableAt != nil && in.AvailableAt.After(now) {
		availableAt = in.AvailableAt.UTC()
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(availableAt) {
		return now, nil, ErrInvalidPeriod
	}
	if err := CheckIdempotencyKey(in.IdempotencyKey); err != nil {
		return now, nil, err
	}
	hash = inputHash("credit", in.Kind, in.MemberID, in.Amount, in.Reason, timeKey(in.AvailableAt), timeKey(in.ExpiresAt),
		in.StatusPoints, in.Origin.key())
	return availableAt, hash, nil
}

// CreditTx gives points to a member inside tx: one transaction, one posting from the issuance
// (or adjustment) account, one lot. Errors: ErrInvalidAmount, ErrInvalidIdempotencyKey,
// ErrInvalidPeriod, ErrProgramNotFound, ErrMemberNotFound, ErrIdempotencyConflict. A retry with
// the same key and input returns the first transaction with Replayed set.
//
// It is CreditBatchTx of one input: two statements, the account lock and one that writes
// everything else unless the key is taken; only then is the key's transaction looked up.
func (l *Ledger) CreditTx(ctx context.Context, tx bun.IDB, in CreditInput) (*Transaction, error) {
	txs, err := l.CreditBatchTx(ctx, tx, []CreditInput{in})
	if err != nil {
		return nil, err
	}
	return txs[0], nil
}

// DebitTx takes points from a member inside tx, consuming available, unexpired lots
// oldest-expiry-first (lots that never expire last). Errors: ErrInsufficientPoints when the
// spendable points do not cover Amount (nothing is written), plus those of CreditTx.
//
// It takes three statements: the account lock, the lots' lock, then one that writes everything
// else unless the key is taken; only then, or when the points do not suffice, is the key's
// transaction looked up.
func (l *Ledger) DebitTx(ctx context.Context, tx bun.IDB, in DebitInput) (*Transaction, error) {
	hash, err := in.check()
	if err != nil {
		return nil, err
	}
	acct, err := l.lockMemberAccount(ctx, tx, in.ProgramID, in.MemberID)
	if errors.Is(err, ErrMemberNotFound) {
		return l.replayOr(ctx, tx, in.ProgramID, in.IdempotencyKey, hash, err)
	}
	if err != nil {
		return nil, err
	}
	return l.debitLocked(ctx, tx, acct, in, hash)
}

// DebitLockedTx is DebitTx on the member account acct, which the caller locked in tx with
// LockAccountTx and has not written to since (its balances are the ones the lock returned): it
// skips DebitTx's lock statement and writes the same rows. An acct that is not in.MemberID's
// account in in.ProgramID is refused before anything is sent.
func (l *Ledger) DebitLockedTx(ctx context.Context, tx bun.IDB, acct *Account, in DebitInput) (*Transaction, error) {
	if acct == nil || acct.ProgramID != in.ProgramID || acct.MemberID == nil || *acct.MemberID != in.MemberID {
		return nil, fmt.Errorf("ledger: debit of member %d in programme %d on another account", in.MemberID, in.ProgramID)
	}
	hash, err := in.check()
	if err != nil {
		return nil, err
	}
	return l.debitLocked(ctx, tx, acct, in, hash)
}

// check fills in the default kind, validates a debit and returns the input hash its
// idempotency key is bound to.
func (in *DebitInput) check() ([]byte, error) {
	if in.Kind == "" {
		in.Kind = KindRedeem
	}
	if in.Kind != KindRedeem && in.Kind != KindAdjust {
		return nil, fmt.Errorf("ledger: debit of kind %q", in.Kind)
	}
	if err := checkAmount(in.Amount); err != nil {
		return nil, err
	}
	if err := CheckIdempotencyKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	return inputHash("debit", in.Kind, in.MemberID, in.Amount, in.Reason, in.Origin.key()), nil
}

// debitLocked is the debit of DebitTx and DebitLockedTx on the member's account acct, locked in
// tx: it locks the spendable lots, then writes the entry (writeEntry).
func (l *Ledger) debitLocked(ctx context.Context, tx bun.IDB, acct *Account, in DebitInput, hash []byte) (*Transaction, error) {
	now := l.now().UTC()
	if acct.Available < in.Amount {
		return l.replayOr(ctx, tx, in.ProgramID, in.IdempotencyKey, hash, ErrInsufficientPoints)
	}
	var lots []Lot
	rows, err := db.PG(tx).Query(ctx, `SELECT `+lotColumns+` FROM lots
		WHERE account_id = $1 AND remaining > 0 AND NOT pending AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY expires_at ASC NULLS LAST, id ASC FOR UPDATE`, acct.ID, now)
	if err == nil {
		lots, err = db.Collect[Lot](rows)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: lock lots: %w", err)
	}
	var take []LotConsumption
	left := in.Amount
	for _, lot := range lots {
		if left == 0 {
			break
		}
		n := min(lot.Remaining, left)
		take = append(take, LotConsumption{LotID: lot.ID, Kind: "consume", Amount: n})
		left -= n
	}
	if left > 0 {
		return l.replayOr(ctx, tx, in.ProgramID, in.IdempotencyKey, hash, ErrInsufficientPoints)
	}
	sys, err := l.systemAccounts(ctx, tx, in.ProgramID)
	if err != nil {
		return nil, err
	}
	to := sys.redemption
	if in.Kind == KindAdjust {
		to = sys.adjustment
	}
	return l.writeEntry(ctx, tx, &entry{
		t: &Transaction{
			ProgramID: in.ProgramID, AccountID: acct.ID, MemberID: in.MemberID, Kind: in.Kind,
			Points: -in.Amount, IdempotencyKey: in.IdempotencyKey, InputHash: hash, Reason: in.Reason,
			EventID: in.Origin.EventID, CampaignID: in.Origin.CampaignID, PluginVersion: in.Origin.PluginVersion, CreatedAt: now,
		},
		posting: Posting{DebitAccountID: acct.ID, CreditAccountID: to, Amount: in.Amount},
		take:    take,
		dAvail:  -in.Amount,
	})
}

// entry is what DebitTx writes: a transaction, its posting, the lots it consumes, and the
// change to the member's balances.
type entry struct {
	t       *Transaction
	posting Posting          // TransactionID is t's
	take    []LotConsumption // lots consumed, in the order they are taken
	// Balance changes of the member account t.AccountID.
	dAvail, dPending, dLifetime, dStatus int64
}

// Columns of the ledger's tables, in the order the statements on pgx (db.PG) select them
// (scanned into the models with db.Collect, or by scanTransaction).
const (
	transactionColumns = `id, program_id, account_id, member_id, kind, points, status_points, idempotency_key, input_hash,
		reason, reverses_id, event_id, campaign_id, plugin_version, created_at`
	lotColumns = `id, account_id, transaction_id, amount, remaining, available_at, expires_at, pending, created_at`
)

// debitEntry is writeEntry's statement: the transaction's insert ($1–$13), its posting
// ($14–$16), the balance changes ($17–$20) and the consumed lots ($21, $22).
const debitEntry = `WITH t AS (
		INSERT INTO transactions (program_id, account_id, member_id, kind, points, status_points, idempotency_key,
			input_hash, reason, event_id, campaign_id, plugin_version, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (program_id, idempotency_key) DO NOTHING
		RETURNING id
	), posting AS (
		INSERT INTO postings (transaction_id, debit_account_id, credit_account_id, amount)
		SELECT id, $14::bigint, $15::bigint, $16::bigint FROM t
	), balance AS (
		UPDATE accounts SET available = available + $17::bigint, pending = pending + $18::bigint,
			lifetime_earned = lifetime_earned + $19::bigint, status_balance = status_balance + $20::bigint,
			updated_at = $13::timestamptz
		FROM t WHERE accounts.id = $2::bigint
	), consumption AS (
		INSERT INTO lot_consumptions (transaction_id, lot_id, kind, amount)
		SELECT t.id, c.lot_id, 'consume', c.amount
		FROM t, unnest($21::bigint[], $22::bigint[]) WITH ORDINALITY AS c(lot_id, amount, n) ORDER BY c.n
	), consumed AS (
		UPDATE lots SET remaining = remaining - c.amount
		FROM t, unnest($21::bigint[], $22::bigint[]) AS c(lot_id, amount) WHERE lots.id = c.lot_id
	)
	SELECT id FROM t`

// writeEntry writes e in one prepared statement (debitEntry): data-modifying CTEs, each fed by
// the id the transaction's insert returns, and that insert does nothing when e's key is taken
// in the programme. Then nothing is written and the key's transaction answers: a replay, or
// ErrIdempotencyConflict. The CTEs see one snapshot, so none may change a row another changes
// or needs to see changed: each writes new rows, the member's account row or the consumed
// lots, and the caller has locked those beforehand, in earlier statements.
func (l *Ledger) writeEntry(ctx context.Context, tx bun.IDB, e *entry) (*Transaction, error) {
	t := e.t
	ids := make([]int64, len(e.take))
	amounts := make([]int64, len(e.take))
	for i, c := range e.take {
		ids[i], amounts[i] = c.LotID, c.Amount
	}
	err := db.PG(tx).QueryRow(ctx, debitEntry, t.ProgramID, t.AccountID, t.MemberID, string(t.Kind), t.Points,
		t.StatusPoints, t.IdempotencyKey, t.InputHash, t.Reason, t.EventID, t.CampaignID, t.PluginVersion, t.CreatedAt,
		e.posting.DebitAccountID, e.posting.CreditAccountID, e.posting.Amount,
		e.dAvail, e.dPending, e.dLifetime, e.dStatus, ids, amounts).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// The key is taken by this transaction, or by one that had committed when the insert
		// gave up (it waits for an uncommitted one): a later statement sees that row.
		return l.replayOr(ctx, tx, t.ProgramID, t.IdempotencyKey, t.InputHash,
			idempotencyRace{fmt.Errorf("key %q is taken but its transaction is not visible", t.IdempotencyKey)})
	}
	if err != nil {
		if derr := constraintError(err); derr != nil {
			return nil, derr
		}
		return nil, fmt.Errorf("ledger: write %s transaction: %w", t.Kind, err)
	}
	l.counted(ctx, t)
	return t, nil
}

// ReverseTx undoes transaction id inside tx. A spend's reversal gives back exactly the lots it
// consumed; a credit's reversal takes back the points from the credit's own lot first, then
// oldest-expiry-first, and fails with ErrInsufficientPoints if the member has spent them.
// Errors: ErrTransactionNotFound, ErrNotReversible, ErrAlreadyReversed, ErrInsufficientPoints.
func (l *Ledger) ReverseTx(ctx context.Context, tx bun.IDB, id int64, reason string) (*Transaction, error) {
	return l.reverseTx(ctx, tx, id, reason, "")
}

// reverseTx is ReverseTx; a non-empty nonce identifies the calling Reverse, whose own earlier
// committed attempt is returned instead of ErrAlreadyReversed.
func (l *Ledger) reverseTx(ctx context.Context, tx bun.IDB, id int64, reason, nonce string) (*Transaction, error) {
	var orig Transaction
	if err := tx.NewSelect().Model(&orig).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrTransactionNotFound)
	}
	if orig.Kind == KindReverse || orig.Kind == KindExpire {
		return nil, ErrNotReversible
	}
	acct, err := l.lockMemberAccount(ctx, tx, orig.ProgramID, orig.MemberID)
	if err != nil {
		return nil, err
	}
	// Under the account lock a committed reversal is visible; a concurrent one that commits
	// later loses on the transactions_one_reversal constraint.
	hash := inputHash("reverse", id)
	if nonce != "" {
		hash = inputHash("reverse", id, nonce)
	}
	var prev Transaction
	err = tx.NewSelect().Model(&prev).Where("reverses_id = ?", id).Scan(ctx)
	switch {
	case err == nil && nonce != "" && string(prev.InputHash) == string(hash):
		prev.Replayed = true
		return &prev, nil
	case err == nil:
		return nil, ErrAlreadyReversed
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("ledger: check reversal: %w", err)
	}
	sys, err := l.systemAccounts(ctx, tx, orig.ProgramID)
	if err != nil {
		return nil, err
	}
	now := l.now().UTC()
	t := &Transaction{
		ProgramID: orig.ProgramID, AccountID: acct.ID, MemberID: orig.MemberID, Kind: KindReverse,
		Points: -orig.Points, IdempotencyKey: fmt.Sprintf("%sreverse:%d", SystemKeyPrefix, orig.ID),
		InputHash: hash, Reason: reason, ReversesID: &orig.ID,
		CampaignID: orig.CampaignID, CreatedAt: now,
	}
	if orig.Points < 0 {
		err = l.reverseSpend(ctx, tx, &orig, t, acct, sys, now)
	} else {
		err = l.reverseCredit(ctx, tx, &orig, t, acct, sys, now)
	}
	if err != nil {
		return nil, err
	}
	l.counted(ctx, t)
	return t, nil
}

func (l *Ledger) reverseSpend(ctx context.Context, tx bun.IDB, orig, t *Transaction, acct *Account, sys systemAccounts, now time.Time) error {
	var taken []LotConsumption
	if err := tx.NewSelect().Model(&taken).Where("transaction_id = ? AND kind = 'consume'", orig.ID).OrderExpr("lot_id").Scan(ctx); err != nil {
		return fmt.Errorf("ledger: load consumptions: %w", err)
	}
	var lotIDs []int64
	for _, c := range taken {
		lotIDs = append(lotIDs, c.LotID)
	}
	if len(lotIDs) > 0 {
		// Lock in the same (expires_at, id) order spends use, so the two never deadlock.
		var locked []Lot
		if err := tx.NewSelect().Model(&locked).Column("id").Where("id IN (?)", bun.List(lotIDs)).
			OrderExpr("expires_at ASC NULLS LAST, id ASC").For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("ledger: lock lots: %w", err)
		}
	}
	if err := insertTransaction(ctx, tx, t); err != nil {
		return err
	}
	from := sys.redemption
	if orig.Kind == KindAdjust {
		from = sys.adjustment
	}
	if err := insertPostings(ctx, tx, &Posting{TransactionID: t.ID, DebitAccountID: from, CreditAccountID: acct.ID, Amount: -orig.Points}); err != nil {
		return err
	}
	restore := make([]LotConsumption, len(taken))
	for i, c := range taken {
		restore[i] = LotConsumption{LotID: c.LotID, Kind: "restore", Amount: c.Amount}
	}
	if err := applyConsumptions(ctx, tx, t.ID, restore); err != nil {
		return err
	}
	return updateBalances(ctx, tx, acct.ID, now, -orig.Points, 0, 0, 0)
}

func (l *Ledger) reverseCredit(ctx context.Context, tx bun.IDB, orig, t *Transaction, acct *Account, sys systemAccounts, now time.Time) error {
	// Candidates: the credit's own lot (pending or not), then spendable lots oldest-expiry-first.
	var lots []Lot
	err := tx.NewSelect().Model(&lots).
		Where("account_id = ? AND remaining > 0", acct.ID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("transaction_id = ?", orig.ID).
				WhereOr("NOT pending AND (expires_at IS NULL OR expires_at > ?)", now)
		}).
		OrderExpr("expires_at ASC NULLS LAST, id ASC").For("UPDATE").Scan(ctx)
	if err != nil {
		return fmt.Errorf("ledger: lock lots: %w", err)
	}
	own := -1
	for i := range lots {
		if lots[i].TransactionID == orig.ID {
			own = i
		}
	}
	if own > 0 {
		// Move the own lot to the front keeping the others in (expires_at, id) order; swapping
		// it with the first lot would take the earliest-expiring points last.
		ownLot := lots[own]
		copy(lots[1:own+1], lots[:own])
		lots[0] = ownLot
	}
	var take []LotConsumption
	var dAvail, dPending int64
	left := orig.Points
	for _, lot := range lots {
		if left == 0 {
			break
		}
		n := min(lot.Remaining, left)
		take = append(take, LotConsumption{LotID: lot.ID, Kind: "consume", Amount: n})
		if lot.Pending {
			dPending -= n
		} else {
			dAvail -= n
		}
		left -= n
	}
	if left > 0 {
		return ErrInsufficientPoints
	}
	if err := insertTransaction(ctx, tx, t); err != nil {
		return err
	}
	to := sys.issuance
	if orig.Kind == KindAdjust {
		to = sys.adjustment
	}
	if err := insertPostings(ctx, tx, &Posting{TransactionID: t.ID, DebitAccountID: acct.ID, CreditAccountID: to, Amount: orig.Points}); err != nil {
		return err
	}
	if err := applyConsumptions(ctx, tx, t.ID, take); err != nil {
		return err
	}
	status := min(orig.StatusPoints, acct.StatusBalance)
	return updateBalances(ctx, tx, acct.ID, now, dAvail, dPending, -orig.Points, -status)
}

// replayOr looks up a transaction by idempotency key: it returns the earlier transaction when
// the input matches, ErrIdempotencyConflict when it does not, and err when the key is new. A
// write refused for another reason answers this way, as if it had looked the key up first.
func (l *Ledger) replayOr(ctx context.Context, tx bun.IDB, programID int64, key string, hash []byte, err error) (*Transaction, error) {
	var found []Transaction
	rows, lerr := db.PG(tx).Query(ctx, `SELECT `+transactionColumns+` FROM transactions
		WHERE program_id = $1 AND idempotency_key = $2`, programID, key)
	if lerr == nil {
		found, lerr = db.Collect[Transaction](rows)
	}
	if lerr != nil {
		return nil, fmt.Errorf("ledger: look up idempotency key: %w", lerr)
	}
	if len(found) == 0 {
		return nil, err
	}
	prev := found[0]
	if string(prev.InputHash) != string(hash) {
		return nil, ErrIdempotencyConflict
	}
	prev.Replayed = true
	return &prev, nil
}

// LockAccountTx returns the member's account in the programme locked inside tx (FOR NO KEY
// UPDATE), creating it first when the member has none. Callers that must serialise with every
// ledger write on the account (e.g. an order checking limits before it debits) take this lock
// first; the ledger's own writes in the same transaction then find it held, and DebitLockedTx
// debits the account returned without locking it again. Errors: ErrProgramNotFound,
// ErrMemberNotFound.
func (l *Ledger) LockAccountTx(ctx context.Context, tx bun.IDB, programID, memberID int64) (*Account, error) {
	return l.lockMemberAccount(ctx, tx, programID, memberID)
}

// lockMemberAccount returns the member's account in the programme, locked, creating it first
// when the member has none, in one statement: an insert that finds the account there updates
// it instead, changing no value, which locks the row as SELECT … FOR NO KEY UPDATE would (the
// lock every ledger write on the account takes first) and returns its latest committed
// balances. A concurrent first use waits for the inserting transaction, then locks the row it
// inserted: it never finds "no row". An unknown member inserts nothing (the row to insert is
// read from members) and fails no statement, so tx can still be used after ErrMemberNotFound.
func (l *Ledger) lockMemberAccount(ctx context.Context, tx bun.IDB, programID, memberID int64) (*Account, error) {
	now := l.now().UTC()
	var acct Account
	err := db.PG(tx).QueryRow(ctx, `INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
		SELECT $1::bigint, id, 'member', $2::timestamptz, $2::timestamptz FROM members WHERE id = $3::bigint
		ON CONFLICT (program_id, member_id) WHERE member_id IS NOT NULL DO UPDATE SET updated_at = accounts.updated_at
		RETURNING id, program_id, member_id, kind, available, pending, lifetime_earned, status_balance, created_at, updated_at`,
		programID, now, memberID).Scan(&acct.ID, &acct.ProgramID, &acct.MemberID, &acct.Kind, &acct.Available, &acct.Pending,
		&acct.LifetimeEarned, &acct.StatusBalance, &acct.CreatedAt, &acct.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		// No such member. An unknown programme is reported first, as it was when the foreign
		// keys checked both (the programme's first).
		if _, err := l.systemAccounts(ctx, tx, programID); err != nil {
			return nil, err
		}
		return nil, ErrMemberNotFound
	}
	if err != nil {
		return nil, accountError(err, "lock account")
	}
	return &acct, nil
}

// accountError is the error of creating or locking member accounts: ErrProgramNotFound or
// ErrMemberNotFound when a foreign key says so, else err wrapped as the ledger's what.
func accountError(err error, what string) error {
	switch db.Constraint(err) {
	case "accounts_program_id_fkey":
		return ErrProgramNotFound
	case "accounts_member_id_fkey":
		return ErrMemberNotFound
	}
	return fmt.Errorf("ledger: %s: %w", what, err)
}

// systemAccounts returns the programme's system account ids, read once and cached.
func (l *Ledger) systemAccounts(ctx context.Context, idb bun.IDB, programID int64) (systemAccounts, error) {
	l.mu.RLock()
	s, ok := l.sys[programID]
	l.mu.RUnlock()
	if ok {
		return s, nil
	}
	var rows []Account
	if err := idb.NewSelect().Model(&rows).Column("id", "kind").Where("program_id = ? AND member_id IS NULL", programID).Scan(ctx); err != nil {
		return s, fmt.Errorf("ledger: load system accounts: %w", err)
	}
	for _, a := range rows {
		switch a.Kind {
		case accountIssuance:
			s.issuance = a.ID
		case accountRedemption:
			s.redemption = a.ID
		case accountExpiry:
			s.expiry = a.ID
		case accountAdjustment:
			s.adjustment = a.ID
		}
	}
	if s.issuance == 0 || s.redemption == 0 || s.expiry == 0 || s.adjustment == 0 {
		return s, ErrProgramNotFound
	}
	l.mu.Lock()
	l.sys[programID] = s
	l.mu.Unlock()
	return s, nil
}

// idempotencyRace is returned when a concurrent writer committed the same idempotency key
// between our look-up and our insert; retrying the unit of work finds the committed row.
type idempotencyRace struct{ err error }

func (e idempotencyRace) Error() string   { return "ledger: idempotency key race: " + e.err.Error() }
func (e idempotencyRace) Unwrap() error   { return e.err }
func (e idempotencyRace) Retryable() bool { return true }

func insertTransaction(ctx context.Context, tx bun.IDB, t *Transaction) error {
	if _, err := tx.NewInsert().Model(t).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		if derr := constraintError(err); derr != nil {
			return derr
		}
		return fmt.Errorf("ledger: insert transaction: %w", err)
	}
	return nil
}

// constraintError returns the domain error for a violation of a constraint that carries one of
// the ledger's rules, or nil.
func constraintError(err error) error {
	switch db.Constraint(err) {
	case "transactions_idempotency_key":
		return idempotencyRace{err}
	case "transactions_one_reversal":
		return ErrAlreadyReversed
	case "transactions_idempotency_key_length":
		return ErrInvalidIdempotencyKey
	case "accounts_available_nonnegative", "accounts_pending_nonnegative":
		return ErrInsufficientPoints
	}
	return nil
}

func insertPostings(ctx context.Context, tx bun.IDB, ps ...*Posting) error {
	if _, err := tx.NewInsert().Model(&ps).ExcludeColumn("id").Exec(ctx); err != nil {
		return fmt.Errorf("ledger: insert postings: %w", err)
	}
	return nil
}

// applyConsumptions records cs for transaction txID and moves each lot's remainder by it
// (down for "consume", up for "restore"). The lots must already be locked.
func applyConsumptions(ctx context.Context, tx bun.IDB, txID int64, cs []LotConsumption) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]int64, len(cs))
	deltas := make([]int64, len(cs))
	for i := range cs {
		cs[i].TransactionID = txID
		ids[i] = cs[i].LotID
		deltas[i] = cs[i].Amount
		if cs[i].Kind == "consume" {
			deltas[i] = -cs[i].Amount
		}
	}
	if _, err := tx.NewInsert().Model(&cs).ExcludeColumn("id").Exec(ctx); err != nil {
		return fmt.Errorf("ledger: insert lot consumptions: %w", err)
	}
	_, err := db.PG(tx).Exec(ctx, `UPDATE lots SET remaining = remaining + d.delta
		FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta) WHERE lots.id = d.id`, ids, deltas)
	if err != nil {
		return fmt.Errorf("ledger: update lots: %w", err)
	}
	return nil
}

func updateBalances(ctx context.Context, tx bun.IDB, accountID int64, now time.Time, dAvail, dPending, dLifetime, dStatus int64) error {
	_, err := db.PG(tx).Exec(ctx, `UPDATE accounts SET available = available + $1, pending = pending + $2,
		lifetime_earned = lifetime_earned + $3, status_balance = status_balance + $4, updated_at = $5 WHERE id = $6`,
		dAvail, dPending, dLifetime, dStatus, now, accountID)
	if err != nil {
		if derr := constraintError(err); derr != nil {
			return derr
		}
		return fmt.Errorf("ledger: update balances: %w", err)
	}
	return nil
}

// SystemKeyPrefix starts the idempotency keys the ledger makes itself (reversals, expiries);
// keys given by callers may not start with it.
const SystemKeyPrefix = "@"

// CheckIdempotencyKey returns ErrInvalidIdempotencyKey unless key is 1..200 bytes and does not
// start with SystemKeyPrefix.
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > 200 {
		return fmt.Errorf("%w: must be 1 to 200 bytes", ErrInvalidIdempotencyKey)
	}
	if strings.HasPrefix(key, SystemKeyPrefix) {
		return fmt.Errorf("%w: keys starting with %q are reserved", ErrInvalidIdempotencyKey, SystemKeyPrefix)
	}
	return nil
}

func checkAmount(amount int64) error {
	if amount <= 0 || amount > MaxAmount {
		return fmt.Errorf("%w: %d is not between 1 and %d", ErrInvalidAmount, amount, MaxAmount)
	}
	return nil
}

// inputHash fingerprints a write's input, so a reused idempotency key can be told apart from a
// retry.
func inputHash(parts ...any) []byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return h.Sum(nil)
}

func timeKey(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
