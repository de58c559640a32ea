package ledger

import (
	"errors"

	"github.com/promogate/promogate/db"
)

// Domain errors returned by the ledger. Callers match them with errors.Is.
var (
	// ErrInsufficientPoints means the member's available balance does not cover a debit.
	ErrInsufficientPoints = errors.New("insufficient points")
	// ErrIdempotencyConflict means the idempotency key was used before with other input.
	ErrIdempotencyConflict = errors.New("idempotency key reused with different input")
	// ErrAlreadyReversed means the transaction has already been reversed.
	ErrAlreadyReversed = errors.New("transaction already reversed")
	// ErrNotReversible means the transaction is of a kind that cannot be reversed (a reversal
	// or an expiry).
	ErrNotReversible = errors.New("transaction cannot be reversed")
	// ErrTransactionNotFound means no transaction has the given id.
	ErrTransactionNotFound = db.NotFound("transaction not found")
	// ErrProgramNotFound means no programme has the given id or code.
	ErrProgramNotFound = db.NotFound("program not found")
	// ErrMemberNotFound means no member has the given id.
	ErrMemberNotFound = db.NotFound("member not found")
	// ErrInvalidAmount means an amount is zero, negative where it must be positive, or above
	// MaxAmount.
	ErrInvalidAmount = errors.New("invalid amount")
	// ErrInvalidIdempotencyKey means the idempotency key is empty or longer than 200 bytes.
	ErrInvalidIdempotencyKey = errors.New("invalid idempotency key")
	// ErrInvalidPeriod means expires-at is not after available-at.
	ErrInvalidPeriod = errors.New("expiry must be after availability")
)
