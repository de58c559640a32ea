package ledger

import (
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Kind is the business kind of a ledger transaction.
type Kind string

// Transaction kinds.
const (
	KindEarn    Kind = "earn"
	KindRedeem  Kind = "redeem"
	KindExpire  Kind = "expire"
	KindAdjust  Kind = "adjust"
	KindReverse Kind = "reverse"
)

// MaxAmount is the largest number of points one transaction may move.
const MaxAmount int64 = 1_000_000_000_000

// System account kinds, one account of each per programme.
const (
	accountMember     = "member"
	accountIssuance   = "issuance"
	accountRedemption = "redemption"
	accountExpiry     = "expiry"
	accountAdjustment = "adjustment"
)

var systemAccountKinds = []string{accountIssuance, accountRedemption, accountExpiry, accountAdjustment}

// Program is a loyalty programme: the unit that owns accounts, and whose postings sum to zero.
type Program struct {
	bun.BaseModel `bun:"table:programs"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Code        string    `bun:"code"`
	Name        string    `bun:"name"`
	Description string    `bun:"description"`
	CreatedAt   time.Time `bun:"created_at"`
}

// Account is a member's or a system account in one programme. Balance columns are kept on
// member accounts only.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID             int64     `bun:"id,pk,autoincrement"`
	ProgramID      int64     `bun:"program_id"`
	MemberID       *int64    `bun:"member_id"`
	Kind           string    `bun:"kind"`
	Available      int64     `bun:"available"`
	Pending        int64     `bun:"pending"`
	LifetimeEarned int64     `bun:"lifetime_earned"`
	StatusBalance  int64     `bun:"status_balance"`
	CreatedAt      time.Time `bun:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at"`
}

// Transaction is one business operation on a member's points. Points is the signed change to
// the member's balance (available plus pending).
type Transaction struct {
	bun.BaseModel `bun:"table:transactions"`

	ID             int64     `bun:"id,pk,autoincrement"`
	ProgramID      int64     `bun:"program_id"`
	AccountID      int64     `bun:"account_id"`
	MemberID       int64     `bun:"member_id"`
	Kind           Kind      `bun:"kind"`
	Points         int64     `bun:"points"`
	StatusPoints   int64     `bun:"status_points"`
	IdempotencyKey string    `bun:"idempotency_key"`
	InputHash      []byte    `bun:"input_hash"`
	Reason         string    `bun:"reason"`
	ReversesID     *int64    `bun:"reverses_id"`
	EventID        *int64    `bun:"event_id"`
	CampaignID     *int64    `bun:"campaign_id"`
	PluginVersion  string    `bun:"plugin_version"`
	CreatedAt      time.Time `bun:"created_at"`

	// Replayed is true when the transaction was found by its idempotency key rather than
	// written by this call.
	Replayed bool `bun:"-"`
}

// Posting moves Amount from the debit account to the credit account.
type Posting struct {
	bun.BaseModel `bun:"table:postings"`

	ID              int64 `bun:"id,pk,autoincrement"`
	TransactionID   int64 `bun:"transaction_id"`
	DebitAccountID  int64 `bun:"debit_account_id"`
	CreditAccountID int64 `bun:"credit_account_id"`
	Amount          int64 `bun:"amount"`
}

// Lot is the remainder of one credit to a member account.
type Lot struct {
	bun.BaseModel `bun:"table:lots"`

	ID            int64      `bun:"id,pk,autoincrement"`
	AccountID     int64      `bun:"account_id"`
	TransactionID int64      `bun:"transaction_id"`
	Amount        int64      `bun:"amount"`
	Remaining     int64      `bun:"remaining"`
	AvailableAt   time.Time  `bun:"available_at"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	Pending       bool       `bun:"pending"`
	CreatedAt     time.Time  `bun:"created_at"`
}

// LotConsumption records points a transaction took from a lot (Kind "consume") or gave back to
// it (Kind "restore").
type LotConsumption struct {
	bun.BaseModel `bun:"table:lot_consumptions"`

	ID            int64  `bun:"id,pk,autoincrement"`
	TransactionID int64  `bun:"transaction_id"`
	LotID         int64  `bun:"lot_id"`
	Kind          string `bun:"kind"`
	Amount        int64  `bun:"amount"`
}

// Origin says what caused a transaction: the inbound event, and the campaign and plugin
// version that decided it. All fields are optional.
type Origin struct {
	EventID       *int64
	CampaignID    *int64
	PluginVersion string
}

func (o Origin) key() string {
	return fmt.Sprintf("%s/%s/%s", idKey(o.EventID), idKey(o.CampaignID), o.PluginVersion)
}

func idKey(id *int64) string {
	if id == nil {
		return "-"
	}
	return fmt.Sprint(*id)
}

// Balance is a member's balance in one programme.
type Balance struct {
	ProgramID      int64
	MemberID       int64
	Available      int64
	Pending        int64
	LifetimeEarned int64
	StatusBalance  int64
	// NextExpiration is the earliest future expiry with the points it takes, or nil.
	NextExpiration *Expiration
}

// Expiration is an amount of points that expires at a moment.
type Expiration struct {
	Amount int64
	At     time.Time
}
