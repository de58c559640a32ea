package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// TestCodeWindow checks "within a month after registering the service": a
// code is accepted until 23:59:59 of the same day of the next month (its
// last day when shorter), in the campaign's zone.
func TestCodeWindow(t *testing.T) {
	t.Parallel()
	p := connect(t)
	expired := func(registered, last string) []sdk.Effect {
		return rejected("CODE_WINDOW_EXPIRED", "invite codes can be applied within 1 month of registering the service: registered on "+registered+", the last day was "+last)
	}
	cases := []struct {
		name         string
		config       string
		registered   time.Time
		at           time.Time
		wantRejected []sdk.Effect // nil: accepted
	}{
		{"20 days after", `{}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 3, 13, 10, 0, 0), nil},
		{"40 days after", `{}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 4, 2, 10, 0, 0), expired("2023-02-21", "2023-03-21")},
		{"same moment", `{}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 2, 21, 10, 0, 0), nil},
		{"last day 23:59:59", `{}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 3, 21, 23, 59, 59), nil},
		{"last day 23:59:59 in Minsk is 20:59:59 UTC", `{}`, mt(2023, 2, 21, 10, 0, 0), time.Date(2023, 3, 21, 20, 59, 59, 0, time.UTC), nil},
		{"the day after 00:00:00", `{}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 3, 22, 0, 0, 0), expired("2023-02-21", "2023-03-21")},
		{"21:00 UTC is the day after in Minsk", `{}`, mt(2023, 2, 21, 10, 0, 0), time.Date(2023, 3, 21, 21, 0, 0, 0, time.UTC), expired("2023-02-21", "2023-03-21")},
		{"31 January to 28 February", `{}`, mt(2023, 1, 31, 12, 0, 0), mt(2023, 2, 28, 23, 59, 59), nil},
		{"31 January, 1 March is late", `{}`, mt(2023, 1, 31, 12, 0, 0), mt(2023, 3, 1, 0, 0, 0), expired("2023-01-31", "2023-02-28")},
		{"28 January to 28 February", `{}`, mt(2023, 1, 28, 12, 0, 0), mt(2023, 2, 28, 23, 59, 59), nil},
		{"29 January, leap year, 29 February", `{}`, mt(2024, 1, 29, 12, 0, 0), mt(2024, 2, 29, 23, 59, 59), nil},
		{"31 January, leap year, 1 March is late", `{}`, mt(2024, 1, 31, 12, 0, 0), mt(2024, 3, 1, 0, 0, 0), expired("2024-01-31", "2024-02-29")},
		{"registered late at night", `{}`, mt(2023, 2, 21, 23, 59, 59), mt(2023, 3, 21, 23, 59, 59), nil},
		{"two-month window", `{"applyWindowMonths":2}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 4, 21, 23, 59, 59), nil},
		{"two-month window, the day after", `{"applyWindowMonths":2}`, mt(2023, 2, 21, 10, 0, 0), mt(2023, 4, 22, 0, 0, 0),
			rejected("CODE_WINDOW_EXPIRED", "invite codes can be applied within 2 months of registering the service: registered on 2023-02-21, the last day was 2023-04-21")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, tc.config, sdk.Member{ID: "new"}, sdk.Event{Type: EventCodeApplied, OccurredAt: tc.at, Attributes: applied("old", tc.registered, "")})
			if tc.wantRejected != nil {
				check(t, r, tc.wantRejected, "")
				return
			}
			if len(r.Effects) != 2 || r.Effects[0].GrantBenefit == nil || r.Effects[0].GrantBenefit.Key != "referee-discount" ||
				!r.Effects[0].GrantBenefit.ValidFrom.Equal(tc.at) {
				t.Errorf("effects %s (%s), want the referee discount from %s", show(r.Effects), r.NoEffectReason, tc.at)
			}
		})
	}
}

// TestRefereeDiscountStart checks that the referee's 20% starts when their
// promo period ends, and lasts three months from then.
func TestRefereeDiscountStart(t *testing.T) {
	t.Parallel()
	p := connect(t)
	registered := mt(2023, 2, 21, 10, 0, 0)
	at := mt(2023, 3, 13, 10, 0, 0)
	cases := []struct {
		name        string
		promoEnds   string
		memberAttrs sdk.Values
		from, until time.Time
	}{
		{"promo ends at 23:59:59", "2023-03-14T23:59:59+03:00", nil, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo ends at midnight", "2023-03-15T00:00:00+03:00", nil, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo ends at midnight, in UTC", "2023-03-14T21:00:00Z", nil, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo ends during the day", "2023-03-14T15:30:00+03:00", nil, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo's last day as a date", "2023-03-14", nil, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo from the member's attributes", "", sdk.Values{"promoPeriodEndsAt": "2023-03-14"}, mt(2023, 3, 15, 0, 0, 0), mt(2023, 6, 14, 23, 59, 59)},
		{"promo to 30 November: 3 months to 29 February", "2023-11-30", nil, mt(2023, 12, 1, 0, 0, 0), mt(2024, 2, 29, 23, 59, 59)},
		{"promo to 31 October: 3 months to 31 January", "2023-10-31", nil, mt(2023, 11, 1, 0, 0, 0), mt(2024, 1, 31, 23, 59, 59)},
		{"promo already over", "2023-03-01", nil, at, mt(2023, 6, 13, 23, 59, 59)},
		{"promo ends at the application: from the next midnight", "2023-03-13T10:00:00+03:00", nil, mt(2023, 3, 14, 0, 0, 0), mt(2023, 6, 13, 23, 59, 59)},
		{"promo ended at the midnight before", "2023-03-13T00:00:00+03:00", nil, at, mt(2023, 6, 13, 23, 59, 59)},
		{"no promo period", "", nil, at, mt(2023, 6, 13, 23, 59, 59)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := sdk.Member{ID: "new", Attributes: tc.memberAttrs}
			r := evaluate(t, p, `{}`, m, sdk.Event{Type: EventCodeApplied, OccurredAt: at, Attributes: applied("old", registered, tc.promoEnds)})
			st := check(t, r, []sdk.Effect{refereeGrant(tc.from, tc.until, "old")}, "")
			want := State{
				AppliedCode: &AppliedCode{Code: "K7M2-QX", ReferrerID: "old", ReferrerRef: "ext-old", ReferrerName: "Client old",
					AppliedAt: at.UTC(), RegisteredAt: registered.UTC()},
				DiscountHistory: []Discount{{Key: "referee-discount", Role: "referee", Change: "granted", Percent: 2000, From: tc.from.UTC(), Until: tc.until.UTC()}},
			}
			if st == nil || !reflect.DeepEqual(want, *st) {
				t.Errorf("state:\n%s\nwant:\n%s", show(st), show(want))
			}
		})
	}
}

// TestRegistrationDate checks where the registration date comes from.
func TestRegistrationDate(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 3, 21, 23, 59, 59)
	noDate := applied("old", time.Time{}, "")
	delete(noDate, "registeredAt")
	cases := []struct {
		name   string
		attrs  sdk.Values
		member sdk.Values
		want   []sdk.Effect // nil: accepted
	}{
		{"event attribute as a date", with(noDate, "registeredAt", "2023-02-21"), nil, nil},
		{"member attribute", noDate, sdk.Values{"serviceRegisteredAt": "2023-02-21T08:00:00Z"}, nil},
		{"member attribute, too old", noDate, sdk.Values{"serviceRegisteredAt": "2023-02-20"},
			rejected("CODE_WINDOW_EXPIRED", "invite codes can be applied within 1 month of registering the service: registered on 2023-02-20, the last day was 2023-03-20")},
		{"the event wins", with(noDate, "registeredAt", "2023-02-21"), sdk.Values{"serviceRegisteredAt": "2022-01-01"}, nil},
		{"unknown", noDate, nil,
			rejected("REGISTRATION_DATE_UNKNOWN", "the date your service was registered is not known, so the invite-code deadline cannot be checked")},
		{"unreadable", with(noDate, "registeredAt", "21.02.2023"), nil,
			rejected("INVALID_ATTRIBUTE", `registeredAt is "21.02.2023", want an RFC 3339 time or a date YYYY-MM-DD`)},
		{"unreadable member attribute", noDate, sdk.Values{"serviceRegisteredAt": "yesterday"},
			rejected("INVALID_ATTRIBUTE", `member attribute serviceRegisteredAt is "yesterday", want an RFC 3339 time or a date YYYY-MM-DD`)},
		{"unreadable promo period", with(noDate, "registeredAt", "2023-02-21", "promoPeriodEndsAt", "soon"), nil,
			rejected("INVALID_ATTRIBUTE", `promoPeriodEndsAt is "soon", want an RFC 3339 time or a date YYYY-MM-DD`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{}`, sdk.Member{ID: "new", Attributes: tc.member}, sdk.Event{Type: EventCodeApplied, OccurredAt: at, Attributes: tc.attrs})
			if tc.want != nil {
				check(t, r, tc.want, "")
				return
			}
			check(t, r, []sdk.Effect{refereeGrant(at, mt(2023, 6, 21, 23, 59, 59), "old")}, "")
		})
	}
}

// TestCodeRefused checks the other reject codes.
func TestCodeRefused(t *testing.T) {
	t.Parallel()
	p := connect(t)
	registered := mt(2023, 2, 21, 10, 0, 0)
	at := mt(2023, 3, 1, 10, 0, 0)
	already := stateJSON(t, State{AppliedCode: &AppliedCode{Code: "AAAA", ReferrerID: "someone", AppliedAt: mt(2023, 2, 25, 9, 0, 0).UTC(), RegisteredAt: registered.UTC()}})
	referrer := stateJSON(t, State{Referees: []Referee{{ID: "f1", ActivatedAt: mt(2023, 2, 1, 0, 0, 0).UTC()}}})
	cases := []struct {
		name   string
		member sdk.Member
		attrs  sdk.Values
		want   []sdk.Effect
	}{
		{"code without an owner", sdk.Member{ID: "new"}, with(applied("old", registered, ""), "referrerId", nil),
			rejected("UNKNOWN_CODE", `the invite code "K7M2-QX" does not belong to any client`)},
		{"own code by id", sdk.Member{ID: "old"}, applied("old", registered, ""), rejected("OWN_CODE", "you cannot apply your own invite code")},
		{"own code by external ref", sdk.Member{ID: "new", ExternalRef: "ext-old"}, applied("old", registered, ""), rejected("OWN_CODE", "you cannot apply your own invite code")},
		{"second code", sdk.Member{ID: "new", State: already}, applied("old", registered, ""),
			rejected("CODE_ALREADY_APPLIED", "an invite code was already applied on 2023-02-25; a client applies one code only")},
		{"second code, also out of time", sdk.Member{ID: "new", State: already}, applied("old", mt(2022, 1, 1, 0, 0, 0), ""),
			rejected("CODE_ALREADY_APPLIED", "an invite code was already applied on 2023-02-25; a client applies one code only")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, evaluate(t, p, `{}`, tc.member, sdk.Event{Type: EventCodeApplied, OccurredAt: at, Attributes: tc.attrs}), tc.want, "")
		})
	}
	t.Run("a referrer may still apply a code", func(t *testing.T) {
		t.Parallel()
		r := evaluate(t, p, `{}`, sdk.Member{ID: "new", State: referrer}, sdk.Event{Type: EventCodeApplied, OccurredAt: at, Attributes: applied("old", registered, "")})
		st := check(t, r, []sdk.Effect{refereeGrant(at, mt(2023, 6, 1, 23, 59, 59), "old")}, "")
		if st == nil || len(st.Referees) != 1 || st.AppliedCode == nil {
			t.Errorf("state lost the referees: %s", show(st))
		}
	})
}

// with returns a copy of v with the given key/value pairs set; a nil value
// deletes the key.
func with(v sdk.Values, kv ...any) sdk.Values {
	out := sdk.Values{}
	for k, x := range v {
		out[k] = x
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
