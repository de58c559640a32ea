package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "weekenddouble"
	Version = "1.0.0"
)

var eventTypes = []string{"purchase"}

// Plugin credits points for purchases, multiplied at weekends.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Describe reports the plugin, its config schema and its default config.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    eventTypes,
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// Evaluate credits each purchase of the batch. It fails with sdk.ErrInvalidConfig if the
// campaign's configuration or time zone is invalid.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, err := config.Load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	loc, err := req.Campaign.Location()
	if err != nil {
		return sdk.EvaluateResponse{}, fmt.Errorf("%w: %w", sdk.ErrInvalidConfig, err)
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		results[i] = evaluate(cfg, loc, item.Event)
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

// evaluate decides one event.
func evaluate(cfg Config, loc *time.Location, ev sdk.Event) sdk.EvaluateResult {
	if ev.Type != cfg.EventType {
		return sdk.NoEffect("event type %q does not earn points (want %q)", ev.Type, cfg.EventType)
	}
	amount, ok := ev.Attributes.Int("amount")
	if !ok {
		return sdk.NoEffect("no integer amount attribute")
	}
	if amount <= 0 {
		return sdk.NoEffect("amount %d is not positive", amount)
	}
	units := amount / cfg.UnitAmount
	if units == 0 {
		return sdk.NoEffect("amount %d is below one unit of %d", amount, cfg.UnitAmount)
	}
	local := ev.OccurredAt.In(loc)
	perUnit, reason := cfg.PointsPerUnit, cfg.EventType
	if day := local.Weekday(); day == time.Saturday || day == time.Sunday {
		perUnit *= cfg.WeekendMultiplier
		reason = fmt.Sprintf("%s, weekend x%d", cfg.EventType, cfg.WeekendMultiplier)
	}
	if units > math.MaxInt64/perUnit {
		return sdk.NoEffect("amount %d earns more points than can be counted", amount)
	}
	var opts []sdk.CreditOption
	if cfg.ExpiresInDays > 0 {
		opts = append(opts, sdk.ExpiresAt(local.AddDate(0, 0, cfg.ExpiresInDays)))
	}
	return sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(units*perUnit, reason, opts...)}}
}
