package graph

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/backtest"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/explanation"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/live"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
	"github.com/promogate/promogate/server/rewards"
	"github.com/promogate/promogate/server/shadow"
)

// Resolver is the root of the GraphQL resolvers and the place their dependencies are injected.
// Resolvers stay thin: they decode arguments, call a domain package and shape the result.
type Resolver struct {
	Ledger        *ledger.Ledger
	MemberStore   *members.Store
	Host          *pluginhost.Host
	CampaignStore *campaigns.Store
	Engine        *engine.Engine
	// Shadows attaches, compares, promotes and drops shadow runs.
	Shadows *shadow.Service
	// Backtests runs campaigns over recorded history; nil refuses backtests with DISABLED.
	Backtests         *backtest.Service
	BenefitStore      *benefits.Store
	Referrals         *referral.Service
	NotificationStore *notify.Store
	// Explanations reads the chains behind postings and the consequences of events.
	Explanations *explanation.Store
	// Rewards is the rewards catalogue and redemption.
	Rewards *rewards.Service
	// CodeLimiter limits attempts to apply invite codes per member and client address; nil: no limit.
	CodeLimiter *rewards.Limiter
	// Auth keeps API keys and the audit log; nil leaves both unavailable (and audits nothing).
	Auth *auth.Store
	// Live tells subscriptions what changed; nil refuses subscriptions with DISABLED.
	Live *live.Hub
	// ClockSetter moves programme time; nil unless the server runs with --dev-clock.
	ClockSetter func(time.Time)
	Log         hclog.Logger
	Now         func() time.Time
	// LoaderWait is how long the request's loaders collect keys before a read (default
	// LoaderWait).
	LoaderWait time.Duration

	programs programCache
	configs  configCache
}
