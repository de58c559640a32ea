package engine

import (
	"fmt"

	"github.com/promogate/promogate/server/pluginhost"
)

// decided describes a plugin's effects as it asked for them, for an outcome the core did not
// apply as decided (see CampaignOutcome.Decision). The detail names what each effect is about:
// a credit's or debit's reason, a benefit's kind and key, a tier, a message's channel and
// template, a rejection's code and message.
func decided(effects []pluginhost.Effect) []DecidedEffect {
	out := make([]DecidedEffect, len(effects))
	for i, eff := range effects {
		d := DecidedEffect{Kind: string(eff.Kind)}
		switch {
		case eff.Credit != nil:
			d.Points, d.Detail = eff.Credit.Amount, eff.Credit.Reason
		case eff.Debit != nil:
			d.Points, d.Detail = -eff.Debit.Amount, eff.Debit.Reason
		case eff.GrantBenefit != nil:
			d.Detail = fmt.Sprintf("%s %s", eff.GrantBenefit.Kind, eff.GrantBenefit.Key)
		case eff.ChangeBenefit != nil:
			d.Detail = eff.ChangeBenefit.Key
		case eff.EndBenefit != nil:
			d.Detail = fmt.Sprintf("%s: %s", eff.EndBenefit.Key, eff.EndBenefit.Reason)
		case eff.SetTier != nil:
			d.Detail = eff.SetTier.Tier
		case eff.IssueCode != nil:
			d.Detail = eff.IssueCode.Purpose
		case eff.Notify != nil:
			d.Detail = fmt.Sprintf("%s %s", eff.Notify.Channel, eff.Notify.Template)
		case eff.Reject != nil:
			d.Detail = fmt.Sprintf("%s: %s", eff.Reject.Code, eff.Reject.Message)
		}
		out[i] = d
	}
	return out
}
