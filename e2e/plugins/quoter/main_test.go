package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

const testConfig = `{"tierDiscounts":{"Gold":10,"Silver":5},"caps":{"seminar":50},"monthlyLimit":1}`

var now = time.Date(2026, 3, 31, 21, 30, 0, 0, time.UTC) // 1 April 00:30 in Europe/Kyiv

func TestQuote(t *testing.T) {
	t.Parallel()
	future := now.Add(time.Hour)
	past := now.Add(-time.Hour)
	cases := []struct {
		name   string
		member sdk.Member
		item   sdk.QuoteItem
		want   sdk.QuoteResponse
	}{
		{"no tier, no cap", sdk.Member{}, sdk.QuoteItem{Category: "tv", Price: 800},
			sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
		{"gold 10% rounds half up", sdk.Member{Tiers: []sdk.Tier{{Program: "p", Tier: "Gold", ValidUntil: &future}}},
			sdk.QuoteItem{Category: "tv", Price: 805}, sdk.QuoteResponse{Price: 725, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
		{"lapsed tier", sdk.Member{Tiers: []sdk.Tier{{Program: "p", Tier: "Gold", ValidUntil: &past}}},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
		{"tier of another programme", sdk.Member{Tiers: []sdk.Tier{{Program: "q", Tier: "Gold"}}},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
		{"seminar capped at half", sdk.Member{}, sdk.QuoteItem{Category: "seminar", Price: 3001},
			sdk.QuoteResponse{Price: 3001, MaxPointsPayable: 1500, Allowed: true}},
		{"debt", sdk.Member{Attributes: sdk.Values{"debt": json.Number("250")}}, sdk.QuoteItem{Category: "tv", Price: 800},
			sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap,
				Reasons: []sdk.Reason{{Code: "OUTSTANDING_DEBT", Message: "there is an outstanding debt of 250 on the account"}}}},
		{"exchange made this month (zone)", sdk.Member{State: json.RawMessage(`{"months":{"2026-04":1},"lastOrder":"order-7"}`)},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap,
				Reasons: []sdk.Reason{{Code: "FREQUENCY_LIMIT", Message: "points can be exchanged 1 time(s) a month and 2026-04's exchange was made (order-7)"}}}},
		{"exchange seen in the benefits before the state", sdk.Member{Benefits: []sdk.Benefit{
			{Kind: "reward", Campaign: "q", Attributes: sdk.Values{"month": "2026-04", "orderId": "order-9"}},
			{Kind: "reward", Campaign: "other", Attributes: sdk.Values{"month": "2026-04", "orderId": "order-3"}}}},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap,
				Reasons: []sdk.Reason{{Code: "FREQUENCY_LIMIT", Message: "points can be exchanged 1 time(s) a month and 2026-04's exchange was made (order-9)"}}}},
		{"another campaign's exchange", sdk.Member{Benefits: []sdk.Benefit{
			{Kind: "reward", Campaign: "other", Attributes: sdk.Values{"month": "2026-04", "orderId": "order-3"}}}},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
		{"exchange made last month", sdk.Member{State: json.RawMessage(`{"months":{"2026-03":1}}`)},
			sdk.QuoteItem{Category: "tv", Price: 800}, sdk.QuoteResponse{Price: 800, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}},
	}
	p := sdktest.Connect(t, Plugin{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: sdk.Campaign{Code: "q", Program: "p", TimeZone: "Europe/Kyiv",
				Config: json.RawMessage(testConfig)}, Member: tc.member, Item: tc.item, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Quote (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateCountsExchanges(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{
		Campaign: sdk.Campaign{TimeZone: "Europe/Kyiv", Config: json.RawMessage(testConfig)},
		Items: []sdk.EvaluateItem{
			{Event: sdk.Event{Type: "reward.redeemed", OccurredAt: now, Attributes: sdk.Values{"orderId": "order-8"}},
				Member: sdk.Member{State: json.RawMessage(`{"months":{"2026-03":1},"lastOrder":"order-7"}`)}},
			{Event: sdk.Event{Type: "reward.redeemed", OccurredAt: now, Attributes: sdk.Values{"orderId": "order-7", "month": "2026-03"}},
				Member: sdk.Member{State: json.RawMessage(`{"months":{"2026-03":1},"lastOrder":"order-7"}`)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.EvaluateResult{
		{Effects: []sdk.Effect{sdk.PutState{State: json.RawMessage(`{"months":{"2026-03":1,"2026-04":1},"lastOrder":"order-8"}`)}.Effect()}},
		{NoEffectReason: "order order-7 already counted"},
	}
	if diff := cmp.Diff(want, resp.Results); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}
}

func TestEnrolmentSetsTier(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	resp, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Answers: sdk.Values{"tier": "Gold"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	until := now.AddDate(1, 0, 0)
	want := sdk.EligibilityResponse{Eligible: true, Effects: []sdk.Effect{sdk.SetTier{Tier: "Gold", ValidUntil: &until}.Effect()}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("CheckEligibility (-want +got):\n%s", diff)
	}
	if resp, err := p.CheckEligibility(context.Background(), sdk.EligibilityRequest{Now: now}); err != nil || !resp.Eligible || len(resp.Effects) != 0 {
		t.Errorf("without a tier: %+v, %v", resp, err)
	}
}
