package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
)

// Limits bound what a plugin may ask for; an effect outside them is refused and the
// campaign's outcome says why.
type Limits struct {
	// MaxPoints is the largest credit or debit one effect may carry (default 1,000,000).
	MaxPoints int64
	// MaxEffects is the most effects one campaign may return for one event (default 100).
	MaxEffects int
	// MaxStateBytes bounds a put_state document (default 64 KiB).
	MaxStateBytes int
	// MaxHorizon bounds how far in the future availability and expiry may be (default 10 years).
	MaxHorizon time.Duration
}

func (l *Limits) defaults() {
	if l.MaxPoints <= 0 {
		l.MaxPoints = 1_000_000
	}
	if l.MaxEffects <= 0 {
		l.MaxEffects = 100
	}
	if l.MaxStateBytes <= 0 {
		l.MaxStateBytes = 64 << 10
	}
	if l.MaxHorizon <= 0 {
		l.MaxHorizon = 10 * 365 * 24 * time.Hour
	}
}

// errInvalidEffect marks a plugin answer the core refuses to apply.
var errInvalidEffect = errors.New("invalid effect")

// effectTarget is what an effect applies to: one member in one campaign, for one event.
type effectTarget struct {
	campaign *campaigns.Campaign
	memberID int64
	eventID  int64 // 0 when the effects come from an enrolment or a tick
	now      time.Time
	// keyPrefix names the effects' origin in ledger idempotency keys when there is no event
	// (an enrolment or a tick page); effect i gets "<keyPrefix>:<i>".
	keyPrefix string
}

func (t effectTarget) origin() ledger.Origin {
	cid := t.campaign.ID
	o := ledger.Origin{CampaignID: &cid, PluginVersion: t.campaign.PluginVersion}
	if t.eventID != 0 {
		eid := t.eventID
		o.EventID = &eid
	}
	return o
}

// applier validates and applies one kind of effect. validate is pure (no I/O) and runs before
// any write; apply runs inside the event's database transaction. Credits have no apply (they
// are written in batches, see queueCredit), nor has a reject (it settles the whole decision).
type applier struct {
	validate func(e *pluginhost.Effect, l *Limits, now time.Time) error
	apply    func(ctx context.Context, en *Engine, tx db.Tx, t effectTarget, idx int, e *pluginhost.Effect) (AppliedEffect, error)
}

// appliers lists every effect kind this core applies. A kind missing here is refused as
// unknown, so a plugin cannot ask for something the core does not implement.
var appliers = map[pluginhost.EffectKind]applier{
	pluginhost.KindCreditPoints: {validate: validateCredit}, // written in batches: queueCredit
	pluginhost.KindDebitPoints:  {validate: validateDebit, apply: applyDebit},
	pluginhost.KindPutState:     {validate: validatePutState, apply: applyPutState},
	pluginhost.KindReject:       {validate: validateReject},
	pluginhost.KindGrantBenefit: {validate: validateGrant, apply: applyGrant},
	pluginhost.KindChangeBenefit: {validate: func(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
		return needPayload(e.ChangeBenefit == nil, e.Kind)
	}, apply: applyChange},
	pluginhost.KindEndBenefit: {validate: func(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
		return needPayload(e.EndBenefit == nil, e.Kind)
	}, apply: applyEnd},
	pluginhost.KindSetTier: {validate: func(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
		return needPayload(e.SetTier == nil || e.SetTier.Tier == "", e.Kind)
	}, apply: applySetTier},
	pluginhost.KindNotify: {validate: validateNotify, apply: applyNotify},
}

func validateNotify(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
	n := e.Notify
	if n == nil {
		return needPayload(true, e.Kind)
	}
	if n.Channel != "sms" && n.Channel != "email" {
		return fmt.Errorf("%w: notify channel %q is not sms or email", errInvalidEffect, n.Channel)
	}
	if n.Template == "" || len(n.Template) > 100 {
		return fmt.Errorf("%w: notify needs a template name of at most 100 bytes", errInvalidEffect)
	}
	return nil
}

// applyNotify stores the message in the notifications outbox in the decision's transaction; the
// dispatcher delivers it. A parameter "$benefit:<key>.code" becomes the code of that benefit
// (e.g. a promo code granted by an earlier effect of the same decision). Without a recipient
// (To empty and the member has no phone or e-mail) the message is skipped and the outcome says so.
func applyNotify(ctx context.Context, en *Engine, tx db.Tx, t effectTarget, idx int, e *pluginhost.Effect) (AppliedEffect, error) {
	n := e.Notify
	to := n.To
	if to == "" {
		m, err := en.members.Get(ctx, t.memberID)
		if err != nil {
			return AppliedEffect{}, err
		}
		to = m.Phone
		if n.Channel == "email" {
			to = m.Email
		}
	}
	if to == "" {
		return AppliedEffect{Kind: string(e.Kind), Detail: fmt.Sprintf("%s %s skipped: the member has no %s", n.Channel, n.Template, n.Channel)}, nil
	}
	params := make(map[string]string, len(n.Params))
	for k, v := range n.Params {
		if key, ok := strings.CutPrefix(v, "$benefit:"); ok && strings.HasSuffix(key, ".code") {
			var code string
			if err := db.PG(tx).QueryRow(ctx, `SELECT code FROM benefits WHERE member_id = $1 AND campaign_id = $2 AND key = $3`,
				t.memberID, t.campaign.ID, strings.TrimSuffix(key, ".code")).Scan(&code); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return AppliedEffect{}, fmt.Errorf("%w: notify parameter %s names no benefit of this member", benefits.ErrNotFound, k)
				}
				return AppliedEffect{}, fmt.Errorf("engine: notify parameter %s: %w", k, err)
			}
			v = code
		}
		params[k] = v
	}
	cid := t.campaign.ID
	note := notify.Notification{Key: effectKey(t, idx), MemberID: t.memberID, CampaignID: &cid, Channel: n.Channel,
		Template: n.Template, Recipient: to, Params: params}
	if t.eventID != 0 {
		eid := t.eventID
		note.EventID = &eid
	}
	queued, err := notify.Enqueue(ctx, tx, note, t.now)
	if err != nil {
		return AppliedEffect{}, err
	}
	return AppliedEffect{Kind: string(e.Kind), NotificationID: queued.ID, Detail: fmt.Sprintf("%s %s to %s", n.Channel, n.Template, to)}, nil
}

func needPayload(missing bool, kind pluginhost.EffectKind) error {
	if missing {
		return fmt.Errorf("%w: %s without its payload", errInvalidEffect, kind)
	}
	return nil
}

func validateGrant(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
	g := e.GrantBenefit
	if g == nil {
		return needPayload(true, e.Kind)
	}
	if g.Key == "" || !benefits.Kinds[g.Kind] || g.Percent < 0 || g.Percent > 10000 || g.Quantity < 0 {
		return fmt.Errorf("%w: grant_benefit needs a key, a kind among discount|addon|gift|sms_package|promo_code, percent 0..10000 basis points and a non-negative quantity", errInvalidEffect)
	}
	return nil
}

func (t effectTarget) benefitTarget() benefits.Target {
	var eid *int64
	if t.eventID != 0 {
		id := t.eventID
		eid = &id
	}
	return benefits.Target{MemberID: t.memberID, CampaignID: t.campaign.ID, ProgramID: t.campaign.ProgramID, EventID: eid}
}

func applyGrant(ctx context.Context, _ *Engine, tx db.Tx, t effectTarget, _ int, e *pluginhost.Effect) (AppliedEffect, error) {
	b, granted, err := benefits.Grant(ctx, tx, t.benefitTarget(), e.GrantBenefit, t.now)
	if err != nil {
		return AppliedEffect{}, err
	}
	detail := fmt.Sprintf("%s %s", b.Kind, b.Key)
	if !granted {
		detail += " (already granted)"
	}
	return AppliedEffect{Kind: string(e.Kind), BenefitID: b.ID, Detail: detail}, nil
}

func applyChange(ctx context.Context, _ *Engine, tx db.Tx, t effectTarget, _ int, e *pluginhost.Effect) (AppliedEffect, error) {
	b, err := benefits.Change(ctx, tx, t.benefitTarget(), e.ChangeBenefit, t.now)
	if err != nil {
		return AppliedEffect{}, err
	}
	return AppliedEffect{Kind: string(e.Kind), BenefitID: b.ID, Detail: fmt.Sprintf("%s %s", b.Kind, b.Key)}, nil
}

func applyEnd(ctx context.Context, _ *Engine, tx db.Tx, t effectTarget, _ int, e *pluginhost.Effect) (AppliedEffect, error) {
	b, err := benefits.End(ctx, tx, t.benefitTarget(), e.EndBenefit.Key, e.EndBenefit.Reason, e.EndBenefit.At, t.now)
	if err != nil {
		return AppliedEffect{}, err
	}
	return AppliedEffect{Kind: string(e.Kind), BenefitID: b.ID, Detail: fmt.Sprintf("%s %s: %s", b.Kind, b.Key, b.EndReason)}, nil
}

func applySetTier(ctx context.Context, _ *Engine, tx db.Tx, t effectTarget, _ int, e *pluginhost.Effect) (AppliedEffect, error) {
	if err := benefits.SetTier(ctx, tx, t.benefitTarget(), e.SetTier.Tier, e.SetTier.ValidUntil, t.now); err != nil {
		return AppliedEffect{}, err
	}
	return AppliedEffect{Kind: string(e.Kind), Detail: e.SetTier.Tier}, nil
}

// validateEffects checks a campaign's answer for one event before anything is written.
func validateEffects(effects []pluginhost.Effect, l *Limits, now time.Time) error {
	if len(effects) > l.MaxEffects {
		return fmt.Errorf("%w: %d effects, at most %d allowed", errInvalidEffect, len(effects), l.MaxEffects)
	}
	for i := range effects {
		a, ok := appliers[effects[i].Kind]
		if !ok {
			return fmt.Errorf("%w: effect %d has unknown kind %q", errInvalidEffect, i, effects[i].Kind)
		}
		if err := a.validate(&effects[i], l, now); err != nil {
			return fmt.Errorf("effect %d (%s): %w", i, effects[i].Kind, err)
		}
	}
	return nil
}

func validateCredit(e *pluginhost.Effect, l *Limits, now time.Time) error {
	c := e.Credit
	if c == nil {
		return fmt.Errorf("%w: credit_points without its payload", errInvalidEffect)
	}
	if c.Amount <= 0 || c.Amount > l.MaxPoints {
		return fmt.Errorf("%w: amount %d is outside 1..%d", errInvalidEffect, c.Amount, l.MaxPoints)
	}
	if c.StatusPoints < 0 || c.StatusPoints > l.MaxPoints {
		return fmt.Errorf("%w: status points %d are outside 0..%d", errInvalidEffect, c.StatusPoints, l.MaxPoints)
	}
	horizon := now.Add(l.MaxHorizon)
	if c.AvailableAt != nil && c.AvailableAt.After(horizon) {
		return fmt.Errorf("%w: availableAt %s is too far ahead", errInvalidEffect, c.AvailableAt.Format(time.RFC3339))
	}
	if c.ExpiresAt != nil {
		avail := now
		if c.AvailableAt != nil && c.AvailableAt.After(now) {
			avail = *c.AvailableAt
		}
		if !c.ExpiresAt.After(avail) {
			return fmt.Errorf("%w: expiresAt %s is not after availability", errInvalidEffect, c.ExpiresAt.Format(time.RFC3339))
		}
		if c.ExpiresAt.After(horizon.Add(l.MaxHorizon)) {
			return fmt.Errorf("%w: expiresAt %s is too far ahead", errInvalidEffect, c.ExpiresAt.Format(time.RFC3339))
		}
	}
	return nil
}

func validateDebit(e *pluginhost.Effect, l *Limits, _ time.Time) error {
	d := e.Debit
	if d == nil {
		return fmt.Errorf("%w: debit_points without its payload", errInvalidEffect)
	}
	if d.Amount <= 0 || d.Amount > l.MaxPoints {
		return fmt.Errorf("%w: amount %d is outside 1..%d", errInvalidEffect, d.Amount, l.MaxPoints)
	}
	return nil
}

func validatePutState(e *pluginhost.Effect, l *Limits, _ time.Time) error {
	if e.PutState == nil {
		return fmt.Errorf("%w: put_state without its payload", errInvalidEffect)
	}
	if len(e.PutState.State) > l.MaxStateBytes {
		return fmt.Errorf("%w: state of %d bytes exceeds %d", errInvalidEffect, len(e.PutState.State), l.MaxStateBytes)
	}
	if len(e.PutState.State) > 0 && !json.Valid(e.PutState.State) {
		return fmt.Errorf("%w: state is not JSON", errInvalidEffect)
	}
	return nil
}

func validateReject(e *pluginhost.Effect, _ *Limits, _ time.Time) error {
	if e.Reject == nil || e.Reject.Code == "" {
		return fmt.Errorf("%w: reject needs a code", errInvalidEffect)
	}
	return nil
}

func effectKey(t effectTarget, idx int) string {
	if t.keyPrefix != "" {
		return fmt.Sprintf("%s:%d", t.keyPrefix, idx)
	}
	return fmt.Sprintf("evt:%d:%d:%d", t.eventID, t.campaign.ID, idx)
}

// queueCredit queues credit effect e (effect idx of target's decision) in b and sets *out to
// what it applies; its transaction id is set when b is flushed.
func queueCredit(b *creditBuffer, t effectTarget, idx int, e *pluginhost.Effect, out *AppliedEffect) {
	c := e.Credit
	*out = AppliedEffect{Kind: string(e.Kind), Points: c.Amount, Detail: c.Reason}
	b.add(ledger.CreditInput{
		ProgramID: t.campaign.ProgramID, MemberID: t.memberID, Amount: c.Amount, Kind: ledger.KindEarn,
		IdempotencyKey: effectKey(t, idx), Reason: c.Reason, AvailableAt: c.AvailableAt, ExpiresAt: c.ExpiresAt,
		StatusPoints: c.StatusPoints, Origin: t.origin(),
	}, out)
}

func applyDebit(ctx context.Context, en *Engine, tx db.Tx, t effectTarget, idx int, e *pluginhost.Effect) (AppliedEffect, error) {
	d := e.Debit
	tr, err := en.ledger.DebitTx(ctx, tx, ledger.DebitInput{
		ProgramID: t.campaign.ProgramID, MemberID: t.memberID, Amount: d.Amount, Kind: ledger.KindRedeem,
		IdempotencyKey: effectKey(t, idx), Reason: d.Reason, Origin: t.origin(),
	})
	if err != nil {
		return AppliedEffect{}, err
	}
	return AppliedEffect{Kind: string(e.Kind), Points: -d.Amount, TransactionID: tr.ID, Detail: d.Reason}, nil
}

func applyPutState(ctx context.Context, en *Engine, tx db.Tx, t effectTarget, _ int, e *pluginhost.Effect) (AppliedEffect, error) {
	state := e.PutState.State
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	_, err := db.PG(tx).Exec(ctx, `UPDATE plugin_state SET state = $1::jsonb, updated_at = $2 WHERE campaign_id = $3 AND member_id = $4`,
		string(state), t.now, t.campaign.ID, t.memberID)
	if err != nil {
		return AppliedEffect{}, fmt.Errorf("engine: put state: %w", err)
	}
	return AppliedEffect{Kind: string(e.Kind)}, nil
}
