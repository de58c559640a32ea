package sdk_test

import (
	"context"

	"github.com/promogate/promogate/plugins/sdk"
)

// fake is a Program whose methods are set per test; an unset method fails
// with sdk.ErrNotImplemented.
type fake struct {
	describe    func(context.Context) (sdk.Description, error)
	validate    func(context.Context, sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error)
	eligibility func(context.Context, sdk.EligibilityRequest) (sdk.EligibilityResponse, error)
	evaluate    func(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error)
	quote       func(context.Context, sdk.QuoteRequest) (sdk.QuoteResponse, error)
	tick        func(context.Context, sdk.TickRequest) (sdk.TickResponse, error)
}

var _ sdk.Program = (*fake)(nil)

func (f *fake) Describe(ctx context.Context) (sdk.Description, error) {
	if f.describe == nil {
		return sdk.Description{}, sdk.ErrNotImplemented
	}
	return f.describe(ctx)
}

func (f *fake) ValidateConfig(ctx context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	if f.validate == nil {
		return sdk.ValidateConfigResponse{}, sdk.ErrNotImplemented
	}
	return f.validate(ctx, req)
}

func (f *fake) CheckEligibility(ctx context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	if f.eligibility == nil {
		return sdk.EligibilityResponse{}, sdk.ErrNotImplemented
	}
	return f.eligibility(ctx, req)
}

func (f *fake) Evaluate(ctx context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	if f.evaluate == nil {
		return sdk.EvaluateResponse{}, sdk.ErrNotImplemented
	}
	return f.evaluate(ctx, req)
}

func (f *fake) Quote(ctx context.Context, req sdk.QuoteRequest) (sdk.QuoteResponse, error) {
	if f.quote == nil {
		return sdk.QuoteResponse{}, sdk.ErrNotImplemented
	}
	return f.quote(ctx, req)
}

func (f *fake) Tick(ctx context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	if f.tick == nil {
		return sdk.TickResponse{}, sdk.ErrNotImplemented
	}
	return f.tick(ctx, req)
}
