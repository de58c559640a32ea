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

var riga = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		panic(err)
	}
	return loc
}()

func campaign(config string) sdk.Campaign {
	return sdk.Campaign{ID: "c1", Code: "WEEKEND", Program: "bonus", TimeZone: "Europe/Riga", Config: json.RawMessage(config)}
}

func purchase(at time.Time, amount any) sdk.Event {
	return sdk.Event{ID: "e", Type: "purchase", OccurredAt: at, Attributes: sdk.Values{"amount": amount}}
}

// show renders v for a failure message.
func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// inUTC returns the instant t as it arrives from the core: instants cross
// the wire in UTC.
func inUTC(t time.Time) time.Time { return t.UTC() }

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "weekenddouble" || d.Version != "1.0.0" || !slices.Equal(d.EventTypes, []string{"purchase"}) {
		t.Errorf("Describe = %s %s %v, want weekenddouble 1.0.0 [purchase]", d.Name, d.Version, d.EventTypes)
	}
	wantDefault := `{"pointsPerUnit":1,"unitAmount":100,"weekendMultiplier":2,"eventType":"purchase","expiresInDays":365}`
	if string(d.DefaultConfig) != wantDefault {
		t.Errorf("DefaultConfig = %s, want %s", d.DefaultConfig, wantDefault)
	}
	sdktest.CheckConfigSchema(t, p)
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	cases := []struct {
		name, config string
		want         []sdk.FieldError
	}{
		{"defaults", `{}`, nil},
		{"null", `null`, nil},
		{"absent", ``, nil},
		{"full", `{"pointsPerUnit":3,"unitAmount":250,"weekendMultiplier":3,"eventType":"purchase","expiresInDays":0}`, nil},
		{"every value bad", `{"pointsPerUnit":0,"unitAmount":-1,"weekendMultiplier":101,"eventType":"refund","expiresInDays":-2}`, []sdk.FieldError{
			{Field: "/eventType", Code: "unsupported", Message: `/eventType is "refund", it must be one of purchase`},
			{Field: "/expiresInDays", Code: "out_of_range", Message: "/expiresInDays is -2, it must be at least 0"},
			{Field: "/pointsPerUnit", Code: "out_of_range", Message: "/pointsPerUnit is 0, it must be at least 1"},
			{Field: "/unitAmount", Code: "out_of_range", Message: "/unitAmount is -1, it must be at least 1"},
			{Field: "/weekendMultiplier", Code: "out_of_range", Message: "/weekendMultiplier is 101, it must be at most 100"},
		}},
		{"multiplier zero", `{"weekendMultiplier":0}`, []sdk.FieldError{
			{Field: "/weekendMultiplier", Code: "out_of_range", Message: "/weekendMultiplier is 0, it must be at least 1"},
		}},
		{"wrong type", `{"unitAmount":"100"}`, []sdk.FieldError{
			{Field: "/unitAmount", Code: "invalid_type", Message: "/unitAmount must be an integer, not a string"},
		}},
		{"fraction", `{"pointsPerUnit":1.5}`, []sdk.FieldError{
			{Field: "/pointsPerUnit", Code: "invalid_type", Message: "/pointsPerUnit must be an integer, not a number"},
		}},
		{"unknown field", `{"weekendMultipler":2}`, []sdk.FieldError{
			{Field: "/weekendMultipler", Code: "unknown_field", Message: "/weekendMultipler is not a setting of weekenddouble"},
		}},
		{"broken JSON", `{"unitAmount":`, []sdk.FieldError{
			{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"},
		}},
		{"two values", `{} {}`, []sdk.FieldError{
			{Code: "invalid_json", Message: "the config is not one JSON value: invalid character after top-level value"},
		}},
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

func TestEvaluate(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	friday := time.Date(2021, 4, 2, 23, 59, 59, 0, riga)
	saturday := time.Date(2021, 4, 3, 0, 0, 0, 0, riga)
	sunday := time.Date(2021, 4, 4, 23, 59, 59, 0, riga)
	monday := time.Date(2021, 4, 5, 0, 0, 0, 0, riga)
	expires := func(t time.Time) sdk.CreditOption { return sdk.ExpiresAt(inUTC(t.AddDate(1, 0, 0))) }

	cases := []struct {
		name   string
		config string
		event  sdk.Event
		want   sdk.EvaluateResult
	}{
		{"friday 23:59:59", `{}`, purchase(friday, json.Number("1999")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(19, "purchase", expires(friday))}}},
		{"saturday 00:00:00", `{}`, purchase(saturday, json.Number("1999")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(38, "purchase, weekend x2", expires(saturday))}}},
		// 21:00 UTC on Friday is already Saturday in Riga (UTC+3 in April).
		{"saturday in the campaign zone, friday in UTC", `{}`, purchase(time.Date(2021, 4, 2, 21, 0, 0, 0, time.UTC), json.Number("1999")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(38, "purchase, weekend x2", expires(saturday))}}},
		{"friday in the campaign zone, saturday in Tokyo", `{}`, purchase(friday.In(time.FixedZone("JST", 9*3600)), json.Number("1999")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(19, "purchase", expires(friday))}}},
		{"sunday 23:59:59", `{}`, purchase(sunday, json.Number("100")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(2, "purchase, weekend x2", expires(sunday))}}},
		{"monday 00:00:00", `{}`, purchase(monday, json.Number("100")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(1, "purchase", expires(monday))}}},
		{"custom config on a weekday", `{"pointsPerUnit":3,"unitAmount":250,"weekendMultiplier":3,"expiresInDays":30}`, purchase(friday, json.Number("1000")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(12, "purchase", sdk.ExpiresAt(inUTC(time.Date(2021, 5, 2, 23, 59, 59, 0, riga))))}}},
		{"custom config at the weekend", `{"pointsPerUnit":3,"unitAmount":250,"weekendMultiplier":3,"expiresInDays":0}`, purchase(saturday, json.Number("999")),
			sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(27, "purchase, weekend x3")}}},
		{"below one unit", `{}`, purchase(saturday, json.Number("99")),
			sdk.EvaluateResult{NoEffectReason: "amount 99 is below one unit of 100"}},
		{"negative amount", `{}`, purchase(saturday, json.Number("-500")),
			sdk.EvaluateResult{NoEffectReason: "amount -500 is not positive"}},
		{"fractional amount", `{}`, purchase(saturday, json.Number("19.99")),
			sdk.EvaluateResult{NoEffectReason: "no integer amount attribute"}},
		{"amount as a string", `{}`, purchase(saturday, "1999"),
			sdk.EvaluateResult{NoEffectReason: "no integer amount attribute"}},
		{"too many points", `{"pointsPerUnit":1000000,"unitAmount":1,"weekendMultiplier":100}`, purchase(saturday, json.Number("9223372036854775807")),
			sdk.EvaluateResult{NoEffectReason: "amount 9223372036854775807 earns more points than can be counted"}},
		{"other event type", `{}`, sdk.Event{Type: "refund", OccurredAt: saturday, Attributes: sdk.Values{"amount": json.Number("1999")}},
			sdk.EvaluateResult{NoEffectReason: `event type "refund" does not earn points (want "purchase")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{
				Campaign: campaign(tc.config),
				Items:    []sdk.EvaluateItem{{Event: tc.event, Member: sdk.Member{ID: "m"}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []sdk.EvaluateResult{tc.want}; !reflect.DeepEqual(want, resp.Results) {
				t.Errorf("results:\n%s\nwant:\n%s", show(resp.Results), show(want))
			}
		})
	}
}

func TestEvaluateBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	var items []sdk.EvaluateItem
	for day := 1; day <= 7; day++ { // 2021-04-01 is a Thursday
		at := time.Date(2021, 4, day, 12, 0, 0, 0, riga)
		items = append(items, sdk.EvaluateItem{Event: purchase(at, json.Number("500"))})
	}
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: campaign(`{"expiresInDays":0}`), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range resp.Results {
		got = append(got, r.Effects[0].Credit.Amount)
	}
	if want := []int64{5, 5, 10, 10, 5, 5, 5}; !slices.Equal(want, got) {
		t.Errorf("points per day Thu..Wed = %v, want %v", got, want)
	}
}

func TestEvaluateInvalidCampaign(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	for _, c := range []sdk.Campaign{
		campaign(`{"unitAmount":0}`),
		{TimeZone: "Mars/Olympus"},
	} {
		_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Campaign: c, Items: []sdk.EvaluateItem{{}}})
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("campaign %+v: error %v, want sdk.ErrInvalidConfig", c, err)
		}
	}
}
