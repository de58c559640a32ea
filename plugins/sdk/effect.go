package sdk

import (
	"encoding/json"
	"time"
)

// EffectKind names what an Effect asks the core to do. It travels as a plain
// string: the SDK passes any value through unchanged in both directions, and
// the core rejects kinds it does not know.
type EffectKind string

// The effect kinds the core applies.
const (
	KindCreditPoints  EffectKind = "credit_points"
	KindDebitPoints   EffectKind = "debit_points"
	KindGrantBenefit  EffectKind = "grant_benefit"
	KindChangeBenefit EffectKind = "change_benefit"
	KindEndBenefit    EffectKind = "end_benefit"
	KindSetTier       EffectKind = "set_tier"
	KindIssueCode     EffectKind = "issue_code"
	KindNotify        EffectKind = "notify"
	KindPutState      EffectKind = "put_state"
	KindReject        EffectKind = "reject"
)

// Effect is one thing a plugin asks the core to do. Kind says which; the
// payload field of the same name holds its parameters and the others are nil.
// Build effects with the payloads' Effect methods or with Credit, Debit and
// StoreState rather than by hand.
//
// At most one payload travels: an Effect with two non-nil payloads cannot be
// encoded and fails the call with ErrMalformedEffect. A Kind that does not
// match its payload, or has none, travels as it is and the core rejects it.
type Effect struct {
	Kind          EffectKind
	Credit        *CreditPoints
	Debit         *DebitPoints
	GrantBenefit  *GrantBenefit
	ChangeBenefit *ChangeBenefit
	EndBenefit    *EndBenefit
	SetTier       *SetTier
	IssueCode     *IssueCode
	Notify        *Notify
	PutState      *PutState
	Reject        *Reject
}

// CreditPoints adds points to the member's balance in the campaign's programme.
type CreditPoints struct {
	// Amount is positive.
	Amount int64
	Reason string
	// AvailableAt, when set and in the future, keeps the points pending until
	// then.
	AvailableAt *time.Time
	// ExpiresAt, when set, expires what is left of these points then.
	ExpiresAt *time.Time
	// StatusPoints also count toward the status balance (tier qualification);
	// 0 for none.
	StatusPoints int64
}

// Effect wraps c as a credit_points effect.
func (c CreditPoints) Effect() Effect { return Effect{Kind: KindCreditPoints, Credit: &c} }

// DebitPoints takes points from the member's available balance.
type DebitPoints struct {
	// Amount is positive.
	Amount int64
	Reason string
}

// Effect wraps d as a debit_points effect.
func (d DebitPoints) Effect() Effect { return Effect{Kind: KindDebitPoints, Debit: &d} }

// GrantBenefit gives the member a benefit.
type GrantBenefit struct {
	// Key is a stable id chosen by the plugin, unique per member and campaign
	// (e.g. "gift-2021-04"); granting an existing key again is a no-op.
	Key string
	// Kind is one of discount, addon, gift, sms_package, promo_code, or
	// another kind listed in Description.BenefitKinds.
	Kind  string
	Title string
	// Percent is in basis points (2501 is 25.01%), for discounts.
	Percent    int
	Scope      string
	Exclusions []string
	// Quantity is the count of a countable benefit (SMS in a package).
	Quantity int64
	// Recipient names who receives a physical gift.
	Recipient string
	// Code is a promo code the plugin chose; leave it empty and send an
	// IssueCode effect to have the core generate one.
	Code       string
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Attributes Values
}

// Effect wraps g as a grant_benefit effect.
func (g GrantBenefit) Effect() Effect { return Effect{Kind: KindGrantBenefit, GrantBenefit: &g} }

// ChangeBenefit changes a benefit the plugin granted earlier. Nil fields are
// left as they are.
type ChangeBenefit struct {
	Key string
	// Percent is the new percentage in basis points.
	Percent    *int
	ValidUntil *time.Time
	// Attributes, when non-nil, replace the benefit's attributes.
	Attributes Values
}

// Effect wraps c as a change_benefit effect.
func (c ChangeBenefit) Effect() Effect { return Effect{Kind: KindChangeBenefit, ChangeBenefit: &c} }

// EndBenefit ends a benefit the plugin granted earlier.
type EndBenefit struct {
	Key string
	// Reason is expired, plan_changed, replaced or another stable code.
	Reason string
	// At is when it ends; nil means at once. The benefit's ValidUntil becomes At
	// when that is earlier; an At still ahead keeps the benefit in force until then
	// (e.g. 23:59:59 of the day of a change of plan), with Reason already shown.
	At *time.Time
}

// Effect wraps e as an end_benefit effect.
func (e EndBenefit) Effect() Effect { return Effect{Kind: KindEndBenefit, EndBenefit: &e} }

// SetTier sets the member's status in the campaign's programme.
type SetTier struct {
	Tier string
	// ValidUntil is nil for a status that does not lapse.
	ValidUntil *time.Time
}

// Effect wraps s as a set_tier effect.
func (s SetTier) Effect() Effect { return Effect{Kind: KindSetTier, SetTier: &s} }

// IssueCode asks the core to generate a unique code for the member (a
// referral or promo code) for the given Purpose.
type IssueCode struct {
	Purpose string
}

// Effect wraps i as an issue_code effect.
func (i IssueCode) Effect() Effect { return Effect{Kind: KindIssueCode, IssueCode: &i} }

// Notify asks the core to send a message.
type Notify struct {
	// Channel is sms, email or webhook.
	Channel  string
	Template string
	// To is an address; empty means the member's own phone or email.
	To     string
	Params map[string]string
}

// Effect wraps n as a notify effect.
func (n Notify) Effect() Effect { return Effect{Kind: KindNotify, Notify: &n} }

// PutState replaces this plugin's state for the member and campaign. State is
// a small JSON document; "null" deletes it.
type PutState struct {
	State json.RawMessage
}

// Effect wraps p as a put_state effect.
func (p PutState) Effect() Effect { return Effect{Kind: KindPutState, PutState: &p} }

// Reject refuses the event (or enrolment) with a stable Code and a Message for
// people; the core records it and applies none of the call's other effects
// for that item.
type Reject struct {
	Code    string
	Message string
}

// Effect wraps r as a reject effect.
func (r Reject) Effect() Effect { return Effect{Kind: KindReject, Reject: &r} }

// CreditOption sets an optional field of a Credit effect.
type CreditOption func(*CreditPoints)

// AvailableAt keeps credited points pending until t.
func AvailableAt(t time.Time) CreditOption {
	return func(c *CreditPoints) { c.AvailableAt = &t }
}

// ExpiresAt expires credited points at t.
func ExpiresAt(t time.Time) CreditOption {
	return func(c *CreditPoints) { c.ExpiresAt = &t }
}

// WithStatusPoints also counts n points toward the status balance.
func WithStatusPoints(n int64) CreditOption {
	return func(c *CreditPoints) { c.StatusPoints = n }
}

// Credit returns a credit_points effect of amount points.
func Credit(amount int64, reason string, opts ...CreditOption) Effect {
	c := CreditPoints{Amount: amount, Reason: reason}
	for _, opt := range opts {
		opt(&c)
	}
	return c.Effect()
}

// Debit returns a debit_points effect of amount points.
func Debit(amount int64, reason string) Effect {
	return DebitPoints{Amount: amount, Reason: reason}.Effect()
}

// StoreState returns a put_state effect holding v encoded as JSON. It fails
// only if v cannot be encoded.
func StoreState(v any) (Effect, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Effect{}, err
	}
	return PutState{State: b}.Effect(), nil
}
