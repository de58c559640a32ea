package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

// These tests send every request through the real translation (plain →
// protobuf → gRPC → protobuf → plain) and check that the plugin receives
// exactly what the host sent, and the host exactly what the plugin answered.
// cmp compares time.Time with Equal (same instant); assertUTC checks that
// every instant arrives in UTC.

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var (
	tokyo   = mustZone("Asia/Tokyo")
	newYork = mustZone("America/New_York")
	riga    = mustZone("Europe/Riga")
)

func ptr[T any](v T) *T { return &v }

func fullCampaign() sdk.Campaign {
	return sdk.Campaign{
		ID:       "cmp-1",
		Code:     "WEEKEND-2021",
		Program:  "bonus",
		TimeZone: "Europe/Riga",
		StartsAt: time.Date(2021, 4, 1, 0, 0, 0, 0, riga),
		EndsAt:   time.Date(2021, 12, 31, 23, 59, 59, 999999999, newYork),
		Config:   json.RawMessage(`{"pointsPerUnit":1,"unitAmount":100}`),
	}
}

func fullAttributes() sdk.Values {
	return sdk.Values{
		"plan":   "gold",
		"visits": json.Number("12"),
		"big":    json.Number("9007199254740993"),
		"ratio":  json.Number("0.25"),
		"tags":   []any{"a", json.Number("2"), nil},
		"nested": map[string]any{"deep": map[string]any{"ok": true}},
		"none":   nil,
	}
}

func fullMember() sdk.Member {
	return sdk.Member{
		ID:          "mem-1",
		ExternalRef: "crm-77",
		Name:        "Anna Bērziņa",
		Email:       "anna@example.com",
		Phone:       "+37120000000",
		BirthDate:   "1990-02-28",
		Region:      "LV-RIX",
		Status:      "active",
		Attributes:  fullAttributes(),
		Balances: []sdk.Balance{
			{Program: "bonus", Available: 1200, Pending: 30, LifetimeEarned: 5000, StatusBalance: 800},
			{Program: "status", Available: -1, Pending: 0, LifetimeEarned: 0, StatusBalance: 0},
		},
		Tiers: []sdk.Tier{
			{Program: "bonus", Tier: "gold", ValidUntil: ptr(time.Date(2022, 1, 1, 0, 0, 0, 0, tokyo))},
			{Program: "status", Tier: "basic"},
		},
		Benefits: []sdk.Benefit{{
			ID:         "ben-1",
			Key:        "discount-gold",
			Campaign:   "cmp-1",
			Kind:       "discount",
			Title:      "Gold discount",
			Code:       "GOLD25",
			Percent:    2501,
			Scope:      "tariff",
			Exclusions: []string{"roaming", "devices"},
			ValidFrom:  ptr(time.Date(2021, 4, 1, 9, 30, 0, 0, newYork)),
			ValidUntil: ptr(time.Date(2021, 5, 1, 0, 0, 0, 0, riga)),
			Status:     "active",
			Attributes: sdk.Values{"channel": "app"},
		}},
		Enrollments: []sdk.Enrollment{{
			Campaign:     "cmp-1",
			EnrolledAt:   time.Date(2021, 4, 2, 12, 0, 0, 123, tokyo),
			Answers:      sdk.Values{"friendCode": "ABC", "age": json.Number("31")},
			RegisteredBy: "operator-5",
			Responsible:  "parent-9",
		}},
		State:   json.RawMessage(`{"purchases":3,"last":"2021-04-03"}`),
		Version: 42,
	}
}

func fullEvent() sdk.Event {
	return sdk.Event{
		ID:         "evt-1",
		Type:       "purchase",
		Source:     "billing",
		ExternalID: "inv-2021-0001",
		OccurredAt: time.Date(2021, 4, 3, 10, 15, 30, 500, newYork),
		Attributes: sdk.Values{"amount": json.Number("1999"), "currency": "EUR"},
	}
}

// allEffects has one effect of each kind with every field set, and the
// malformed ones a plugin may send, which must reach the core unchanged.
func allEffects() []sdk.Effect {
	return []sdk.Effect{
		sdk.Credit(150, "purchase",
			sdk.AvailableAt(time.Date(2021, 4, 17, 0, 0, 0, 0, riga)),
			sdk.ExpiresAt(time.Date(2022, 4, 3, 23, 59, 59, 0, tokyo)),
			sdk.WithStatusPoints(75)),
		sdk.Debit(20, "correction"),
		sdk.GrantBenefit{
			Key:        "gift-2021-04",
			Kind:       "gift",
			Title:      "Headphones",
			Percent:    1000,
			Scope:      "shop",
			Exclusions: []string{"sale"},
			Quantity:   1,
			Recipient:  "Jānis Bērziņš",
			Code:       "GIFT-1",
			ValidFrom:  ptr(time.Date(2021, 4, 1, 0, 0, 0, 0, riga)),
			ValidUntil: ptr(time.Date(2021, 4, 30, 0, 0, 0, 0, newYork)),
			Attributes: sdk.Values{"size": "M", "count": json.Number("2")},
		}.Effect(),
		sdk.ChangeBenefit{Key: "discount-gold", Percent: ptr(0), ValidUntil: ptr(time.Date(2021, 6, 1, 0, 0, 0, 0, tokyo)), Attributes: sdk.Values{"why": "upgrade"}}.Effect(),
		sdk.ChangeBenefit{Key: "discount-silver"}.Effect(),
		sdk.EndBenefit{Key: "discount-gold", Reason: "plan_changed", At: ptr(time.Date(2021, 5, 1, 0, 0, 0, 0, riga))}.Effect(),
		sdk.SetTier{Tier: "platinum", ValidUntil: ptr(time.Date(2022, 1, 1, 0, 0, 0, 0, riga))}.Effect(),
		sdk.IssueCode{Purpose: "referral"}.Effect(),
		sdk.Notify{Channel: "sms", Template: "points-credited", To: "+37120000000", Params: map[string]string{"points": "150", "name": "Anna"}}.Effect(),
		sdk.PutState{State: json.RawMessage(`{"purchases":4}`)}.Effect(),
		sdk.Reject{Code: "duplicate_receipt", Message: "receipt already used"}.Effect(),
		{Kind: "teleport_points", Credit: &sdk.CreditPoints{Amount: 10}},
		{Kind: "teleport_points"},
		{Kind: sdk.KindCreditPoints, Debit: &sdk.DebitPoints{Amount: 5}},
		{Kind: sdk.KindCreditPoints},
		{},
	}
}

// roundTripCase is one request and response pair. The want fields are what
// must arrive; they differ from the sent ones only where the wire normalises
// (empty repeated fields and string maps arrive as nil).
type roundTripCase[Req, Resp any] struct {
	name     string
	req      Req
	resp     Resp
	wantReq  Req
	wantResp Resp
}

// same is a case in which everything must arrive exactly as sent.
func same[Req, Resp any](name string, req Req, resp Resp) roundTripCase[Req, Resp] {
	return roundTripCase[Req, Resp]{name: name, req: req, resp: resp, wantReq: req, wantResp: resp}
}

// roundTrip runs each case through sdktest.Connect. serve installs handler as
// the fake's implementation of the method under test; call invokes it.
func roundTrip[Req, Resp any](
	t *testing.T,
	cases []roundTripCase[Req, Resp],
	serve func(f *fake, handler func(Req) Resp),
	call func(sdk.Program, context.Context, Req) (Resp, error),
) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var received Req
			f := &fake{}
			serve(f, func(r Req) Resp {
				received = r
				return tc.resp
			})
			got, err := call(sdktest.Connect(t, f), context.Background(), tc.req)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tc.wantReq, received); diff != "" {
				t.Errorf("plugin received (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantResp, got); diff != "" {
				t.Errorf("host received (-want +got):\n%s", diff)
			}
			assertUTC(t, "request", reflect.ValueOf(received))
			assertUTC(t, "response", reflect.ValueOf(got))
		})
	}
}

// assertUTC fails the test for every non-zero time.Time in v that is not in UTC.
func assertUTC(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			assertUTC(t, path, v.Elem())
		}
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("%s = %v, want it in UTC", path, tm)
			}
			return
		}
		for i := range v.NumField() {
			assertUTC(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			assertUTC(t, path, v.Index(i))
		}
	}
}

// assertAllSet fails for every zero field in v, so that a field that is added
// to a type and forgotten in the translation cannot hide behind a fixture that
// leaves it zero. Slices are checked through their first element; Effect
// values are checked by TestEffectFixturesSetEveryField.
func assertAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		switch x := v.Interface().(type) {
		case time.Time:
			if x.IsZero() {
				t.Errorf("fixture leaves %s zero", path)
			}
		case sdk.Effect:
		default:
			for i := range v.NumField() {
				if v.Type() == reflect.TypeFor[sdk.Event]() && v.Type().Field(i).Name == "AttributesJSON" {
					continue // the host's alternative to Attributes, which a plugin never gets
				}
				assertAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("fixture leaves %s nil", path)
		} else if v.Elem().Kind() == reflect.Struct {
			assertAllSet(t, path, v.Elem())
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("fixture leaves %s empty", path)
		} else {
			assertAllSet(t, path+"[0]", v.Index(0))
		}
	case reflect.Map:
		if v.Len() == 0 {
			t.Errorf("fixture leaves %s empty", path)
		}
	default:
		if v.IsZero() {
			t.Errorf("fixture leaves %s zero", path)
		}
	}
}

func TestEffectFixturesSetEveryField(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for i, e := range allEffects()[:11] {
		if e.ChangeBenefit != nil && e.ChangeBenefit.Percent == nil {
			continue // the partial change, kept to test nil fields
		}
		v := reflect.ValueOf(e)
		for j := range v.NumField() {
			f := v.Field(j)
			if f.Kind() == reflect.Pointer && !f.IsNil() {
				name := v.Type().Field(j).Name
				covered[name] = true
				assertAllSet(t, fmt.Sprintf("allEffects()[%d].%s", i, name), f)
			}
		}
	}
	for j := range reflect.TypeFor[sdk.Effect]().NumField() {
		f := reflect.TypeFor[sdk.Effect]().Field(j)
		if f.Type.Kind() == reflect.Pointer && !covered[f.Name] {
			t.Errorf("allEffects() has no %s effect", f.Name)
		}
	}
}

func TestRoundTripDescribe(t *testing.T) {
	t.Parallel()
	full := sdk.Description{
		Name:          "weekenddouble",
		Version:       "1.2.3-rc.1",
		EventTypes:    []string{"purchase", "refund"},
		ConfigSchema:  json.RawMessage(`{"type":"object","properties":{"unitAmount":{"type":"integer"}}}`),
		DefaultConfig: json.RawMessage(`{"unitAmount":100}`),
		Schedules: []sdk.Schedule{
			{Name: "month-close", Spec: "monthly day=28 at=23:59:59"},
			{Name: "expire", Spec: "every=1h"},
		},
		BenefitKinds:         []string{"discount", "gift"},
		RewardKinds:          []string{"voucher"},
		ForbiddenRewardKinds: []string{"cash"},
	}
	assertAllSet(t, "description", reflect.ValueOf(full))
	empties := sdk.Description{EventTypes: []string{}, Schedules: []sdk.Schedule{}, ConfigSchema: json.RawMessage{}}
	roundTrip(t, []roundTripCase[struct{}, sdk.Description]{
		same("full", struct{}{}, full),
		same("zero", struct{}{}, sdk.Description{}),
		{name: "empty slices arrive nil", resp: empties, wantResp: sdk.Description{}},
	}, func(f *fake, h func(struct{}) sdk.Description) {
		f.describe = func(context.Context) (sdk.Description, error) { return h(struct{}{}), nil }
	}, func(p sdk.Program, ctx context.Context, _ struct{}) (sdk.Description, error) {
		return p.Describe(ctx)
	})
}

func TestRoundTripValidateConfig(t *testing.T) {
	t.Parallel()
	errs := sdk.ValidateConfigResponse{Errors: []sdk.FieldError{
		{Field: "unitAmount", Code: "must_be_positive", Message: "unitAmount must be greater than 0"},
		{Field: "", Code: "invalid_json", Message: "unexpected end of JSON input"},
	}}
	assertAllSet(t, "validate", reflect.ValueOf(errs))
	roundTrip(t, []roundTripCase[sdk.ValidateConfigRequest, sdk.ValidateConfigResponse]{
		same("errors", sdk.ValidateConfigRequest{Config: json.RawMessage(`{"unitAmount":0}`)}, errs),
		same("valid", sdk.ValidateConfigRequest{Config: json.RawMessage(`{}`)}, sdk.ValidateConfigResponse{}),
		same("null config", sdk.ValidateConfigRequest{Config: json.RawMessage(`null`)}, sdk.ValidateConfigResponse{}),
		same("invalid JSON passes untouched", sdk.ValidateConfigRequest{Config: json.RawMessage(`{"unit`)}, sdk.ValidateConfigResponse{}),
		same("nil config", sdk.ValidateConfigRequest{}, sdk.ValidateConfigResponse{}),
	}, func(f *fake, h func(sdk.ValidateConfigRequest) sdk.ValidateConfigResponse) {
		f.validate = func(_ context.Context, r sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
			return h(r), nil
		}
	}, sdk.Program.ValidateConfig)
}

func TestRoundTripCheckEligibility(t *testing.T) {
	t.Parallel()
	req := sdk.EligibilityRequest{
		Campaign: fullCampaign(),
		Member:   fullMember(),
		Answers:  sdk.Values{"friendCode": "XYZ", "consent": true},
		Now:      time.Date(2021, 4, 3, 23, 59, 59, 999, tokyo),
	}
	resp := sdk.EligibilityResponse{
		Eligible: true,
		Reasons:  []sdk.Reason{{Code: "too_young", Message: "must be 18"}, {Code: "region", Message: "LV only"}},
		Effects:  allEffects(),
	}
	assertAllSet(t, "eligibility request", reflect.ValueOf(req))
	assertAllSet(t, "eligibility response", reflect.ValueOf(resp))
	roundTrip(t, []roundTripCase[sdk.EligibilityRequest, sdk.EligibilityResponse]{
		same("full", req, resp),
		same("not eligible", sdk.EligibilityRequest{}, sdk.EligibilityResponse{Reasons: []sdk.Reason{{Code: "too_young"}}}),
		{
			name:     "empty answers stay empty, empty lists arrive nil",
			req:      sdk.EligibilityRequest{Answers: sdk.Values{}, Member: sdk.Member{Tiers: []sdk.Tier{}}},
			wantReq:  sdk.EligibilityRequest{Answers: sdk.Values{}},
			resp:     sdk.EligibilityResponse{Eligible: true, Reasons: []sdk.Reason{}, Effects: []sdk.Effect{}},
			wantResp: sdk.EligibilityResponse{Eligible: true},
		},
	}, func(f *fake, h func(sdk.EligibilityRequest) sdk.EligibilityResponse) {
		f.eligibility = func(_ context.Context, r sdk.EligibilityRequest) (sdk.EligibilityResponse, error) { return h(r), nil }
	}, sdk.Program.CheckEligibility)
}

func TestRoundTripEvaluate(t *testing.T) {
	t.Parallel()
	second := fullEvent()
	second.ID, second.OccurredAt = "evt-2", time.Date(2021, 4, 4, 0, 0, 0, 0, riga)
	req := sdk.EvaluateRequest{
		Campaign: fullCampaign(),
		Items: []sdk.EvaluateItem{
			{Event: fullEvent(), Member: fullMember()},
			{Event: second, Member: sdk.Member{ID: "mem-2"}},
			{},
		},
	}
	resp := sdk.EvaluateResponse{Results: []sdk.EvaluateResult{
		{Effects: allEffects()},
		{NoEffectReason: "amount below one unit"},
		{},
	}}

	emptyReq := sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{
		Event: sdk.Event{Attributes: sdk.Values{}},
		Member: sdk.Member{
			Attributes: sdk.Values{},
			Balances:   []sdk.Balance{},
			Benefits:   []sdk.Benefit{{Exclusions: []string{}, Attributes: sdk.Values{}}},
			State:      json.RawMessage(`null`),
		},
	}}}
	emptyWantReq := sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{
		Event: sdk.Event{Attributes: sdk.Values{}},
		Member: sdk.Member{
			Attributes: sdk.Values{},
			Benefits:   []sdk.Benefit{{Attributes: sdk.Values{}}},
			State:      json.RawMessage(`null`),
		},
	}}}
	emptyResp := sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{Effects: []sdk.Effect{
		sdk.Notify{Params: map[string]string{}}.Effect(),
		sdk.GrantBenefit{Exclusions: []string{}, Attributes: sdk.Values{}}.Effect(),
		sdk.PutState{State: json.RawMessage(`{}`)}.Effect(),
		sdk.PutState{State: json.RawMessage{}}.Effect(),
	}}}}
	emptyWantResp := sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{Effects: []sdk.Effect{
		sdk.Notify{}.Effect(),
		sdk.GrantBenefit{Attributes: sdk.Values{}}.Effect(),
		sdk.PutState{State: json.RawMessage(`{}`)}.Effect(),
		sdk.PutState{}.Effect(),
	}}}}

	// AttributesJSON goes instead of Attributes, and arrives as Attributes.
	asJSON := sdk.EvaluateRequest{Items: []sdk.EvaluateItem{
		{Event: sdk.Event{ID: "evt-3", Attributes: sdk.Values{"ignored": true},
			AttributesJSON: json.RawMessage(`{"amount": 1999, "big": 9007199254740993, "tags": ["a", 2], "ok": true}`)}},
		{Event: sdk.Event{ID: "evt-4", AttributesJSON: json.RawMessage(`{}`)}},
	}}
	asJSONWant := sdk.EvaluateRequest{Items: []sdk.EvaluateItem{
		{Event: sdk.Event{ID: "evt-3", Attributes: sdk.Values{"amount": json.Number("1999"), "big": json.Number("9007199254740993"),
			"tags": []any{"a", json.Number("2")}, "ok": true}}},
		{Event: sdk.Event{ID: "evt-4", Attributes: sdk.Values{}}},
	}}

	assertAllSet(t, "evaluate request", reflect.ValueOf(req))
	roundTrip(t, []roundTripCase[sdk.EvaluateRequest, sdk.EvaluateResponse]{
		same("full batch", req, resp),
		same("empty batch", sdk.EvaluateRequest{}, sdk.EvaluateResponse{}),
		same("unknown kind untouched", sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{}}}, sdk.EvaluateResponse{Results: []sdk.EvaluateResult{
			{Effects: []sdk.Effect{{Kind: "teleport_points", Credit: &sdk.CreditPoints{Amount: 1e15, Reason: "beam me up"}}}},
		}}),
		same("result count is not checked", sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{}, {}, {}}}, sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{}}}),
		{name: "nil and empty", req: emptyReq, wantReq: emptyWantReq, resp: emptyResp, wantResp: emptyWantResp},
		{name: "attributes sent as JSON", req: asJSON, wantReq: asJSONWant, resp: sdk.EvaluateResponse{}, wantResp: sdk.EvaluateResponse{}},
	}, func(f *fake, h func(sdk.EvaluateRequest) sdk.EvaluateResponse) {
		f.evaluate = func(_ context.Context, r sdk.EvaluateRequest) (sdk.EvaluateResponse, error) { return h(r), nil }
	}, sdk.Program.Evaluate)
}

func TestRoundTripQuote(t *testing.T) {
	t.Parallel()
	req := sdk.QuoteRequest{
		Campaign: fullCampaign(),
		Member:   fullMember(),
		Item: sdk.QuoteItem{
			RewardID:   "rw-1",
			Category:   "voucher",
			Code:       "CINEMA",
			Price:      2500,
			Attributes: sdk.Values{"partner": "forum", "seats": json.Number("2")},
		},
		Now: time.Date(2021, 4, 3, 12, 0, 0, 0, newYork),
	}
	capped := sdk.QuoteResponse{Price: 2250, MaxPointsPayable: 1125, Allowed: true, Reasons: []sdk.Reason{{Code: "tier_discount", Message: "gold: -10%"}}}
	assertAllSet(t, "quote request", reflect.ValueOf(req))
	assertAllSet(t, "quote response", reflect.ValueOf(capped))
	roundTrip(t, []roundTripCase[sdk.QuoteRequest, sdk.QuoteResponse]{
		same("capped", req, capped),
		same("no cap", req, sdk.QuoteResponse{Price: 2500, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}),
		same("refused", sdk.QuoteRequest{}, sdk.QuoteResponse{Reasons: []sdk.Reason{{Code: "once_per_month", Message: "already redeemed in April"}}}),
	}, func(f *fake, h func(sdk.QuoteRequest) sdk.QuoteResponse) {
		f.quote = func(_ context.Context, r sdk.QuoteRequest) (sdk.QuoteResponse, error) { return h(r), nil }
	}, sdk.Program.Quote)
}

func TestRoundTripTick(t *testing.T) {
	t.Parallel()
	req := sdk.TickRequest{
		Campaign: fullCampaign(),
		Hook:     "month-close",
		Now:      time.Date(2021, 4, 28, 23, 59, 59, 0, riga),
		Members:  []sdk.Member{fullMember(), {ID: "mem-2", Version: 1}},
		Cursor:   "page-2",
	}
	resp := sdk.TickResponse{
		Results: []sdk.MemberEffects{
			{MemberID: "mem-1", Effects: allEffects()},
			{MemberID: "mem-2"},
		},
		NextCursor: "page-3",
	}
	assertAllSet(t, "tick request", reflect.ValueOf(req))
	assertAllSet(t, "tick response", reflect.ValueOf(resp))
	roundTrip(t, []roundTripCase[sdk.TickRequest, sdk.TickResponse]{
		same("full", req, resp),
		same("last page", sdk.TickRequest{Hook: "expire"}, sdk.TickResponse{}),
		{
			name:     "empty lists arrive nil",
			req:      sdk.TickRequest{Members: []sdk.Member{}},
			wantReq:  sdk.TickRequest{},
			resp:     sdk.TickResponse{Results: []sdk.MemberEffects{{MemberID: "m", Effects: []sdk.Effect{}}}},
			wantResp: sdk.TickResponse{Results: []sdk.MemberEffects{{MemberID: "m"}}},
		},
	}, func(f *fake, h func(sdk.TickRequest) sdk.TickResponse) {
		f.tick = func(_ context.Context, r sdk.TickRequest) (sdk.TickResponse, error) { return h(r), nil }
	}, sdk.Program.Tick)
}
