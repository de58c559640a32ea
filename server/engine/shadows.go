package engine

import (
	"context"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/pluginhost"
)

// Shadows is told, inside the transaction that settles an event, of the decisions taken for
// campaigns that have a shadow run (package shadow), so that the shadow decides on the same
// snapshot in a lane of its own. Shadowed is asked on the evaluation path and must answer
// from memory; Enqueue runs inside the live transaction and should only write the items (it
// must ignore an item it already holds: an event may be settled again after a retry).
type Shadows interface {
	Shadowed(campaignID int64) bool
	Enqueue(ctx context.Context, tx db.Tx, decided []Decided) error
}

// Decided is one campaign's settled decision on one event and what its plugin was shown.
type Decided struct {
	CampaignID int64
	EventID    int64
	MemberID   int64
	OccurredAt time.Time
	// Campaign and Item are the request the live plugin decided on.
	Campaign pluginhost.Campaign
	Item     pluginhost.EvaluateItem
	// Result is the live plugin's decision; Error is set instead when it gave no usable answer.
	Result pluginhost.EvaluateResult
	Error  string
	// Outcome is what the core made of the decision.
	Outcome CampaignOutcome
}

// shown is what a plugin was shown for one decision, kept for shadowed campaigns only.
type shown struct {
	campaign pluginhost.Campaign
	item     pluginhost.EvaluateItem
}

// enqueueShadows hands Options.Shadows the decisions settled on the events of jobs for
// shadowed campaigns, inside the transaction tx that settled them.
func (e *Engine) enqueueShadows(ctx context.Context, tx db.Tx, jobs []job) error {
	if e.opts.Shadows == nil {
		return nil
	}
	var out []Decided
	for _, j := range jobs {
		if j.ev.Outcome == nil {
			continue
		}
		ds := j.decisions
		for _, co := range j.ev.Outcome.Campaigns {
			d := ds[co.CampaignID]
			if d == nil || d.shown == nil {
				continue
			}
			dec := Decided{CampaignID: co.CampaignID, EventID: j.ev.ID, MemberID: j.ev.MemberID, OccurredAt: j.ev.OccurredAt,
				Campaign: d.shown.campaign, Item: d.shown.item,
				Result: pluginhost.EvaluateResult{Effects: d.effects, NoEffectReason: d.noEffect}, Outcome: co}
			if d.err != nil {
				dec.Error = d.err.Error()
			}
			out = append(out, dec)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return e.opts.Shadows.Enqueue(ctx, tx, out)
}
