package main

import (
	"time"
)

// State is what the plugin remembers about one member (one subscriber) in
// one campaign. It travels as JSON in Member.State; README.md documents the
// shape. Instants are RFC 3339 in UTC.
type State struct {
	// Number is the subscriber number of the member's last connection.
	Number string `json:"number,omitempty"`
	// Plan is the member's current tariff plan: the Table 1 name when it
	// participates, otherwise as the billing system reported it.
	Plan string `json:"plan,omitempty"`
	// Participant is the connection that made the member a participant
	// (items 1 and 2); nil if there was none.
	Participant *Participation `json:"participant,omitempty"`
	// Discount is the Table 1 discount granted to the participant.
	Discount *Grant `json:"discount,omitempty"`
	// Addons are the Table 2 add-ons switched on, oldest first.
	Addons []Grant `json:"addons,omitempty"`
	// PromoCodes are the item 3 promo codes, by the digits of the number.
	PromoCodes map[string]*PromoCode `json:"promoCodes,omitempty"`
	// Ended says when and why conditions 1, 2 and 3 ended for the member
	// (another promotion, re-registration of the number).
	Ended *Ending `json:"ended,omitempty"`
}

// Participation is a qualifying connection in the subscription period.
type Participation struct {
	Number      string    `json:"number,omitempty"`
	Plan        string    `json:"plan"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// Grant is a benefit the plugin granted: the discount or an add-on.
type Grant struct {
	Key   string `json:"key"`
	Plan  string `json:"plan"`
	Addon string `json:"addon,omitempty"`
	// Percent is in basis points, for the discount.
	Percent   int        `json:"percent,omitempty"`
	From      time.Time  `json:"from"`
	Until     time.Time  `json:"until"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	EndReason string     `json:"endReason,omitempty"`
}

// runsAt reports whether the benefit is in force at t: up to its end, also an end decided
// earlier that is still ahead (a plan change ends it at 23:59:59 of that day).
func (g *Grant) runsAt(t time.Time) bool {
	return g != nil && !t.After(g.Until) && (g.EndedAt == nil || !t.After(*g.EndedAt))
}

// openAt reports whether the benefit runs at t and no end was decided for it yet.
func (g *Grant) openAt(t time.Time) bool {
	return g != nil && g.EndedAt == nil && !t.After(g.Until)
}

// end marks the benefit ended at t for reason; Until becomes t when that is earlier, as the
// core does with the stored benefit's validUntil.
func (g *Grant) end(t time.Time, reason string) {
	g.EndedAt, g.EndReason = &t, reason
	if t.Before(g.Until) && !t.Before(g.From) {
		g.Until = t
	}
}

// PromoCode is a number's right to the item 3 promo code and, once sent, the
// code's benefit.
type PromoCode struct {
	Number      string    `json:"number"`
	Plan        string    `json:"plan"`
	ConnectedAt time.Time `json:"connectedAt"`
	// Key, SentAt and Until are set when the code is granted and sent.
	Key       string     `json:"key,omitempty"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	EndReason string     `json:"endReason,omitempty"`
}

// Ending is the end of the member's participation.
type Ending struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	// Promotion names the other promotion joined, for reason other_promotion.
	Promotion string `json:"promotion,omitempty"`
}

// empty reports whether the state holds nothing worth keeping.
func (s *State) empty() bool {
	return s.Participant == nil && s.Discount == nil && len(s.Addons) == 0 && len(s.PromoCodes) == 0 && s.Ended == nil
}
