package sdk

import (
	"context"
	"fmt"
)

// Program is the contract between the core and a program plugin. Every method
// receives a context whose deadline is the core's deadline for the call; an
// implementation should stop work when it is done. Methods must be safe for
// concurrent use: the core may call a plugin from several goroutines.
//
// Errors returned by a method cross the process boundary through a fixed code
// table: wrap one of the Err* values of this package (for example
// fmt.Errorf("%w: unitAmount is 0", ErrInvalidConfig)) so the core can tell
// them apart; any other error reaches the core as ErrInternal.
type Program interface {
	// Describe returns the plugin's name, version, event types, config schema
	// and the hooks it wants scheduled. The core calls it once per process.
	Describe(ctx context.Context) (Description, error)
	// ValidateConfig checks a campaign configuration and returns one
	// FieldError per problem; no errors means the config is valid.
	ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error)
	// CheckEligibility decides whether a member may enrol in a campaign.
	CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error)
	// Evaluate decides the effects of a batch of events. The response must hold
	// exactly one result per request item, in the same order.
	Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error)
	// Quote adjusts the price in points of a reward for a member.
	Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error)
	// Tick runs a scheduled hook (see Description.Schedules) over one page of
	// the campaign's members.
	Tick(ctx context.Context, req TickRequest) (TickResponse, error)
}

// Base gives a Program the defaults a simple plugin wants, so that it only
// writes Describe and Evaluate:
//
//	type Plugin struct{ sdk.Base }
//
// Base deliberately does not implement Describe or Evaluate: a type that
// embeds it and forgets one of them does not compile as a Program.
type Base struct{}

// ValidateConfig accepts every configuration.
func (Base) ValidateConfig(context.Context, ValidateConfigRequest) (ValidateConfigResponse, error) {
	return ValidateConfigResponse{}, nil
}

// CheckEligibility finds every member eligible.
func (Base) CheckEligibility(context.Context, EligibilityRequest) (EligibilityResponse, error) {
	return EligibilityResponse{Eligible: true}, nil
}

// Quote leaves the price unchanged, allows the redemption and sets no cap on
// the points payable.
func (Base) Quote(_ context.Context, req QuoteRequest) (QuoteResponse, error) {
	return QuoteResponse{Price: req.Item.Price, MaxPointsPayable: NoPointsCap, Allowed: true}, nil
}

// Tick refuses every hook with ErrUnsupportedHook: a plugin that asks for Schedules writes its
// own Tick.
func (Base) Tick(_ context.Context, req TickRequest) (TickResponse, error) {
	return TickResponse{}, fmt.Errorf("%w: %q", ErrUnsupportedHook, req.Hook)
}
