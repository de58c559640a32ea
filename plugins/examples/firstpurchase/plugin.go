package main

import (
	"context"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what Describe reports; the binary is registered under them.
const (
	Name    = "firstpurchase"
	Version = "1.0.0"
)

// Config is a campaign's configuration. The struct tags make its JSON Schema, which the core
// shows as a form and which ValidateConfig checks.
type Config struct {
	Bonus     int64 `json:"bonus" jsonschema:"title=Bonus,minimum=1,maximum=1000000" jsonschema_description:"Points credited for a member's first purchase."`
	MinAmount int64 `json:"minAmount" jsonschema:"title=Minimum amount,minimum=0,maximum=100000000" jsonschema_description:"The smallest purchase, in cents, that counts."`
}

var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "First purchase bonus",
	Description: "A bonus for a member's first purchase of at least the minimum amount.",
	Default:     func() Config { return Config{Bonus: 100, MinAmount: 1000} },
})

// state is what the plugin remembers about a member in a campaign.
type state struct {
	Rewarded bool `json:"rewarded"`
}

// Plugin implements sdk.Program; sdk.Base supplies CheckEligibility, Quote and Tick.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Describe says what the plugin is: its name, version, events and configuration.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    []string{"purchase"},
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
	}, nil
}

// ValidateConfig reports every problem of a campaign's configuration, by field.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// Evaluate decides a batch of purchases, one result per event.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, err := config.Load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		results[i] = evaluate(cfg, item)
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

func evaluate(cfg Config, item sdk.EvaluateItem) sdk.EvaluateResult {
	st, err := sdk.ReadState[state](item.Member.State)
	if err != nil {
		return sdk.NoEffect("%v", err)
	}
	if st.Rewarded {
		return sdk.NoEffect("the first purchase was already rewarded")
	}
	amount, ok := item.Event.Attributes.Int("amount")
	if !ok {
		return sdk.NoEffect("the purchase has no integer amount")
	}
	if amount < cfg.MinAmount {
		return sdk.NoEffect("a purchase of %d is below the minimum of %d", amount, cfg.MinAmount)
	}
	return sdk.WithState([]sdk.Effect{sdk.Credit(cfg.Bonus, "first purchase")}, state{Rewarded: true})
}
