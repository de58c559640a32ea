package rewards

import (
	"context"
	"fmt"
	"strings"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
)

// ReverseInput is an operator's reversal of an order.
type ReverseInput struct {
	OrderID int64
	// Reason is required (1 to 500 bytes) and stored on the order.
	Reason string
	// By names the operator (the audit actor, e.g. "apikey:3:backoffice").
	By string
}

// Reverse undoes an order for an operator (members cannot cancel orders), in one database
// transaction: the ledger debit is reversed (restoring exactly the lots it consumed), the
// order's benefits end with reason "cancelled", the stock it took is put back, and the order
// records who reversed it, when and why. Promo codes handed out stay with the order: they were
// shown to the member and cannot be handed out again. Errors: ErrOrderNotFound,
// ErrAlreadyReversed, ErrInvalid.
func (s *Service) Reverse(ctx context.Context, in ReverseInput) (*Order, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || len(in.Reason) > 500 {
		return nil, invalid("reason must be 1 to 500 bytes")
	}
	if in.By == "" {
		in.By = "unknown"
	}
	err := db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		var o Order
		if err := tx.NewSelect().Model(&o).Where("o.id = ?", in.OrderID).For("UPDATE").Scan(ctx); err != nil {
			return db.Resolve(err, ErrOrderNotFound)
		}
		if o.Status == StatusReversed {
			return ErrAlreadyReversed
		}
		now := s.now().UTC()
		if o.TransactionID != nil {
			t, err := s.ledger.ReverseTx(ctx, tx, *o.TransactionID, fmt.Sprintf("reversal of reward order %d: %s", o.ID, in.Reason))
			if err != nil {
				return err
			}
			o.ReversalTransactionID = &t.ID
		}
		var lines []OrderLine
		if err := tx.NewSelect().Model(&lines).Where("l.order_id = ?", o.ID).OrderExpr("l.line").Scan(ctx); err != nil {
			return fmt.Errorf("rewards: order lines: %w", err)
		}
		units := map[int64]int64{}
		for _, l := range lines {
			units[l.RewardID]++
			if l.BenefitID == nil {
				continue
			}
			var b benefits.Benefit
			if err := tx.NewSelect().Model(&b).Where("id = ?", *l.BenefitID).Scan(ctx); err != nil {
				return fmt.Errorf("rewards: order benefit: %w", err)
			}
			if _, err := benefits.End(ctx, tx, benefits.Target{MemberID: o.MemberID, CampaignID: b.CampaignID, ProgramID: o.ProgramID},
				b.Key, "cancelled", nil, now); err != nil {
				return err
			}
		}
		for _, id := range uniqueIDs(keys(units)) {
			if _, err := db.PG(tx).Exec(ctx, `UPDATE rewards SET stock = stock + $1 WHERE id = $2 AND stock IS NOT NULL`, units[id], id); err != nil {
				return fmt.Errorf("rewards: restore stock: %w", err)
			}
		}
		o.Status, o.ReversedAt, o.ReversedBy, o.ReversalReason = StatusReversed, &now, &in.By, &in.Reason
		_, err := tx.NewUpdate().Model(&o).Column("status", "reversed_at", "reversed_by", "reversal_reason", "reversal_transaction_id").
			WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Order(ctx, in.OrderID)
}

func keys(m map[int64]int64) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
