package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "weekenddouble"
	Version = "1.0.0"
)

// Config is a campaign's configuration. Fields left out of the JSON take their
// value from DefaultConfig.
type Config struct {
	// PointsPerUnit is credited per whole UnitAmount of the purchase.
	PointsPerUnit int64 `json:"pointsPerUnit"`
	// UnitAmount is in minor currency units (cents).
	UnitAmount int64 `json:"unitAmount"`
	// WeekendMultiplier multiplies the points on Saturday and Sunday.
	WeekendMultiplier int64 `json:"weekendMultiplier"`
	// EventType is the event type that earns points.
	EventType string `json:"eventType"`
	// ExpiresInDays is how many calendar days credited points last; 0 means
	// they do not expire.
	ExpiresInDays int `json:"expiresInDays"`
}

// DefaultConfig is the configuration a campaign starts from.
var DefaultConfig = Config{
	PointsPerUnit:     1,
	UnitAmount:        100,
	WeekendMultiplier: 2,
	EventType:         "purchase",
	ExpiresInDays:     365,
}

// Limits of the configuration values, so that no purchase can overflow.
const (
	maxPointsPerUnit     = 1_000_000
	maxWeekendMultiplier = 100
	maxExpiresInDays     = 3650
)

var eventTypes = []string{"purchase"}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "pointsPerUnit": {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "Points per whole unitAmount."},
    "unitAmount": {"type": "integer", "minimum": 1, "description": "Purchase amount per unit, in minor currency units."},
    "weekendMultiplier": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Multiplier on Saturday and Sunday in the campaign's time zone."},
    "eventType": {"type": "string", "enum": ["purchase"], "description": "Event type that earns points."},
    "expiresInDays": {"type": "integer", "minimum": 0, "maximum": 3650, "description": "Calendar days until credited points expire; 0 for never."}
  }
}`

// Plugin credits points for purchases, multiplied at weekends.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Describe reports the plugin, its config schema and its default config.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	def, err := json.Marshal(DefaultConfig)
	if err != nil {
		return sdk.Description{}, err
	}
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    eventTypes,
		ConfigSchema:  json.RawMessage(configSchema),
		DefaultConfig: def,
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	_, errs := parseConfig(req.Config)
	return sdk.ValidateConfigResponse{Errors: errs}, nil
}

// Evaluate credits each purchase of the batch. It fails with
// sdk.ErrInvalidConfig if the campaign's configuration or time zone is
// invalid.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, errs := parseConfig(req.Campaign.Config)
	if len(errs) > 0 {
		return sdk.EvaluateResponse{}, fmt.Errorf("%w: %s: %s", sdk.ErrInvalidConfig, errs[0].Field, errs[0].Message)
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
		return sdk.EvaluateResult{NoEffectReason: fmt.Sprintf("event type %q does not earn points (want %q)", ev.Type, cfg.EventType)}
	}
	amount, ok := ev.Attributes.Int("amount")
	if !ok {
		return sdk.EvaluateResult{NoEffectReason: "no integer amount attribute"}
	}
	if amount <= 0 {
		return sdk.EvaluateResult{NoEffectReason: fmt.Sprintf("amount %d is not positive", amount)}
	}
	units := amount / cfg.UnitAmount
	if units == 0 {
		return sdk.EvaluateResult{NoEffectReason: fmt.Sprintf("amount %d is below one unit of %d", amount, cfg.UnitAmount)}
	}
	local := ev.OccurredAt.In(loc)
	perUnit, reason := cfg.PointsPerUnit, cfg.EventType
	if day := local.Weekday(); day == time.Saturday || day == time.Sunday {
		perUnit *= cfg.WeekendMultiplier
		reason = fmt.Sprintf("%s, weekend x%d", cfg.EventType, cfg.WeekendMultiplier)
	}
	if units > math.MaxInt64/perUnit {
		return sdk.EvaluateResult{NoEffectReason: fmt.Sprintf("amount %d earns more points than can be counted", amount)}
	}
	var opts []sdk.CreditOption
	if cfg.ExpiresInDays > 0 {
		opts = append(opts, sdk.ExpiresAt(local.AddDate(0, 0, cfg.ExpiresInDays)))
	}
	return sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(units*perUnit, reason, opts...)}}
}

// parseConfig decodes raw over DefaultConfig and checks every value. An
// empty or null config is DefaultConfig.
func parseConfig(raw json.RawMessage) (Config, []sdk.FieldError) {
	cfg := DefaultConfig
	if len(bytes.TrimSpace(raw)) == 0 {
		return cfg, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, []sdk.FieldError{decodeError(err)}
	}
	if dec.More() {
		return cfg, []sdk.FieldError{{Code: "invalid_json", Message: "config holds more than one JSON value"}}
	}

	var errs []sdk.FieldError
	check := func(bad bool, field, code, format string, args ...any) {
		if bad {
			errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
		}
	}
	check(cfg.PointsPerUnit < 1 || cfg.PointsPerUnit > maxPointsPerUnit, "pointsPerUnit", "out_of_range",
		"pointsPerUnit is %d, it must be between 1 and %d", cfg.PointsPerUnit, maxPointsPerUnit)
	check(cfg.UnitAmount < 1, "unitAmount", "must_be_positive",
		"unitAmount is %d, it must be at least 1", cfg.UnitAmount)
	check(cfg.WeekendMultiplier < 1 || cfg.WeekendMultiplier > maxWeekendMultiplier, "weekendMultiplier", "out_of_range",
		"weekendMultiplier is %d, it must be between 1 and %d", cfg.WeekendMultiplier, maxWeekendMultiplier)
	check(!slices.Contains(eventTypes, cfg.EventType), "eventType", "unsupported",
		"eventType %q is not one of %s", cfg.EventType, strings.Join(eventTypes, ", "))
	check(cfg.ExpiresInDays < 0 || cfg.ExpiresInDays > maxExpiresInDays, "expiresInDays", "out_of_range",
		"expiresInDays is %d, it must be between 0 (never) and %d", cfg.ExpiresInDays, maxExpiresInDays)
	return cfg, errs
}

// decodeError turns a JSON decoding error into a field error.
func decodeError(err error) sdk.FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return sdk.FieldError{
			Field:   typeErr.Field,
			Code:    "invalid_type",
			Message: fmt.Sprintf("%s must be a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value),
		}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return sdk.FieldError{Field: name, Code: "unknown_field", Message: fmt.Sprintf("%s is not a setting of %s", name, Name)}
	}
	return sdk.FieldError{Code: "invalid_json", Message: err.Error()}
}
