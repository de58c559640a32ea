// Package event holds the loyalty events the core records and what became of them: Input (an
// event as a caller sends it), Event (as stored, with its Outcome: each campaign's decision and
// the effects applied) and Result (what recording one input did). It is the vocabulary the
// engine shares with the packages that record events through it (referral, rewards) and with
// the API, so that they depend on these types rather than on the engine; it imports nothing of
// the core.
package event

import (
	"time"

	"github.com/uptrace/bun"
)

// Input is an inbound event.
type Input struct {
	Type       string
	MemberRef  string
	Source     string
	ExternalID string
	OccurredAt time.Time
	Attributes map[string]any
}

// Result is what recording one input did: the stored event (with its outcome), whether it was a
// duplicate delivery, or why it was refused.
type Result struct {
	Event     *Event
	Duplicate bool
	Err       error
}

// Event statuses.
const (
	StatusPending = "pending"
	StatusDone    = "done"
)

// Event is an inbound event as stored.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID            int64          `bun:"id,pk,autoincrement"`
	Source        string         `bun:"source"`
	ExternalID    string         `bun:"external_id"`
	Type          string         `bun:"type"`
	MemberID      int64          `bun:"member_id"`
	OccurredAt    time.Time      `bun:"occurred_at"`
	Attributes    map[string]any `bun:"attributes,type:jsonb"`
	InputHash     []byte         `bun:"input_hash"`
	ReceivedAt    time.Time      `bun:"received_at"`
	Status        string         `bun:"status"`
	Attempts      int            `bun:"attempts"`
	NextAttemptAt time.Time      `bun:"next_attempt_at"`
	LastError     string         `bun:"last_error"`
	Outcome       *Outcome       `bun:"outcome,type:jsonb"`
	ProcessedAt   *time.Time     `bun:"processed_at"`
}

// Outcome is what happened to an event: one entry per campaign that took it, the campaigns
// still waiting for their plugin, or why no campaign took it.
type Outcome struct {
	Campaigns []CampaignOutcome `json:"campaigns"`
	Waiting   []Waiting         `json:"waiting,omitempty"`
	// Reason says why nothing happened when no campaign took the event.
	Reason string `json:"reason,omitempty"`
}

// Campaign outcome statuses.
const (
	OutcomeApplied  = "applied"   // effects applied
	OutcomeNoEffect = "no_effect" // the plugin decided nothing happens; Reason says why
	OutcomeRejected = "rejected"  // the plugin rejected the event; Code and Reason say why
	OutcomeFailed   = "failed"    // the plugin's answer was unusable or could not be applied
)

// Failure codes of a campaign outcome.
const (
	CodeInvalidEffect = "INVALID_EFFECT"
	CodePluginError   = "PLUGIN_ERROR"
	CodeGaveUp        = "PLUGIN_UNAVAILABLE"
)

// CampaignOutcome is one campaign's decision on an event.
type CampaignOutcome struct {
	CampaignID    int64           `json:"campaignId"`
	CampaignCode  string          `json:"campaignCode"`
	Plugin        string          `json:"plugin"`
	PluginVersion string          `json:"pluginVersion"`
	Status        string          `json:"status"`
	Code          string          `json:"code,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Effects       []AppliedEffect `json:"effects,omitempty"`
	// Decision is what the plugin asked for when the core did not apply it (a reject, an
	// effect refused by validation or by the ledger): its effects as returned. An applied
	// outcome's decision is its Effects, one for one; nil when the plugin gave no usable answer
	// or the outcome was stored before decisions were kept.
	Decision []DecidedEffect `json:"decision,omitempty"`
}

// DecidedEffect is one effect of a plugin's decision, as the plugin asked for it.
type DecidedEffect struct {
	Kind   string `json:"kind"`
	Points int64  `json:"points,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// AppliedEffect is an effect as applied.
type AppliedEffect struct {
	Kind          string `json:"kind"`
	Points        int64  `json:"points,omitempty"`
	TransactionID int64  `json:"transactionId,omitempty"`
	// BenefitID is the benefit a grant_benefit, change_benefit or end_benefit effect wrote.
	BenefitID int64 `json:"benefitId,omitempty"`
	// NotificationID is the outbox message a notify effect queued.
	NotificationID int64  `json:"notificationId,omitempty"`
	Detail         string `json:"detail,omitempty"`
}

// Waiting is a campaign whose plugin could not be reached yet.
type Waiting struct {
	CampaignID    int64  `json:"campaignId"`
	CampaignCode  string `json:"campaignCode"`
	Plugin        string `json:"plugin"`
	PluginVersion string `json:"pluginVersion"`
	Error         string `json:"error"`
}

// Decided reports whether the campaign has decided on the event (it is among o.Campaigns).
func (o *Outcome) Decided(campaignID int64) bool {
	for _, c := range o.Campaigns {
		if c.CampaignID == campaignID {
			return true
		}
	}
	return false
}
