// Command misbehave is a program plugin for the core's containment tests. Its
// campaign config {"mode": "...", "sleepMs": N} chooses how Evaluate behaves:
//
//	ok               credit 10 points per event
//	sleep            like ok, after sleeping sleepMs milliseconds
//	unknown_effect   an effect of kind "teleport_points"
//	negative_credit  credit -50 points
//	absurd_credit    credit 1e15 points
//	wrong_count      one result fewer than there are events
//	crash            exit the process with status 3
//	debit            debit 25 points per event (refused when the balance is short)
//	reject           reject every event with code "NOT_TODAY"
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

var modes = []string{"ok", "sleep", "unknown_effect", "negative_credit", "absurd_credit", "wrong_count", "crash", "debit", "reject"}

type config struct {
	Mode    string `json:"mode"`
	SleepMs int    `json:"sleepMs"`
}

// Plugin misbehaves on purpose, as its campaign's config says.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

func main() {
	sdk.Serve(Plugin{})
}

// Describe reports the plugin; it handles purchase events.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          "misbehave",
		Version:       "1.0.0",
		EventTypes:    []string{"purchase"},
		ConfigSchema:  json.RawMessage(`{"type":"object","properties":{"mode":{"enum":["ok","sleep","unknown_effect","negative_credit","absurd_credit","wrong_count","crash","debit","reject"]},"sleepMs":{"type":"integer","minimum":0}}}`),
		DefaultConfig: json.RawMessage(`{"mode":"ok"}`),
	}, nil
}

// ValidateConfig accepts only the known modes.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	if _, err := parse(req.Config); err != nil {
		return sdk.ValidateConfigResponse{Errors: []sdk.FieldError{{Field: "mode", Code: "invalid", Message: err.Error()}}}, nil //nolint:nilerr // a bad configuration is reported as field errors
	}
	return sdk.ValidateConfigResponse{}, nil
}

// Evaluate misbehaves as the campaign's mode says.
func (Plugin) Evaluate(ctx context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, err := parse(req.Campaign.Config)
	if err != nil {
		return sdk.EvaluateResponse{}, fmt.Errorf("%w: %w", sdk.ErrInvalidConfig, err)
	}
	credit := func(amount int64) sdk.EvaluateResponse {
		results := make([]sdk.EvaluateResult, len(req.Items))
		for i := range results {
			results[i].Effects = []sdk.Effect{sdk.Credit(amount, "misbehave "+cfg.Mode)}
		}
		return sdk.EvaluateResponse{Results: results}
	}
	switch cfg.Mode {
	case "sleep":
		select {
		case <-time.After(time.Duration(cfg.SleepMs) * time.Millisecond):
		case <-ctx.Done():
			return sdk.EvaluateResponse{}, ctx.Err()
		}
		return credit(10), nil
	case "unknown_effect":
		resp := credit(10)
		for i := range resp.Results {
			resp.Results[i].Effects[0].Kind = "teleport_points"
		}
		return resp, nil
	case "negative_credit":
		return credit(-50), nil
	case "absurd_credit":
		return credit(1e15), nil
	case "wrong_count":
		resp := credit(10)
		resp.Results = resp.Results[:max(len(resp.Results)-1, 0)]
		return resp, nil
	case "crash":
		os.Exit(3)
	case "debit", "reject":
		results := make([]sdk.EvaluateResult, len(req.Items))
		for i := range results {
			e := sdk.Debit(25, "misbehave debit")
			if cfg.Mode == "reject" {
				e = sdk.Reject{Code: "NOT_TODAY", Message: "misbehave rejects"}.Effect()
			}
			results[i].Effects = []sdk.Effect{e}
		}
		return sdk.EvaluateResponse{Results: results}, nil
	}
	return credit(10), nil
}

func parse(raw json.RawMessage) (config, error) {
	cfg := config{Mode: "ok"}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return cfg, err
		}
	}
	if !slices.Contains(modes, cfg.Mode) {
		return cfg, fmt.Errorf("mode %q is not one of %v", cfg.Mode, modes)
	}
	return cfg, nil
}
