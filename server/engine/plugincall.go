package engine

import (
	"time"

	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/pluginhost"
)

// ValidateEffects reports why the engine would refuse effects decided at now (a kind it does
// not apply, a payload outside its Limits), or nil: the check every plugin decision passes
// before anything of it is applied. Packages that ask plugins themselves (backtests) use it to
// refuse exactly what the engine refuses.
func (e *Engine) ValidateEffects(effects []pluginhost.Effect, now time.Time) error {
	return validateEffects(effects, &e.opts.Limits, now)
}

// PluginCampaign returns campaign c as its plugin is shown it in every call, program being the
// code of c's programme.
func (e *Engine) PluginCampaign(c *campaigns.Campaign, program string) pluginhost.Campaign {
	return pluginCampaign(c, program)
}
