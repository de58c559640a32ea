package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

var promoUntil = mt(2023, 9, 15, 23, 59, 59)

// promoEffects are the grant_benefit and notify of the promo code for
// number, sent at at to to.
func promoEffects(number, key, to string, at time.Time) []sdk.Effect {
	return []sdk.Effect{
		sdk.GrantBenefit{Key: "voka-" + key, Kind: "promo_code", Title: `VOKA "All inclusive 2022" subscription for 9.90 BYN a month`,
			ValidFrom: ptr(at), ValidUntil: ptr(promoUntil),
			Attributes: sdk.Values{"number": number, "service": "VOKA", "subscription": "All inclusive 2022", "monthlyFee": "9.90 BYN"}}.Effect(),
		sdk.Notify{Channel: "sms", Template: "voka_promo_code", To: to, Params: map[string]string{
			"code": "$benefit:voka-" + key + ".code", "deadline": "15.09.2023", "number": number,
			"service": "VOKA", "subscription": "All inclusive 2022", "monthlyFee": "9.90 BYN",
		}}.Effect(),
	}
}

// TestPromoCodePeriod checks both ends of the promo-code period for the
// connection and for the activation of services.
func TestPromoCodePeriod(t *testing.T) {
	t.Parallel()
	p := connect(t)
	cases := []struct {
		name          string
		connected     time.Time
		activated     time.Time
		connectReason string // non-empty: the connection earns nothing
		activeReason  string // non-empty: the activation sends nothing
	}{
		{"connected and activated on the first day", mt(2023, 7, 1, 0, 0, 0), mt(2023, 7, 1, 0, 5, 0), "", ""},
		{"connected on the last day, activated at its last second", mt(2023, 9, 15, 12, 0, 0), mt(2023, 9, 15, 23, 59, 59), "", ""},
		{"connected on the last day, activated the day after", mt(2023, 9, 15, 12, 0, 0), mt(2023, 9, 16, 0, 0, 0), "",
			"services activated 2023-09-16 00:00:00, after the promo-code period 2023-07-01..2023-09-15: the code could no longer be activated"},
		{"connected the day after", mt(2023, 9, 16, 0, 0, 0), time.Time{},
			"connected 2023-09-16 00:00:00, outside the subscription period 2023-07-01..2023-08-14 and the promo-code period 2023-07-01..2023-09-15: not a participant", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &core{t: t, p: p, config: `{}`, member: sdk.Member{ID: "m", Phone: "+375291112233"}}
			r := c.send(EventConnected, tc.connected, connection("Drive 20"))
			if tc.connectReason != "" {
				check(t, r, nil, tc.connectReason)
				return
			}
			if c.state().PromoCodes["375291112233"] == nil {
				t.Fatalf("no promo-code right recorded: %s", show(c.state()))
			}
			r = c.send(EventServiceActivate, tc.activated, sdk.Values{"number": "+375291112233"})
			if tc.activeReason != "" {
				check(t, r, nil, tc.activeReason)
				return
			}
			st := check(t, r, promoEffects("+375291112233", "375291112233", "", tc.activated), "")
			pc := st.PromoCodes["375291112233"]
			if pc.Key != "voka-375291112233" || !pc.SentAt.Equal(tc.activated) || !pc.Until.Equal(promoUntil) {
				t.Errorf("promo code state %s", show(pc))
			}
		})
	}
}

// TestPromoCodeOncePerNumber checks that the code is sent once per number,
// and that a number other than the member's phone gets it by SMS itself.
func TestPromoCodeOncePerNumber(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	at := mt(2023, 8, 20, 10, 0, 0)
	c.send(EventConnected, at, connection("Drive 5"))
	check(t, c.send(EventServiceActivate, at.Add(time.Hour), sdk.Values{"number": "375291112233"}),
		promoEffects("375291112233", "375291112233", "", at.Add(time.Hour)), "")
	check(t, c.send(EventServiceActivate, at.Add(2*time.Hour), sdk.Values{"number": "+375291112233"}), nil,
		"the promo code for number +375291112233 was already sent on 2023-08-20 11:00:00 (once per number)")
	check(t, c.send(EventConnected, at.Add(3*time.Hour), connection("Drive 5")), nil,
		"connected 2023-08-20 13:00:00, outside the subscription period 2023-07-01..2023-08-14: not a participant, no discount; number +375291112233 already has its promo-code right (once per number)")

	second := with(connection("Bez Limita 2.0"), "number", "+375 44 765-43-21", "newNumber", nil, "newContract", true)
	c.send(EventConnected, at.Add(4*time.Hour), second)
	check(t, c.send(EventServiceActivate, at.Add(5*time.Hour), sdk.Values{"number": "+375 44 765-43-21"}),
		promoEffects("+375 44 765-43-21", "375447654321", "+375 44 765-43-21", at.Add(5*time.Hour)), "")
}

func TestPromoCodeRefused(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 20, 10, 0, 0)
	right := State{Number: "+375291112233", Plan: "Drive 5",
		PromoCodes: map[string]*PromoCode{"375291112233": {Number: "+375291112233", Plan: "Drive 5", ConnectedAt: at.UTC()}}}
	cases := []struct {
		name, config string
		member       sdk.Member
		attrs        sdk.Values
		reason       string
	}{
		{"switched off", `{"promoCode":null}`, sdk.Member{ID: "m", State: stateJSON(t, right)}, sdk.Values{}, "promo codes are switched off in this campaign"},
		{"no connection recorded", `{}`, sdk.Member{ID: "m"}, sdk.Values{"number": "+375291112233"},
			"number +375291112233 has no qualifying connection in the promo-code period 2023-07-01..2023-09-15"},
		{"another number", `{}`, sdk.Member{ID: "m", State: stateJSON(t, right)}, sdk.Values{"number": "+375290000000"},
			"number +375290000000 has no qualifying connection in the promo-code period 2023-07-01..2023-09-15"},
		{"no number at all", `{}`, sdk.Member{ID: "m"}, sdk.Values{}, "no subscriber number (attribute number, or a recorded connection)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, evaluate(t, p, tc.config, tc.member, sdk.Event{Type: EventServiceActivate, OccurredAt: at, Attributes: tc.attrs}), nil, tc.reason)
		})
	}
	t.Run("number from the recorded connection", func(t *testing.T) {
		t.Parallel()
		r := evaluate(t, p, `{}`, sdk.Member{ID: "m", State: stateJSON(t, right)}, sdk.Event{Type: EventServiceActivate, OccurredAt: at})
		check(t, r, promoEffects("+375291112233", "375291112233", "+375291112233", at), "")
	})
	t.Run("prepaid connection earns no right", func(t *testing.T) {
		t.Parallel()
		check(t, evaluate(t, p, `{}`, sdk.Member{ID: "m"}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: with(connection("Drive 5"), "payment", "prepaid")}),
			nil, "not eligible: prepaid variants of the tariff plans are excluded")
	})
}

// TestAcceptance walks the scenarios the end-to-end test checks, one
// member per scenario, through a simulated core.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	const title = "25.01% off the Drive 5 monthly fee for 6 months"

	t.Run("Drive 5 on 2023-08-14: 25.01% to the end of the sixth month, ended by a tariff change at 23:59:59 of its day", func(t *testing.T) {
		t.Parallel()
		c := newCore(t, `{}`)
		at := mt(2023, 8, 14, 11, 0, 0)
		check(t, c.send(EventConnected, at, connection("Drive 5")),
			[]sdk.Effect{discountGrant("Drive 5", 2501, title, at, mt(2024, 2, 14, 23, 59, 59))}, "")
		changed := mt(2023, 10, 1, 9, 0, 0)
		check(t, c.send(EventTariffChanged, changed, sdk.Values{"from": "Drive 5", "to": "Drive 20"}),
			[]sdk.Effect{end("fee-discount", "plan_changed", mt(2023, 10, 1, 23, 59, 59))}, "")
	})
	t.Run("Drive 5 on 2023-08-15: not a participant", func(t *testing.T) {
		t.Parallel()
		c := newCore(t, `{}`)
		r := c.send(EventConnected, mt(2023, 8, 15, 0, 0, 0), connection("Drive 5"))
		if got, _ := split(t, r); got != nil {
			t.Errorf("effects %s, want no discount", show(got))
		}
		check(t, c.send(EventBenefitActivate, mt(2023, 8, 16, 0, 0, 0), activate("unlimited_minutes")),
			rejected("NOT_PARTICIPANT", "only participants may switch on the add-ons: a new postpaid connection of Bez Limita 2.0, Drive 5, Drive 20 between 2023-07-01 and 2023-08-14"), "")
	})
	t.Run("prepaid Drive 5: not eligible", func(t *testing.T) {
		t.Parallel()
		c := newCore(t, `{}`)
		check(t, c.send(EventConnected, mt(2023, 8, 14, 11, 0, 0), with(connection("Drive 5"), "payment", "prepaid")), nil,
			"not eligible: prepaid variants of the tariff plans are excluded")
	})
	t.Run("unlimited minutes on 2023-09-30: 90 days, not extended by a block", func(t *testing.T) {
		t.Parallel()
		c := newCore(t, `{}`)
		c.send(EventConnected, mt(2023, 8, 14, 11, 0, 0), connection("Drive 5"))
		at := mt(2023, 9, 30, 12, 0, 0)
		check(t, c.send(EventBenefitActivate, at, activate("unlimited_minutes")),
			[]sdk.Effect{addonGrant("addon-unlimited_minutes-drive-5", "unlimited_minutes", "Drive 5", minutesTitle, "Unlimited minutes to all networks", at, mt(2023, 12, 29, 23, 59, 59))}, "")
		before := c.state()
		c.send(EventStatusChanged, mt(2023, 10, 5, 0, 0, 0), sdk.Values{"status": "blocked"})
		c.send(EventStatusChanged, mt(2023, 11, 5, 0, 0, 0), sdk.Values{"status": "active"})
		if !reflect.DeepEqual(before, c.state()) {
			t.Errorf("a block changed the state:\n%s", show(c.state()))
		}
	})
	t.Run("video promo code by SMS once per number", func(t *testing.T) {
		t.Parallel()
		c := newCore(t, `{}`)
		at := mt(2023, 8, 14, 11, 0, 0)
		c.send(EventConnected, at, connection("Drive 5"))
		check(t, c.send(EventServiceActivate, at.Add(time.Minute), sdk.Values{"number": "+375291112233"}),
			promoEffects("+375291112233", "375291112233", "", at.Add(time.Minute)), "")
		check(t, c.send(EventServiceActivate, at.Add(time.Hour), sdk.Values{"number": "+375291112233"}), nil,
			"the promo code for number +375291112233 was already sent on 2023-08-14 11:01:00 (once per number)")
	})
}

func TestCheckEligibility(t *testing.T) {
	t.Parallel()
	p := connect(t)
	ended := stateJSON(t, State{Ended: &Ending{At: mt(2023, 8, 1, 0, 0, 0).UTC(), Reason: "other_promotion"}})
	cases := []struct {
		name    string
		member  sdk.Member
		answers sdk.Values
		want    sdk.EligibilityResponse
	}{
		{"nothing known", sdk.Member{ID: "m"}, nil, sdk.EligibilityResponse{Eligible: true}},
		{"participating postpaid plan", sdk.Member{ID: "m", Attributes: sdk.Values{"tariffPlan": "Драйв 20", "payment": "postpaid"}}, nil,
			sdk.EligibilityResponse{Eligible: true}},
		{"every exclusion", sdk.Member{ID: "m", State: ended, Attributes: sdk.Values{"tariffPlan": "Smart", "payment": "prepaid", "reregistration": true}}, nil,
			sdk.EligibilityResponse{Reasons: []sdk.Reason{
				{Code: "PLAN_NOT_PARTICIPATING", Message: `tariff plan "Smart" does not take part (participating: Bez Limita 2.0, Drive 5, Drive 20)`},
				{Code: "PREPAID_NOT_ELIGIBLE", Message: "prepaid variants of the tariff plans are excluded"},
				{Code: "REREGISTERED_NUMBER", Message: "the number was obtained by re-registration from another holder, which is excluded"},
				{Code: "PARTICIPATION_ENDED", Message: "the promotion ended for this subscriber on 2023-08-01 00:00:00 (other_promotion)"},
			}}},
		{"answers win over attributes", sdk.Member{ID: "m", Attributes: sdk.Values{"tariffPlan": "Smart"}}, sdk.Values{"tariffPlan": "Drive 5"},
			sdk.EligibilityResponse{Eligible: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: campaign(`{}`), Member: tc.member, Answers: tc.answers, Now: mt(2023, 8, 1, 0, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.want, got) {
				t.Errorf("eligibility:\n%s\nwant:\n%s", show(got), show(tc.want))
			}
		})
	}
}
