package backtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// sim is one member as the simulated campaign has it: what its plugin is shown (its state,
// balance, tier, benefits and enrolments, all of the simulated campaign's own making) and what
// the campaign did for the member. It is stored as JSON in backtest_members.sim at every
// checkpoint, so a resumed backtest continues from exactly the same members.
type sim struct {
	State    json.RawMessage `json:"state,omitempty"`
	Version  int64           `json:"version"`
	Lots     []lot           `json:"lots,omitempty"`
	Lifetime int64           `json:"lifetime,omitempty"`
	Status   int64           `json:"statusPoints,omitempty"`
	Account  bool            `json:"account,omitempty"` // a credit or debit opened the programme's account
	Tier     *simTier        `json:"tier,omitempty"`
	Benefits []simBenefit    `json:"benefits,omitempty"`
	Enrolled []simEnrollment `json:"enrollments,omitempty"`

	// What the campaign did for the member.
	Events   int64  `json:"events"`
	Points   int64  `json:"points"`
	Debited  int64  `json:"debited"`
	Granted  int64  `json:"granted"`
	Reached  bool   `json:"reached"`
	LastDay  string `json:"lastDay,omitempty"` // the last day the member was reached, for the per-day counts
	Rejected int64  `json:"rejected,omitempty"`
	Refused  int64  `json:"refused,omitempty"`

	dirty bool  // changed since the last checkpoint
	busy  bool  // an event of the member is in flight
	waits int64 // the pipe's fill that left an event of the member waiting (run.fills)
}

// appendJSON appends s as JSON to b, as json.Marshal gives it but for the order of the keys
// (which jsonb does not keep): its lots, of which a member may hold hundreds, written directly.
func (s *sim) appendJSON(b []byte) ([]byte, error) {
	rest := *s
	rest.Lots = nil
	raw, err := json.Marshal(&rest)
	if err != nil {
		return b, err
	}
	if len(s.Lots) == 0 {
		return append(b, raw...), nil
	}
	b = append(b, `{"lots":[`...)
	for i, l := range s.Lots {
		if i > 0 {
			b = append(b, ',')
		}
		b = l.appendJSON(b)
	}
	b = append(b, ']')
	if len(raw) > 2 { // not {}
		b = append(b, ',')
	}
	return append(b, raw[1:]...), nil
}

// lot is one credit's points that are left: available from AvailableAt, gone at ExpiresAt,
// both in Unix nanoseconds (noExpiry: never), so that the balance and debit scans over a
// member's lots compare integers. It is stored as [amount, availableAt, expiresAt] (expiresAt
// 0: never), a tenth of the size of the same as an object, since a member may hold hundreds.
type lot struct {
	Amount      int64
	AvailableAt int64
	ExpiresAt   int64
}

// noExpiry is the ExpiresAt of a lot that never expires.
const noExpiry = math.MaxInt64

// Instants a lot holds are clamped to what Unix nanoseconds represent (years 1678 to 2262):
// every simulated instant is inside, so a clamped one compares with them as the instant did.
var (
	minNanos = time.Unix(0, math.MinInt64+1)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos returns t in Unix nanoseconds, clamped.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64 + 1
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// expiryNanos returns the ExpiresAt of a lot expiring at t (nil: never).
func expiryNanos(t *time.Time) int64 {
	if t == nil {
		return noExpiry
	}
	return nanos(*t)
}

func (l lot) MarshalJSON() ([]byte, error) {
	return l.appendJSON(make([]byte, 0, 48)), nil
}

// appendJSON appends l as [amount, availableAt, expiresAt] to b.
func (l lot) appendJSON(b []byte) []byte {
	exp := l.ExpiresAt
	if exp == noExpiry {
		exp = 0
	}
	b = append(b, '[')
	b = strconv.AppendInt(b, l.Amount, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, l.AvailableAt, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, exp, 10)
	return append(b, ']')
}

func (l *lot) UnmarshalJSON(b []byte) error {
	var v [3]int64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("lot: %w", err)
	}
	l.Amount, l.AvailableAt, l.ExpiresAt = v[0], v[1], v[2]
	if l.ExpiresAt == 0 {
		l.ExpiresAt = noExpiry
	}
	return nil
}

type simTier struct {
	Tier       string     `json:"tier"`
	ValidUntil *time.Time `json:"validUntil,omitempty"`
}

// simBenefit is a benefit the simulated campaign granted.
type simBenefit struct {
	Key        string         `json:"key"`
	Kind       string         `json:"kind"`
	Title      string         `json:"title,omitempty"`
	Percent    int            `json:"percent,omitempty"`
	Scope      string         `json:"scope,omitempty"`
	Exclusions []string       `json:"exclusions,omitempty"`
	Quantity   int64          `json:"quantity,omitempty"`
	Recipient  string         `json:"recipient,omitempty"`
	Code       string         `json:"code,omitempty"`
	ValidFrom  *time.Time     `json:"validFrom,omitempty"`
	ValidUntil *time.Time     `json:"validUntil,omitempty"`
	Status     string         `json:"status"`
	Attributes map[string]any `json:"attributes,omitempty"`
	GrantedAt  time.Time      `json:"grantedAt"`
	EndedAt    *time.Time     `json:"endedAt,omitempty"`
}

// simEnrollment is a replayed enrolment the simulated campaign accepted.
type simEnrollment struct {
	Source       int64          `json:"source"` // the recorded enrolment's id
	EnrolledAt   time.Time      `json:"enrolledAt"`
	Answers      map[string]any `json:"answers,omitempty"`
	RegisteredBy string         `json:"registeredBy,omitempty"`
	Responsible  string         `json:"responsible,omitempty"`
}

// snapshot returns the member as the plugin is shown it at t: the profile as stored now (the
// core keeps no history of profiles) and everything else as the simulation has it.
func (s *sim) snapshot(id int64, p *members.Member, program, campaign string, t time.Time) pluginhost.Member {
	out := pluginhost.Member{ID: strconv.FormatInt(id, 10), State: s.State, Version: s.Version}
	if p != nil {
		out.ExternalRef, out.Name, out.Email, out.Phone = p.ExternalRef, p.Name, p.Email, p.Phone
		out.Region, out.Status, out.Attributes = p.Region, p.Status, p.Attributes
		if p.BirthDate != nil {
			out.BirthDate = p.BirthDate.Format("2006-01-02")
		}
	}
	if s.Account {
		available, pending := s.balance(t)
		out.Balances = []pluginhost.Balance{{Program: program, Available: available, Pending: pending,
			LifetimeEarned: s.Lifetime, StatusBalance: s.Status}}
	}
	if s.Tier != nil && (s.Tier.ValidUntil == nil || s.Tier.ValidUntil.After(t)) {
		out.Tiers = []pluginhost.Tier{{Program: program, Tier: s.Tier.Tier, ValidUntil: s.Tier.ValidUntil}}
	}
	for i := range s.Benefits {
		b := &s.Benefits[i]
		if b.current(t) {
			out.Benefits = append(out.Benefits, pluginhost.Benefit{ID: b.Key, Key: b.Key, Campaign: campaign, Kind: b.Kind,
				Title: b.Title, Code: b.Code, Percent: b.Percent, Scope: b.Scope, Exclusions: b.Exclusions, ValidFrom: b.ValidFrom,
				ValidUntil: b.ValidUntil, Status: b.Status, Attributes: b.Attributes})
		}
	}
	for _, en := range s.Enrolled {
		out.Enrollments = append(out.Enrollments, pluginhost.Enrollment{Campaign: campaign, EnrolledAt: en.EnrolledAt,
			Answers: en.Answers, RegisteredBy: en.RegisteredBy, Responsible: en.Responsible})
	}
	return out
}

// current reports whether the benefit is held at t: not ended, and its validity not over (the
// scheduler ends a benefit at the end of its validity).
func (b *simBenefit) current(t time.Time) bool {
	if b.Status == benefits.Ended {
		return b.EndedAt != nil && b.EndedAt.After(t)
	}
	return b.ValidUntil == nil || b.ValidUntil.After(t)
}

// balance returns the available and pending points at t.
func (s *sim) balance(t time.Time) (available, pending int64) {
	at := nanos(t)
	for _, l := range s.Lots {
		switch {
		case l.ExpiresAt <= at:
		case l.AvailableAt > at:
			pending += l.Amount
		default:
			available += l.Amount
		}
	}
	return available, pending
}

// debit takes amount from the lots available at t, those expiring first first, or reports
// that the balance is short (and takes nothing).
func (s *sim) debit(amount int64, t time.Time) bool {
	if available, _ := s.balance(t); available < amount {
		return false
	}
	at := nanos(t)
	kept := s.Lots[:0]
	for _, l := range s.Lots {
		if l.ExpiresAt > at {
			kept = append(kept, l)
		}
	}
	s.Lots = kept
	sort.SliceStable(s.Lots, func(i, j int) bool { return s.Lots[i].ExpiresAt < s.Lots[j].ExpiresAt })
	for i := range s.Lots {
		if amount == 0 {
			break
		}
		if s.Lots[i].AvailableAt > at {
			continue
		}
		take := min(amount, s.Lots[i].Amount)
		s.Lots[i].Amount -= take
		amount -= take
	}
	s.Lots = slices.DeleteFunc(s.Lots, func(l lot) bool { return l.Amount == 0 })
	return true
}

// credit adds l to the lots; a lot available at t joins an available one with the same expiry
// (the two are the same to every balance and debit from then on).
func (s *sim) credit(l lot, t time.Time) {
	if at := nanos(t); l.AvailableAt <= at {
		for i := range s.Lots {
			o := &s.Lots[i]
			if o.AvailableAt <= at && o.ExpiresAt == l.ExpiresAt {
				o.Amount += l.Amount
				return
			}
		}
	}
	s.Lots = append(s.Lots, l)
}

func (s *sim) benefit(key string) *simBenefit {
	for i := range s.Benefits {
		if s.Benefits[i].Key == key {
			return &s.Benefits[i]
		}
	}
	return nil
}

// clone returns a copy of s that shares nothing s changes in place.
func (s *sim) clone() *sim {
	c := *s
	c.Lots = slices.Clone(s.Lots)
	c.Benefits = slices.Clone(s.Benefits)
	for i := range c.Benefits {
		c.Benefits[i].Attributes = maps.Clone(c.Benefits[i].Attributes)
	}
	return &c
}

// outcome is what one decision did.
type outcome struct {
	points, debited, granted int64
	notifications, tiers     int64
	reached                  bool
}

// errRefused marks a decision the core would refuse to apply (none of its effects is).
var errRefused = errors.New("refused")

// apply applies a validated decision's effects at t, all or none, as the engine applies them:
// a debit beyond the available balance or a change or end of a benefit the member does not
// hold refuses the whole decision (errRefused). A reject is handled by the caller.
func (s *sim) apply(effects []pluginhost.Effect, t time.Time) (outcome, error) {
	var out outcome
	if len(effects) == 0 {
		return out, nil
	}
	for i := range effects {
		if effects[i].Kind == pluginhost.KindGrantBenefit {
			if err := benefits.Check(effects[i].GrantBenefit); err != nil {
				return out, fmt.Errorf("%w: effect %d (%s): %v", errRefused, i, effects[i].Kind, err)
			}
		}
	}
	target := s
	fallible := slices.ContainsFunc(effects, func(e pluginhost.Effect) bool {
		return e.Kind == pluginhost.KindDebitPoints || e.Kind == pluginhost.KindChangeBenefit || e.Kind == pluginhost.KindEndBenefit
	})
	if fallible {
		target = s.clone()
	}
	for i := range effects {
		if err := target.applyOne(&effects[i], t, &out); err != nil {
			return outcome{}, fmt.Errorf("%w: effect %d (%s): %v", errRefused, i, effects[i].Kind, err)
		}
	}
	if fallible {
		*s = *target
	}
	s.Version++
	s.dirty = true
	return out, nil
}

func (s *sim) applyOne(e *pluginhost.Effect, t time.Time, out *outcome) error {
	switch e.Kind {
	case pluginhost.KindCreditPoints:
		c := e.Credit
		avail := t
		if c.AvailableAt != nil && c.AvailableAt.After(t) {
			avail = c.AvailableAt.UTC()
		}
		s.credit(lot{Amount: c.Amount, AvailableAt: nanos(avail), ExpiresAt: expiryNanos(c.ExpiresAt)}, t)
		s.Lifetime += c.Amount
		s.Status += c.StatusPoints
		s.Account = true
		out.points += c.Amount
		out.reached = true
	case pluginhost.KindDebitPoints:
		if !s.debit(e.Debit.Amount, t) {
			return errors.New("insufficient points")
		}
		s.Account = true
		out.debited += e.Debit.Amount
		out.reached = true
	case pluginhost.KindGrantBenefit:
		g := e.GrantBenefit
		out.reached = true
		if s.benefit(g.Key) != nil {
			return nil // the member holds that key already: the store leaves it as it is
		}
		status := benefits.Active
		if g.Kind == "addon" && g.Attributes["activation"] == "on_request" {
			status = benefits.Available
		}
		s.Benefits = append(s.Benefits, simBenefit{Key: g.Key, Kind: g.Kind, Title: g.Title, Percent: g.Percent, Scope: g.Scope,
			Exclusions: g.Exclusions, Quantity: g.Quantity, Recipient: g.Recipient, Code: g.Code, ValidFrom: utc(g.ValidFrom),
			ValidUntil: utc(g.ValidUntil), Status: status, Attributes: g.Attributes, GrantedAt: t})
		out.granted++
	case pluginhost.KindChangeBenefit:
		c := e.ChangeBenefit
		b := s.benefit(c.Key)
		if b == nil || !b.current(t) {
			return fmt.Errorf("the member holds no benefit %q", c.Key)
		}
		if c.Percent != nil {
			if *c.Percent < 0 || *c.Percent > 10000 {
				return fmt.Errorf("percent %d basis points is outside 0..10000", *c.Percent)
			}
			b.Percent = *c.Percent
		}
		if c.ValidUntil != nil {
			b.ValidUntil = utc(c.ValidUntil)
		}
		if len(c.Attributes) > 0 {
			if b.Attributes == nil {
				b.Attributes = map[string]any{}
			}
			maps.Copy(b.Attributes, c.Attributes)
		}
		out.reached = true
	case pluginhost.KindEndBenefit:
		b := s.benefit(e.EndBenefit.Key)
		if b == nil || !b.current(t) {
			return fmt.Errorf("the member holds no benefit %q", e.EndBenefit.Key)
		}
		at := t
		if e.EndBenefit.At != nil && e.EndBenefit.At.After(t) {
			at = e.EndBenefit.At.UTC()
		}
		b.Status, b.EndedAt = benefits.Ended, &at
		out.reached = true
	case pluginhost.KindSetTier:
		s.Tier = &simTier{Tier: e.SetTier.Tier, ValidUntil: utc(e.SetTier.ValidUntil)}
		out.tiers++
		out.reached = true
	case pluginhost.KindNotify:
		out.notifications++
		out.reached = true
	case pluginhost.KindPutState:
		s.State = e.PutState.State
		if len(s.State) == 0 || string(s.State) == "null" {
			s.State = nil
		}
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
