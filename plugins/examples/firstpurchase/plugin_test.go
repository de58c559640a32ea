package main

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

func TestDescribe(t *testing.T) {
	sdktest.CheckConfigSchema(t, sdktest.Connect(t, Plugin{}))
}

func TestEvaluate(t *testing.T) {
	p := sdktest.Connect(t, Plugin{})
	purchase := func(amount int) sdk.Event {
		return sdk.Event{Type: "purchase", Attributes: sdk.Values{"amount": amount}}
	}
	rewarded := sdk.Member{State: json.RawMessage(`{"rewarded":true}`)}
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Items: []sdk.EvaluateItem{
		{Event: purchase(1000)},
		{Event: purchase(999)},
		{Event: purchase(5000), Member: rewarded},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.EvaluateResult{
		{Effects: []sdk.Effect{sdk.Credit(100, "first purchase"), sdk.PutState{State: json.RawMessage(`{"rewarded":true}`)}.Effect()}},
		{NoEffectReason: "a purchase of 999 is below the minimum of 1000"},
		{NoEffectReason: "the first purchase was already rewarded"},
	}
	if !reflect.DeepEqual(resp.Results, want) {
		t.Errorf("results:\n%+v\nwant\n%+v", resp.Results, want)
	}
}

func TestValidateConfig(t *testing.T) {
	p := sdktest.Connect(t, Plugin{})
	resp, err := p.ValidateConfig(context.Background(), sdk.ValidateConfigRequest{Config: json.RawMessage(`{"bonus":0}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.FieldError{{Field: "/bonus", Code: "out_of_range", Message: "/bonus is 0, it must be at least 1"}}
	if !reflect.DeepEqual(resp.Errors, want) {
		t.Errorf("errors = %+v, want %+v", resp.Errors, want)
	}
}
