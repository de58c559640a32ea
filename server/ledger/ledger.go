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
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/promogate/promogate/db"
)

// Ledger applies point transactions to PostgreSQL. It is safe for concurrent use.
type Ledger struct {
	db  *bun.DB
	now func() time.Time

	mu  sync.RWMutex
	sys map[int64]systemAccounts // programme id → its system accounts (immutable once created)
}

type systemAccounts struct {
	issuance, redemption, expiry, adjustment int64
}

// New returns a Ledger on bdb that reads the time from now (the core's clock).
func New(bdb *bun.DB, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{db: bdb, now: now, sys: map[int64]systemAccounts{}}
}

// DB returns the pool the ledger writes to.
func (l *Ledger) DB() *bun.DB { return l.db }

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
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx bun.Tx) (err error) {
		out, err = l.CreditTx(ctx, tx, in)
		return err
	})
	return out, err
}

// Debit takes points from a member in its own database transaction. See DebitTx.
func (l *Ledger) Debit(ctx context.Context, in DebitInput) (*Transaction, error) {
	var out *Transaction
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx bun.Tx) (err error) {
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
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx bun.Tx) (err error) {
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

// CreditTx gives points to a member inside tx: one transaction, one posting from the issuance
// (or adjustment) account, one lot. Errors: ErrInvalidAmount, ErrInvalidIdempotencyKey,
// ErrInvalidPeriod, ErrProgramNotFound, ErrMemberNotFound, ErrIdempotencyConflict. A retry with
// the same key and input returns the first transaction with Replayed set.
func (l *Ledger) CreditTx(ctx context.Context, tx bun.IDB, in CreditInput) (*Transaction, error) {
	if in.Kind == "" {
		in.Kind = KindEarn
	}
	if in.Kind != KindEarn && in.Kind != KindAdjust {
		return nil, fmt.Errorf("ledger: credit of kind %q", in.Kind)
	}
	if err := checkAmount(in.Amount); err != nil {
		return nil, err
	}
	if in.StatusPoints < 0 || in.StatusPoints > MaxAmount {
		return nil, fmt.Errorf("%w: status points must be between 0 and %d", ErrInvalidAmount, MaxAmount)
	}
	now := l.now().UTC()
	availableAt := now
	if in.AvailableAt != nil && in.AvailableAt.After(now) {
		availableAt = in.AvailableAt.UTC()
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(availableAt) {
		return nil, ErrInvalidPeriod
	}
	hash := inputHash("credit", in.Kind, in.MemberID, in.Amount, in.Reason, timeKey(in.AvailableAt), timeKey(in.ExpiresAt),
		in.StatusPoints, in.Origin.key())
	if prev, err := l.replay(ctx, tx, in.ProgramID, in.IdempotencyKey, hash); prev != nil || err != nil {
		return prev, err
	}
	acct, err := l.lockMemberAccount(ctx, tx, in.ProgramID, in.MemberID)
	if err != nil {
		return nil, err
	}
	sys, err := l.systemAccounts(ctx, tx, in.ProgramID)
	if err != nil {
		return nil, err
	}
	from := sys.issuance
	if in.Kind == KindAdjust {
		from = sys.adjustment
	}
	t := &Transaction{
		ProgramID: in.ProgramID, AccountID: acct.ID, MemberID: in.MemberID, Kind: in.Kind,
		Points: in.Amount, StatusPoints: in.StatusPoints, IdempotencyKey: in.IdempotencyKey, InputHash: hash,
		Reason: in.Reason, EventID: in.Origin.EventID, CampaignID: in.Origin.CampaignID,
		PluginVersion: in.Origin.PluginVersion, CreatedAt: now,
	}
	if err := insertTransaction(ctx, tx, t); err != nil {
		return nil, err
	}
	if err := insertPostings(ctx, tx, &Posting{TransactionID: t.ID, DebitAccountID: from, CreditAccountID: acct.ID, Amount: in.Amount}); err != nil {
		return nil, err
	}
	pending := availableAt.After(now)
	lot := &Lot{AccountID: acct.ID, TransactionID: t.ID, Amount: in.Amount, Remaining: in.Amount,
		AvailableAt: availableAt, ExpiresAt: utcPtr(in.ExpiresAt), Pending: pending, CreatedAt: now}
	if _, err := tx.NewInsert().Model(lot).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("ledger: insert lot: %w", err)
	}
	var dAvail, dPending int64
	if pending {
		dPending = in.Amount
	} else {
		dAvail = in.Amount
	}
	if err := updateBalances(ctx, tx, acct.ID, now, dAvail, dPending, in.Amount, in.StatusPoints); err != nil {
		return nil, err
	}
	return t, nil
}

// DebitTx takes points from a member inside tx, consuming available, unexpired lots
// oldest-expiry-first (lots that never expire last). Errors: ErrInsufficientPoints when the
// spendable points do not cover Amount (nothing is written), plus those of CreditTx.
func (l *Ledger) DebitTx(ctx context.Context, tx bun.IDB, in DebitInput) (*Transaction, error) {
	if in.Kind == "" {
		in.Kind = KindRedeem
	}
	if in.Kind != KindRedeem && in.Kind != KindAdjust {
		return nil, fmt.Errorf("ledger: debit of kind %q", in.Kind)
	}
	if err := checkAmount(in.Amount); err != nil {
		return nil, err
	}
	hash := inputHash("debit", in.Kind, in.MemberID, in.Amount, in.Reason, in.Origin.key())
	if prev, err := l.replay(ctx, tx, in.ProgramID, in.IdempotencyKey, hash); prev != nil || err != nil {
		return prev, err
	}
	acct, err := l.lockMemberAccount(ctx, tx, in.ProgramID, in.MemberID)
	if err != nil {
		return nil, err
	}
	now := l.now().UTC()
	if acct.Available < in.Amount {
		return nil, ErrInsufficientPoints
	}
	var lots []Lot
	err = tx.NewSelect().Model(&lots).
		Where("account_id = ? AND remaining > 0 AND NOT pending", acct.ID).
		Where("expires_at IS NULL OR expires_at > ?", now).
		OrderExpr("expires_at ASC NULLS LAST, id ASC").
		For("UPDATE").Scan(ctx)
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
		return nil, ErrInsufficientPoints
	}
	sys, err := l.systemAccounts(ctx, tx, in.ProgramID)
	if err != nil {
		return nil, err
	}
	to := sys.redemption
	if in.Kind == KindAdjust {
		to = sys.adjustment
	}
	t := &Transaction{
		ProgramID: in.ProgramID, AccountID: acct.ID, MemberID: in.MemberID, Kind: in.Kind,
		Points: -in.Amount, IdempotencyKey: in.IdempotencyKey, InputHash: hash, Reason: in.Reason,
		EventID: in.Origin.EventID, CampaignID: in.Origin.CampaignID, PluginVersion: in.Origin.PluginVersion, CreatedAt: now,
	}
	if err := insertTransaction(ctx, tx, t); err != nil {
		return nil, err
	}
	if err := insertPostings(ctx, tx, &Posting{TransactionID: t.ID, DebitAccountID: acct.ID, CreditAccountID: to, Amount: in.Amount}); err != nil {
		return nil, err
	}
	if err := applyConsumptions(ctx, tx, t.ID, take); err != nil {
		return nil, err
	}
	if err := updateBalances(ctx, tx, acct.ID, now, -in.Amount, 0, 0, 0); err != nil {
		return nil, err
	}
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
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrTransactionNotFound
		}
		return nil, fmt.Errorf("ledger: load transaction: %w", err)
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
		return t, l.reverseSpend(ctx, tx, &orig, t, acct, sys, now)
	}
	return t, l.reverseCredit(ctx, tx, &orig, t, acct, sys, now)
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
		if err := tx.NewSelect().Model(&locked).Column("id").Where("id IN (?)", bun.In(lotIDs)).
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

// replay looks up a transaction by idempotency key. It returns (nil, nil) when the key is new,
// the earlier transaction when the input matches, and ErrIdempotencyConflict otherwise.
func (l *Ledger) replay(ctx context.Context, tx bun.IDB, programID int64, key string, hash []byte) (*Transaction, error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return nil, err
	}
	var prev Transaction
	err := tx.NewSelect().Model(&prev).Where("program_id = ? AND idempotency_key = ?", programID, key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: look up idempotency key: %w", err)
	}
	if string(prev.InputHash) != string(hash) {
		return nil, ErrIdempotencyConflict
	}
	prev.Replayed = true
	return &prev, nil
}

// LockAccountTx returns the member's account in the programme locked FOR UPDATE inside tx,
// creating it first when the member has none. Callers that must serialise with every ledger
// write on the account (e.g. an order checking limits before it debits) take this lock first;
// the ledger's own writes in the same transaction then find it held. Errors:
// ErrProgramNotFound, ErrMemberNotFound.
func (l *Ledger) LockAccountTx(ctx context.Context, tx bun.IDB, programID, memberID int64) (*Account, error) {
	return l.lockMemberAccount(ctx, tx, programID, memberID)
}

// lockMemberAccount returns the member's account in the programme, locked FOR UPDATE, creating
// it first (in its own statement, so a concurrent first use cannot read "no row").
func (l *Ledger) lockMemberAccount(ctx context.Context, tx bun.IDB, programID, memberID int64) (*Account, error) {
	now := l.now().UTC()
	_, err := tx.NewRaw(`INSERT INTO accounts (program_id, member_id, kind, created_at, updated_at)
		VALUES (?, ?, 'member', ?, ?) ON CONFLICT (program_id, member_id) WHERE member_id IS NOT NULL DO NOTHING`,
		programID, memberID, now, now).Exec(ctx)
	if err != nil {
		switch c := db.Constraint(err); c {
		case "accounts_program_id_fkey":
			return nil, ErrProgramNotFound
		case "accounts_member_id_fkey":
			return nil, ErrMemberNotFound
		}
		return nil, fmt.Errorf("ledger: create account: %w", err)
	}
	var acct Account
	if err := tx.NewSelect().Model(&acct).Where("program_id = ? AND member_id = ?", programID, memberID).For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("ledger: lock account: %w", err)
	}
	return &acct, nil
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
		switch db.Constraint(err) {
		case "transactions_idempotency_key":
			return idempotencyRace{err}
		case "transactions_one_reversal":
			return ErrAlreadyReversed
		case "transactions_idempotency_key_length":
			return ErrInvalidIdempotencyKey
		}
		return fmt.Errorf("ledger: insert transaction: %w", err)
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
	_, err := tx.NewRaw(`UPDATE lots SET remaining = remaining + d.delta
		FROM unnest(?::bigint[], ?::bigint[]) AS d(id, delta) WHERE lots.id = d.id`,
		pgdialect.Array(ids), pgdialect.Array(deltas)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("ledger: update lots: %w", err)
	}
	return nil
}

func updateBalances(ctx context.Context, tx bun.IDB, accountID int64, now time.Time, dAvail, dPending, dLifetime, dStatus int64) error {
	_, err := tx.NewRaw(`UPDATE accounts SET available = available + ?, pending = pending + ?,
		lifetime_earned = lifetime_earned + ?, status_balance = status_balance + ?, updated_at = ? WHERE id = ?`,
		dAvail, dPending, dLifetime, dStatus, now, accountID).Exec(ctx)
	if err != nil {
		if c := db.Constraint(err); c == "accounts_available_nonnegative" || c == "accounts_pending_nonnegative" {
			return ErrInsufficientPoints
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

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
