package main

import (
	"context"

	"github.com/promogate/promogate/plugins/sdk"
)

// Name and Version are what the plugin reports in Describe; register the
// binary under the same name and version.
const (
	Name    = "earntable"
	Version = "1.0.0"
)

// Event attributes the plugin reads.
const (
	// AttrMonths is the number of whole months paid in advance (prepayment).
	AttrMonths = "months"
	// AttrAmount is the payment in roubles (a number, kopecks allowed as
	// decimals), for proportional "from" rows.
	AttrAmount = "amount"
	// AttrBonus is the bonus the organiser decided for a "from" row; the
	// row's minimum applies if it is lower.
	AttrBonus = "bonus"
)

// ReasonNotParticipant is the NoEffectReason of an interaction by a client
// who is neither registered in the cabinet nor linked to a bonus account.
const ReasonNotParticipant = "client is not registered in the programme's personal cabinet and has no linked bonus account"

// Plugin implements the earntable programme; sdk.Base supplies Tick (the programme schedules
// nothing).
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

// Describe reports the plugin, its config schema and its default config.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:          Name,
		Version:       Version,
		EventTypes:    EventTypes,
		ConfigSchema:  config.Schema(),
		DefaultConfig: config.Default(),
		RewardKinds:   []string{"shop", "service", "seminar", "online_seminar"},
		// Seed 001 §1.4, §4.1: bonuses have no money equivalent and can never be turned into
		// cash, so the core refuses cash rewards for the programme's campaigns.
		ForbiddenRewardKinds: []string{"cash"},
	}, nil
}

// ValidateConfig reports every problem with a campaign configuration.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return config.Validate(req), nil
}

// CheckEligibility lets every client register in the programme's cabinet:
// the seed makes every client of the organisers a participant.
func (Plugin) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	if _, err := config.Load(req.Campaign); err != nil {
		return sdk.EligibilityResponse{}, err
	}
	return sdk.EligibilityResponse{Eligible: true}, nil
}

// Evaluate credits each interaction by its row of the accrual table.
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	cfg, err := config.Load(req.Campaign)
	if err != nil {
		return sdk.EvaluateResponse{}, err
	}
	results := make([]sdk.EvaluateResult, len(req.Items))
	for i, item := range req.Items {
		results[i] = evaluate(cfg, req.Campaign, item)
	}
	return sdk.EvaluateResponse{Results: results}, nil
}

func evaluate(cfg Config, c sdk.Campaign, item sdk.EvaluateItem) sdk.EvaluateResult {
	ev, m := item.Event, item.Member
	row, ok := cfg.row(ev.Type)
	if !ok {
		return sdk.NoEffect("event type %q earns nothing in this campaign: the accrual table has no row for it", ev.Type)
	}
	if !participant(cfg, c, m) {
		return sdk.NoEffect("%s", ReasonNotParticipant)
	}
	if row.MinMonths > 0 {
		months, ok := ev.Attributes.Whole(AttrMonths)
		if !ok {
			return sdk.NoEffect("row %d (%s) needs a whole number of months paid in advance in the %q attribute", row.Row, row.Title, AttrMonths)
		}
		if months < row.MinMonths {
			return sdk.NoEffect("a %s for %d months earns nothing: row %d needs %d months or more", ev.Type, months, row.Row, row.MinMonths)
		}
	}
	amount := row.Points
	if row.From {
		if _, present := ev.Attributes[AttrBonus]; present {
			bonus, ok := ev.Attributes.Whole(AttrBonus)
			if !ok || bonus < 1 || bonus > maxPoints {
				return sdk.NoEffect("the %q attribute must be a whole number of bonuses between 1 and %d", AttrBonus, maxPoints)
			}
			amount = max(amount, bonus)
		} else if row.Percent > 0 || row.PerAmount > 0 {
			if raw, present := ev.Attributes[AttrAmount]; present {
				kopecks, ok := ev.Attributes.Minor(AttrAmount)
				if !ok {
					return sdk.NoEffect("the %q attribute must be a non-negative amount in roubles, not %v", AttrAmount, raw)
				}
				amount = max(amount, proportional(row, kopecks))
			}
		}
	}
	if amount > maxPoints {
		return sdk.NoEffect("row %d would credit %d bonuses, more than the %d one credit may carry", row.Row, amount, maxPoints)
	}
	return sdk.EvaluateResult{Effects: []sdk.Effect{sdk.Credit(amount, row.Title)}}
}

// proportional is the amount a proportional row gives for a payment.
func proportional(r Row, kopecks int64) int64 {
	switch {
	case r.Percent > 0:
		// kopecks × percent / 100 % / 100 kopecks per rouble, floored; the
		// division first keeps it from overflowing.
		return kopecks/10000*r.Percent + kopecks%10000*r.Percent/10000
	case r.PerAmount > 0:
		return kopecks / 100 / r.PerAmount
	default:
		return 0
	}
}

// participant is true when the member is registered in the campaign (its
// cabinet) or linked to a bonus account.
func participant(cfg Config, c sdk.Campaign, m sdk.Member) bool {
	for _, e := range m.Enrollments {
		if e.Campaign == c.Code {
			return true
		}
	}
	return m.Attributes.Bool(cfg.LinkedAttribute)
}

// Quote caps the bonuses payable for categories with a cap (seminars: up to
// 50% of the price); prices are not changed.
func (Plugin) Quote(_ context.Context, req sdk.QuoteRequest) (sdk.QuoteResponse, error) {
	cfg, err := config.Load(req.Campaign)
	if err != nil {
		return sdk.QuoteResponse{}, err
	}
	resp := sdk.QuoteResponse{Price: req.Item.Price, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}
	if pct, ok := cfg.MaxPayablePercent[req.Item.Category]; ok {
		price := max(req.Item.Price, 0)
		resp.MaxPointsPayable = price/100*pct + price%100*pct/100
	}
	return resp, nil
}
