package rewards

import (
	"errors"
	"fmt"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/ledger"
)

// Errors returned by the service. Refusals of an order are not errors: see Rejection.
var (
	// ErrNotFound means no reward matches.
	ErrNotFound = db.NotFound("reward not found")
	// ErrOrderNotFound means no redemption order matches.
	ErrOrderNotFound = db.NotFound("redemption not found")
	// ErrInvalid means an input field is unacceptable; the message names it.
	ErrInvalid = errors.New("invalid reward input")
	// ErrExists means the programme already has a reward with that code.
	ErrExists = errors.New("reward code already exists in the programme")
	// ErrAlreadyReversed means the order was reversed before.
	ErrAlreadyReversed = errors.New("redemption already reversed")
	// ErrIdempotencyConflict means the order's idempotency key was used before by the member
	// with other rewards. It matches ledger.ErrIdempotencyConflict with errors.Is.
	ErrIdempotencyConflict = fmt.Errorf("redemption: %w", ledger.ErrIdempotencyConflict)
	// ErrPointsOutOfRange means the points an order is to be paid with are negative, more than
	// its quotes let points pay, or more than the member's available points; the message says
	// which bound.
	ErrPointsOutOfRange = errors.New("points out of range")
	// ErrKindForbidden means the programme of the reward's campaign forbids rewards of its
	// category (sdk.Description.ForbiddenRewardKinds); the message names the field.
	ErrKindForbidden = errors.New("reward kind forbidden")
	// ErrRateLimited means a Limiter refused an attempt; see *RateLimitError for when to retry.
	ErrRateLimited = errors.New("too many attempts")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
