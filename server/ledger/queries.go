package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// ErrInvalidProgram means a programme's code or name is not acceptable.
var ErrInvalidProgram = errors.New("invalid program")

// ErrProgramExists means a programme with that code already exists.
var ErrProgramExists = errors.New("program already exists")

var programCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CreateProgram creates a programme with its system accounts. Errors: ErrInvalidProgram,
// ErrProgramExists.
func (l *Ledger) CreateProgram(ctx context.Context, code, name, description string) (*Program, error) {
	if !programCode.MatchString(code) {
		return nil, fmt.Errorf("%w: code must match %s", ErrInvalidProgram, programCode)
	}
	if name == "" || len(name) > 200 {
		return nil, fmt.Errorf("%w: name must be 1 to 200 bytes", ErrInvalidProgram)
	}
	p := &Program{Code: code, Name: name, Description: description, CreatedAt: l.now().UTC()}
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx db.Tx) error {
		if _, err := tx.NewInsert().Model(p).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
			if db.Constraint(err) == "programs_code_key" {
				return ErrProgramExists
			}
			return fmt.Errorf("ledger: insert program: %w", err)
		}
		for _, kind := range systemAccountKinds {
			a := &Account{ProgramID: p.ID, Kind: kind, CreatedAt: p.CreatedAt, UpdatedAt: p.CreatedAt}
			if _, err := tx.NewInsert().Model(a).ExcludeColumn("id").Exec(ctx); err != nil {
				return fmt.Errorf("ledger: insert system account: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Program returns the programme with the given id, or ErrProgramNotFound.
func (l *Ledger) Program(ctx context.Context, id int64) (*Program, error) {
	return l.program(ctx, "id = ?", id)
}

// ProgramByCode returns the programme with the given code, or ErrProgramNotFound.
func (l *Ledger) ProgramByCode(ctx context.Context, code string) (*Program, error) {
	return l.program(ctx, "code = ?", code)
}

func (l *Ledger) program(ctx context.Context, where string, arg any) (*Program, error) {
	var p Program
	if err := l.db.NewSelect().Model(&p).Where(where, arg).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrProgramNotFound)
	}
	return &p, nil
}

// Programs returns every programme ordered by code.
func (l *Ledger) Programs(ctx context.Context) ([]Program, error) {
	var ps []Program
	err := l.db.NewSelect().Model(&ps).Order("code").Scan(ctx)
	return ps, err
}

// ProgramsByIDs returns the programmes with the given ids, in no particular order.
func (l *Ledger) ProgramsByIDs(ctx context.Context, ids []int64) ([]Program, error) {
	var ps []Program
	err := l.db.NewSelect().Model(&ps).Where("id IN (?)", bun.List(ids)).Scan(ctx)
	return ps, err
}

// balancesQuery reads members' balances with their next expiration (see Balances).
const balancesQuery = `
		SELECT a.program_id, a.member_id, a.available, a.pending, a.lifetime_earned, a.status_balance,
		       nx.at AS next_at, nx.amount AS next_amount
		FROM accounts a
		LEFT JOIN LATERAL (
			SELECT l.expires_at AS at, sum(l.remaining)::bigint AS amount
			FROM lots l
			WHERE l.account_id = a.id AND l.remaining > 0 AND l.expires_at IS NOT NULL
			  AND l.expires_at = (SELECT min(l2.expires_at) FROM lots l2
			                      WHERE l2.account_id = a.id AND l2.remaining > 0 AND l2.expires_at IS NOT NULL)
			GROUP BY l.expires_at
		) nx ON true
		WHERE a.member_id = ANY($1::bigint[])
		ORDER BY a.member_id, a.program_id`

// Balances returns the member's balance in every programme it has an account in, ordered by
// programme id, for the given members. The result maps member id to balances.
func (l *Ledger) Balances(ctx context.Context, memberIDs []int64) (map[int64][]Balance, error) {
	out := make(map[int64][]Balance, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	rows, err := db.PG(l.db).Query(ctx, balancesQuery, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Balance
		var nextAt *time.Time
		var nextAmount *int64
		if err := rows.Scan(&b.ProgramID, &b.MemberID, &b.Available, &b.Pending, &b.LifetimeEarned, &b.StatusBalance,
			&nextAt, &nextAmount); err != nil {
			return nil, fmt.Errorf("ledger: balances: %w", err)
		}
		if nextAt != nil && nextAmount != nil {
			b.NextExpiration = &Expiration{Amount: *nextAmount, At: nextAt.UTC()}
		}
		out[b.MemberID] = append(out[b.MemberID], b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	return out, nil
}

// Balance returns one member's balance in one programme; a member without an account there
// has a zero balance.
func (l *Ledger) Balance(ctx context.Context, programID, memberID int64) (Balance, error) {
	all, err := l.Balances(ctx, []int64{memberID})
	if err != nil {
		return Balance{}, err
	}
	for _, b := range all[memberID] {
		if b.ProgramID == programID {
			return b, nil
		}
	}
	return Balance{ProgramID: programID, MemberID: memberID}, nil
}

// Transaction returns the transaction with the given id, or ErrTransactionNotFound.
func (l *Ledger) Transaction(ctx context.Context, id int64) (*Transaction, error) {
	var t Transaction
	if err := l.db.NewSelect().Model(&t).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrTransactionNotFound)
	}
	return &t, nil
}

// TransactionPage selects a page of a member's transactions, newest first.
type TransactionPage struct {
	MemberID int64
	// ProgramID limits the page to one programme when non-zero.
	ProgramID int64
	// BeforeID returns transactions with ids below it when non-zero (the cursor).
	BeforeID int64
	// Limit is the page size; one more row is read to tell whether there is a next page.
	Limit int
}

// transactionsQuery reads a page of a member's transactions, newest first: $1 the member, $2
// the cursor (ids below it; both in the index scan of transactions_member), $3 the programme
// (0: all), $4 the number of rows.
const transactionsQuery = `SELECT ` + transactionColumns + ` FROM transactions
	WHERE member_id = $1 AND id < $2 AND ($3::bigint = 0 OR program_id = $3) ORDER BY id DESC LIMIT $4`

// scanTransaction reads one row of transactionColumns.
func scanTransaction(rows pgx.Rows, t *Transaction) error {
	var kind string
	if err := rows.Scan(&t.ID, &t.ProgramID, &t.AccountID, &t.MemberID, &kind, &t.Points, &t.StatusPoints,
		&t.IdempotencyKey, &t.InputHash, &t.Reason, &t.ReversesID, &t.EventID, &t.CampaignID, &t.PluginVersion,
		&t.CreatedAt); err != nil {
		return err
	}
	t.Kind = Kind(kind)
	return nil
}

// Transactions returns up to p.Limit transactions and whether more follow.
func (l *Ledger) Transactions(ctx context.Context, p TransactionPage) ([]Transaction, bool, error) {
	before := p.BeforeID
	if before == 0 {
		before = math.MaxInt64
	}
	rows, err := db.PG(l.db).Query(ctx, transactionsQuery, p.MemberID, before, p.ProgramID, p.Limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("ledger: transactions: %w", err)
	}
	defer rows.Close()
	ts := make([]Transaction, 0, p.Limit+1)
	for rows.Next() {
		ts = append(ts, Transaction{})
		if err := scanTransaction(rows, &ts[len(ts)-1]); err != nil {
			return nil, false, fmt.Errorf("ledger: transactions: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("ledger: transactions: %w", err)
	}
	more := len(ts) > p.Limit
	if more {
		ts = ts[:p.Limit]
	}
	return ts, more, nil
}

// TransactionsByIDs returns the transactions with the given ids, keyed by id; missing ids are
// absent.
func (l *Ledger) TransactionsByIDs(ctx context.Context, ids []int64) (map[int64]*Transaction, error) {
	var ts []Transaction
	if err := l.db.NewSelect().Model(&ts).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]*Transaction, len(ts))
	for i := range ts {
		out[ts[i].ID] = &ts[i]
	}
	return out, nil
}

// ReversalsOf returns the transactions that reversed the given ones, keyed by the id of the
// transaction reversed; one that was not reversed is absent.
func (l *Ledger) ReversalsOf(ctx context.Context, ids []int64) (map[int64]*Transaction, error) {
	var ts []Transaction
	if err := l.db.NewSelect().Model(&ts).Where("reverses_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]*Transaction, len(ts))
	for i := range ts {
		out[*ts[i].ReversesID] = &ts[i]
	}
	return out, nil
}

// ReversalOf returns the transaction that reversed id, or nil.
func (l *Ledger) ReversalOf(ctx context.Context, id int64) (*Transaction, error) {
	var t Transaction
	err := l.db.NewSelect().Model(&t).Where("reverses_id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}
