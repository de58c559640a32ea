package main

import (
	"context"
	"fmt"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "referral"
	Version = "1.0.0"
)

// Plugin decides t2's referral programme. It is stateless and safe for
// concurrent use. Every client may take part: CheckEligibility (from
// sdk.Base) lets everyone enrol, and events are decided whether or not the
// member enrolled, because the seed makes every client of the service a
// member of the programme with a personal code.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Describe reports the plugin, its events, config schema and default config.
// The plugin asks for no scheduled hooks: every benefit carries its end date.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    eventTypes,
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
		BenefitKinds:  []string{kindDiscount, kindSMSPackage},
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// Evaluate decides each event of the batch on its own member snapshot. It
// fails with sdk.ErrInvalidConfig if the campaign's configuration or time
// zone is invalid.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, err := config.Load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	loc, err := req.Campaign.Location()
	if err != nil {
		return sdk.EvaluateResponse{}, fmt.Errorf("%w: %w", sdk.ErrInvalidConfig, err)
	}
	r := rules{cfg: cfg, loc: loc}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		results[i] = r.evaluate(item.Member, item.Event)
	}
	return sdk.EvaluateResponse{Results: results}, nil
}
