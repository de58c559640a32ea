package main

import (
	"time"
)

// State is what the plugin keeps for one member in one campaign, both as an
// invited client (AppliedCode) and as a referrer (Referees). The cabinet's
// "referred clients" and "discount history" are read from it; README.md
// documents the shape. Instants are RFC 3339 in UTC.
type State struct {
	// AppliedCode is the invite code this member applied, nil if none.
	AppliedCode *AppliedCode `json:"appliedCode,omitempty"`
	// Referees are the clients who applied this member's code, in order.
	Referees []Referee `json:"referees,omitempty"`
	// DiscountHistory lists every discount granted or changed, oldest first.
	DiscountHistory []Discount `json:"discountHistory,omitempty"`
	// SMSPackages are the SMS packages granted to this member as a referrer.
	SMSPackages []SMSPackage `json:"smsPackages,omitempty"`
}

// AppliedCode is an invite code a member applied.
type AppliedCode struct {
	Code         string    `json:"code,omitempty"`
	ReferrerID   string    `json:"referrerId"`
	ReferrerRef  string    `json:"referrerRef,omitempty"`
	ReferrerName string    `json:"referrerName,omitempty"`
	AppliedAt    time.Time `json:"appliedAt"`
	RegisteredAt time.Time `json:"registeredAt"`
}

// Referee is a client who applied the member's code.
type Referee struct {
	ID   string `json:"id"`
	Ref  string `json:"ref,omitempty"`
	Name string `json:"name,omitempty"`
	// ActivatedAt is when the referee applied the code.
	ActivatedAt time.Time `json:"activatedAt"`
}

// The roles and changes of a discount history entry.
const (
	roleReferee   = "referee"
	roleReferrer  = "referrer"
	changeGranted = "granted"
	changeRaised  = "increased"
)

// Discount is one entry of the discount history.
type Discount struct {
	// Key is the benefit's key.
	Key string `json:"key"`
	// Role is referee (the member applied a code) or referrer (a friend
	// applied the member's code).
	Role string `json:"role"`
	// Change is granted (a new benefit) or increased (the running referral
	// discount was raised and extended).
	Change string `json:"change"`
	// Percent is in basis points (2000 is 20%).
	Percent int       `json:"percent"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	// Friends is the number of referred clients that earned it (referrer).
	Friends int `json:"friends,omitempty"`
}

// SMSPackage is a granted package of SMS.
type SMSPackage struct {
	Key       string    `json:"key"`
	Quantity  int64     `json:"quantity"`
	Friends   int       `json:"friends"`
	GrantedAt time.Time `json:"grantedAt"`
}

// referrerDiscount returns the latest referrer entry of the history, nil if
// there is none, and how many referrer discounts were granted anew.
func (s *State) referrerDiscount() (latest *Discount, grants int) {
	for i := range s.DiscountHistory {
		d := &s.DiscountHistory[i]
		if d.Role != roleReferrer {
			continue
		}
		latest = d
		if d.Change == changeGranted {
			grants++
		}
	}
	return latest, grants
}

// hasReferee reports whether id already applied the member's code.
func (s *State) hasReferee(id string) bool {
	for _, r := range s.Referees {
		if r.ID == id {
			return true
		}
	}
	return false
}
