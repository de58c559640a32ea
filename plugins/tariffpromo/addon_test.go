package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

const minutesTitle = "PROMO. Unlimited minutes to all networks"

// participant returns the state of a participant connected on 2023-07-10
// with plan, as the plugin records it.
func participant(plan string, bp int) State {
	at := mt(2023, 7, 10, 12, 0, 0).UTC()
	return State{
		Number:      "+375291112233",
		Plan:        plan,
		Participant: &Participation{Number: "+375291112233", Plan: plan, ConnectedAt: at},
		Discount:    &Grant{Key: "fee-discount", Plan: plan, Percent: bp, From: at, Until: mt(2024, 1, 10, 23, 59, 59).UTC()},
	}
}

func activate(addon string) sdk.Values { return sdk.Values{"addon": addon} }

// TestAddonTable2 checks every row of Table 2 and both ends of the
// activation period: 90 days counted from the day after activation, ending
// at 23:59:59 of the 90th day.
func TestAddonTable2(t *testing.T) {
	t.Parallel()
	p := connect(t)
	cases := []struct {
		name, plan, addon, key, title, content string
		at, until                              time.Time
	}{
		{"Bez Limita 2.0 unlimited minutes", "Bez Limita 2.0", "unlimited_minutes", "addon-unlimited_minutes-bez-limita-2-0", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 7, 15, 10, 0, 0), mt(2023, 10, 13, 23, 59, 59)},
		{"Bez Limita 2.0 modem", "Bez Limita 2.0", "modem", "addon-modem-bez-limita-2-0", "Modem mode", "Sharing of internet traffic",
			mt(2023, 7, 15, 10, 0, 0), mt(2023, 10, 13, 23, 59, 59)},
		{"Drive 5 unlimited minutes", "Drive 5", "unlimited_minutes", "addon-unlimited_minutes-drive-5", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 7, 15, 10, 0, 0), mt(2023, 10, 13, 23, 59, 59)},
		{"Drive 20 unlimited minutes", "Drive 20", "unlimited_minutes", "addon-unlimited_minutes-drive-20", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 7, 15, 10, 0, 0), mt(2023, 10, 13, 23, 59, 59)},
		{"first second of the period", "Drive 5", "unlimited_minutes", "addon-unlimited_minutes-drive-5", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 7, 1, 0, 0, 0), mt(2023, 9, 29, 23, 59, 59)},
		{"last day 00:00:00", "Drive 5", "unlimited_minutes", "addon-unlimited_minutes-drive-5", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 9, 30, 0, 0, 0), mt(2023, 12, 29, 23, 59, 59)},
		{"last second of the period", "Drive 5", "unlimited_minutes", "addon-unlimited_minutes-drive-5", minutesTitle, "Unlimited minutes to all networks",
			mt(2023, 9, 30, 23, 59, 59), mt(2023, 12, 29, 23, 59, 59)},
		{"kind instead of addon", "Drive 20", "", "addon-modem-drive-20", "", "", time.Time{}, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.addon == "" {
				// The core may name the add-on in a kind attribute.
				r := evaluate(t, p, `{}`, sdk.Member{ID: "m", State: stateJSON(t, participant("Drive 20", 2084))},
					sdk.Event{Type: EventBenefitActivate, OccurredAt: mt(2023, 8, 1, 0, 0, 0), Attributes: sdk.Values{"kind": "unlimited_minutes"}})
				got, _ := split(t, r)
				if len(got) != 1 || got[0].GrantBenefit == nil || got[0].GrantBenefit.Key != "addon-unlimited_minutes-drive-20" {
					t.Errorf("effects %s, want the Drive 20 unlimited minutes", show(r.Effects))
				}
				return
			}
			before := participant(tc.plan, 0)
			r := evaluate(t, p, `{}`, sdk.Member{ID: "m", State: stateJSON(t, before)},
				sdk.Event{Type: EventBenefitActivate, OccurredAt: tc.at, Attributes: activate(tc.addon)})
			st := check(t, r, []sdk.Effect{addonGrant(tc.key, tc.addon, tc.plan, tc.title, tc.content, tc.at, tc.until)}, "")
			want := before
			want.Addons = []Grant{{Key: tc.key, Plan: tc.plan, Addon: tc.addon, From: tc.at.UTC(), Until: tc.until.UTC()}}
			if st == nil || !reflect.DeepEqual(want, *st) {
				t.Errorf("state:\n%s\nwant:\n%s", show(st), show(want))
			}
		})
	}
}

// TestAddonRefused checks every reject code of benefit.activate.
func TestAddonRefused(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 1, 12, 0, 0)
	drive5 := participant("Drive 5", 2501)
	running := drive5
	running.Addons = []Grant{{Key: "addon-unlimited_minutes-drive-5", Plan: "Drive 5", Addon: "unlimited_minutes",
		From: mt(2023, 7, 20, 0, 0, 0).UTC(), Until: mt(2023, 10, 18, 23, 59, 59).UTC()}}
	used := drive5
	used.Addons = []Grant{{Key: "addon-unlimited_minutes-drive-5", Plan: "Drive 5", Addon: "unlimited_minutes",
		From: mt(2023, 7, 20, 0, 0, 0).UTC(), Until: mt(2023, 10, 18, 23, 59, 59).UTC(), EndedAt: ptr(mt(2023, 7, 25, 0, 0, 0)), EndReason: "cancelled"}}
	ended := drive5
	ended.Ended = &Ending{At: mt(2023, 7, 30, 9, 0, 0).UTC(), Reason: "other_promotion", Promotion: "Home internet"}
	promoOnly := State{Number: "+375291112233", Plan: "Drive 5",
		PromoCodes: map[string]*PromoCode{"375291112233": {Number: "+375291112233", Plan: "Drive 5", ConnectedAt: mt(2023, 8, 20, 0, 0, 0).UTC()}}}
	smart := drive5
	smart.Plan = "Smart"

	cases := []struct {
		name          string
		state         *State
		at            time.Time
		attrs         sdk.Values
		code, message string
	}{
		{"no add-on named", &drive5, at, sdk.Values{}, "UNKNOWN_ADDON", "name the add-on to switch on (attribute addon)"},
		{"unknown add-on", &drive5, at, activate("roaming"), "UNKNOWN_ADDON", `"roaming" is not an add-on of this promotion`},
		{"no state", nil, at, activate("unlimited_minutes"), "NOT_PARTICIPANT",
			"only participants may switch on the add-ons: a new postpaid connection of Bez Limita 2.0, Drive 5, Drive 20 between 2023-07-01 and 2023-08-14"},
		{"connected after the subscription period", &promoOnly, at, activate("unlimited_minutes"), "NOT_PARTICIPANT",
			"only participants may switch on the add-ons: a new postpaid connection of Bez Limita 2.0, Drive 5, Drive 20 between 2023-07-01 and 2023-08-14"},
		{"participation ended", &ended, at, activate("unlimited_minutes"), "PARTICIPATION_ENDED", "the promotion ended for this subscriber on 2023-07-30 09:00:00 (other_promotion)"},
		{"before the activation period", &drive5, mt(2023, 6, 30, 23, 59, 59), activate("unlimited_minutes"), "ACTIVATION_PERIOD_CLOSED", "add-ons can be switched on from 2023-07-01 to 2023-09-30 inclusive"},
		{"after the activation period", &drive5, mt(2023, 10, 1, 0, 0, 0), activate("unlimited_minutes"), "ACTIVATION_PERIOD_CLOSED", "add-ons can be switched on from 2023-07-01 to 2023-09-30 inclusive"},
		{"modem is not in Drive 5", &drive5, at, activate("modem"), "ADDON_NOT_IN_PLAN", `the tariff plan Drive 5 has no "modem" add-on in this promotion`},
		{"plan changed to a plan outside the promotion", &smart, at, activate("unlimited_minutes"), "ADDON_NOT_IN_PLAN", `the tariff plan Smart has no "unlimited_minutes" add-on in this promotion`},
		{"already running", &running, at, activate("unlimited_minutes"), "ADDON_ALREADY_ACTIVE", "unlimited_minutes is already on until 2023-10-18 23:59:59"},
		{"already used on this plan", &used, at, activate("unlimited_minutes"), "ADDON_ALREADY_USED", "unlimited_minutes was already switched on for the Drive 5 plan on 2023-07-20 (once per plan)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := sdk.Member{ID: "m"}
			if tc.state != nil {
				m.State = stateJSON(t, *tc.state)
			}
			r := evaluate(t, p, `{}`, m, sdk.Event{Type: EventBenefitActivate, OccurredAt: tc.at, Attributes: tc.attrs})
			check(t, r, rejected(tc.code, tc.message), "")
		})
	}
}

// TestBlockedPeriodDoesNotExtend checks seed 3.7: an add-on switched on on
// the last day of the activation period runs 90 days, and blocking and
// unblocking the subscriber leaves its end (and the discount's) unchanged.
func TestBlockedPeriodDoesNotExtend(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	c.send(EventConnected, mt(2023, 8, 14, 15, 0, 0), connection("Drive 5"))
	activated := mt(2023, 9, 30, 18, 30, 0)
	until := mt(2023, 12, 29, 23, 59, 59)
	check(t, c.send(EventBenefitActivate, activated, activate("unlimited_minutes")),
		[]sdk.Effect{addonGrant("addon-unlimited_minutes-drive-5", "unlimited_minutes", "Drive 5", minutesTitle, "Unlimited minutes to all networks", activated, until)}, "")
	before := c.state()
	for _, ev := range []struct {
		at     time.Time
		status string
	}{{mt(2023, 10, 10, 0, 0, 0), "blocked"}, {mt(2023, 11, 10, 0, 0, 0), "active"}} {
		check(t, c.send(EventStatusChanged, ev.at, sdk.Values{"status": ev.status}), nil,
			`status "`+ev.status+`" changes nothing: the discount and the add-ons keep their end dates, periods in a status other than active do not extend them (seed 3.7)`)
	}
	if after := c.state(); !reflect.DeepEqual(before, after) {
		t.Errorf("state changed by a status change:\n%s\nwas:\n%s", show(after), show(before))
	}
	if got := c.state().Addons[0].Until; !got.Equal(until) {
		t.Errorf("add-on ends %s, want %s", got.In(minsk), until)
	}
	check(t, c.send(EventStatusChanged, mt(2023, 10, 10, 0, 0, 0), sdk.Values{}), nil, "no status attribute")
}

// TestTariffChanged: a change of plan ends the discount, and the add-ons the new plan does not
// offer, at 23:59:59 of the day of the change (seed 2.3, 3.6), not at the moment of the event.
func TestTariffChanged(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 20, 10, 0, 0)
	last := mt(2023, 8, 20, 23, 59, 59) // the end of the day of the change
	minutes := func(plan, slug string) Grant {
		return Grant{Key: "addon-unlimited_minutes-" + slug, Plan: plan, Addon: "unlimited_minutes",
			From: mt(2023, 8, 1, 0, 0, 0).UTC(), Until: mt(2023, 10, 30, 23, 59, 59).UTC()}
	}
	modem := Grant{Key: "addon-modem-bez-limita-2-0", Plan: "Bez Limita 2.0", Addon: "modem",
		From: mt(2023, 8, 1, 0, 0, 0).UTC(), Until: mt(2023, 10, 30, 23, 59, 59).UTC()}
	drive5 := participant("Drive 5", 2501)
	drive5.Addons = []Grant{minutes("Drive 5", "drive-5")}
	bez := participant("Bez Limita 2.0", 3001)
	bez.Addons = []Grant{minutes("Bez Limita 2.0", "bez-limita-2-0"), modem}
	expired := participant("Drive 5", 2501)
	expired.Discount.Until = mt(2023, 8, 20, 9, 59, 59).UTC()
	expired.Addons = []Grant{minutes("Drive 5", "drive-5")}
	expired.Addons[0].Until = mt(2023, 8, 19, 23, 59, 59).UTC()
	promoOnly := State{Number: "+375291112233", Plan: "Drive 5",
		PromoCodes: map[string]*PromoCode{"375291112233": {Number: "+375291112233", Plan: "Drive 5", ConnectedAt: mt(2023, 8, 16, 0, 0, 0).UTC()}}}

	type change = func(*State)
	endDiscount := func(reason string) change {
		return func(s *State) {
			s.Discount.EndedAt, s.Discount.EndReason, s.Discount.Until = ptr(last), reason, last.UTC()
		}
	}
	endAddon := func(i int, reason string) change {
		return func(s *State) {
			s.Addons[i].EndedAt, s.Addons[i].EndReason, s.Addons[i].Until = ptr(last), reason, last.UTC()
		}
	}
	plan := func(p string) change { return func(s *State) { s.Plan = p } }
	cases := []struct {
		name    string
		before  State
		attrs   sdk.Values
		effects []sdk.Effect
		changes []change
	}{
		{"Drive 5 to Drive 20 keeps the minutes", drive5, sdk.Values{"from": "Drive 5", "to": "Drive 20"},
			[]sdk.Effect{end("fee-discount", "plan_changed", last)},
			[]change{endDiscount("plan_changed"), plan("Drive 20")}},
		{"Bez Limita 2.0 to Драйв 5 ends the modem", bez, sdk.Values{"from": "Bez Limita 2.0", "to": "Драйв 5"},
			[]sdk.Effect{end("fee-discount", "plan_changed", last), end("addon-modem-bez-limita-2-0", "plan_changed", last)},
			[]change{endDiscount("plan_changed"), endAddon(1, "plan_changed"), plan("Drive 5")}},
		{"to a plan outside the promotion ends everything", bez, sdk.Values{"from": "Bez Limita 2.0", "to": "Smart"},
			[]sdk.Effect{end("fee-discount", "plan_changed", last), end("addon-unlimited_minutes-bez-limita-2-0", "plan_changed", last), end("addon-modem-bez-limita-2-0", "plan_changed", last)},
			[]change{endDiscount("plan_changed"), endAddon(0, "plan_changed"), endAddon(1, "plan_changed"), plan("Smart")}},
		{"re-registration with a change of plan", drive5, sdk.Values{"from": "Drive 5", "to": "Drive 20", "reregistration": true},
			[]sdk.Effect{end("fee-discount", "reregistered", last), end("addon-unlimited_minutes-drive-5", "reregistered", last)},
			[]change{endDiscount("reregistered"), endAddon(0, "reregistered"), plan("Drive 20"),
				func(s *State) { s.Ended = &Ending{At: at.UTC(), Reason: "reregistered"} }}},
		{"benefits already over", expired, sdk.Values{"to": "Smart"}, nil, []change{plan("Smart")}},
		{"promo-code right only", promoOnly, sdk.Values{"to": "Drive 20"}, nil, []change{plan("Drive 20")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{}`, sdk.Member{ID: "m", State: stateJSON(t, tc.before)}, sdk.Event{Type: EventTariffChanged, OccurredAt: at, Attributes: tc.attrs})
			st := check(t, r, tc.effects, "")
			want, _ := sdk.ReadState[State](stateJSON(t, tc.before)) // a deep copy
			for _, ch := range tc.changes {
				ch(&want)
			}
			if st == nil || !reflect.DeepEqual(want, *st) {
				t.Errorf("state:\n%s\nwant:\n%s", show(st), show(want))
			}
		})
	}

	for _, tc := range []struct {
		name   string
		state  *State
		attrs  sdk.Values
		reason string
	}{
		{"not a participant", nil, sdk.Values{"from": "Drive 5", "to": "Drive 20"}, "not a participant: no qualifying connection recorded"},
		{"same plan", &drive5, sdk.Values{"from": "Drive 5", "to": "«драйв 5»"}, "tariff plan unchanged («драйв 5»)"},
		{"same as the recorded plan", &drive5, sdk.Values{"to": "Драйв 5"}, "tariff plan unchanged (Драйв 5)"},
		{"no new plan", &drive5, sdk.Values{"from": "Drive 5"}, "no to attribute (the new tariff plan)"},
		{"unreadable flag", &drive5, sdk.Values{"to": "Drive 20", "reregistration": "yes"}, "attribute reregistration is yes, want true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := sdk.Member{ID: "m"}
			if tc.state != nil {
				m.State = stateJSON(t, *tc.state)
			}
			check(t, evaluate(t, p, `{}`, m, sdk.Event{Type: EventTariffChanged, OccurredAt: at, Attributes: tc.attrs}), nil, tc.reason)
		})
	}
}

// TestReactivateAfterPlanChange checks seed 3.5: after a change to another
// participating plan the member may switch the add-on on again for the new
// plan within the activation period, at once: the new add-on replaces the one
// of the previous plan, which the change kept running (3.4). Once per plan.
func TestReactivateAfterPlanChange(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	c.send(EventConnected, mt(2023, 7, 1, 9, 0, 0), connection("Drive 5"))
	c.send(EventBenefitActivate, mt(2023, 7, 1, 10, 0, 0), activate("unlimited_minutes")) // ends 2023-09-29
	check(t, c.send(EventTariffChanged, mt(2023, 7, 20, 0, 0, 0), sdk.Values{"from": "Drive 5", "to": "Drive 20"}),
		[]sdk.Effect{end("fee-discount", "plan_changed", mt(2023, 7, 20, 23, 59, 59))}, "")
	at := mt(2023, 7, 20, 12, 0, 0)
	check(t, c.send(EventBenefitActivate, at, activate("unlimited_minutes")), []sdk.Effect{
		end("addon-unlimited_minutes-drive-5", "replaced", at),
		addonGrant("addon-unlimited_minutes-drive-20", "unlimited_minutes", "Drive 20", minutesTitle, "Unlimited minutes to all networks", at, mt(2023, 10, 18, 23, 59, 59)),
	}, "")
	if got := c.state().Addons[0]; got.EndReason != "replaced" || !got.EndedAt.Equal(at) || !got.Until.Equal(at) {
		t.Errorf("the Drive 5 add-on after its replacement: %s", show(got))
	}
	check(t, c.send(EventBenefitActivate, at.Add(time.Hour), activate("unlimited_minutes")),
		rejected("ADDON_ALREADY_ACTIVE", "unlimited_minutes is already on until 2023-10-18 23:59:59"), "")
	// Back on Drive 5: its add-on was used; the Drive 20 one keeps running.
	check(t, c.send(EventTariffChanged, mt(2023, 9, 30, 12, 0, 0), sdk.Values{"from": "Drive 20", "to": "Drive 5"}), nil, "")
	check(t, c.send(EventBenefitActivate, mt(2023, 9, 30, 13, 0, 0), activate("unlimited_minutes")),
		rejected("ADDON_ALREADY_USED", "unlimited_minutes was already switched on for the Drive 5 plan on 2023-07-01 (once per plan)"), "")
	// Within the activation period only.
	check(t, c.send(EventTariffChanged, mt(2023, 10, 1, 9, 0, 0), sdk.Values{"from": "Drive 5", "to": "Bez Limita 2.0"}), nil, "")
	check(t, c.send(EventBenefitActivate, mt(2023, 10, 1, 10, 0, 0), activate("unlimited_minutes")),
		rejected("ACTIVATION_PERIOD_CLOSED", "add-ons can be switched on from 2023-07-01 to 2023-09-30 inclusive"), "")
}

func TestPromotionJoined(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 9, 1, 10, 0, 0)
	full := participant("Bez Limita 2.0", 3001)
	full.Addons = []Grant{
		{Key: "addon-unlimited_minutes-bez-limita-2-0", Plan: "Bez Limita 2.0", Addon: "unlimited_minutes", From: mt(2023, 7, 2, 0, 0, 0).UTC(), Until: mt(2023, 9, 30, 23, 59, 59).UTC()},
		{Key: "addon-modem-bez-limita-2-0", Plan: "Bez Limita 2.0", Addon: "modem", From: mt(2023, 5, 2, 0, 0, 0).UTC(), Until: mt(2023, 8, 31, 23, 59, 59).UTC()},
	}
	sent, until := mt(2023, 7, 11, 0, 0, 0).UTC(), mt(2023, 9, 15, 23, 59, 59).UTC()
	full.PromoCodes = map[string]*PromoCode{
		"375291112233": {Number: "+375291112233", Plan: "Bez Limita 2.0", ConnectedAt: mt(2023, 7, 10, 12, 0, 0).UTC(), Key: "voka-375291112233", SentAt: &sent, Until: &until},
		"375290000000": {Number: "+375290000000", Plan: "Drive 5", ConnectedAt: mt(2023, 7, 12, 12, 0, 0).UTC()},
	}
	r := evaluate(t, p, `{}`, sdk.Member{ID: "m", State: stateJSON(t, full)},
		sdk.Event{Type: EventPromotionJoined, OccurredAt: at, Attributes: sdk.Values{"promotion": "Home internet 2023", "fixedLine": true}})
	// The discount and the add-on end at 23:59:59 of the day (seed 2.3, 3.6), the promo code at once.
	last := mt(2023, 9, 1, 23, 59, 59)
	st := check(t, r, []sdk.Effect{
		end("fee-discount", "other_promotion", last),
		end("addon-unlimited_minutes-bez-limita-2-0", "other_promotion", last),
		end("voka-375291112233", "other_promotion", at),
	}, "")
	want, _ := sdk.ReadState[State](stateJSON(t, full))
	want.Discount.EndedAt, want.Discount.EndReason, want.Discount.Until = ptr(last), "other_promotion", last.UTC()
	want.Addons[0].EndedAt, want.Addons[0].EndReason, want.Addons[0].Until = ptr(last), "other_promotion", last.UTC()
	want.PromoCodes["375291112233"].EndedAt, want.PromoCodes["375291112233"].EndReason = ptr(at), "other_promotion"
	want.Ended = &Ending{At: at.UTC(), Reason: "other_promotion", Promotion: "Home internet 2023"}
	if st == nil || !reflect.DeepEqual(want, *st) {
		t.Fatalf("state:\n%s\nwant:\n%s", show(st), show(want))
	}

	// Afterwards nothing of the promotion is granted any more.
	after := sdk.Member{ID: "m", Phone: "+375290000000", State: stateJSON(t, *st)}
	check(t, evaluate(t, p, `{}`, after, sdk.Event{Type: EventBenefitActivate, OccurredAt: at.Add(time.Hour), Attributes: activate("modem")}),
		rejected("PARTICIPATION_ENDED", "the promotion ended for this subscriber on 2023-09-01 10:00:00 (other_promotion)"), "")
	check(t, evaluate(t, p, `{}`, after, sdk.Event{Type: EventServiceActivate, OccurredAt: at.Add(time.Hour), Attributes: sdk.Values{"number": "+375290000000"}}),
		nil, "the promotion ended for this subscriber on 2023-09-01 10:00:00 (other_promotion)")
	check(t, evaluate(t, p, `{}`, after, sdk.Event{Type: EventConnected, OccurredAt: at.Add(time.Hour), Attributes: connection("Drive 5")}),
		nil, "the promotion ended for this subscriber on 2023-09-01 10:00:00 (other_promotion)")
	check(t, evaluate(t, p, `{}`, after, sdk.Event{Type: EventPromotionJoined, OccurredAt: at.Add(time.Hour)}),
		nil, "the promotion already ended for this subscriber on 2023-09-01 10:00:00 (other_promotion)")

	for _, tc := range []struct {
		name   string
		state  *State
		attrs  sdk.Values
		reason string
	}{
		{"not a fixed-line promotion", &full, sdk.Values{"promotion": "Roaming week", "fixedLine": false}, `promotion "Roaming week" is not a fixed-line offer: this promotion's conditions continue`},
		{"not a participant", nil, sdk.Values{"promotion": "Home internet 2023"}, "not a participant: nothing to end"},
		{"unreadable flag", &full, sdk.Values{"fixedLine": "maybe"}, "attribute fixedLine is maybe, want true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := sdk.Member{ID: "m"}
			if tc.state != nil {
				m.State = stateJSON(t, *tc.state)
			}
			check(t, evaluate(t, p, `{}`, m, sdk.Event{Type: EventPromotionJoined, OccurredAt: at, Attributes: tc.attrs}), nil, tc.reason)
		})
	}
}
