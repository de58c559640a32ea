package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "tariffpromo"
	Version = "1.0.0"
)

// Plugin decides A1's "summer of unlimited" tariff promotion. It is
// stateless and safe for concurrent use.
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
		BenefitKinds:  []string{kindDiscount, kindAddon, kindPromoCode},
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// CheckEligibility lets a member enrol unless what is known about them
// excludes them: a tariff plan that does not take part, a prepaid plan, a
// number obtained by re-registration (from the answers or, failing those, the
// member's attributes), or a participation that already ended. Enrolment is
// optional: participation comes from the subscriber.connected event. It
// fails with sdk.ErrInvalidConfig if the campaign cannot be used.
func (Plugin) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	r, err := campaignRules(req.Campaign)
	if err != nil {
		return sdk.EligibilityResponse{}, err
	}
	value := func(key string) any {
		if v, ok := req.Answers[key]; ok && v != nil {
			return v
		}
		return req.Member.Attributes[key]
	}
	var reasons []sdk.Reason
	if plan, _ := value("tariffPlan").(string); strings.TrimSpace(plan) != "" {
		if _, ok := r.plan(plan); !ok {
			reasons = append(reasons, sdk.Reason{Code: CodePlanNotParticipating,
				Message: fmt.Sprintf("tariff plan %q does not take part (participating: %s)", plan, r.planNames())})
		}
	}
	if pay, _ := value("payment").(string); strings.EqualFold(strings.TrimSpace(pay), "prepaid") {
		reasons = append(reasons, sdk.Reason{Code: CodePrepaid, Message: "prepaid variants of the tariff plans are excluded"})
	}
	if rereg, _, _ := flag(sdk.Values{"reregistration": value("reregistration")}, "reregistration"); rereg {
		reasons = append(reasons, sdk.Reason{Code: CodeReregistered,
			Message: "the number was obtained by re-registration from another holder, which is excluded"})
	}
	if st, err := sdk.ReadState[State](req.Member.State); err == nil && st.Ended != nil {
		reasons = append(reasons, sdk.Reason{Code: CodeParticipationEnded,
			Message: fmt.Sprintf("the promotion ended for this subscriber on %s (%s)", stamp(st.Ended.At, r.loc), st.Ended.Reason)})
	}
	return sdk.EligibilityResponse{Eligible: len(reasons) == 0, Reasons: reasons}, nil
}

// Evaluate decides each event of the batch on its own member snapshot. It
// fails with sdk.ErrInvalidConfig if the campaign's configuration or time
// zone is invalid.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	r, err := campaignRules(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		results[i] = r.evaluate(item.Member, item.Event)
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

// campaignRules resolves a campaign's configuration in its time zone.
func campaignRules(c sdk.Campaign) (rules, error) {
	cfg, err := config.Load(c)
	if err != nil {
		return rules{}, err
	}
	loc, err := c.Location()
	if err != nil {
		return rules{}, fmt.Errorf("%w: %w", sdk.ErrInvalidConfig, err)
	}
	return newRules(cfg, loc), nil
}
