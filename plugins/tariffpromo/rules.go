package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// The event types the plugin evaluates; README.md lists their attributes.
const (
	EventConnected       = "subscriber.connected"
	EventTariffChanged   = "subscriber.tariff_changed"
	EventStatusChanged   = "subscriber.status_changed"
	EventPromotionJoined = "promotion.joined"
	EventBenefitActivate = "benefit.activate"
	EventServiceActivate = "service.activated"
)

var eventTypes = []string{
	EventConnected, EventTariffChanged, EventStatusChanged,
	EventPromotionJoined, EventBenefitActivate, EventServiceActivate,
}

// Benefit keys and kinds the plugin uses.
const (
	discountKey    = "fee-discount"
	promoKeyPrefix = "voka-"
	kindDiscount   = "discount"
	kindAddon      = "addon"
	kindPromoCode  = "promo_code"
	discountScope  = "monthly_fee"
)

// end_benefit reasons.
const (
	reasonPlanChanged    = "plan_changed"
	reasonReregistered   = "reregistered"
	reasonOtherPromotion = "other_promotion"
	// reasonReplaced ends an add-on of the previous plan when the member switches the same
	// add-on on again for the new plan (seed 3.5).
	reasonReplaced = "replaced"
)

// Reject codes of benefit.activate, shown to the member by the app.
const (
	CodeUnknownAddon       = "UNKNOWN_ADDON"
	CodeNotParticipant     = "NOT_PARTICIPANT"
	CodeParticipationEnded = "PARTICIPATION_ENDED"
	CodeActivationClosed   = "ACTIVATION_PERIOD_CLOSED"
	CodeAddonNotInPlan     = "ADDON_NOT_IN_PLAN"
	CodeAddonActive        = "ADDON_ALREADY_ACTIVE"
	CodeAddonUsed          = "ADDON_ALREADY_USED"
)

// Eligibility reason codes of CheckEligibility.
const (
	CodePlanNotParticipating = "PLAN_NOT_PARTICIPATING"
	CodePrepaid              = "PREPAID_NOT_ELIGIBLE"
	CodeReregistered         = "REREGISTERED_NUMBER"
)

// rules is a campaign's configuration resolved in its time zone.
type rules struct {
	cfg      Config
	loc      *time.Location
	plans    map[string]DiscountRow // normalised name or alias → row
	sub      window
	addonWin window
	promo    *window
}

// newRules resolves cfg (already validated) in loc.
func newRules(cfg Config, loc *time.Location) rules {
	r := rules{cfg: cfg, loc: loc, plans: map[string]DiscountRow{},
		sub: resolve(cfg.SubscriptionPeriod, loc), addonWin: resolve(cfg.AddonActivationPeriod, loc)}
	for _, row := range cfg.Discounts {
		for _, name := range append([]string{row.Plan}, row.Aliases...) {
			r.plans[normPlan(name)] = row
		}
	}
	if cfg.PromoCode != nil {
		w := resolve(cfg.PromoCode.Period, loc)
		r.promo = &w
	}
	return r
}

// plan finds a participating plan by any of its names.
func (r rules) plan(name string) (DiscountRow, bool) {
	row, ok := r.plans[normPlan(name)]
	return row, ok && normPlan(name) != ""
}

// addon finds the Table 2 row of addon for the plan named plan.
func (r rules) addon(plan, addon string) (AddonRow, bool) {
	p, ok := r.plan(plan)
	if !ok {
		return AddonRow{}, false
	}
	for _, row := range r.cfg.Addons {
		if row.Addon == addon && normPlan(row.Plan) != "" && r.plans[normPlan(row.Plan)].Plan == p.Plan {
			return row, true
		}
	}
	return AddonRow{}, false
}

// samePlan reports whether a and b name the same plan, under any of its
// names when it participates.
func (r rules) samePlan(a, b string) bool {
	if normPlan(a) == normPlan(b) {
		return normPlan(a) != ""
	}
	ra, okA := r.plan(a)
	rb, okB := r.plan(b)
	return okA && okB && ra.Plan == rb.Plan
}

// knownAddon reports whether any plan offers addon.
func (r rules) knownAddon(addon string) bool {
	for _, row := range r.cfg.Addons {
		if row.Addon == addon {
			return true
		}
	}
	return false
}

// planNames lists the participating plans for messages.
func (r rules) planNames() string {
	names := make([]string, len(r.cfg.Discounts))
	for i, row := range r.cfg.Discounts {
		names[i] = row.Plan
	}
	return strings.Join(names, ", ")
}

// evaluate decides one event of one member.
func (r rules) evaluate(m sdk.Member, ev sdk.Event) sdk.EvaluateResult {
	st, err := sdk.ReadState[State](m.State)
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	switch ev.Type {
	case EventConnected:
		return r.connected(m, st, ev)
	case EventTariffChanged:
		return r.tariffChanged(st, ev)
	case EventStatusChanged:
		return r.statusChanged(ev)
	case EventPromotionJoined:
		return r.promotionJoined(st, ev)
	case EventBenefitActivate:
		return r.benefitActivate(st, ev)
	case EventServiceActivate:
		return r.serviceActivated(m, st, ev)
	default:
		return sdk.NoEffect("event type %q is not one of %s", ev.Type, strings.Join(eventTypes, ", "))
	}
}

// connected decides a new connection: the discount (item 1) when it falls in
// the subscription period, and the right to the promo code (item 3) when it
// falls in the promo-code period.
func (r rules) connected(m sdk.Member, st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	row, problems := r.connectionProblems(a)
	if len(problems) > 0 {
		return sdk.NoEffect("not eligible: %s", strings.Join(problems, "; "))
	}
	if st.Ended != nil {
		return sdk.NoEffect("the promotion ended for this subscriber on %s (%s)", stamp(st.Ended.At, r.loc), st.Ended.Reason)
	}
	inSub := r.sub.contains(at)
	inPromo := r.promo != nil && r.promo.contains(at)
	if !inSub && !inPromo {
		msg := fmt.Sprintf("connected %s, outside the subscription period %s", stamp(at, r.loc), r.sub)
		if r.promo != nil {
			msg += fmt.Sprintf(" and the promo-code period %s", r.promo)
		}
		return sdk.NoEffect("%s: not a participant", msg)
	}
	number := a.Text("number")
	if number == "" {
		number = m.Phone
	}

	var effects []sdk.Effect
	var notes []string
	changed := false
	switch {
	case !inSub:
		notes = append(notes, fmt.Sprintf("connected %s, outside the subscription period %s: not a participant, no discount", stamp(at, r.loc), r.sub))
	case st.Participant != nil:
		notes = append(notes, fmt.Sprintf("the discount was already granted for the connection of %s (once per participant)", stamp(st.Participant.ConnectedAt, r.loc)))
	default:
		until := sdk.MonthsLaterEndOfDay(at, r.cfg.DiscountMonths, r.loc).UTC()
		from := at.UTC()
		effects = append(effects, sdk.GrantBenefit{
			Key:        discountKey,
			Kind:       kindDiscount,
			Title:      fmt.Sprintf("%s off the %s monthly fee for %d months", sdk.FormatPercent(row.PercentBasisPoints), row.Plan, r.cfg.DiscountMonths),
			Percent:    row.PercentBasisPoints,
			Scope:      discountScope,
			ValidFrom:  &from,
			ValidUntil: &until,
			Attributes: sdk.Values{"tariffPlan": row.Plan, "number": number},
		}.Effect())
		st.Participant = &Participation{Number: number, Plan: row.Plan, ConnectedAt: from}
		st.Discount = &Grant{Key: discountKey, Plan: row.Plan, Percent: row.PercentBasisPoints, From: from, Until: until}
		changed = true
	}
	if inPromo {
		key := numberKey(number)
		switch {
		case key == "":
			notes = append(notes, "no subscriber number (attribute number or the member's phone): no promo code")
		case st.PromoCodes[key] != nil:
			notes = append(notes, fmt.Sprintf("number %s already has its promo-code right (once per number)", number))
		default:
			if st.PromoCodes == nil {
				st.PromoCodes = map[string]*PromoCode{}
			}
			st.PromoCodes[key] = &PromoCode{Number: number, Plan: row.Plan, ConnectedAt: at.UTC()}
			changed = true
		}
	}
	if !changed {
		return sdk.NoEffect("%s", strings.Join(notes, "; "))
	}
	st.Number, st.Plan = number, row.Plan
	return sdk.WithState(effects, st)
}

// connectionProblems checks the attributes of a connection against the
// seed's exclusions; it returns the plan's Table 1 row when there are none.
func (r rules) connectionProblems(a sdk.Values) (DiscountRow, []string) {
	var problems []string
	name := a.Text("tariffPlan")
	row, ok := r.plan(name)
	switch {
	case name == "":
		problems = append(problems, "no tariffPlan attribute")
	case !ok:
		problems = append(problems, fmt.Sprintf("tariff plan %q does not take part (participating: %s)", name, r.planNames()))
	}
	switch pay := strings.ToLower(a.Text("payment")); pay {
	case "postpaid":
	case "prepaid":
		problems = append(problems, "prepaid variants of the tariff plans are excluded")
	case "":
		problems = append(problems, "no payment attribute (postpaid or prepaid)")
	default:
		problems = append(problems, fmt.Sprintf("payment %q is neither postpaid nor prepaid", pay))
	}
	rereg, _, err := flag(a, "reregistration")
	if err != nil {
		problems = append(problems, err.Error())
	} else if rereg {
		problems = append(problems, "the number was obtained by re-registration from another holder, which is excluded")
	}
	switch ct := a.Text("clientType"); ct {
	case "", "person", "company", "sole_trader":
	default:
		problems = append(problems, fmt.Sprintf("clientType %q is not person, company or sole_trader", ct))
	}
	newContract, contractSet, err1 := flag(a, "newContract")
	newNumber, numberSet, err2 := flag(a, "newNumber")
	for _, err := range []error{err1, err2} {
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	if err1 == nil && err2 == nil && (contractSet || numberSet) && !newContract && !newNumber {
		problems = append(problems, "neither a new contract nor a new number on an existing contract")
	}
	return row, problems
}

// lastSecondOf is 23:59:59 in the campaign's zone of the day of t: the discount and
// the add-ons end then when an event ends them (seed 2.3 and 3.6: they end "at 23:59 on
// the last day of the period of provision").
func (r rules) lastSecondOf(t time.Time) time.Time { return daysEnd(t, 0, r.loc).UTC() }

// tariffChanged ends the discount on any change of plan and the add-ons
// unless the new plan takes part and offers them, at 23:59:59 of the day of
// the change; a re-registration with a change of plan ends everything and the
// participation.
func (r rules) tariffChanged(st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	to := a.Text("to")
	if to == "" {
		return sdk.NoEffect("no to attribute (the new tariff plan)")
	}
	rereg, _, err := flag(a, "reregistration")
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	if st.empty() {
		return sdk.NoEffect("not a participant: no qualifying connection recorded")
	}
	from := a.Text("from")
	if from == "" {
		from = st.Plan
	}
	if r.samePlan(from, to) {
		return sdk.NoEffect("tariff plan unchanged (%s)", to)
	}
	newRow, participates := r.plan(to)
	reason := reasonPlanChanged
	if rereg {
		reason = reasonReregistered
	}
	last := r.lastSecondOf(at)
	end := func(key string) sdk.Effect {
		return sdk.EndBenefit{Key: key, Reason: reason, At: &last}.Effect()
	}
	var effects []sdk.Effect
	if st.Discount.openAt(at) {
		effects = append(effects, end(st.Discount.Key))
		st.Discount.end(last, reason)
	}
	for i := range st.Addons {
		g := &st.Addons[i]
		if !g.openAt(at) {
			continue
		}
		if _, offered := r.addon(to, g.Addon); offered && !rereg {
			continue
		}
		effects = append(effects, end(g.Key))
		g.end(last, reason)
	}
	if rereg && st.Ended == nil {
		st.Ended = &Ending{At: at.UTC(), Reason: reasonReregistered}
	}
	st.Plan = to
	if participates {
		st.Plan = newRow.Plan
	}
	return sdk.WithState(effects, st)
}

// statusChanged changes nothing: blocked periods do not extend the add-ons
// (seed 3.7) nor the discount, whose end dates stay as granted.
func (r rules) statusChanged(ev sdk.Event) sdk.EvaluateResult {
	status := ev.Attributes.Text("status")
	if status == "" {
		return sdk.NoEffect("no status attribute")
	}
	return sdk.NoEffect("status %q changes nothing: the discount and the add-ons keep their end dates, periods in a status other than active do not extend them (seed 3.7)", status)
}

// promotionJoined ends conditions 1, 2 and 3 when the member joins another
// (fixed-line) promotion of the company (seed 5).
func (r rules) promotionJoined(st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	promotion := a.Text("promotion")
	fixed, set, err := flag(a, "fixedLine")
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	if set && !fixed {
		return sdk.NoEffect("promotion %q is not a fixed-line offer: this promotion's conditions continue", promotion)
	}
	if st.empty() {
		return sdk.NoEffect("not a participant: nothing to end")
	}
	if st.Ended != nil {
		return sdk.NoEffect("the promotion already ended for this subscriber on %s (%s)", stamp(st.Ended.At, r.loc), st.Ended.Reason)
	}
	// The discount and the add-ons end at 23:59:59 of the day (seed 2.3, 3.6), the promo
	// code, which has no such rule, at once.
	last := r.lastSecondOf(at)
	end := func(key string, at time.Time) sdk.Effect {
		return sdk.EndBenefit{Key: key, Reason: reasonOtherPromotion, At: &at}.Effect()
	}
	var effects []sdk.Effect
	if st.Discount.openAt(at) {
		effects = append(effects, end(st.Discount.Key, last))
		st.Discount.end(last, reasonOtherPromotion)
	}
	for i := range st.Addons {
		if g := &st.Addons[i]; g.openAt(at) {
			effects = append(effects, end(g.Key, last))
			g.end(last, reasonOtherPromotion)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(st.PromoCodes)) {
		pc := st.PromoCodes[key]
		if pc.SentAt != nil && pc.EndedAt == nil && !at.After(*pc.Until) {
			effects = append(effects, end(pc.Key, at))
			t := at.UTC()
			pc.EndedAt, pc.EndReason = &t, reasonOtherPromotion
		}
	}
	st.Ended = &Ending{At: at.UTC(), Reason: reasonOtherPromotion, Promotion: promotion}
	return sdk.WithState(effects, st)
}

// benefitActivate switches on a Table 2 add-on the member asked for in the
// app, or rejects the request with a code the app shows.
func (r rules) benefitActivate(st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	addon := a.Text("addon")
	if addon == "" {
		addon = a.Text("kind")
	}
	switch {
	case addon == "":
		return sdk.Rejected(CodeUnknownAddon, "name the add-on to switch on (attribute addon)")
	case !r.knownAddon(addon):
		return sdk.Rejected(CodeUnknownAddon, "%q is not an add-on of this promotion", addon)
	case st.Participant == nil:
		return sdk.Rejected(CodeNotParticipant, "only participants may switch on the add-ons: a new postpaid connection of %s between %s and %s",
			r.planNames(), r.sub.period.From, r.sub.period.To)
	case st.Ended != nil:
		return sdk.Rejected(CodeParticipationEnded, "the promotion ended for this subscriber on %s (%s)", stamp(st.Ended.At, r.loc), st.Ended.Reason)
	case !r.addonWin.contains(at):
		return sdk.Rejected(CodeActivationClosed, "add-ons can be switched on from %s to %s inclusive", r.addonWin.period.From, r.addonWin.period.To)
	}
	row, ok := r.addon(st.Plan, addon)
	if !ok {
		return sdk.Rejected(CodeAddonNotInPlan, "the tariff plan %s has no %q add-on in this promotion", st.Plan, addon)
	}
	key := fmt.Sprintf("addon-%s-%s", addon, slug(row.Plan))
	for _, g := range st.Addons {
		if g.Key == key && g.runsAt(at) {
			return sdk.Rejected(CodeAddonActive, "%s is already on until %s", g.Addon, stamp(g.Until, r.loc))
		}
	}
	for _, g := range st.Addons {
		if g.Key == key {
			return sdk.Rejected(CodeAddonUsed, "%s was already switched on for the %s plan on %s (once per plan)", addon, row.Plan, day(g.From, r.loc))
		}
	}
	// The same add-on switched on for a previous plan may still run (a change between
	// participating plans keeps it, seed 3.4); switching it on again for the new plan (seed
	// 3.5) replaces it from now.
	var effects []sdk.Effect
	for i := range st.Addons {
		if g := &st.Addons[i]; g.Addon == addon && g.runsAt(at) {
			effects = append(effects, sdk.EndBenefit{Key: g.Key, Reason: reasonReplaced, At: &at}.Effect())
			g.end(at.UTC(), reasonReplaced)
		}
	}
	from, until := at.UTC(), daysEnd(at, row.Days, r.loc).UTC()
	st.Addons = append(st.Addons, Grant{Key: key, Plan: row.Plan, Addon: addon, From: from, Until: until})
	return sdk.WithState(append(effects, sdk.GrantBenefit{
		Key:        key,
		Kind:       kindAddon,
		Title:      row.Title,
		ValidFrom:  &from,
		ValidUntil: &until,
		Attributes: sdk.Values{"addon": addon, "tariffPlan": row.Plan, "content": row.Content, "days": row.Days},
	}.Effect()), st)
}

// serviceActivated grants and sends the item 3 promo code for a number whose
// qualifying connection was recorded, once per number.
func (r rules) serviceActivated(m sdk.Member, st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	pcfg := r.cfg.PromoCode
	if pcfg == nil {
		return sdk.NoEffect("promo codes are switched off in this campaign")
	}
	number := a.Text("number")
	if number == "" {
		number = st.Number
	}
	if number == "" {
		number = m.Phone
	}
	key := numberKey(number)
	switch {
	case key == "":
		return sdk.NoEffect("no subscriber number (attribute number, or a recorded connection)")
	case st.Ended != nil:
		return sdk.NoEffect("the promotion ended for this subscriber on %s (%s)", stamp(st.Ended.At, r.loc), st.Ended.Reason)
	}
	pc := st.PromoCodes[key]
	switch {
	case pc == nil:
		return sdk.NoEffect("number %s has no qualifying connection in the promo-code period %s", number, r.promo)
	case pc.SentAt != nil:
		return sdk.NoEffect("the promo code for number %s was already sent on %s (once per number)", number, stamp(*pc.SentAt, r.loc))
	case !at.Before(r.promo.end):
		return sdk.NoEffect("services activated %s, after the promo-code period %s: the code could no longer be activated", stamp(at, r.loc), r.promo)
	}
	benefitKey := promoKeyPrefix + key
	from, until := at.UTC(), r.promo.lastSecond().UTC()
	to := number
	if numberKey(m.Phone) == key {
		to = "" // the member's own phone
	}
	pc.Key, pc.SentAt, pc.Until = benefitKey, &from, &until
	return sdk.WithState([]sdk.Effect{
		sdk.GrantBenefit{
			Key:        benefitKey,
			Kind:       kindPromoCode,
			Title:      fmt.Sprintf("%s %q subscription for %s a month", pcfg.Service, pcfg.Subscription, pcfg.MonthlyFee),
			ValidFrom:  &from,
			ValidUntil: &until,
			Attributes: sdk.Values{"number": number, "service": pcfg.Service, "subscription": pcfg.Subscription, "monthlyFee": pcfg.MonthlyFee},
		}.Effect(),
		sdk.Notify{Channel: "sms", Template: pcfg.Template, To: to, Params: map[string]string{
			"code":         "$benefit:" + benefitKey + ".code",
			"deadline":     until.In(r.loc).Format("02.01.2006"),
			"number":       number,
			"service":      pcfg.Service,
			"subscription": pcfg.Subscription,
			"monthlyFee":   pcfg.MonthlyFee,
		}}.Effect(),
	}, st)
}
