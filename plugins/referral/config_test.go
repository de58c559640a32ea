package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

// seedConfig is the seed's discount table, written out by hand from
// 004_d37098f1224b26c2.txt.
const seedConfig = `{"applyWindowMonths":1,"refereeDiscount":{"percentBasisPoints":2000,"months":3},` +
	`"ladder":[{"friends":1,"percentBasisPoints":2000,"months":3},{"friends":2,"percentBasisPoints":4000,"months":6},` +
	`{"friends":3,"percentBasisPoints":6000,"months":12,"smsPackage":1200},{"friends":4,"percentBasisPoints":8000,"months":12},` +
	`{"friends":5,"percentBasisPoints":10000,"months":12,"smsPackage":3200}],` +
	`"notify":{"channel":"sms","template":"referral_friend_joined"}}`

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := connect(t)
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "referral" || d.Version != "1.0.0" {
		t.Errorf("Describe = %s %s, want referral 1.0.0", d.Name, d.Version)
	}
	if want := []string{"referral.code_applied", "referral.friend_joined"}; !slices.Equal(d.EventTypes, want) {
		t.Errorf("EventTypes = %v, want %v", d.EventTypes, want)
	}
	if want := []string{"discount", "sms_package"}; !slices.Equal(d.BenefitKinds, want) {
		t.Errorf("BenefitKinds = %v, want %v", d.BenefitKinds, want)
	}
	if d.Schedules != nil {
		t.Errorf("Schedules = %v, want none", d.Schedules)
	}
	if string(d.DefaultConfig) != seedConfig {
		t.Errorf("DefaultConfig =\n%s\nwant the seed's table\n%s", d.DefaultConfig, seedConfig)
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
		{"no notification", `{"notify":null}`, nil},
		{"e-mail", `{"notify":{"channel":"email","template":"friend"}}`, nil},
		{"one row", `{"ladder":[{"friends":1,"percentBasisPoints":10000,"months":120,"smsPackage":1000000}]}`, nil},
		{"window bounds", `{"applyWindowMonths":0}`, []sdk.FieldError{
			{Field: "/applyWindowMonths", Code: "out_of_range", Message: "/applyWindowMonths is 0, it must be at least 1"},
		}},
		{"window above", `{"applyWindowMonths":121}`, []sdk.FieldError{
			{Field: "/applyWindowMonths", Code: "out_of_range", Message: "/applyWindowMonths is 121, it must be at most 120"},
		}},
		{"referee discount", `{"refereeDiscount":{"percentBasisPoints":10001,"months":0}}`, []sdk.FieldError{
			{Field: "/refereeDiscount/months", Code: "out_of_range", Message: "/refereeDiscount/months is 0, it must be at least 1"},
			{Field: "/refereeDiscount/percentBasisPoints", Code: "out_of_range", Message: "/refereeDiscount/percentBasisPoints is 10001, it must be at most 10000"},
		}},
		{"a given object replaces the default whole", `{"refereeDiscount":{"months":6}}`, []sdk.FieldError{
			{Field: "/refereeDiscount/percentBasisPoints", Code: "required", Message: "/refereeDiscount/percentBasisPoints is required"},
		}},
		{"empty ladder", `{"ladder":[]}`, []sdk.FieldError{
			{Field: "/ladder", Code: "invalid_length", Message: "/ladder has 0 items, it must have at least 1"},
		}},
		{"rows outside the schema", `{"ladder":[{"friends":1,"percentBasisPoints":0,"months":3},{"friends":2,"percentBasisPoints":4000,"months":121,"smsPackage":-1},{"friends":3,"percentBasisPoints":6000,"months":12,"smsPackage":1000001}]}`, []sdk.FieldError{
			{Field: "/ladder/0/percentBasisPoints", Code: "out_of_range", Message: "/ladder/0/percentBasisPoints is 0, it must be at least 1"},
			{Field: "/ladder/1/months", Code: "out_of_range", Message: "/ladder/1/months is 121, it must be at most 120"},
			{Field: "/ladder/1/smsPackage", Code: "out_of_range", Message: "/ladder/1/smsPackage is -1, it must be at least 0"},
			{Field: "/ladder/2/smsPackage", Code: "out_of_range", Message: "/ladder/2/smsPackage is 1000001, it must be at most 1000000"},
		}},
		{"rows that skip a count", `{"ladder":[{"friends":1,"percentBasisPoints":2000,"months":3},{"friends":3,"percentBasisPoints":4000,"months":6}]}`, []sdk.FieldError{
			{Field: "/ladder/1/friends", Code: "not_consecutive", Message: "/ladder/1/friends is 3, want 2: rows go 1, 2, 3, ... friends"},
		}},
		{"bad notification", `{"notify":{"channel":"push","template":""}}`, []sdk.FieldError{
			{Field: "/notify/channel", Code: "unsupported", Message: `/notify/channel is "push", it must be one of sms, email`},
			{Field: "/notify/template", Code: "required", Message: "/notify/template must not be empty"},
		}},
		{"blank template", `{"notify":{"channel":"sms","template":" "}}`, []sdk.FieldError{
			{Field: "/notify/template", Code: "required", Message: "/notify/template is blank"},
		}},
		{"wrong type", `{"applyWindowMonths":"1"}`, []sdk.FieldError{
			{Field: "/applyWindowMonths", Code: "invalid_type", Message: "/applyWindowMonths must be an integer, not a string"},
		}},
		{"unknown field", `{"ladders":[]}`, []sdk.FieldError{
			{Field: "/ladders", Code: "unknown_field", Message: "/ladders is not a setting of referral"},
		}},
		{"broken JSON", `{"ladder":[`, []sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
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
	t.Run("too many rows", func(t *testing.T) {
		t.Parallel()
		rows := make([]LadderRow, 101)
		for i := range rows {
			rows[i] = LadderRow{Friends: i + 1, PercentBasisPoints: 100, Months: 1}
		}
		raw, err := json.Marshal(map[string]any{"ladder": rows})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ValidateConfig(context.Background(), sdk.ValidateConfigRequest{Config: raw})
		if err != nil {
			t.Fatal(err)
		}
		want := []sdk.FieldError{
			{Field: "/ladder", Code: "invalid_length", Message: "/ladder has 101 items, it must have at most 100"},
			{Field: "/ladder/100/friends", Code: "out_of_range", Message: "/ladder/100/friends is 101, it must be at most 100"},
		}
		if !reflect.DeepEqual(want, got.Errors) {
			t.Errorf("errors:\n%s\nwant:\n%s", show(got.Errors), show(want))
		}
	})
}

// TestPartialConfigKeepsDefaults checks that a field that is left out takes
// the seed's value and a given ladder replaces the default one whole.
func TestPartialConfigKeepsDefaults(t *testing.T) {
	t.Parallel()
	cfg, errs := config.Parse(json.RawMessage(`{"ladder":[{"friends":1,"percentBasisPoints":500,"months":1}]}`))
	if errs != nil {
		t.Fatal(errs)
	}
	want := defaultConfig()
	want.Ladder = []LadderRow{{Friends: 1, PercentBasisPoints: 500, Months: 1}}
	if !reflect.DeepEqual(want, cfg) {
		t.Errorf("config:\n%s\nwant:\n%s", show(cfg), show(want))
	}
	if d := defaultConfig(); d.Ladder[2].SMSPackage != 1200 || len(d.Ladder) != 5 {
		t.Errorf("parsing changed the default config: %s", show(d))
	}
}

func TestEvaluateInvalidCampaign(t *testing.T) {
	t.Parallel()
	p := connect(t)
	for _, c := range []sdk.Campaign{
		campaign(`{"ladder":[]}`),
		{TimeZone: "Mars/Olympus"},
	} {
		_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: c, Items: []sdk.EvaluateItem{{}}})
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("campaign %+v: error %v, want sdk.ErrInvalidConfig", c, err)
		}
	}
}

func TestEvaluateOddInput(t *testing.T) {
	t.Parallel()
	p := connect(t)
	at := mt(2023, 3, 1, 12, 0, 0)
	check(t, evaluate(t, p, `{}`, sdk.Member{ID: "m"}, sdk.Event{Type: "purchase", OccurredAt: at}), nil,
		`event type "purchase" is not one of referral.code_applied, referral.friend_joined`)
	check(t, evaluate(t, p, `{}`, sdk.Member{ID: "m", State: json.RawMessage(`{"referees":{}}`)}, sdk.Event{Type: EventFriendJoined, OccurredAt: at, Attributes: joined("f1", at)}), nil,
		"invalid request: unreadable member state: json: cannot unmarshal object into Go struct field State.referees of type []main.Referee")
}

func TestEveryoneMayEnrol(t *testing.T) {
	t.Parallel()
	p := connect(t)
	got, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Campaign: campaign(`{}`), Member: sdk.Member{ID: "m"}})
	if err != nil || !got.Eligible || got.Reasons != nil {
		t.Errorf("CheckEligibility = %+v, %v, want eligible", got, err)
	}
}
