// Package explanation answers "why": from a ledger transaction, a benefit or a member's tier to
// the event, campaign and plugin version (name, version, checksum) that caused it, the plugin's
// decision and what the core applied or refused; and from an event to everything it caused.
//
// It only reads what the core records as it applies decisions (docs/explain.md): each event's
// per-campaign outcome (event.Outcome, with the plugin version that decided, the effects
// applied with the rows they wrote, and the effects of a decision not applied), and the event
// and campaign named by transactions, benefits, tiers and notifications. A plugin version's
// checksum is the catalogue's: a registered name and version keep their binary's checksum for
// good (the plugins_identity_fixed trigger).
package explanation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
)

// Origin says what produced a posting.
type Origin string

// The origins of a posting.
const (
	// OriginEvent: a campaign's decision on an inbound event.
	OriginEvent Origin = "event"
	// OriginEnrollment: the effects a campaign's plugin returned with an accepted enrolment.
	OriginEnrollment Origin = "enrollment"
	// OriginSchedule: a campaign's scheduled hook (e.g. a month's close).
	OriginSchedule Origin = "schedule"
	// OriginCampaign: a campaign's plugin outside an event, an enrolment or a scheduled hook
	// (which of the two is not recorded for benefits and tiers).
	OriginCampaign Origin = "campaign"
	// OriginRedemption: a rewards order.
	OriginRedemption Origin = "redemption"
	// OriginAdjustment: an operator's correction (adjustPoints).
	OriginAdjustment Origin = "adjustment"
	// OriginReversal: the reversal of another transaction (reverseTransaction).
	OriginReversal Origin = "reversal"
	// OriginExpiry: points that expired.
	OriginExpiry Origin = "expiry"
	// OriginDirect: a credit written to the ledger without a campaign (imports, the demo data).
	OriginDirect Origin = "direct"
)

// Plugin names the plugin binary that decided.
type Plugin struct {
	Name    string
	Version string
	// Checksum is the hex SHA-256 of the registered binary; "" if the version is no longer in
	// the catalogue (a version no campaign uses can be deleted; nothing in Promogate does).
	Checksum string
}

// Explanation is the chain behind one posting.
type Explanation struct {
	// MemberID is the member whose posting it explains (authorisation checks it).
	MemberID int64
	Origin   Origin
	// Event is the event decided on (OriginEvent).
	Event *event.Event
	// CampaignID is the campaign that decided, when one did.
	CampaignID *int64
	// Plugin is the plugin version that decided: recorded in the event's outcome (OriginEvent)
	// or on the transaction (OriginEnrollment, OriginSchedule); nil when none did or it is not
	// recorded (OriginCampaign).
	Plugin *Plugin
	// Outcome is the campaign's recorded outcome on the event (OriginEvent).
	Outcome *event.CampaignOutcome
	// EffectIndex is the index in Outcome.Effects of the effect that made the posting; nil
	// when it cannot be told (an outcome stored before effects named their rows).
	EffectIndex *int
	// Enrollment is the enrolment whose effects made the posting (OriginEnrollment).
	Enrollment *benefits.Enrollment
	// Hook and DueAt name the occurrence of the scheduled hook (OriginSchedule).
	Hook  string
	DueAt *time.Time
	// ReversesID is the transaction reversed (OriginReversal).
	ReversesID *int64
}

// Consequences is everything an event caused.
type Consequences struct {
	// Transactions the event's decisions wrote, oldest first.
	Transactions []ledger.Transaction
	// Benefits the event granted, changed or ended, oldest first.
	Benefits []benefits.Benefit
	// Tiers the event set that are still the member's (a later change replaces a tier; the
	// event's outcome still lists every set_tier it applied).
	Tiers []benefits.Tier
	// Notifications the event's decisions queued, oldest first.
	Notifications []notify.Notification
}

// Store reads explanations.
type Store struct {
	db bun.IDB
}

// NewStore returns a store reading from idb.
func NewStore(idb bun.IDB) *Store { return &Store{db: idb} }

// Transaction explains transaction tr. Errors are database errors only.
func (s *Store) Transaction(ctx context.Context, tr *ledger.Transaction) (*Explanation, error) {
	x := &Explanation{MemberID: tr.MemberID, CampaignID: tr.CampaignID}
	switch {
	case tr.Kind == ledger.KindReverse:
		x.Origin, x.ReversesID = OriginReversal, tr.ReversesID
		return x, nil
	case tr.Kind == ledger.KindExpire:
		x.Origin = OriginExpiry
		return x, nil
	case tr.EventID != nil && tr.CampaignID != nil:
		return x, s.fromEvent(ctx, x, *tr.EventID, func(e event.AppliedEffect) bool { return e.TransactionID == tr.ID })
	case tr.Kind == ledger.KindAdjust:
		x.Origin = OriginAdjustment
		return x, nil
	case tr.CampaignID != nil && (tr.Kind == ledger.KindEarn || tr.Kind == ledger.KindRedeem):
		if o, enrollment, ok := campaignOrigin(x, tr.IdempotencyKey); ok {
			x.Origin = o
			if err := s.campaignPlugin(ctx, x, *tr.CampaignID, tr.PluginVersion); err != nil {
				return nil, err
			}
			if enrollment != 0 {
				var en benefits.Enrollment
				if err := s.db.NewSelect().Model(&en).Where("id = ?", enrollment).Scan(ctx); err != nil {
					return nil, fmt.Errorf("explanation: enrolment %d: %w", enrollment, err)
				}
				x.Enrollment = &en
			}
			return x, nil
		}
	}
	if tr.Kind == ledger.KindRedeem {
		x.Origin = OriginRedemption
		return x, nil
	}
	x.Origin = OriginDirect
	return x, nil
}

// campaignOrigin reads the origin of a campaign's posting made outside an event from its
// ledger key, which the engine writes: "enr:<enrolment>:<effect>" for an enrolment's effects,
// "tick:<campaign>:<hook>:<due unix>:<member>:<effect>" for a scheduled hook's, and
// "redeem:…" for a rewards order. Keys of API callers cannot carry a campaign. It returns the
// enrolment's id for OriginEnrollment, and sets x.Hook and x.DueAt for OriginSchedule.
func campaignOrigin(x *Explanation, key string) (Origin, int64, bool) {
	switch {
	case strings.HasPrefix(key, "enr:"):
		parts := strings.Split(key, ":")
		if len(parts) != 3 {
			return "", 0, false
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return "", 0, false
		}
		return OriginEnrollment, id, true
	case strings.HasPrefix(key, "tick:"):
		rest := strings.TrimPrefix(key, "tick:")
		_, rest, ok := strings.Cut(rest, ":") // the campaign
		parts := strings.Split(rest, ":")
		if !ok || len(parts) < 4 {
			return "", 0, false
		}
		due, err := strconv.ParseInt(parts[len(parts)-3], 10, 64)
		if err != nil {
			return "", 0, false
		}
		at := time.Unix(due, 0).UTC()
		x.Hook, x.DueAt = strings.Join(parts[:len(parts)-3], ":"), &at
		return OriginSchedule, 0, true
	case strings.HasPrefix(key, "redeem:"):
		return OriginRedemption, 0, true
	}
	return "", 0, false
}

// Benefit explains benefit b: the event, enrolment or scheduled hook that granted it (a later
// change or end is in the outcome of the event that made it: see Consequences).
func (s *Store) Benefit(ctx context.Context, b *benefits.Benefit) (*Explanation, error) {
	cid := b.CampaignID
	x := &Explanation{MemberID: b.MemberID, CampaignID: &cid}
	switch {
	case b.EventID != nil:
		return x, s.fromEvent(ctx, x, *b.EventID, func(e event.AppliedEffect) bool {
			return e.BenefitID == b.ID && e.Kind == string(pluginhost.KindGrantBenefit)
		})
	case b.Kind == "reward": // a rewards order's benefit
		x.Origin = OriginRedemption
	default:
		x.Origin = OriginCampaign
	}
	return x, nil
}

// Tier explains the member's current tier t: the event, or the campaign, that set it.
func (s *Store) Tier(ctx context.Context, t *benefits.Tier) (*Explanation, error) {
	x := &Explanation{MemberID: t.MemberID, CampaignID: t.CampaignID}
	if t.EventID != nil && t.CampaignID != nil {
		// The last set_tier of the decision is the tier it left.
		err := s.fromEvent(ctx, x, *t.EventID, func(e event.AppliedEffect) bool {
			return e.Kind == string(pluginhost.KindSetTier) && e.Detail == t.Tier
		})
		return x, err
	}
	x.Origin = OriginCampaign
	return x, nil
}

// fromEvent fills x from event id's outcome for campaign *x.CampaignID; made picks the applied
// effect that made the posting (the last that matches).
func (s *Store) fromEvent(ctx context.Context, x *Explanation, id int64, made func(event.AppliedEffect) bool) error {
	x.Origin = OriginEvent
	var ev event.Event
	if err := s.db.NewSelect().Model(&ev).Where("id = ?", id).Scan(ctx); err != nil {
		return fmt.Errorf("explanation: event %d: %w", id, err) // the posting references it: never absent
	}
	x.Event = &ev
	if ev.Outcome == nil || x.CampaignID == nil {
		return nil
	}
	for i := range ev.Outcome.Campaigns {
		co := &ev.Outcome.Campaigns[i]
		if co.CampaignID != *x.CampaignID {
			continue
		}
		x.Outcome = co
		for j := range co.Effects {
			if made(co.Effects[j]) {
				k := j
				x.EffectIndex = &k
			}
		}
		sum, err := s.checksum(ctx, co.Plugin, co.PluginVersion)
		if err != nil {
			return err
		}
		x.Plugin = &Plugin{Name: co.Plugin, Version: co.PluginVersion, Checksum: sum}
	}
	return nil
}

// campaignPlugin sets x.Plugin to campaign id's plugin at version (the version recorded on the
// transaction; a campaign keeps its plugin's name).
func (s *Store) campaignPlugin(ctx context.Context, x *Explanation, id int64, version string) error {
	var name string
	if err := s.db.NewSelect().Table("campaigns").Column("plugin_name").Where("id = ?", id).Scan(ctx, &name); err != nil {
		return fmt.Errorf("explanation: campaign %d: %w", id, err)
	}
	sum, err := s.checksum(ctx, name, version)
	if err != nil {
		return err
	}
	x.Plugin = &Plugin{Name: name, Version: version, Checksum: sum}
	return nil
}

// checksum returns the registered checksum of plugin name@version, or "".
func (s *Store) checksum(ctx context.Context, name, version string) (string, error) {
	var sum string
	err := s.db.NewSelect().Table("plugins").Column("sha256").Where("name = ? AND version = ?", name, version).Scan(ctx, &sum)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("explanation: plugin %s@%s: %w", name, version, err)
	}
	return sum, nil
}

// Consequences returns what event ev caused: the transactions, benefits, tiers and
// notifications its campaigns' decisions wrote. They are all the event's member's.
func (s *Store) Consequences(ctx context.Context, ev *event.Event) (*Consequences, error) {
	var out Consequences
	var touched []int64 // benefits changed or ended by the event (granted ones name it)
	if ev.Outcome != nil {
		for _, co := range ev.Outcome.Campaigns {
			for _, e := range co.Effects {
				if e.BenefitID != 0 {
					touched = append(touched, e.BenefitID)
				}
			}
		}
	}
	// The member's rows, through the members' indexes (these tables have none on event_id but
	// notifications).
	if err := s.db.NewSelect().Model(&out.Transactions).Where("member_id = ? AND event_id = ?", ev.MemberID, ev.ID).
		Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("explanation: transactions of event %d: %w", ev.ID, err)
	}
	q := s.db.NewSelect().Model(&out.Benefits).Where("member_id = ?", ev.MemberID)
	if len(touched) > 0 {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("event_id = ?", ev.ID).WhereOr("id IN (?)", bun.List(touched))
		})
	} else {
		q = q.Where("event_id = ?", ev.ID)
	}
	if err := q.Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("explanation: benefits of event %d: %w", ev.ID, err)
	}
	for i := range out.Benefits {
		if out.Benefits[i].Attributes == nil {
			out.Benefits[i].Attributes = map[string]any{}
		}
	}
	if err := s.db.NewSelect().Model(&out.Tiers).Where("member_id = ? AND event_id = ?", ev.MemberID, ev.ID).
		Order("program_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("explanation: tiers of event %d: %w", ev.ID, err)
	}
	if err := s.db.NewSelect().Model(&out.Notifications).Where("event_id = ?", ev.ID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("explanation: notifications of event %d: %w", ev.ID, err)
	}
	return &out, nil
}
