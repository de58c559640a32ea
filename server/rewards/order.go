package rewards

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/pluginhost"
)

// Order statuses.
const (
	StatusCompleted = "completed"
	StatusReversed  = "reversed"
)

// Order is a redemption: one order of one or several rewards, paid with one ledger debit.
type Order struct {
	bun.BaseModel `bun:"table:reward_orders,alias:o"`

	ID             int64  `bun:"id,pk,autoincrement"`
	ProgramID      int64  `bun:"program_id"`
	MemberID       int64  `bun:"member_id"`
	IdempotencyKey string `bun:"idempotency_key"`
	InputHash      []byte `bun:"input_hash"`
	// Points is what the order took from the member's balance: the sum of its lines' points.
	Points int64 `bun:"points"`
	// ListTotal is the sum of the lines' catalogue prices.
	ListTotal int64 `bun:"list_total"`
	// PriceTotal is the sum of the quoted prices (after plugin discounts).
	PriceTotal int64 `bun:"price_total"`
	// MoneyDue is PriceTotal − Points, in points: the part a plugin's cap, or the caller's
	// choice of fewer points, leaves to be paid otherwise (in money).
	MoneyDue int64 `bun:"money_due"`
	// TransactionID is the ledger debit; nil when the order took no points.
	TransactionID *int64    `bun:"transaction_id"`
	Status        string    `bun:"status"`
	CreatedAt     time.Time `bun:"created_at"`
	// The operator reversal: when, by whom, why, and the ledger transaction that gave the points
	// back.
	ReversedAt            *time.Time `bun:"reversed_at"`
	ReversedBy            *string    `bun:"reversed_by"`
	ReversalReason        *string    `bun:"reversal_reason"`
	ReversalTransactionID *int64     `bun:"reversal_transaction_id"`

	Lines []OrderLine `bun:"-"`
}

// Reversal describes an operator reversal of an order.
type Reversal struct {
	At            time.Time
	By            string
	Reason        string
	TransactionID *int64
}

// Reversal returns the order's reversal, or nil when it stands.
func (o *Order) Reversal() *Reversal {
	if o.ReversedAt == nil {
		return nil
	}
	r := &Reversal{At: *o.ReversedAt, TransactionID: o.ReversalTransactionID}
	if o.ReversedBy != nil {
		r.By = *o.ReversedBy
	}
	if o.ReversalReason != nil {
		r.Reason = *o.ReversalReason
	}
	return r
}

// OrderLine is one unit of one reward in an order, with the quote it was bought at and what the
// member received.
type OrderLine struct {
	bun.BaseModel `bun:"table:reward_order_lines,alias:l"`

	ID int64 `bun:"id,pk,autoincrement"`
	// OrderID and Line (1, 2, …) identify the line.
	OrderID          int64               `bun:"order_id"`
	Line             int                 `bun:"line"`
	MemberID         int64               `bun:"member_id"`
	RewardID         int64               `bun:"reward_id"`
	ListPrice        int64               `bun:"list_price"`
	Price            int64               `bun:"price"`
	MaxPointsPayable *int64              `bun:"max_points_payable"`
	Points           int64               `bun:"points"`
	MoneyDue         int64               `bun:"money_due"`
	Reasons          []pluginhost.Reason `bun:"reasons,type:jsonb"`
	// BenefitID is the benefit granted for the line (rewards bound to a campaign).
	BenefitID *int64 `bun:"benefit_id"`
	// Code is the promo code handed out from the reward's pool.
	Code       *string    `bun:"code"`
	ValidFrom  *time.Time `bun:"valid_from"`
	ValidUntil *time.Time `bun:"valid_until"`

	Reward  *Reward           `bun:"-"`
	Benefit *benefits.Benefit `bun:"-"`
}

// Quote returns the quote the line was bought at. Its Points are what the quote allowed (the
// price, or the cap when lower); the line's own Points are what the order paid, which is less
// when the caller chose to pay with fewer points.
func (l *OrderLine) Quote() *Quote {
	reasons := l.Reasons
	if reasons == nil {
		reasons = []pluginhost.Reason{}
	}
	points := l.Price
	if l.MaxPointsPayable != nil && *l.MaxPointsPayable < points {
		points = *l.MaxPointsPayable
	}
	return &Quote{Reward: l.Reward, ListPrice: l.ListPrice, Price: l.Price, MaxPointsPayable: l.MaxPointsPayable,
		Points: points, MoneyDue: l.Price - points, Allowed: true, Reasons: reasons}
}

// Order returns order id with its lines, or ErrOrderNotFound.
func (s *Service) Order(ctx context.Context, id int64) (*Order, error) {
	var o Order
	if err := s.db.NewSelect().Model(&o).Where("o.id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrOrderNotFound)
	}
	os := []Order{o}
	if err := s.attachLines(ctx, os); err != nil {
		return nil, err
	}
	return &os[0], nil
}

// MemberOrders returns a page of the member's orders, newest first: ids below beforeID (when
// not 0), at most limit, and whether more follow.
func (s *Service) MemberOrders(ctx context.Context, memberID, beforeID int64, limit int) ([]Order, bool, error) {
	var os []Order
	q := s.db.NewSelect().Model(&os).Where("o.member_id = ?", memberID).OrderExpr("o.id DESC").Limit(limit + 1)
	if beforeID != 0 {
		q = q.Where("o.id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("rewards: orders: %w", err)
	}
	more := len(os) > limit
	if more {
		os = os[:limit]
	}
	if err := s.attachLines(ctx, os); err != nil {
		return nil, false, err
	}
	return os, more, nil
}

// attachLines loads the orders' lines with their rewards and benefits, in three queries.
func (s *Service) attachLines(ctx context.Context, os []Order) error {
	if len(os) == 0 {
		return nil
	}
	ids := make([]int64, len(os))
	for i := range os {
		ids[i] = os[i].ID
		os[i].Lines = []OrderLine{}
	}
	var lines []OrderLine
	if err := s.db.NewSelect().Model(&lines).Where("l.order_id IN (?)", bun.List(ids)).OrderExpr("l.order_id, l.line").Scan(ctx); err != nil {
		return fmt.Errorf("rewards: order lines: %w", err)
	}
	var rewardIDs, benefitIDs []int64
	for _, l := range lines {
		rewardIDs = append(rewardIDs, l.RewardID)
		if l.BenefitID != nil {
			benefitIDs = append(benefitIDs, *l.BenefitID)
		}
	}
	rs, err := s.GetMany(ctx, rewardIDs)
	if err != nil {
		return err
	}
	bs := map[int64]*benefits.Benefit{}
	if len(benefitIDs) > 0 {
		var rows []benefits.Benefit
		if err := s.db.NewSelect().Model(&rows).Where("id IN (?)", bun.List(benefitIDs)).Scan(ctx); err != nil {
			return fmt.Errorf("rewards: order benefits: %w", err)
		}
		for i := range rows {
			bs[rows[i].ID] = &rows[i]
		}
	}
	byID := map[int64]*Order{}
	for i := range os {
		byID[os[i].ID] = &os[i]
	}
	for _, l := range lines {
		l.Reward = rs[l.RewardID]
		if l.BenefitID != nil {
			l.Benefit = bs[*l.BenefitID]
		}
		o := byID[l.OrderID]
		o.Lines = append(o.Lines, l)
	}
	return nil
}
