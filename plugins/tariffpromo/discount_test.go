package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// TestDiscountTable1 checks every row of Table 1, under every spelling.
func TestDiscountTable1(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 14, 12, 0, 0)
	until := mt(2024, 2, 14, 23, 59, 59)
	cases := []struct {
		name, sent, plan string
		bp               int
		title            string
	}{
		{"Bez Limita 2.0", "Bez Limita 2.0", "Bez Limita 2.0", 3001, "30.01% off the Bez Limita 2.0 monthly fee for 6 months"},
		{"Без Лимита 2.0 in Russian", "Без Лимита 2.0", "Bez Limita 2.0", 3001, "30.01% off the Bez Limita 2.0 monthly fee for 6 months"},
		{"Drive 5", "Drive 5", "Drive 5", 2501, "25.01% off the Drive 5 monthly fee for 6 months"},
		{"Драйв 5 quoted", "«Драйв 5»", "Drive 5", 2501, "25.01% off the Drive 5 monthly fee for 6 months"},
		{"drive 5 in other case and spacing", " drive   5 ", "Drive 5", 2501, "25.01% off the Drive 5 monthly fee for 6 months"},
		{"Drive 20", "Drive 20", "Drive 20", 2084, "20.84% off the Drive 20 monthly fee for 6 months"},
		{"Драйв 20 in Russian", "Драйв 20", "Drive 20", 2084, "20.84% off the Drive 20 monthly fee for 6 months"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: connection(tc.sent)})
			st := check(t, r, []sdk.Effect{discountGrant(tc.plan, tc.bp, tc.title, at, until)}, "")
			want := State{
				Number:      "+375291112233",
				Plan:        tc.plan,
				Participant: &Participation{Number: "+375291112233", Plan: tc.plan, ConnectedAt: at.UTC()},
				Discount:    &Grant{Key: "fee-discount", Plan: tc.plan, Percent: tc.bp, From: at.UTC(), Until: until.UTC()},
				PromoCodes:  map[string]*PromoCode{"375291112233": {Number: "+375291112233", Plan: tc.plan, ConnectedAt: at.UTC()}},
			}
			if st == nil || !reflect.DeepEqual(want, *st) {
				t.Errorf("state:\n%s\nwant:\n%s", show(st), show(want))
			}
		})
	}
}

// TestDiscountSubscriptionPeriod checks both ends of the subscription period
// to the second, in the campaign's zone (Minsk is UTC+3).
func TestDiscountSubscriptionPeriod(t *testing.T) {
	t.Parallel()
	p := connect(t)
	title := "25.01% off the Drive 5 monthly fee for 6 months"
	cases := []struct {
		name   string
		at     time.Time
		until  time.Time // zero: no discount
		reason string
	}{
		{"2023-06-30 23:59:59, the day before", mt(2023, 6, 30, 23, 59, 59), time.Time{},
			"connected 2023-06-30 23:59:59, outside the subscription period 2023-07-01..2023-08-14: not a participant"},
		{"2023-07-01 00:00:00, the first second", mt(2023, 7, 1, 0, 0, 0), mt(2024, 1, 1, 23, 59, 59), ""},
		{"2023-07-31", mt(2023, 7, 31, 9, 0, 0), mt(2024, 1, 31, 23, 59, 59), ""},
		{"2023-08-14 00:00:00", mt(2023, 8, 14, 0, 0, 0), mt(2024, 2, 14, 23, 59, 59), ""},
		{"2023-08-14 23:59:59, the last second", mt(2023, 8, 14, 23, 59, 59), mt(2024, 2, 14, 23, 59, 59), ""},
		{"2023-08-14 20:59:59 UTC is 23:59:59 in Minsk", time.Date(2023, 8, 14, 20, 59, 59, 0, time.UTC), mt(2024, 2, 14, 23, 59, 59), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{"promoCode":null}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: tc.at, Attributes: connection("Drive 5")})
			if tc.until.IsZero() {
				check(t, r, nil, tc.reason)
				return
			}
			check(t, r, []sdk.Effect{discountGrant("Drive 5", 2501, title, tc.at, tc.until)}, "")
		})
	}
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"2023-08-15 00:00:00, the day after", mt(2023, 8, 15, 0, 0, 0)},
		{"2023-08-14 21:00:00 UTC is 2023-08-15 in Minsk", time.Date(2023, 8, 14, 21, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{"promoCode":null}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: tc.at, Attributes: connection("Drive 5")})
			check(t, r, nil, "connected 2023-08-15 00:00:00, outside the subscription period 2023-07-01..2023-08-14: not a participant")
		})
	}
}

// TestDiscountMonths checks the end of an n-month discount: the same day of
// the month n months after the connection day, or the last day of that month
// when it is shorter (the 28th against the 29th, leap and common years).
func TestDiscountMonths(t *testing.T) {
	t.Parallel()
	p := connect(t)
	cases := []struct {
		name, config string
		at, until    time.Time
	}{
		{"2023-08-28 + 6 months", `{"subscriptionPeriod":{"from":"2023-08-01","to":"2023-08-31"}}`, mt(2023, 8, 28, 10, 0, 0), mt(2024, 2, 28, 23, 59, 59)},
		{"2023-08-29 + 6 months, leap year", `{"subscriptionPeriod":{"from":"2023-08-01","to":"2023-08-31"}}`, mt(2023, 8, 29, 10, 0, 0), mt(2024, 2, 29, 23, 59, 59)},
		{"2023-08-31 + 6 months, no 31 February", `{"subscriptionPeriod":{"from":"2023-08-01","to":"2023-08-31"}}`, mt(2023, 8, 31, 23, 59, 59), mt(2024, 2, 29, 23, 59, 59)},
		{"2022-08-28 + 6 months", `{"subscriptionPeriod":{"from":"2022-08-01","to":"2022-08-31"}}`, mt(2022, 8, 28, 0, 0, 0), mt(2023, 2, 28, 23, 59, 59)},
		{"2022-08-29 + 6 months, common year", `{"subscriptionPeriod":{"from":"2022-08-01","to":"2022-08-31"}}`, mt(2022, 8, 29, 0, 0, 0), mt(2023, 2, 28, 23, 59, 59)},
		{"2023-01-31 + 1 month", `{"subscriptionPeriod":{"from":"2023-01-01","to":"2023-12-31"},"discountMonths":1}`, mt(2023, 1, 31, 12, 0, 0), mt(2023, 2, 28, 23, 59, 59)},
		{"2023-12-15 + 12 months", `{"subscriptionPeriod":{"from":"2023-01-01","to":"2023-12-31"},"discountMonths":12}`, mt(2023, 12, 15, 12, 0, 0), mt(2024, 12, 15, 23, 59, 59)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, tc.config, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: tc.at, Attributes: connection("Drive 20")})
			got, _ := split(t, r)
			if len(got) != 1 || got[0].GrantBenefit == nil {
				t.Fatalf("effects %s, want one grant_benefit", show(r.Effects))
			}
			if g := got[0].GrantBenefit; !g.ValidUntil.Equal(tc.until) || !g.ValidFrom.Equal(tc.at) {
				t.Errorf("valid %s .. %s, want %s .. %s", g.ValidFrom.In(minsk), g.ValidUntil.In(minsk), tc.at, tc.until)
			}
		})
	}
}

// TestConnectionNotEligible checks the seed's exclusions and the attributes
// a connection needs.
func TestConnectionNotEligible(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 1, 12, 0, 0)
	base := connection("Drive 5")
	cases := []struct {
		name   string
		attrs  sdk.Values
		reason string
	}{
		{"prepaid", with(base, "payment", "prepaid"), "not eligible: prepaid variants of the tariff plans are excluded"},
		{"prepaid in capitals", with(base, "payment", "PREPAID"), "not eligible: prepaid variants of the tariff plans are excluded"},
		{"re-registration", with(base, "reregistration", true), "not eligible: the number was obtained by re-registration from another holder, which is excluded"},
		{"re-registration as a string", with(base, "reregistration", "true"), "not eligible: the number was obtained by re-registration from another holder, which is excluded"},
		{"re-registration unreadable", with(base, "reregistration", json.Number("1")), "not eligible: attribute reregistration is 1, want true or false"},
		{"plan not participating", with(base, "tariffPlan", "Smart"), `not eligible: tariff plan "Smart" does not take part (participating: Bez Limita 2.0, Drive 5, Drive 20)`},
		{"no plan", with(base, "tariffPlan", nil), "not eligible: no tariffPlan attribute"},
		{"no payment", with(base, "payment", nil), "not eligible: no payment attribute (postpaid or prepaid)"},
		{"unknown payment", with(base, "payment", "credit"), `not eligible: payment "credit" is neither postpaid nor prepaid`},
		{"unknown client type", with(base, "clientType", "government"), `not eligible: clientType "government" is not person, company or sole_trader`},
		{"not a new contract nor a new number", with(base, "newNumber", false, "newContract", false), "not eligible: neither a new contract nor a new number on an existing contract"},
		{"only newContract false", with(base, "newNumber", nil, "newContract", false), "not eligible: neither a new contract nor a new number on an existing contract"},
		{"prepaid re-registered Smart", with(base, "tariffPlan", "Smart", "payment", "prepaid", "reregistration", true),
			`not eligible: tariff plan "Smart" does not take part (participating: Bez Limita 2.0, Drive 5, Drive 20); prepaid variants of the tariff plans are excluded; the number was obtained by re-registration from another holder, which is excluded`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, evaluate(t, p, `{}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: tc.attrs}), nil, tc.reason)
		})
	}
}

// TestConnectionEligibleVariants checks the client types and the ways of
// saying the connection is new.
func TestConnectionEligibleVariants(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 1, 12, 0, 0)
	base := connection("Drive 5")
	for name, attrs := range map[string]sdk.Values{
		"person":                    base,
		"company":                   with(base, "clientType", "company"),
		"sole trader":               with(base, "clientType", "sole_trader"),
		"no client type":            with(base, "clientType", nil),
		"new contract":              with(base, "newNumber", nil, "newContract", true),
		"new number, old contract":  with(base, "newNumber", true, "newContract", false),
		"neither flag given":        with(base, "newNumber", nil),
		"no reregistration flag":    with(base, "reregistration", nil),
		"reregistration as a false": with(base, "reregistration", "false"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{"promoCode":null}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: attrs})
			got, _ := split(t, r)
			if len(got) != 1 || got[0].GrantBenefit == nil || got[0].GrantBenefit.Percent != 2501 {
				t.Errorf("effects %s (%s), want the 25.01%% discount", show(r.Effects), r.NoEffectReason)
			}
		})
	}
}

// TestDiscountOncePerParticipant checks that a second connection earns no
// second discount, while a second number still earns its promo-code right.
func TestDiscountOncePerParticipant(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	first := mt(2023, 7, 10, 12, 0, 0)
	c.send(EventConnected, first, connection("Drive 5"))
	if c.state().Participant == nil {
		t.Fatal("the first connection did not make a participant")
	}
	check(t, c.send(EventConnected, mt(2023, 8, 1, 12, 0, 0), connection("Drive 20")), nil,
		"the discount was already granted for the connection of 2023-07-10 12:00:00 (once per participant); number +375291112233 already has its promo-code right (once per number)")

	second := mt(2023, 8, 2, 12, 0, 0)
	st := check(t, c.send(EventConnected, second, with(connection("Drive 20"), "number", "+375 29 444-55-66")), nil, "")
	if st == nil || st.Discount.Plan != "Drive 5" || st.PromoCodes["375294445566"] == nil || st.Number != "+375 29 444-55-66" || st.Plan != "Drive 20" {
		t.Errorf("state after a second number:\n%s", show(st))
	}
}

// TestNumberFromMemberPhone checks that the member's phone stands in for a
// missing number attribute.
func TestNumberFromMemberPhone(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 20, 12, 0, 0)
	r := evaluate(t, p, `{}`, sdk.Member{ID: "m", Phone: "+375 33 000-00-01"}, sdk.Event{Type: EventConnected, OccurredAt: at,
		Attributes: with(connection("Drive 5"), "number", nil)})
	st := check(t, r, nil, "")
	want := State{Number: "+375 33 000-00-01", Plan: "Drive 5",
		PromoCodes: map[string]*PromoCode{"375330000001": {Number: "+375 33 000-00-01", Plan: "Drive 5", ConnectedAt: at.UTC()}}}
	if st == nil || !reflect.DeepEqual(want, *st) {
		t.Errorf("state:\n%s\nwant:\n%s", show(st), show(want))
	}
	check(t, evaluate(t, p, `{}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: with(connection("Drive 5"), "number", nil)}),
		nil, "connected 2023-08-20 12:00:00, outside the subscription period 2023-07-01..2023-08-14: not a participant, no discount; no subscriber number (attribute number or the member's phone): no promo code")
}

// TestDiscountNextSeason checks that another season's table is a config,
// not a build: a whole percentage and a plan of its own.
func TestDiscountNextSeason(t *testing.T) {
	t.Parallel()
	p := connect(t)
	config := `{"subscriptionPeriod":{"from":"2024-07-01","to":"2024-08-31"},"discountMonths":3,` +
		`"discounts":[{"plan":"Drive 30","aliases":["Драйв 30"],"percentBasisPoints":3000}],"addons":[],"promoCode":null}`
	at := mt(2024, 8, 31, 23, 59, 59)
	r := evaluate(t, p, config, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: connection("Драйв 30")})
	check(t, r, []sdk.Effect{discountGrant("Drive 30", 3000, "30% off the Drive 30 monthly fee for 3 months", at, mt(2024, 11, 30, 23, 59, 59))}, "")
	check(t, evaluate(t, p, config, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: connection("Drive 5")}), nil,
		`not eligible: tariff plan "Drive 5" does not take part (participating: Drive 30)`)
}
