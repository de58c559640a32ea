package benefits

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/promogate/promogate/db"
)

// Fulfilment states of a physical gift (Benefit.Fulfillment; empty for other benefits).
const (
	// ToDeliver is a granted gift waiting to be handed over.
	ToDeliver = "to_deliver"
	// Delivered is a gift handed over to its recipient.
	Delivered = "delivered"
	// Cancelled is a gift that will not be handed over; it cannot be delivered afterwards.
	Cancelled = "cancelled"
)

var fulfillmentStates = map[string]bool{ToDeliver: true, Delivered: true, Cancelled: true}

// fulfillmentMoves lists the legal changes of a gift's fulfilment status. Delivered goes back to
// to_deliver to correct a gift marked delivered by mistake; cancelled is final.
var fulfillmentMoves = map[string][]string{
	ToDeliver: {Delivered, Cancelled},
	Delivered: {ToDeliver},
}

// MaxFulfillmentNote is the longest note a fulfilment change keeps, in bytes.
const MaxFulfillmentNote = 1000

// Errors of SetFulfillment.
var (
	// ErrNoBenefit means no benefit has the id.
	ErrNoBenefit = db.NotFound("benefit not found")
	// ErrFulfillmentTransition means the gift cannot move from its fulfilment status to the
	// requested one (a cancelled gift cannot be delivered).
	ErrFulfillmentTransition = errors.New("illegal fulfilment status change")
)

// FulfillmentChange is a request to change a gift's fulfilment status.
type FulfillmentChange struct {
	BenefitID int64
	// Status is ToDeliver, Delivered or Cancelled.
	Status string
	// Note is kept with the change (at most MaxFulfillmentNote bytes).
	Note string
	// Actor names who asks, as the audit log does (e.g. "apikey:3:console").
	Actor string
}

// SetFulfillment moves a physical gift to another fulfilment status and records who did it,
// when, and their note, under the benefit's row lock. Asking for the status the gift already has
// changes nothing (a retried call is safe) and reports changed false. Errors: ErrNoBenefit,
// ErrInvalid (not a physical gift, an unknown status, a note too long), ErrFulfillmentTransition.
func (s *Store) SetFulfillment(ctx context.Context, in FulfillmentChange, now time.Time) (b *Benefit, changed bool, err error) {
	if !fulfillmentStates[in.Status] {
		return nil, false, fmt.Errorf("%w: status %q is not one of to_deliver, delivered, cancelled", ErrInvalid, in.Status)
	}
	if len(in.Note) > MaxFulfillmentNote || !utf8.ValidString(in.Note) {
		return nil, false, fmt.Errorf("%w: note must be UTF-8 text of at most %d bytes", ErrInvalid, MaxFulfillmentNote)
	}
	err = db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		var cur Benefit
		if err := tx.NewSelect().Model(&cur).Where("id = ?", in.BenefitID).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("%w: id %d", db.Resolve(err, ErrNoBenefit), in.BenefitID)
		}
		b = &cur
		if cur.Fulfillment == "" {
			return fmt.Errorf("%w: benefit %d is a %s, not a physical gift to deliver", ErrInvalid, cur.ID, cur.Kind)
		}
		if cur.Fulfillment == in.Status {
			return nil
		}
		legal := false
		for _, to := range fulfillmentMoves[cur.Fulfillment] {
			legal = legal || to == in.Status
		}
		if !legal {
			return fmt.Errorf("%w: gift %d is %s and cannot become %s", ErrFulfillmentTransition, cur.ID, cur.Fulfillment, in.Status)
		}
		at := now.UTC().Truncate(time.Microsecond) // as PostgreSQL keeps it
		cur.Fulfillment, cur.FulfillmentChangedAt, cur.FulfillmentChangedBy, cur.FulfillmentNote = in.Status, &at, in.Actor, in.Note
		cur.UpdatedAt = at
		if _, err := tx.NewUpdate().Model(&cur).
			Column("fulfillment", "fulfillment_changed_at", "fulfillment_changed_by", "fulfillment_note", "updated_at").
			WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("benefits: set fulfilment: %w", err)
		}
		changed = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return b, changed, nil
}

// Get returns benefit id, or ErrNoBenefit.
func (s *Store) Get(ctx context.Context, id int64) (*Benefit, error) {
	var b Benefit
	if err := s.db.NewSelect().Model(&b).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%w: id %d", db.Resolve(err, ErrNoBenefit), id)
	}
	return &b, nil
}
