package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

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
	err := db.RunInTx(ctx, l.db, func(ctx context.Context, tx bun.Tx) error {
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
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrProgramNotFound
		}
		return nil, err
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
	err := l.db.NewSelect().Model(&ps).Where("id IN (?)", bun.In(ids)).Scan(ctx)
	return ps, err
}

// Balances returns the member's balance in every programme it has an account in, ordered by
// programme id, for the given members. The result maps member id to balances.
func (l *Ledger) Balances(ctx context.Context, memberIDs []int64) (map[int64][]Balance, error) {
	out := make(map[int64][]Balance, len(memberIDs))
	if len(memberIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ProgramID      int64
		MemberID       int64
		Available      int64
		Pending        int64
		LifetimeEarned int64
		StatusBalance  int64
		NextAt         *time.Time
		NextAmount     *int64
	}
	err := l.db.NewRaw(`
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
		WHERE a.member_id IN (?)
		ORDER BY a.member_id, a.program_id`, bun.In(memberIDs)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	for _, r := range rows {
		b := Balance{ProgramID: r.ProgramID, MemberID: r.MemberID, Available: r.Available, Pending: r.Pending,
			LifetimeEarned: r.LifetimeEarned, StatusBalance: r.StatusBalance}
		if r.NextAt != nil && r.NextAmount != nil {
			b.NextExpiration = &Expiration{Amount: *r.NextAmount, At: r.NextAt.UTC()}
		}
		out[r.MemberID] = append(out[r.MemberID], b)
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
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrTransactionNotFound
		}
		return nil, err
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

// Transactions returns up to p.Limit transactions and whether more follow.
func (l *Ledger) Transactions(ctx context.Context, p TransactionPage) ([]Transaction, bool, error) {
	var ts []Transaction
	q := l.db.NewSelect().Model(&ts).Where("member_id = ?", p.MemberID).OrderExpr("id DESC").Limit(p.Limit + 1)
	if p.ProgramID != 0 {
		q = q.Where("program_id = ?", p.ProgramID)
	}
	if p.BeforeID != 0 {
		q = q.Where("id < ?", p.BeforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("ledger: transactions: %w", err)
	}
	more := len(ts) > p.Limit
	if more {
		ts = ts[:p.Limit]
	}
	return ts, more, nil
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
