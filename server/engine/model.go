package engine

import "github.com/promogate/promogate/server/event"

// The engine's names for the types of package event, which the engine's own code uses
// unqualified. Code outside the engine names them event.Event, event.Input, and so on.
type (
	Input           = event.Input
	Result          = event.Result
	Event           = event.Event
	Outcome         = event.Outcome
	CampaignOutcome = event.CampaignOutcome
	AppliedEffect   = event.AppliedEffect
	DecidedEffect   = event.DecidedEffect
	Waiting         = event.Waiting
)

// Event statuses, campaign outcome statuses and failure codes (see package event).
const (
	StatusPending = event.StatusPending
	StatusDone    = event.StatusDone

	OutcomeApplied  = event.OutcomeApplied
	OutcomeNoEffect = event.OutcomeNoEffect
	OutcomeRejected = event.OutcomeRejected
	OutcomeFailed   = event.OutcomeFailed

	CodeInvalidEffect = event.CodeInvalidEffect
	CodePluginError   = event.CodePluginError
	CodeGaveUp        = event.CodeGaveUp
)
