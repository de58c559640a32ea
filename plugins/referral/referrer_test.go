package main

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// TestLadder walks every row of the seed's table with one referrer whose
// discount is still running at each new friend, then past the last row, then
// after the discount ran out.
func TestLadder(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	steps := []struct {
		friend string
		at     time.Time
		want   []sdk.Effect
	}{
		{"f1", mt(2023, 2, 21, 12, 0, 0), []sdk.Effect{
			referrerGrant("referral-discount", 2000, "20% off all services for referred clients", 1, mt(2023, 2, 21, 12, 0, 0), mt(2023, 5, 21, 23, 59, 59)),
			notice("Client f1", 1, "20%", "21.05.2023", ""),
		}},
		{"f2", mt(2023, 3, 1, 12, 0, 0), []sdk.Effect{
			referrerChange("referral-discount", 4000, 2, mt(2023, 9, 1, 23, 59, 59)),
			notice("Client f2", 2, "40%", "01.09.2023", ""),
		}},
		{"f3", mt(2023, 3, 10, 12, 0, 0), []sdk.Effect{
			referrerChange("referral-discount", 6000, 3, mt(2024, 3, 10, 23, 59, 59)),
			smsGrant(3, 1200, "Package of 1,200 SMS for 3 referred clients", mt(2023, 3, 10, 12, 0, 0)),
			notice("Client f3", 3, "60%", "10.03.2024", "1200"),
		}},
		{"f4", mt(2023, 4, 1, 0, 0, 0), []sdk.Effect{
			referrerChange("referral-discount", 8000, 4, mt(2024, 4, 1, 23, 59, 59)),
			notice("Client f4", 4, "80%", "01.04.2024", ""),
		}},
		{"f5", mt(2023, 5, 15, 9, 0, 0), []sdk.Effect{
			referrerChange("referral-discount", 10000, 5, mt(2024, 5, 15, 23, 59, 59)),
			smsGrant(5, 3200, "Package of 3,200 SMS for 5 referred clients", mt(2023, 5, 15, 9, 0, 0)),
			notice("Client f5", 5, "100%", "15.05.2024", "3200"),
		}},
		{"f6", mt(2024, 5, 15, 23, 59, 59), []sdk.Effect{
			referrerChange("referral-discount", 10000, 6, mt(2025, 5, 15, 23, 59, 59)),
			notice("Client f6", 6, "100%", "15.05.2025", ""),
		}},
		{"f7", mt(2025, 5, 16, 0, 0, 0), []sdk.Effect{
			referrerGrant("referral-discount-2", 10000, "100% off all services for referred clients", 7, mt(2025, 5, 16, 0, 0, 0), mt(2026, 5, 16, 23, 59, 59)),
			notice("Client f7", 7, "100%", "16.05.2026", ""),
		}},
	}
	for _, s := range steps {
		r := c.send("old", EventFriendJoined, s.at.Add(time.Minute), joined(s.friend, s.at))
		check(t, r, s.want, "")
	}

	st := c.state("old")
	var ids []string
	for _, r := range st.Referees {
		ids = append(ids, r.ID)
	}
	if want := []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7"}; !slices.Equal(ids, want) {
		t.Errorf("referees %v, want %v", ids, want)
	}
	if want := (Referee{ID: "f3", Ref: "ext-f3", Name: "Client f3", ActivatedAt: mt(2023, 3, 10, 12, 0, 0).UTC()}); st.Referees[2] != want {
		t.Errorf("referee 3 = %+v, want %+v", st.Referees[2], want)
	}
	wantHistory := []Discount{
		{Key: "referral-discount", Role: "referrer", Change: "granted", Percent: 2000, From: mt(2023, 2, 21, 12, 0, 0).UTC(), Until: mt(2023, 5, 21, 23, 59, 59).UTC(), Friends: 1},
		{Key: "referral-discount", Role: "referrer", Change: "increased", Percent: 4000, From: mt(2023, 3, 1, 12, 0, 0).UTC(), Until: mt(2023, 9, 1, 23, 59, 59).UTC(), Friends: 2},
		{Key: "referral-discount", Role: "referrer", Change: "increased", Percent: 6000, From: mt(2023, 3, 10, 12, 0, 0).UTC(), Until: mt(2024, 3, 10, 23, 59, 59).UTC(), Friends: 3},
		{Key: "referral-discount", Role: "referrer", Change: "increased", Percent: 8000, From: mt(2023, 4, 1, 0, 0, 0).UTC(), Until: mt(2024, 4, 1, 23, 59, 59).UTC(), Friends: 4},
		{Key: "referral-discount", Role: "referrer", Change: "increased", Percent: 10000, From: mt(2023, 5, 15, 9, 0, 0).UTC(), Until: mt(2024, 5, 15, 23, 59, 59).UTC(), Friends: 5},
		{Key: "referral-discount", Role: "referrer", Change: "increased", Percent: 10000, From: mt(2024, 5, 15, 23, 59, 59).UTC(), Until: mt(2025, 5, 15, 23, 59, 59).UTC(), Friends: 6},
		{Key: "referral-discount-2", Role: "referrer", Change: "granted", Percent: 10000, From: mt(2025, 5, 16, 0, 0, 0).UTC(), Until: mt(2026, 5, 16, 23, 59, 59).UTC(), Friends: 7},
	}
	if !reflect.DeepEqual(wantHistory, st.DiscountHistory) {
		t.Errorf("discount history:\n%s\nwant:\n%s", show(st.DiscountHistory), show(wantHistory))
	}
	wantSMS := []SMSPackage{
		{Key: "sms-package-3", Quantity: 1200, Friends: 3, GrantedAt: mt(2023, 3, 10, 12, 0, 0).UTC()},
		{Key: "sms-package-5", Quantity: 3200, Friends: 5, GrantedAt: mt(2023, 5, 15, 9, 0, 0).UTC()},
	}
	if !reflect.DeepEqual(wantSMS, st.SMSPackages) {
		t.Errorf("SMS packages:\n%s\nwant:\n%s", show(st.SMSPackages), show(wantSMS))
	}
}

// TestActiveDiscountBoundary checks that a discount counts as running up to
// its last second (23:59:59 of its last day) and no longer.
func TestActiveDiscountBoundary(t *testing.T) {
	t.Parallel()
	p := connect(t)
	first := State{
		Referees:        []Referee{{ID: "f1", ActivatedAt: mt(2023, 2, 21, 12, 0, 0).UTC()}},
		DiscountHistory: []Discount{{Key: "referral-discount", Role: "referrer", Change: "granted", Percent: 2000, From: mt(2023, 2, 21, 12, 0, 0).UTC(), Until: mt(2023, 5, 21, 23, 59, 59).UTC(), Friends: 1}},
	}
	cases := []struct {
		name string
		at   time.Time
		want sdk.Effect
	}{
		{"last second of the discount", mt(2023, 5, 21, 23, 59, 59), referrerChange("referral-discount", 4000, 2, mt(2023, 11, 21, 23, 59, 59))},
		{"first second after it", mt(2023, 5, 22, 0, 0, 0),
			referrerGrant("referral-discount-2", 4000, "40% off all services for referred clients", 2, mt(2023, 5, 22, 0, 0, 0), mt(2023, 11, 22, 23, 59, 59))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{"notify":null}`, sdk.Member{ID: "old", State: stateJSON(t, first)},
				sdk.Event{Type: EventFriendJoined, OccurredAt: tc.at, Attributes: joined("f2", tc.at)})
			check(t, r, []sdk.Effect{tc.want}, "")
		})
	}
}

// TestReferralDiscountNeverShrinks checks that a raise never lowers the
// percentage nor shortens the period, whatever the ladder says.
func TestReferralDiscountNeverShrinks(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{"ladder":[{"friends":1,"percentBasisPoints":5000,"months":12},{"friends":2,"percentBasisPoints":3000,"months":1}],"notify":{"channel":"email","template":"friend"}}`)
	c.send("old", EventFriendJoined, mt(2023, 1, 10, 0, 0, 0), joined("f1", mt(2023, 1, 10, 0, 0, 0)))
	r := c.send("old", EventFriendJoined, mt(2023, 2, 1, 0, 0, 0), joined("f2", mt(2023, 2, 1, 0, 0, 0)))
	check(t, r, []sdk.Effect{
		referrerChange("referral-discount", 5000, 2, mt(2024, 1, 10, 23, 59, 59)),
		sdk.Notify{Channel: "email", Template: "friend", Params: map[string]string{
			"refereeName": "Client f2", "friends": "2", "percent": "50%", "validUntil": "10.01.2024", "smsPackage": ""}}.Effect(),
	}, "")
}

func TestFriendJoinedIgnored(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 3, 1, 12, 0, 0)
	counted := stateJSON(t, State{Referees: []Referee{{ID: "f1", ActivatedAt: mt(2023, 2, 21, 12, 0, 0).UTC()}}})
	cases := []struct {
		name   string
		member sdk.Member
		attrs  sdk.Values
		reason string
	}{
		{"no referee", sdk.Member{ID: "old"}, with(joined("f1", at), "refereeId", nil), "no refereeId attribute"},
		{"the referrer itself", sdk.Member{ID: "old"}, joined("old", at), "a member cannot refer themselves"},
		{"counted already", sdk.Member{ID: "old", State: counted}, joined("f1", at), "referee f1 was already counted"},
		{"unreadable time", sdk.Member{ID: "old"}, with(joined("f2", at), "appliedAt", "1 March"), `appliedAt is "1 March", want an RFC 3339 time or a date YYYY-MM-DD`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, evaluate(t, p, `{}`, tc.member, sdk.Event{Type: EventFriendJoined, OccurredAt: at, Attributes: tc.attrs}), nil, tc.reason)
		})
	}
}

// TestFriendJoinedTime checks where the day of application comes from.
func TestFriendJoinedTime(t *testing.T) {
	t.Parallel()
	p := connect(t)
	occurred := mt(2023, 3, 2, 8, 0, 0)
	cases := []struct {
		name     string
		attrs    sdk.Values
		from, to time.Time
	}{
		{"appliedAt", joined("f1", mt(2023, 3, 1, 23, 59, 59)), mt(2023, 3, 1, 23, 59, 59), mt(2023, 6, 1, 23, 59, 59)},
		{"appliedAt as a date", with(joined("f1", occurred), "appliedAt", "2023-03-01"), mt(2023, 3, 1, 0, 0, 0), mt(2023, 6, 1, 23, 59, 59)},
		{"no appliedAt: when it occurred", with(joined("f1", occurred), "appliedAt", nil), occurred, mt(2023, 6, 2, 23, 59, 59)},
		{"30 November: 3 months to 29 February", joined("f1", mt(2023, 11, 30, 10, 0, 0)), mt(2023, 11, 30, 10, 0, 0), mt(2024, 2, 29, 23, 59, 59)},
		{"28 November: 3 months to 28 February", joined("f1", mt(2023, 11, 28, 10, 0, 0)), mt(2023, 11, 28, 10, 0, 0), mt(2024, 2, 28, 23, 59, 59)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := evaluate(t, p, `{"notify":null}`, sdk.Member{ID: "old"}, sdk.Event{Type: EventFriendJoined, OccurredAt: occurred, Attributes: tc.attrs})
			check(t, r, []sdk.Effect{referrerGrant("referral-discount", 2000, "20% off all services for referred clients", 1, tc.from, tc.to)}, "")
		})
	}
}

// TestAcceptance walks the scenarios the end-to-end test checks through a
// simulated core: each referee applies the referrer's code, and for each
// accepted code the core tells the referrer.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{}`)
	friend := func(id string, registered, at time.Time, promoEnds string) sdk.EvaluateResult {
		r := c.send(id, EventCodeApplied, at, applied("old", registered, promoEnds))
		if len(r.Effects) > 0 && r.Effects[0].Kind == sdk.KindReject {
			return r
		}
		return c.send("old", EventFriendJoined, at, joined(id, at))
	}

	// f1 registered on 1 March with a promo period to 31 March, applies the
	// code 20 days after registering.
	registered := mt(2023, 3, 1, 9, 0, 0)
	at := registered.AddDate(0, 0, 20)
	r := c.send("f1", EventCodeApplied, at, applied("old", registered, "2023-03-31T23:59:59+03:00"))
	check(t, r, []sdk.Effect{refereeGrant(mt(2023, 4, 1, 0, 0, 0), mt(2023, 6, 30, 23, 59, 59), "old")}, "")
	excludesSMS(t, r)
	r = c.send("old", EventFriendJoined, at, joined("f1", at))
	check(t, r, []sdk.Effect{
		referrerGrant("referral-discount", 2000, "20% off all services for referred clients", 1, at, mt(2023, 6, 21, 23, 59, 59)),
		notice("Client f1", 1, "20%", "21.06.2023", ""),
	}, "")
	excludesSMS(t, r)

	friend("f2", mt(2023, 3, 10, 9, 0, 0), mt(2023, 3, 25, 9, 0, 0), "")
	third := mt(2023, 4, 5, 9, 0, 0)
	r = friend("f3", mt(2023, 3, 20, 9, 0, 0), third, "")
	check(t, r, []sdk.Effect{
		referrerChange("referral-discount", 6000, 3, mt(2024, 4, 5, 23, 59, 59)),
		smsGrant(3, 1200, "Package of 1,200 SMS for 3 referred clients", third),
		notice("Client f3", 3, "60%", "05.04.2024", "1200"),
	}, "")

	// f4 applies 40 days after registering: refused, so the referrer is not told.
	r = friend("f4", mt(2023, 3, 1, 9, 0, 0), mt(2023, 4, 10, 9, 0, 0), "")
	check(t, r, rejected("CODE_WINDOW_EXPIRED", "invite codes can be applied within 1 month of registering the service: registered on 2023-03-01, the last day was 2023-04-01"), "")
	if n := len(c.state("old").Referees); n != 3 {
		t.Errorf("the referrer has %d referees, want 3", n)
	}
}

// excludesSMS checks that every discount granted in r excludes SMS packages.
func excludesSMS(t *testing.T, r sdk.EvaluateResult) {
	t.Helper()
	n := 0
	for _, e := range r.Effects {
		if g := e.GrantBenefit; g != nil && g.Kind == "discount" {
			n++
			if !slices.Equal(g.Exclusions, []string{"sms_package"}) || g.Scope != "all_services" {
				t.Errorf("discount %s: scope %q, exclusions %v, want all_services except [sms_package]", g.Key, g.Scope, g.Exclusions)
			}
		}
	}
	if n == 0 {
		t.Errorf("no discount granted: %s", show(r.Effects))
	}
}

// TestRefereeBecomesReferrer checks that a client who joined with a code and
// then invites a friend gets a referral discount of their own: the referee
// discount is neither raised nor counted as a referral discount.
func TestRefereeBecomesReferrer(t *testing.T) {
	t.Parallel()
	c := newCore(t, `{"refereeDiscount":{"percentBasisPoints":2550,"months":2},"notify":null}`)
	registered := mt(2023, 3, 1, 9, 0, 0)
	r := c.send("f1", EventCodeApplied, mt(2023, 3, 2, 9, 0, 0), applied("old", registered, ""))
	if g := r.Effects[0].GrantBenefit; g == nil || g.Title != "25.50% off all services for 2 months (invite code)" || g.Percent != 2550 ||
		!g.ValidUntil.Equal(mt(2023, 5, 2, 23, 59, 59)) {
		t.Fatalf("referee discount %s", show(r.Effects))
	}
	at := mt(2023, 3, 5, 9, 0, 0)
	check(t, c.send("f1", EventFriendJoined, at, joined("f9", at)), []sdk.Effect{
		referrerGrant("referral-discount", 2000, "20% off all services for referred clients", 1, at, mt(2023, 6, 5, 23, 59, 59)),
	}, "")
	if h := c.state("f1").DiscountHistory; len(h) != 2 || h[0].Role != "referee" || h[1].Role != "referrer" {
		t.Errorf("history %s", show(h))
	}
}
