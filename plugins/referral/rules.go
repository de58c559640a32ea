package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// The event types the plugin evaluates; README.md lists their attributes.
const (
	// EventCodeApplied is sent on the invited client (the referee) when they
	// apply an invite code the core resolved to its owner.
	EventCodeApplied = "referral.code_applied"
	// EventFriendJoined is sent on the referrer when a referee's code
	// application was accepted.
	EventFriendJoined = "referral.friend_joined"
)

var eventTypes = []string{EventCodeApplied, EventFriendJoined}

// Reject codes of referral.code_applied, shown to the client by the cabinet.
// The core itself refuses unknown codes (UNKNOWN_CODE) and own codes
// (OWN_CODE) before calling the plugin; the plugin checks them again.
const (
	CodeUnknown          = "UNKNOWN_CODE"
	CodeOwn              = "OWN_CODE"
	CodeAlreadyApplied   = "CODE_ALREADY_APPLIED"
	CodeWindowExpired    = "CODE_WINDOW_EXPIRED"
	CodeRegistrationDate = "REGISTRATION_DATE_UNKNOWN"
	CodeInvalidAttribute = "INVALID_ATTRIBUTE"
)

// Benefit keys, kinds, scope and exclusions.
const (
	refereeKey       = "referee-discount"
	referrerKey      = "referral-discount"
	smsKeyPrefix     = "sms-package-"
	kindDiscount     = "discount"
	kindSMSPackage   = "sms_package"
	scopeAllServices = "all_services"
)

// exclusions are what the discounts never apply to: SMS packages (seed:
// "кроме пакетов SMS").
func exclusions() []string { return []string{kindSMSPackage} }

// rules is a campaign's configuration in its time zone.
type rules struct {
	cfg Config
	loc *time.Location
}

// evaluate decides one event of one member.
func (r rules) evaluate(m sdk.Member, ev sdk.Event) sdk.EvaluateResult {
	st, err := sdk.ReadState[State](m.State)
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	switch ev.Type {
	case EventCodeApplied:
		return r.codeApplied(m, st, ev)
	case EventFriendJoined:
		return r.friendJoined(m, st, ev)
	default:
		return sdk.NoEffect("event type %q is not one of %s", ev.Type, strings.Join(eventTypes, ", "))
	}
}

// codeApplied decides an invited client's code: refused with a reason, or
// the referee discount starting when the client's promo period ends.
func (r rules) codeApplied(m sdk.Member, st State, ev sdk.Event) sdk.EvaluateResult {
	at, a := ev.OccurredAt, ev.Attributes
	referrerID, referrerRef := a.Text("referrerId"), a.Text("referrerRef")
	code := a.Text("code")
	switch {
	case referrerID == "":
		return sdk.Rejected(CodeUnknown, "the invite code %q does not belong to any client", code)
	case referrerID == m.ID || (referrerRef != "" && referrerRef == m.ExternalRef):
		return sdk.Rejected(CodeOwn, "you cannot apply your own invite code")
	case st.AppliedCode != nil:
		return sdk.Rejected(CodeAlreadyApplied, "an invite code was already applied on %s; a client applies one code only", day(st.AppliedCode.AppliedAt, r.loc))
	}
	registered, _, set, err := r.instant(a, m.Attributes, "registeredAt", "serviceRegisteredAt")
	switch {
	case err != nil:
		return sdk.Rejected(CodeInvalidAttribute, "%v", err)
	case !set:
		return sdk.Rejected(CodeRegistrationDate, "the date your service was registered is not known, so the invite-code deadline cannot be checked")
	}
	deadline := sdk.MonthsLaterEndOfDay(registered, r.cfg.ApplyWindowMonths, r.loc)
	if at.After(deadline) {
		return sdk.Rejected(CodeWindowExpired, "invite codes can be applied within %s of registering the service: registered on %s, the last day was %s",
			plural(r.cfg.ApplyWindowMonths, "month"), day(registered, r.loc), day(deadline, r.loc))
	}

	// The discount starts when the promo period ends (the first midnight at
	// or after its end), or at once if it has ended or is not known.
	from, base := at, at
	promoEnd, date, set, err := r.instant(a, m.Attributes, "promoPeriodEndsAt", "promoPeriodEndsAt")
	if err != nil {
		return sdk.Rejected(CodeInvalidAttribute, "%v", err)
	}
	if set {
		if start := r.periodStart(promoEnd, date); start.After(at) {
			from, base = start, start.AddDate(0, 0, -1)
		}
	}
	d := r.cfg.RefereeDiscount
	until := sdk.MonthsLaterEndOfDay(base, d.Months, r.loc).UTC()
	from = from.UTC()
	st.AppliedCode = &AppliedCode{Code: code, ReferrerID: referrerID, ReferrerRef: referrerRef, ReferrerName: a.Text("referrerName"),
		AppliedAt: at.UTC(), RegisteredAt: registered.UTC()}
	st.DiscountHistory = append(st.DiscountHistory, Discount{Key: refereeKey, Role: roleReferee, Change: changeGranted,
		Percent: d.PercentBasisPoints, From: from, Until: until})
	return sdk.WithState([]sdk.Effect{sdk.GrantBenefit{
		Key:        refereeKey,
		Kind:       kindDiscount,
		Title:      fmt.Sprintf("%s off all services for %s (invite code)", sdk.FormatPercent(d.PercentBasisPoints), plural(d.Months, "month")),
		Percent:    d.PercentBasisPoints,
		Scope:      scopeAllServices,
		Exclusions: exclusions(),
		ValidFrom:  &from,
		ValidUntil: &until,
		Attributes: sdk.Values{"referrerId": referrerID, "code": code},
	}.Effect()}, st)
}

// friendJoined counts a referee of the member and moves the member up the
// ladder: a new referral discount, or the running one raised and extended,
// and the SMS package of the row reached.
func (r rules) friendJoined(m sdk.Member, st State, ev sdk.Event) sdk.EvaluateResult {
	a := ev.Attributes
	id := a.Text("refereeId")
	switch {
	case id == "":
		return sdk.NoEffect("no refereeId attribute")
	case id == m.ID:
		return sdk.NoEffect("a member cannot refer themselves")
	case st.hasReferee(id):
		return sdk.NoEffect("referee %s was already counted", id)
	}
	at, _, set, err := r.instant(a, nil, "appliedAt", "")
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	if !set {
		at = ev.OccurredAt
	}
	at = at.UTC()
	friends := len(st.Referees) + 1
	row := r.cfg.Ladder[min(friends, len(r.cfg.Ladder))-1]
	st.Referees = append(st.Referees, Referee{ID: id, Ref: a.Text("refereeRef"), Name: a.Text("refereeName"), ActivatedAt: at})

	var effects []sdk.Effect
	bp, until := row.PercentBasisPoints, sdk.MonthsLaterEndOfDay(at, row.Months, r.loc).UTC()
	current, grants := st.referrerDiscount()
	if current != nil && !at.After(current.Until) {
		bp, until = max(bp, current.Percent), maxTime(until, current.Until)
		effects = append(effects, sdk.ChangeBenefit{Key: current.Key, Percent: &bp, ValidUntil: &until,
			Attributes: sdk.Values{"friends": friends}}.Effect())
		st.DiscountHistory = append(st.DiscountHistory, Discount{Key: current.Key, Role: roleReferrer, Change: changeRaised,
			Percent: bp, From: at, Until: until, Friends: friends})
	} else {
		key := referrerKey
		if grants > 0 {
			key = fmt.Sprintf("%s-%d", referrerKey, grants+1)
		}
		effects = append(effects, sdk.GrantBenefit{
			Key:        key,
			Kind:       kindDiscount,
			Title:      fmt.Sprintf("%s off all services for referred clients", sdk.FormatPercent(bp)),
			Percent:    bp,
			Scope:      scopeAllServices,
			Exclusions: exclusions(),
			ValidFrom:  &at,
			ValidUntil: &until,
			Attributes: sdk.Values{"friends": friends},
		}.Effect())
		st.DiscountHistory = append(st.DiscountHistory, Discount{Key: key, Role: roleReferrer, Change: changeGranted,
			Percent: bp, From: at, Until: until, Friends: friends})
	}
	if row.SMSPackage > 0 && row.Friends == friends {
		key := fmt.Sprintf("%s%d", smsKeyPrefix, friends)
		effects = append(effects, sdk.GrantBenefit{
			Key:        key,
			Kind:       kindSMSPackage,
			Title:      fmt.Sprintf("Package of %s SMS for %s referred clients", thousands(row.SMSPackage), strconv.Itoa(friends)),
			Quantity:   row.SMSPackage,
			ValidFrom:  &at,
			Attributes: sdk.Values{"friends": friends},
		}.Effect())
		st.SMSPackages = append(st.SMSPackages, SMSPackage{Key: key, Quantity: row.SMSPackage, Friends: friends, GrantedAt: at})
	}
	if n := r.cfg.Notify; n != nil {
		sms := ""
		if row.SMSPackage > 0 && row.Friends == friends {
			sms = strconv.FormatInt(row.SMSPackage, 10)
		}
		effects = append(effects, sdk.Notify{Channel: n.Channel, Template: n.Template, Params: map[string]string{
			"refereeName": a.Text("refereeName"),
			"friends":     strconv.Itoa(friends),
			"percent":     sdk.FormatPercent(bp),
			"validUntil":  until.In(r.loc).Format("02.01.2006"),
			"smsPackage":  sms,
		}}.Effect())
	}
	return sdk.WithState(effects, st)
}

// instant reads a time attribute from the event (key) or, failing that, the
// member's attributes (memberKey): an RFC 3339 time, or a date YYYY-MM-DD,
// read as 00:00:00 of that day in the campaign's zone with date true. set is
// false when neither has it.
func (r rules) instant(ev, member sdk.Values, key, memberKey string) (t time.Time, date, set bool, err error) {
	name, s := key, ev.Text(key)
	if s == "" && memberKey != "" {
		name, s = "member attribute "+memberKey, member.Text(memberKey)
	}
	if s == "" {
		return time.Time{}, false, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, r.loc); err == nil {
		return d, true, true, nil
	}
	return time.Time{}, false, false, fmt.Errorf("%s is %q, want an RFC 3339 time or a date YYYY-MM-DD", name, s)
}

// periodStart returns the first moment after a period that ends at end: end
// itself when it is a midnight in the campaign's zone (an exclusive end),
// else the next midnight (end is the period's last moment, e.g. 23:59:59).
// A date (date true) is the period's last day, so the next day's midnight.
func (r rules) periodStart(end time.Time, date bool) time.Time {
	y, m, d := end.In(r.loc).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, r.loc)
	if midnight.Equal(end) && !date {
		return midnight
	}
	return time.Date(y, m, d+1, 0, 0, 0, 0, r.loc)
}

// maxTime returns the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// day formats the calendar day of t in loc as YYYY-MM-DD.
func day(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// plural formats a count of a unit: "1 month", "3 months".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// thousands formats n with a comma between thousands: 1200 is "1,200".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
