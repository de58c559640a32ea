package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

func campaign(config string) sdk.Campaign {
	return sdk.Campaign{ID: "c1", Code: "VASHPLUS", Program: "vashplus", TimeZone: "Europe/Moscow", Config: json.RawMessage(config)}
}

var when = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

// registered is a client registered in the programme's cabinet (enrolled in
// the campaign).
var registered = sdk.Member{ID: "m1", Enrollments: []sdk.Enrollment{{Campaign: "VASHPLUS", EnrolledAt: when.AddDate(0, -1, 0)}}}

func event(typ string, attrs sdk.Values) sdk.Event {
	return sdk.Event{ID: "e1", Type: typ, OccurredAt: when, Attributes: attrs}
}

func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func credit(n int64, reason string) sdk.EvaluateResult {
	return sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(n, reason)}}
}

func none(reason string) sdk.EvaluateResult { return sdk.EvaluateResult{NoEffectReason: reason} }

func runEvaluate(t *testing.T, p sdk.Program, config string, items []sdk.EvaluateItem) []sdk.EvaluateResult {
	t.Helper()
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: campaign(config), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != len(items) {
		t.Fatalf("%d results for %d items", len(resp.Results), len(items))
	}
	return resp.Results
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{"prepayment", "online_seminar.purchased", "seminar.purchased", "kit.extended", "certificate.basic",
		"certificate.professional", "client.new", "recommendation.sale", "recommendation.contact", "contest.participation",
		"seminar.friend_brought", "journal.subscribed", "review"}
	if d.Name != "earntable" || d.Version != "1.0.0" || !slices.Equal(d.EventTypes, wantTypes) || d.Schedules != nil {
		t.Errorf("Describe = %s %s %v %v", d.Name, d.Version, d.EventTypes, d.Schedules)
	}
	// Bonuses are never money (seed 001 §4.1): the core refuses cash rewards for the campaigns.
	if !slices.Equal(d.ForbiddenRewardKinds, []string{"cash"}) {
		t.Errorf("ForbiddenRewardKinds = %v, want [cash]", d.ForbiddenRewardKinds)
	}
	sdktest.CheckConfigSchema(t, p)
	// The seed's Appendix 1, written out independently: row, event, bonuses, "from".
	type seedRow struct {
		row    int
		event  string
		points int64
		from   bool
	}
	want := []seedRow{
		{1, "prepayment", 100, true}, {3, "online_seminar.purchased", 5, true}, {4, "seminar.purchased", 5, true},
		{5, "kit.extended", 5, true}, {6, "certificate.basic", 10, false}, {7, "certificate.professional", 20, false},
		{8, "client.new", 100, false}, {9, "recommendation.sale", 1000, false}, {10, "recommendation.contact", 50, false},
		{11, "contest.participation", 10, false}, {12, "seminar.friend_brought", 5, false}, {13, "journal.subscribed", 3, true},
		{14, "review", 5, false},
	}
	var cfg Config
	if err := json.Unmarshal(d.DefaultConfig, &cfg); err != nil {
		t.Fatal(err)
	}
	var got []seedRow
	for _, r := range cfg.Rows {
		got = append(got, seedRow{r.Row, r.Event, r.Points, r.From})
		if r.Percent != 0 || r.PerAmount != 0 {
			t.Errorf("row %d has a proportional rule the seed does not give", r.Row)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default table:\n%v\nwant:\n%v", got, want)
	}
	if cfg.Rows[0].MinMonths != 6 {
		t.Errorf("row 1 minMonths = %d, want 6", cfg.Rows[0].MinMonths)
	}
	if !reflect.DeepEqual(cfg.MaxPayablePercent, map[string]int64{"seminar": 50, "online_seminar": 50}) || cfg.LinkedAttribute != "bonusAccountLinked" {
		t.Errorf("default spending rules: %s", d.DefaultConfig)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	cases := []struct {
		name, config string
		want         []sdk.FieldError
	}{
		{"absent", ``, nil},
		{"null", `null`, nil},
		{"empty", `{}`, nil},
		{"a proportional season", `{"rows":[{"row":1,"event":"prepayment","title":"prepayment","points":100,"from":true,"percent":1,"minMonths":6},{"row":2,"event":"review","title":"review","points":7}],"maxPayablePercent":{"seminar":30}}`, nil},
		{"rows outside the schema", `{"rows":[
			{"row":0,"event":"refund","title":"","points":0,"percent":101,"perAmount":-1,"minMonths":-1},
			{"row":4,"event":"seminar.purchased","title":"seminar","points":1000001}]}`, []sdk.FieldError{
			{Field: "/rows/0/event", Code: "unsupported", Message: `/rows/0/event is "refund", it must be one of prepayment, online_seminar.purchased, seminar.purchased, kit.extended, certificate.basic, certificate.professional, client.new, recommendation.sale, recommendation.contact, contest.participation, seminar.friend_brought, journal.subscribed, review`},
			{Field: "/rows/0/minMonths", Code: "out_of_range", Message: "/rows/0/minMonths is -1, it must be at least 0"},
			{Field: "/rows/0/perAmount", Code: "out_of_range", Message: "/rows/0/perAmount is -1, it must be at least 0"},
			{Field: "/rows/0/percent", Code: "out_of_range", Message: "/rows/0/percent is 101, it must be at most 100"},
			{Field: "/rows/0/points", Code: "out_of_range", Message: "/rows/0/points is 0, it must be at least 1"},
			{Field: "/rows/0/row", Code: "out_of_range", Message: "/rows/0/row is 0, it must be at least 1"},
			{Field: "/rows/0/title", Code: "required", Message: "/rows/0/title must not be empty"},
			{Field: "/rows/1/points", Code: "out_of_range", Message: "/rows/1/points is 1000001, it must be at most 1000000"},
		}},
		{"a row without its required fields", `{"rows":[{"points":5}]}`, []sdk.FieldError{
			{Field: "/rows/0/event", Code: "required", Message: "/rows/0/event is required"},
			{Field: "/rows/0/row", Code: "required", Message: "/rows/0/row is required"},
			{Field: "/rows/0/title", Code: "required", Message: "/rows/0/title is required"},
		}},
		{"rows that contradict each other", `{"rows":[
			{"row":3,"event":"review","title":" ","points":5},
			{"row":4,"event":"seminar.purchased","title":"seminar","points":5,"from":true,"percent":5,"perAmount":100},
			{"row":4,"event":"seminar.purchased","title":"seminar again","points":5},
			{"row":5,"event":"client.new","title":"new client","points":5,"perAmount":10}],
			"maxPayablePercent":{" ":10},"linkedAttribute":" "}`, []sdk.FieldError{
			{Field: "/rows/0/title", Code: "required", Message: "/rows/0/title is blank"},
			{Field: "/rows/1", Code: "exclusive", Message: "/rows/1 sets both percent and perAmount; choose one"},
			{Field: "/rows/2/row", Code: "duplicate", Message: "/rows/2/row 4 repeats /rows/1"},
			{Field: "/rows/2/event", Code: "duplicate", Message: "/rows/2/event seminar.purchased already has /rows/1"},
			{Field: "/rows/3/from", Code: "required", Message: "/rows/3/from must be true: the row is proportional"},
			{Field: "/maxPayablePercent/ ", Code: "required", Message: "/maxPayablePercent/  is a blank category name"},
			{Field: "/linkedAttribute", Code: "required", Message: "/linkedAttribute is blank, it must name a member attribute"},
		}},
		{"caps outside 0..100", `{"maxPayablePercent":{"seminar":150,"shop":-1}}`, []sdk.FieldError{
			{Field: "/maxPayablePercent/seminar", Code: "out_of_range", Message: "/maxPayablePercent/seminar is 150, it must be at most 100"},
			{Field: "/maxPayablePercent/shop", Code: "out_of_range", Message: "/maxPayablePercent/shop is -1, it must be at least 0"},
		}},
		{"wrong type", `{"rows":[{"row":1,"event":"review","title":"r","points":"5"}]}`, []sdk.FieldError{
			{Field: "/rows/0/points", Code: "invalid_type", Message: "/rows/0/points must be an integer, not a string"},
		}},
		{"unknown field", `{"rowz":[]}`, []sdk.FieldError{{Field: "/rowz", Code: "unknown_field", Message: "/rowz is not a setting of earntable"}}},
		{"unknown field in a row", `{"rows":[{"row":1,"event":"review","title":"r","points":5,"bonus":1}]}`, []sdk.FieldError{
			{Field: "/rows/0/bonus", Code: "unknown_field", Message: "/rows/0/bonus is not a field of /rows/0"}}},
		{"broken JSON", `{"rows":`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
		{"two values", `{} {}`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: invalid character after top-level value"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.ValidateConfig(context.Background(), sdk.ValidateConfigRequest{Config: json.RawMessage(tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.want, got.Errors) {
				t.Errorf("errors:\n%s\nwant:\n%s", show(got.Errors), show(tc.want))
			}
		})
	}
}

// TestEveryRow credits every row of the default table at its amount.
func TestEveryRow(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	cases := []struct {
		name  string
		event sdk.Event
		want  sdk.EvaluateResult
	}{
		{"row 1 prepayment for 6 months", event("prepayment", sdk.Values{"months": json.Number("6")}), credit(100, "prepayment for 6 months or more")},
		{"row 3 online seminar", event("online_seminar.purchased", nil), credit(5, "purchase of an online seminar")},
		{"row 4 seminar", event("seminar.purchased", nil), credit(5, "purchase of a seminar")},
		{"row 5 kit extension", event("kit.extended", nil), credit(5, "extension of the product kit")},
		{"row 6 basic certificate", event("certificate.basic", nil), credit(10, `certificate of level "Basic"`)},
		{"row 7 professional certificate", event("certificate.professional", nil), credit(20, `certificate of level "Professional"`)},
		{"row 8 new client", event("client.new", nil), credit(100, "new client")},
		{"row 9 recommendation with a sale", event("recommendation.sale", nil), credit(1000, "recommendation that led to a sale")},
		{"row 10 recommendation contact", event("recommendation.contact", nil), credit(50, "recommendation (contact passed on)")},
		{"row 11 contest", event("contest.participation", nil), credit(10, "taking part in a contest")},
		{"row 12 brought a friend", event("seminar.friend_brought", nil), credit(5, `"brought a friend" to a seminar`)},
		{"row 13 journal subscription", event("journal.subscribed", nil), credit(3, `subscription to the journal "Glavnaya Kniga"`)},
		{"row 14 review", event("review", nil), credit(5, "review")},
	}
	items := make([]sdk.EvaluateItem, len(cases))
	for i, tc := range cases {
		items[i] = sdk.EvaluateItem{Event: tc.event, Member: registered}
	}
	got := runEvaluate(t, p, `{}`, items)
	for i, tc := range cases {
		if !reflect.DeepEqual(got[i], tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, show(got[i]), show(tc.want))
		}
	}
}

func TestEvaluateRules(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	linked := sdk.Member{ID: "m2", Attributes: sdk.Values{"bonusAccountLinked": true}}
	linkedString := sdk.Member{ID: "m3", Attributes: sdk.Values{"bonusAccountLinked": "true"}}
	unlinked := sdk.Member{ID: "m4", Attributes: sdk.Values{"bonusAccountLinked": false}}
	otherCampaign := sdk.Member{ID: "m5", Enrollments: []sdk.Enrollment{{Campaign: "OTHER"}}}
	prepay := func(attrs sdk.Values) sdk.Event { return event("prepayment", attrs) }
	const prepayReason = "prepayment for 6 months or more"
	proportional := `{"rows":[
		{"row":1,"event":"prepayment","title":"prepayment","points":100,"from":true,"percent":1,"minMonths":6},
		{"row":4,"event":"seminar.purchased","title":"seminar","points":5,"from":true,"perAmount":1000},
		{"row":14,"event":"review","title":"review","points":5}]}`

	cases := []struct {
		name   string
		config string
		member sdk.Member
		event  sdk.Event
		want   sdk.EvaluateResult
	}{
		{"acceptance: unregistered client earns nothing", `{}`, sdk.Member{ID: "m9"}, event("review", nil), none(ReasonNotParticipant)},
		{"linked bonus account without registration", `{}`, linked, event("review", nil), credit(5, "review")},
		{"linked given as a string", `{}`, linkedString, event("review", nil), credit(5, "review")},
		{"explicitly not linked", `{}`, unlinked, event("review", nil), none(ReasonNotParticipant)},
		{"registered in another campaign only", `{}`, otherCampaign, event("review", nil), none(ReasonNotParticipant)},
		{"another linked attribute", `{"linkedAttribute":"kpLinked"}`, sdk.Member{Attributes: sdk.Values{"kpLinked": true, "bonusAccountLinked": false}}, event("review", nil), credit(5, "review")},
		{"prepayment for 5 months", `{}`, registered, prepay(sdk.Values{"months": json.Number("5")}),
			none("a prepayment for 5 months earns nothing: row 1 needs 6 months or more")},
		{"prepayment for 12 months", `{}`, registered, prepay(sdk.Values{"months": json.Number("12")}), credit(100, prepayReason)},
		{"prepayment months as a string", `{}`, registered, prepay(sdk.Values{"months": "6"}), credit(100, prepayReason)},
		{"prepayment without months", `{}`, registered, prepay(nil),
			none(`row 1 (prepayment for 6 months or more) needs a whole number of months paid in advance in the "months" attribute`)},
		{"prepayment with fractional months", `{}`, registered, prepay(sdk.Values{"months": json.Number("6.5")}),
			none(`row 1 (prepayment for 6 months or more) needs a whole number of months paid in advance in the "months" attribute`)},
		{"from row: bonus above the minimum", `{}`, registered, prepay(sdk.Values{"months": json.Number("12"), "bonus": json.Number("350")}), credit(350, prepayReason)},
		{"from row: bonus at the minimum", `{}`, registered, prepay(sdk.Values{"months": json.Number("6"), "bonus": json.Number("100")}), credit(100, prepayReason)},
		{"from row: bonus below the minimum", `{}`, registered, prepay(sdk.Values{"months": json.Number("6"), "bonus": json.Number("99")}), credit(100, prepayReason)},
		{"from row: journal bonus", `{}`, registered, event("journal.subscribed", sdk.Values{"bonus": json.Number("12")}), credit(12, `subscription to the journal "Glavnaya Kniga"`)},
		{"from row: bad bonus", `{}`, registered, event("kit.extended", sdk.Values{"bonus": "lots"}),
			none(`the "bonus" attribute must be a whole number of bonuses between 1 and 1000000`)},
		{"from row: zero bonus", `{}`, registered, event("kit.extended", sdk.Values{"bonus": json.Number("0")}),
			none(`the "bonus" attribute must be a whole number of bonuses between 1 and 1000000`)},
		{"fixed row ignores bonus", `{}`, registered, event("review", sdk.Values{"bonus": json.Number("500")}), credit(5, "review")},
		{"default: amount does not raise a from row", `{}`, registered, event("seminar.purchased", sdk.Values{"amount": json.Number("30000")}), credit(5, "purchase of a seminar")},
		{"percent: 1% of 12,000 RUB", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": json.Number("12000")}), credit(120, "prepayment")},
		{"percent: 1% of 10,000 RUB is the minimum", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": json.Number("10000")}), credit(100, "prepayment")},
		{"percent: 1% of 9,999.99 RUB is below it", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": json.Number("9999.99")}), credit(100, "prepayment")},
		{"percent floors: 1% of 10,199.99 RUB", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": "10199.99"}), credit(101, "prepayment")},
		{"percent: bonus wins over amount", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": json.Number("50000"), "bonus": json.Number("200")}), credit(200, "prepayment")},
		{"percent: no amount gives the minimum", proportional, registered, prepay(sdk.Values{"months": json.Number("6")}), credit(100, "prepayment")},
		{"percent: bad amount", proportional, registered, prepay(sdk.Values{"months": json.Number("6"), "amount": "-5"}),
			none(`the "amount" attribute must be a non-negative amount in roubles, not -5`)},
		{"perAmount: 1 per 1,000 RUB of 7,999 RUB", proportional, registered, event("seminar.purchased", sdk.Values{"amount": json.Number("7999")}), credit(7, "seminar")},
		{"perAmount: 4,999 RUB gives the minimum", proportional, registered, event("seminar.purchased", sdk.Values{"amount": json.Number("4999")}), credit(5, "seminar")},
		{"perAmount: 6,000 RUB", proportional, registered, event("seminar.purchased", sdk.Values{"amount": json.Number("6000")}), credit(6, "seminar")},
		{"a row dropped from the table", proportional, registered, event("client.new", nil),
			none(`event type "client.new" earns nothing in this campaign: the accrual table has no row for it`)},
		{"unknown event type", `{}`, registered, event("purchase", nil),
			none(`event type "purchase" earns nothing in this campaign: the accrual table has no row for it`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runEvaluate(t, p, tc.config, []sdk.EvaluateItem{{Event: tc.event, Member: tc.member}})
			if !reflect.DeepEqual(got[0], tc.want) {
				t.Errorf("got %s, want %s", show(got[0]), show(tc.want))
			}
			for _, e := range got[0].Effects {
				if e.Credit.ExpiresAt != nil || e.Credit.AvailableAt != nil || e.Credit.StatusPoints != 0 {
					t.Errorf("bonuses must not expire nor be pending: %s", show(e))
				}
			}
		})
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	cases := []struct {
		name, config, category string
		price, wantMax         int64
	}{
		{"acceptance: seminar at 3,000", `{}`, "seminar", 3000, 1500},
		{"seminar at an odd price floors", `{}`, "seminar", 2999, 1499},
		{"seminar at 1", `{}`, "seminar", 1, 0},
		{"online seminar", `{}`, "online_seminar", 1200, 600},
		{"shop goods", `{}`, "shop", 3000, sdk.NoPointsCap},
		{"one-off service", `{}`, "service", 4500, sdk.NoPointsCap},
		{"another cap", `{"maxPayablePercent":{"seminar":30}}`, "seminar", 3000, 900},
		{"caps replaced, not merged", `{"maxPayablePercent":{"seminar":30}}`, "online_seminar", 3000, sdk.NoPointsCap},
		{"zero cap", `{"maxPayablePercent":{"shop":0}}`, "shop", 3000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: campaign(tc.config), Member: registered,
				Item: sdk.QuoteItem{RewardID: "r1", Category: tc.category, Price: tc.price}, Now: when})
			if err != nil {
				t.Fatal(err)
			}
			want := sdk.QuoteResponse{Price: tc.price, MaxPointsPayable: tc.wantMax, Allowed: true}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestEligibilityAndErrors(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	got, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: campaign(`{}`), Member: sdk.Member{ID: "m1"}, Now: when})
	if err != nil || !got.Eligible || got.Reasons != nil || got.Effects != nil {
		t.Errorf("CheckEligibility = %+v, %v; want eligible", got, err)
	}
	bad := campaign(`{"linkedAttribute":""}`)
	if _, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: bad}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("CheckEligibility with a bad config: %v", err)
	}
	if _, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: bad, Items: []sdk.EvaluateItem{{}}}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("Evaluate with a bad config: %v", err)
	}
	if _, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: bad}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("Quote with a bad config: %v", err)
	}
	if _, err := p.Tick(context.Background(), sdk.TickRequest{Campaign: campaign(`{}`), Hook: "daily"}); !errors.Is(err, sdk.ErrUnsupportedHook) {
		t.Errorf("Tick: %v", err)
	}
}
