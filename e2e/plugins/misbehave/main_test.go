package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

func evaluate(t *testing.T, ctx context.Context, config string, events int) (sdk.EvaluateResponse, error) {
	t.Helper()
	return sdktest.Connect(t, Plugin{}).Evaluate(ctx, sdk.EvaluateRequest{
		Campaign: sdk.Campaign{Config: json.RawMessage(config)},
		Items:    make([]sdk.EvaluateItem, events),
	})
}

func TestModes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		config  string
		results int
		kind    sdk.EffectKind
		amount  int64
	}{
		{`{"mode":"ok"}`, 3, sdk.KindCreditPoints, 10},
		{`{"mode":"sleep","sleepMs":10}`, 3, sdk.KindCreditPoints, 10},
		{`{"mode":"unknown_effect"}`, 3, "teleport_points", 10},
		{`{"mode":"negative_credit"}`, 3, sdk.KindCreditPoints, -50},
		{`{"mode":"absurd_credit"}`, 3, sdk.KindCreditPoints, 1e15},
		{`{"mode":"wrong_count"}`, 2, sdk.KindCreditPoints, 10},
	}
	for _, tc := range cases {
		t.Run(tc.config, func(t *testing.T) {
			t.Parallel()
			resp, err := evaluate(t, context.Background(), tc.config, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Results) != tc.results {
				t.Fatalf("%d results, want %d", len(resp.Results), tc.results)
			}
			e := resp.Results[0].Effects[0]
			if e.Kind != tc.kind || e.Credit == nil || e.Credit.Amount != tc.amount {
				t.Errorf("effect %s %+v, want %s of %d", e.Kind, e.Credit, tc.kind, tc.amount)
			}
		})
	}
}

func TestSleepHonoursDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := evaluate(t, ctx, `{"mode":"sleep","sleepMs":10000}`, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
}

func TestUnknownModeIsInvalid(t *testing.T) {
	t.Parallel()
	if _, err := evaluate(t, context.Background(), `{"mode":"explode"}`, 1); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("error %v, want sdk.ErrInvalidConfig", err)
	}
	resp, err := sdktest.Connect(t, Plugin{}).ValidateConfig(context.Background(), sdk.ValidateConfigRequest{Config: json.RawMessage(`{"mode":"explode"}`)})
	if err != nil || len(resp.Errors) != 1 || resp.Errors[0].Field != "mode" {
		t.Fatalf("ValidateConfig = %+v, %v; want one error on mode", resp, err)
	}
}
