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

// seedConfig is the seed's tables, written out by hand from
// 002_50c49272ccb3f43b.txt.
const seedConfig = `{"subscriptionPeriod":{"from":"2023-07-01","to":"2023-08-14"},"discountMonths":6,` +
	`"discounts":[{"plan":"Bez Limita 2.0","aliases":["Без Лимита 2.0"],"percentBasisPoints":3001},` +
	`{"plan":"Drive 5","aliases":["Драйв 5"],"percentBasisPoints":2501},` +
	`{"plan":"Drive 20","aliases":["Драйв 20"],"percentBasisPoints":2084}],` +
	`"addonActivationPeriod":{"from":"2023-07-01","to":"2023-09-30"},` +
	`"addons":[{"plan":"Bez Limita 2.0","addon":"unlimited_minutes","title":"PROMO. Unlimited minutes to all networks","content":"Unlimited minutes to all networks","days":90},` +
	`{"plan":"Bez Limita 2.0","addon":"modem","title":"Modem mode","content":"Sharing of internet traffic","days":90},` +
	`{"plan":"Drive 5","addon":"unlimited_minutes","title":"PROMO. Unlimited minutes to all networks","content":"Unlimited minutes to all networks","days":90},` +
	`{"plan":"Drive 20","addon":"unlimited_minutes","title":"PROMO. Unlimited minutes to all networks","content":"Unlimited minutes to all networks","days":90}],` +
	`"promoCode":{"period":{"from":"2023-07-01","to":"2023-09-15"},"service":"VOKA","subscription":"All inclusive 2022","monthlyFee":"9.90 BYN","template":"voka_promo_code"}}`

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := connect(t)
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "tariffpromo" || d.Version != "1.0.0" {
		t.Errorf("Describe = %s %s, want tariffpromo 1.0.0", d.Name, d.Version)
	}
	wantEvents := []string{"subscriber.connected", "subscriber.tariff_changed", "subscriber.status_changed",
		"promotion.joined", "benefit.activate", "service.activated"}
	if !slices.Equal(d.EventTypes, wantEvents) {
		t.Errorf("EventTypes = %v, want %v", d.EventTypes, wantEvents)
	}
	if want := []string{"discount", "addon", "promo_code"}; !slices.Equal(d.BenefitKinds, want) {
		t.Errorf("BenefitKinds = %v, want %v", d.BenefitKinds, want)
	}
	if d.Schedules != nil {
		t.Errorf("Schedules = %v, want none", d.Schedules)
	}
	if string(d.DefaultConfig) != seedConfig {
		t.Errorf("DefaultConfig =\n%s\nwant the seed's tables\n%s", d.DefaultConfig, seedConfig)
	}
	sdktest.CheckConfigSchema(t, p)
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	p := connect(t)
	cases := []struct {
		name, config string
		want         []sdk.FieldError
	}{
		{"absent", ``, nil},
		{"null", `null`, nil},
		{"defaults", `{}`, nil},
		{"seed", seedConfig, nil},
		{"promo codes off", `{"promoCode":null}`, nil},
		{"no add-ons", `{"addons":[]}`, nil},
		{"one-day periods", `{"subscriptionPeriod":{"from":"2024-01-01","to":"2024-01-01"},"addonActivationPeriod":{"from":"2024-01-01","to":"2024-01-01"}}`, nil},
		{"dates outside the schema", `{"subscriptionPeriod":{"from":"2023-7-1","to":"2023-02-30"}}`, []sdk.FieldError{
			{Field: "/subscriptionPeriod/from", Code: "invalid_format", Message: `/subscriptionPeriod/from is "2023-7-1", it must match ^[0-9]{4}-[0-9]{2}-[0-9]{2}$`},
		}},
		{"a date that does not exist", `{"subscriptionPeriod":{"from":"2023-07-01","to":"2023-02-30"}}`, []sdk.FieldError{
			{Field: "/subscriptionPeriod/to", Code: "invalid_date", Message: `/subscriptionPeriod/to "2023-02-30" is not a date`},
		}},
		{"period backwards", `{"addonActivationPeriod":{"from":"2023-09-30","to":"2023-09-29"}}`, []sdk.FieldError{
			{Field: "/addonActivationPeriod", Code: "empty_period", Message: "/addonActivationPeriod ends (2023-09-29) before it starts (2023-09-30)"},
		}},
		{"a period given half", `{"addonActivationPeriod":{"from":"2023-09-30"}}`, []sdk.FieldError{
			{Field: "/addonActivationPeriod/to", Code: "required", Message: "/addonActivationPeriod/to is required"},
		}},
		{"months out of range", `{"discountMonths":0}`, []sdk.FieldError{
			{Field: "/discountMonths", Code: "out_of_range", Message: "/discountMonths is 0, it must be at least 1"},
		}},
		{"months at most", `{"discountMonths":120}`, nil},
		{"months above", `{"discountMonths":121}`, []sdk.FieldError{
			{Field: "/discountMonths", Code: "out_of_range", Message: "/discountMonths is 121, it must be at most 120"},
		}},
		{"no discounts", `{"discounts":[],"addons":[]}`, []sdk.FieldError{
			{Field: "/discounts", Code: "invalid_length", Message: "/discounts has 0 items, it must have at least 1"},
		}},
		{"percent bounds", `{"discounts":[{"plan":"A","percentBasisPoints":0},{"plan":"B","percentBasisPoints":10000},{"plan":"C","percentBasisPoints":10001}],"addons":[]}`, []sdk.FieldError{
			{Field: "/discounts/0/percentBasisPoints", Code: "out_of_range", Message: "/discounts/0/percentBasisPoints is 0, it must be at least 1"},
			{Field: "/discounts/2/percentBasisPoints", Code: "out_of_range", Message: "/discounts/2/percentBasisPoints is 10001, it must be at most 10000"},
		}},
		{"duplicate plan names", `{"discounts":[{"plan":"Drive 5","percentBasisPoints":1},{"plan":"«DRIVE  5»","percentBasisPoints":2},{"plan":"X","aliases":[" "],"percentBasisPoints":3}],"addons":[]}`, []sdk.FieldError{
			{Field: "/discounts/1/plan", Code: "duplicate", Message: `/discounts/1/plan "«DRIVE  5»" is also a name of /discounts/0`},
			{Field: "/discounts/2/aliases/0", Code: "required", Message: "/discounts/2/aliases/0 is blank"},
		}},
		{"empty plan", `{"discounts":[{"plan":" ","percentBasisPoints":1}],"addons":[]}`, []sdk.FieldError{
			{Field: "/discounts/0/plan", Code: "required", Message: "/discounts/0/plan must name a tariff plan"},
		}},
		{"add-ons outside the schema", `{"addons":[{"plan":"Drive 5","addon":"Unlimited Minutes","title":"U","days":0},{"plan":"drive 5","addon":"modem","title":"M","days":3651}]}`, []sdk.FieldError{
			{Field: "/addons/0/addon", Code: "invalid_format", Message: `/addons/0/addon is "Unlimited Minutes", it must match ^[a-z0-9_]{1,64}$`},
			{Field: "/addons/0/days", Code: "out_of_range", Message: "/addons/0/days is 0, it must be at least 1"},
			{Field: "/addons/1/days", Code: "out_of_range", Message: "/addons/1/days is 3651, it must be at most 3650"},
		}},
		{"add-ons against the discounts", `{"addons":[{"plan":"Drive 7","addon":"x","title":"X","days":90},{"plan":"Drive 5","addon":"minutes","title":" ","days":1},{"plan":"drive 5","addon":"modem","title":"M","days":3650},{"plan":"Драйв 5","addon":"modem","title":"M","days":1}]}`, []sdk.FieldError{
			{Field: "/addons/0/plan", Code: "unknown_plan", Message: `/addons/0/plan "Drive 7" is not a plan of discounts`},
			{Field: "/addons/1/title", Code: "required", Message: "/addons/1/title is blank"},
			{Field: "/addons/3/addon", Code: "duplicate", Message: `/addons/3/addon repeats add-on "modem" of plan "Драйв 5" from /addons/2`},
		}},
		{"promo code outside the schema", `{"promoCode":{"period":{"from":"2023-09-15","to":"2023-07-01"},"service":"","subscription":"S"}}`, []sdk.FieldError{
			{Field: "/promoCode/service", Code: "required", Message: "/promoCode/service must not be empty"},
			{Field: "/promoCode/template", Code: "required", Message: "/promoCode/template is required"},
		}},
		{"bad promo code", `{"promoCode":{"period":{"from":"2023-09-15","to":"2023-07-01"},"service":" ","subscription":"S","template":" "}}`, []sdk.FieldError{
			{Field: "/promoCode/period", Code: "empty_period", Message: "/promoCode/period ends (2023-07-01) before it starts (2023-09-15)"},
			{Field: "/promoCode/service", Code: "required", Message: "/promoCode/service is blank"},
			{Field: "/promoCode/template", Code: "required", Message: "/promoCode/template is blank"},
		}},
		{"wrong type", `{"discountMonths":"6"}`, []sdk.FieldError{
			{Field: "/discountMonths", Code: "invalid_type", Message: "/discountMonths must be an integer, not a string"},
		}},
		{"fraction", `{"discounts":[{"plan":"A","percentBasisPoints":25.01}]}`, []sdk.FieldError{
			{Field: "/discounts/0/percentBasisPoints", Code: "invalid_type", Message: "/discounts/0/percentBasisPoints must be an integer, not a number"},
		}},
		{"unknown field", `{"discountMonth":6}`, []sdk.FieldError{
			{Field: "/discountMonth", Code: "unknown_field", Message: "/discountMonth is not a setting of tariffpromo"},
		}},
		{"broken JSON", `{"discountMonths":`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
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

// TestPartialConfigKeepsDefaults checks that a field that is left out takes
// the seed's value and a given list replaces the default list whole.
func TestPartialConfigKeepsDefaults(t *testing.T) {
	t.Parallel()
	cfg, errs := config.Parse(json.RawMessage(`{"discounts":[{"plan":"Drive 5","percentBasisPoints":1000}],"addons":[]}`))
	if errs != nil {
		t.Fatal(errs)
	}
	want := defaultConfig()
	want.Discounts = []DiscountRow{{Plan: "Drive 5", PercentBasisPoints: 1000}}
	want.Addons = []AddonRow{}
	if !reflect.DeepEqual(want, cfg) {
		t.Errorf("config:\n%s\nwant:\n%s", show(cfg), show(want))
	}
	if d := defaultConfig(); len(d.Discounts[0].Aliases) != 1 || d.Discounts[0].PercentBasisPoints != 3001 {
		t.Errorf("parsing changed the default config: %s", show(d))
	}
}

func TestEvaluateInvalidCampaign(t *testing.T) {
	t.Parallel()
	p := connect(t)
	for _, c := range []sdk.Campaign{
		campaign(`{"discountMonths":0}`),
		{TimeZone: "Mars/Olympus"},
	} {
		_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: c, Items: []sdk.EvaluateItem{{}}})
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("campaign %+v: Evaluate error %v, want sdk.ErrInvalidConfig", c, err)
		}
		_, err = p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: c})
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("campaign %+v: CheckEligibility error %v, want sdk.ErrInvalidConfig", c, err)
		}
	}
}

func TestEvaluateOddInput(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 8, 1, 12, 0, 0)
	cases := []struct {
		name   string
		member sdk.Member
		event  sdk.Event
		want   string
	}{
		{"unknown event type", sdk.Member{ID: "m"}, sdk.Event{Type: "purchase", OccurredAt: at},
			`event type "purchase" is not one of subscriber.connected, subscriber.tariff_changed, subscriber.status_changed, promotion.joined, benefit.activate, service.activated`},
		{"unreadable state", sdk.Member{ID: "m", State: json.RawMessage(`{"addons":{}}`)}, sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: connection("Drive 5")},
			"invalid request: unreadable member state: json: cannot unmarshal object into Go struct field State.addons of type []main.Grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, evaluate(t, p, `{}`, tc.member, tc.event), nil, tc.want)
		})
	}
}

func TestEvaluateBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	p := connect(t)
	ev := func(plan string, at time.Time) sdk.EvaluateItem {
		return sdk.EvaluateItem{Event: sdk.Event{Type: EventConnected, OccurredAt: at, Attributes: connection(plan)}, Member: sdk.Member{ID: plan}}
	}
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: campaign(`{"promoCode":null}`), Items: []sdk.EvaluateItem{
		ev("Drive 20", mt(2023, 7, 1, 0, 0, 0)),
		ev("Smart", mt(2023, 7, 1, 0, 0, 0)),
		ev("Bez Limita 2.0", mt(2023, 8, 14, 23, 59, 59)),
		ev("Drive 5", mt(2023, 8, 15, 0, 0, 0)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range resp.Results {
		bp := 0
		if len(r.Effects) > 0 && r.Effects[0].GrantBenefit != nil {
			bp = r.Effects[0].GrantBenefit.Percent
		}
		got = append(got, bp)
	}
	if want := []int{2084, 0, 3001, 0}; !slices.Equal(want, got) {
		t.Errorf("discounts = %v, want %v", got, want)
	}
}
