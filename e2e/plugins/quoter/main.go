// Command quoter is a programme plugin for the rewards tests: it prices rewards the way the
// programme plugins do (a status discount, a cap on the points payable per category, "one
// exchange a month", debts), with every rule in its campaign config, e.g.
// {"tierDiscounts": {"Gold": 10}, "caps": {"seminar": 50}, "monthlyLimit": 1}:
//
// tierDiscounts is the percentage off the listed price for a member whose tier in the
// campaign's programme (Member.Tiers, valid at Now) has that name, rounded half up to whole
// points. caps is the percentage of the (discounted) price payable with points, per reward
// category (MaxPointsPayable, rounded down); other categories have no cap. monthlyLimit is the
// number of exchanges a member may make per calendar month in the campaign's zone (0: no limit),
// counted from the reward.redeemed events it evaluates (kept in its state) and from the member's
// reward benefits of the month (Member.Benefits, attributes month and orderId), which the
// snapshot shows as soon as an order commits.
//
// Enrolment answer "tier" sets the member's tier (see CheckEligibility). Member attributes read:
// "debt" (a number; above 0 refuses with OUTSTANDING_DEBT) and
// "frequencyLimited" (true refuses with FREQUENCY_LIMIT).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

type config struct {
	TierDiscounts map[string]int64 `json:"tierDiscounts"`
	Caps          map[string]int64 `json:"caps"`
	MonthlyLimit  int64            `json:"monthlyLimit"`
}

// state counts the member's exchanges per month ("YYYY-MM") and remembers the last order.
type state struct {
	Months    map[string]int64 `json:"months"`
	LastOrder string           `json:"lastOrder"`
}

// Plugin is the quoter programme.
type Plugin struct{ sdk.Base }

var _ sdk.Program = Plugin{}

func main() { sdk.Serve(Plugin{}) }

// Describe reports the plugin; it evaluates reward.redeemed events.
func (Plugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:       "quoter",
		Version:    "1.0.0",
		EventTypes: []string{"reward.redeemed"},
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"tierDiscounts":{"type":"object"},
			"caps":{"type":"object"},"monthlyLimit":{"type":"integer","minimum":0}}}`),
		DefaultConfig: json.RawMessage(`{"tierDiscounts":{},"caps":{},"monthlyLimit":0}`),
		RewardKinds:   []string{"tv", "internet", "phone", "partner", "seminar"},
		// Points are no money: the core refuses cash rewards for its campaigns.
		ForbiddenRewardKinds: []string{"cash"},
	}, nil
}

// ValidateConfig checks the percentages and the limit.
func (Plugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	c, err := parse(req.Config)
	if err != nil {
		return sdk.ValidateConfigResponse{Errors: []sdk.FieldError{{Code: "invalid_json", Message: err.Error()}}}, nil //nolint:nilerr // a bad configuration is reported as field errors
	}
	var errs []sdk.FieldError
	for name, pct := range c.TierDiscounts {
		if pct < 0 || pct > 100 {
			errs = append(errs, sdk.FieldError{Field: "tierDiscounts." + name, Code: "out_of_range", Message: "a percentage 0..100"})
		}
	}
	for cat, pct := range c.Caps {
		if pct < 0 || pct > 100 {
			errs = append(errs, sdk.FieldError{Field: "caps." + cat, Code: "out_of_range", Message: "a percentage 0..100"})
		}
	}
	if c.MonthlyLimit < 0 {
		errs = append(errs, sdk.FieldError{Field: "monthlyLimit", Code: "out_of_range", Message: "0 or more"})
	}
	return sdk.ValidateConfigResponse{Errors: errs}, nil
}

func parse(raw json.RawMessage) (config, error) {
	var c config
	if len(raw) == 0 {
		return c, nil
	}
	err := json.Unmarshal(raw, &c)
	return c, err
}

// CheckEligibility enrols everyone; an answer "tier" (e.g. "Gold") sets the member's tier in the
// campaign's programme for a year from Now, so tests can give a member a status through the API.
func (Plugin) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	resp := sdk.EligibilityResponse{Eligible: true}
	if tier, ok := req.Answers.String("tier"); ok && tier != "" {
		until := req.Now.AddDate(1, 0, 0)
		resp.Effects = []sdk.Effect{sdk.SetTier{Tier: tier, ValidUntil: &until}.Effect()}
	}
	return resp, nil
}

// Quote applies the member's tier discount and the category's cap, and refuses for a debt, a
// frequency-limited member or a month whose exchanges are used up.
func (Plugin) Quote(_ context.Context, req sdk.QuoteRequest) (sdk.QuoteResponse, error) {
	c, err := parse(req.Campaign.Config)
	if err != nil {
		return sdk.QuoteResponse{}, fmt.Errorf("%w: %v", sdk.ErrInvalidConfig, err)
	}
	loc, err := req.Campaign.Location()
	if err != nil {
		return sdk.QuoteResponse{}, fmt.Errorf("%w: %v", sdk.ErrInvalidConfig, err)
	}
	price := req.Item.Price
	for _, t := range req.Member.Tiers {
		if t.Program != req.Campaign.Program || (t.ValidUntil != nil && t.ValidUntil.Before(req.Now)) {
			continue
		}
		if pct, ok := c.TierDiscounts[t.Tier]; ok {
			price = (req.Item.Price*(100-pct) + 50) / 100
		}
	}
	resp := sdk.QuoteResponse{Price: price, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}
	if pct, ok := c.Caps[req.Item.Category]; ok {
		resp.MaxPointsPayable = price * pct / 100
	}
	if debt, ok := req.Member.Attributes.Int("debt"); ok && debt > 0 {
		resp.Reasons = append(resp.Reasons, sdk.Reason{Code: "OUTSTANDING_DEBT",
			Message: fmt.Sprintf("there is an outstanding debt of %d on the account", debt)})
	}
	if limited, _ := req.Member.Attributes["frequencyLimited"].(bool); limited {
		resp.Reasons = append(resp.Reasons, sdk.Reason{Code: "FREQUENCY_LIMIT", Message: "the member may not exchange points now"})
	}
	if c.MonthlyLimit > 0 {
		var st state
		if len(req.Member.State) > 0 {
			if err := json.Unmarshal(req.Member.State, &st); err != nil {
				return sdk.QuoteResponse{}, fmt.Errorf("%w: state: %v", sdk.ErrInvalidRequest, err)
			}
		}
		month := req.Now.In(loc).Format("2006-01")
		made, last := st.Months[month], st.LastOrder
		// The reward benefits of this month's orders are in the snapshot as soon as an order
		// commits, before its reward.redeemed event reaches the state: count them too.
		orders := map[string]bool{}
		for _, b := range req.Member.Benefits {
			m, _ := b.Attributes.String("month")
			o, _ := b.Attributes.String("orderId")
			if b.Kind == "reward" && b.Campaign == req.Campaign.Code && m == month && o != "" {
				orders[o] = true
			}
		}
		if int64(len(orders)) > made {
			made = int64(len(orders))
			keys := make([]string, 0, len(orders))
			for o := range orders {
				keys = append(keys, o)
			}
			sort.Strings(keys)
			last = keys[len(keys)-1]
		}
		if made >= c.MonthlyLimit {
			resp.Reasons = append(resp.Reasons, sdk.Reason{Code: "FREQUENCY_LIMIT",
				Message: fmt.Sprintf("points can be exchanged %d time(s) a month and %s's exchange was made (%s)", c.MonthlyLimit, month, last)})
		}
	}
	resp.Allowed = len(resp.Reasons) == 0
	return resp, nil
}

// Evaluate counts each reward.redeemed event in the member's month (attribute month, else the
// event's month in the campaign's zone).
func (Plugin) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	loc, err := req.Campaign.Location()
	if err != nil {
		return sdk.EvaluateResponse{}, fmt.Errorf("%w: %v", sdk.ErrInvalidConfig, err)
	}
	out := sdk.EvaluateResponse{Results: make([]sdk.EvaluateResult, len(req.Items))}
	for i, it := range req.Items {
		if it.Event.Type != "reward.redeemed" {
			out.Results[i].NoEffectReason = "not a reward.redeemed event"
			continue
		}
		var st state
		if len(it.Member.State) > 0 {
			if err := json.Unmarshal(it.Member.State, &st); err != nil {
				return sdk.EvaluateResponse{}, fmt.Errorf("%w: state: %v", sdk.ErrInvalidRequest, err)
			}
		}
		if st.Months == nil {
			st.Months = map[string]int64{}
		}
		month, _ := it.Event.Attributes.String("month")
		if month == "" {
			month = it.Event.OccurredAt.In(loc).Format("2006-01")
		}
		order, _ := it.Event.Attributes.String("orderId")
		if order == st.LastOrder && order != "" {
			out.Results[i].NoEffectReason = "order " + order + " already counted"
			continue
		}
		st.Months[strings.TrimSpace(month)]++
		st.LastOrder = order
		eff, err := sdk.StoreState(st)
		if err != nil {
			return sdk.EvaluateResponse{}, err
		}
		out.Results[i].Effects = []sdk.Effect{eff}
	}
	return out, nil
}
