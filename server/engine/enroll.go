package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/pluginhost"
)

// Enrolment errors.
var (
	// ErrCampaignNotOpen means the campaign does not take enrolments now (draft, paused, ended,
	// or outside its period).
	ErrCampaignNotOpen = errors.New("campaign is not open for enrolment")
	// ErrEnrollmentConflict means the idempotency key was used for another enrolment input.
	ErrEnrollmentConflict = errors.New("idempotency key reused with different enrolment input")
	// ErrInvalidEnrollment means the enrolment input is malformed.
	ErrInvalidEnrollment = errors.New("invalid enrolment")
)

// EnrollResult is an enrolment, or the reasons the plugin refused it.
type EnrollResult struct {
	Enrollment *benefits.Enrollment
	Replayed   bool
	Reasons    []pluginhost.Reason
	// Effects are the effects applied with the enrolment (e.g. a welcome bonus).
	Effects []AppliedEffect
}

// Enroll registers a member in a campaign. The campaign's plugin checks eligibility on a fresh
// member snapshot; a refusal lists every reason and stores nothing, so the member may enrol
// again after fixing the cause. An accepted enrolment is stored with the plugin's effects in one
// transaction. The same key with the same input returns the first enrolment.
func (e *Engine) Enroll(ctx context.Context, memberID, campaignID int64, answers map[string]any, key string) (*EnrollResult, error) {
	if key == "" || len(key) > 200 {
		return nil, fmt.Errorf("%w: idempotencyKey must be 1 to 200 bytes", ErrInvalidEnrollment)
	}
	if answers == nil {
		answers = map[string]any{}
	}
	raw, err := json.Marshal(answers)
	if err != nil || len(raw) > 64<<10 {
		return nil, fmt.Errorf("%w: answers must be a JSON object of at most 64 KiB", ErrInvalidEnrollment)
	}
	sum := sha256.Sum256(append([]byte(fmt.Sprintf("%d\x00", memberID)), raw...))
	hash := sum[:]
	if prev, err := e.findEnrollment(ctx, campaignID, key, hash); prev != nil || err != nil {
		if prev != nil {
			return &EnrollResult{Enrollment: prev, Replayed: true}, nil
		}
		return nil, err
	}
	c, err := e.campaigns.Get(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	now := e.now().UTC()
	if !c.Live(now) {
		return nil, fmt.Errorf("%w: %s is %s", ErrCampaignNotOpen, c.Code, c.Status)
	}
	for attempt := 0; ; attempt++ {
		resp, version, err := e.askEligibility(ctx, c, memberID, answers, now)
		if err != nil {
			return nil, err
		}
		if !resp.Eligible {
			return &EnrollResult{Reasons: resp.Reasons}, nil
		}
		if err := validateEffects(resp.Effects, &e.opts.Limits, now); err != nil {
			return nil, fmt.Errorf("%w: plugin answered eligibility with %v", pluginhost.ErrUnavailable, err)
		}
		res, stale, err := e.storeEnrollment(ctx, c, memberID, answers, key, hash, version, resp.Effects, now)
		if err != nil {
			if db.Constraint(err) == "enrollments_idempotency_key" {
				return e.Enroll(ctx, memberID, campaignID, answers, key) // a concurrent twin won; replay it
			}
			return nil, err
		}
		if stale && attempt < maxRounds {
			continue
		}
		if stale {
			return nil, fmt.Errorf("%w: the member's state kept changing; try again", pluginhost.ErrUnavailable)
		}
		return res, nil
	}
}

// askEligibility asks campaign c's plugin whether the member may enrol at now with answers, on
// a fresh member snapshot, and returns its answer (a refusal always has a reason) and the
// (campaign, member) state version the plugin saw.
func (e *Engine) askEligibility(ctx context.Context, c *campaigns.Campaign, memberID int64, answers map[string]any,
	now time.Time) (pluginhost.EligibilityResponse, int64, error) {
	snap, err := e.snapshots(ctx, []int64{memberID}, map[int64]*campaigns.Campaign{c.ID: c})
	if err != nil {
		return pluginhost.EligibilityResponse{}, 0, err
	}
	if snap.members[memberID] == nil {
		return pluginhost.EligibilityResponse{}, 0, fmt.Errorf("%w: member %d", ErrUnknownMember, memberID)
	}
	member, version := snap.member(memberID, c.ID)
	prog := e.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion})
	resp, err := prog.CheckEligibility(ctx, pluginhost.EligibilityRequest{Campaign: pluginCampaign(c, snap.programCodes[c.ProgramID]),
		Member: member, Answers: answers, Now: now})
	if err != nil {
		return pluginhost.EligibilityResponse{}, 0, err
	}
	if !resp.Eligible && len(resp.Reasons) == 0 {
		resp.Reasons = []pluginhost.Reason{{Code: "NOT_ELIGIBLE", Message: "the programme's rules do not allow this enrolment"}}
	}
	return resp, version, nil
}

// Eligibility is what CheckEligibility found: whether the member could enrol now, and every
// reason why not.
type Eligibility struct {
	Eligible bool
	Reasons  []pluginhost.Reason
}

// CodeCampaignNotOpen is the reason CheckEligibility gives when the campaign takes no
// enrolments now.
const CodeCampaignNotOpen = "CAMPAIGN_NOT_OPEN"

// CheckEligibility asks campaign campaignID's plugin whether member memberID could enrol now
// with answers, exactly as Enroll asks it, and writes nothing: what the plugin would do on
// enrolment (its effects) is neither applied nor shown. A campaign that takes no enrolments now
// is not eligible, with reason CAMPAIGN_NOT_OPEN. Errors: ErrInvalidEnrollment,
// campaigns.ErrNotFound, ErrUnknownMember, and the plugin's (pluginhost.ErrUnavailable).
func (e *Engine) CheckEligibility(ctx context.Context, memberID, campaignID int64, answers map[string]any) (*Eligibility, error) {
	if answers == nil {
		answers = map[string]any{}
	}
	if raw, err := json.Marshal(answers); err != nil || len(raw) > 64<<10 {
		return nil, fmt.Errorf("%w: answers must be a JSON object of at most 64 KiB", ErrInvalidEnrollment)
	}
	c, err := e.campaigns.Get(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if _, err := e.members.Get(ctx, memberID); err != nil {
		return nil, err
	}
	now := e.now().UTC()
	if !c.Live(now) {
		why := c.WhyNotLive(now)
		if c.PeriodOver() {
			why = fmt.Sprintf("campaign %s ended at %s", c.Code, c.EndsAt.UTC().Format(time.RFC3339))
		}
		return &Eligibility{Reasons: []pluginhost.Reason{{Code: CodeCampaignNotOpen, Message: why}}}, nil
	}
	resp, _, err := e.askEligibility(ctx, c, memberID, answers, now)
	if err != nil {
		return nil, err
	}
	out := &Eligibility{Eligible: resp.Eligible, Reasons: resp.Reasons}
	if out.Reasons == nil || out.Eligible {
		out.Reasons = []pluginhost.Reason{}
	}
	return out, nil
}

func (e *Engine) findEnrollment(ctx context.Context, campaignID int64, key string, hash []byte) (*benefits.Enrollment, error) {
	var prev benefits.Enrollment
	err := e.db.NewSelect().Model(&prev).Where("campaign_id = ? AND idempotency_key = ?", campaignID, key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if string(prev.InputHash) != string(hash) {
		return nil, ErrEnrollmentConflict
	}
	return &prev, nil
}

func (e *Engine) storeEnrollment(ctx context.Context, c *campaigns.Campaign, memberID int64, answers map[string]any, key string,
	hash []byte, version int64, effects []pluginhost.Effect, now time.Time) (*EnrollResult, bool, error) {
	var out *EnrollResult
	stale := false
	err := e.runTx(ctx, func(ctx context.Context, tx db.Tx) error {
		fresh, err := e.checkVersion(ctx, tx, c.ID, memberID, version, now)
		if err != nil {
			return err
		}
		if !fresh {
			stale = true
			return nil
		}
		en := &benefits.Enrollment{CampaignID: c.ID, MemberID: memberID, IdempotencyKey: key, InputHash: hash, Answers: answers,
			RegisteredBy: stringAnswer(answers, "registeredBy"), Responsible: stringAnswer(answers, "responsible"), EnrolledAt: now}
		if _, err := tx.NewInsert().Model(en).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
			return err
		}
		res, err := e.applyEffects(ctx, tx, effectTarget{campaign: c, memberID: memberID, now: now,
			keyPrefix: fmt.Sprintf("enr:%d", en.ID)}, effects)
		if err != nil {
			return err
		}
		if res.failCode != "" {
			return fmt.Errorf("%w: enrolment effects refused: %s", pluginhost.ErrUnavailable, res.failReason)
		}
		if len(effects) == 0 {
			// Enrolling changes what the plugin sees (Member.Enrollments): bump the version.
			if _, err := db.PG(tx).Exec(ctx, `UPDATE plugin_state SET version = version + 1 WHERE campaign_id = $1 AND member_id = $2`,
				c.ID, memberID); err != nil {
				return err
			}
		}
		out = &EnrollResult{Enrollment: en, Effects: res.applied}
		return nil
	})
	return out, stale, err
}

func stringAnswer(answers map[string]any, key string) string {
	s, _ := answers[key].(string)
	return s
}

// MemberSnapshot returns what campaign c's plugin is shown about a member (profile, balances,
// tiers, benefits, enrolments, the plugin's state) and the (campaign, member) state version,
// with the SDK campaign, for calls outside event evaluation such as reward quotes.
func (e *Engine) MemberSnapshot(ctx context.Context, memberID int64, c *campaigns.Campaign) (pluginhost.Member, pluginhost.Campaign, int64, error) {
	snap, err := e.snapshots(ctx, []int64{memberID}, map[int64]*campaigns.Campaign{c.ID: c})
	if err != nil {
		return pluginhost.Member{}, pluginhost.Campaign{}, 0, err
	}
	if snap.members[memberID] == nil {
		return pluginhost.Member{}, pluginhost.Campaign{}, 0, fmt.Errorf("%w: member %d", ErrUnknownMember, memberID)
	}
	m, v := snap.member(memberID, c.ID)
	return m, pluginCampaign(c, snap.programCodes[c.ProgramID]), v, nil
}

// Simulation is a campaign's decision on one event in a dry run.
type Simulation struct {
	Effects        []pluginhost.Effect
	NoEffectReason string
	// Problem says why the core would refuse the decision (invalid effects), or is empty.
	Problem string
}

// Simulate asks campaign c's plugin to decide on the given events, as if each were recorded when
// it occurred, on its member's state now, and returns the decisions without storing or applying
// anything. Members are looked up by externalRef; events of one member see the same snapshot.
// Events are routed as recorded events are (routes): one the campaign would not evaluate (a
// paused campaign, one ended before its period was over, an event outside its period, a type
// its plugin does not list) is not shown to the plugin, and its decision says why in
// NoEffectReason. A draft is simulated as it will run once activated (the dry run before a
// launch). An event's time may be ahead of programme time: it is a what-if.
func (e *Engine) Simulate(ctx context.Context, c *campaigns.Campaign, ins []Input) ([]Simulation, error) {
	if len(ins) > MaxBatch {
		return nil, fmt.Errorf("%w: at most %d events per call", ErrInvalidEvent, MaxBatch)
	}
	now := e.now().UTC()
	memberIDs := make([]int64, len(ins))
	for i, in := range ins {
		if err := validateInput(in); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		m, err := e.members.GetByExternalRef(ctx, in.MemberRef)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w: no member has externalRef %q", i, ErrUnknownMember, in.MemberRef)
		}
		memberIDs[i] = m.ID
	}
	snap, err := e.snapshots(ctx, memberIDs, map[int64]*campaigns.Campaign{c.ID: c})
	if err != nil {
		return nil, err
	}
	out := make([]Simulation, len(ins))
	req := pluginhost.EvaluateRequest{Campaign: pluginCampaign(c, snap.programCodes[c.ProgramID])}
	var asked []int // the inputs the plugin is asked about, in order
	as := *c
	if as.Status == campaigns.Draft {
		as.Status = campaigns.Active
	}
	for i, in := range ins {
		if !e.routes(ctx, &as, in.Type, in.OccurredAt) {
			out[i] = Simulation{Effects: []pluginhost.Effect{}, NoEffectReason: e.whyNotRouted(ctx, &as, in.Type, in.OccurredAt)}
			continue
		}
		m, _ := snap.member(memberIDs[i], c.ID)
		req.Items = append(req.Items, pluginhost.EvaluateItem{Member: m, Event: pluginhost.Event{ID: fmt.Sprintf("simulated-%d", i), Type: in.Type,
			Source: in.Source, ExternalID: in.ExternalID, OccurredAt: in.OccurredAt.UTC(), Attributes: in.Attributes}})
		asked = append(asked, i)
	}
	if len(asked) == 0 {
		return out, nil
	}
	resp, err := e.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}).Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(asked) {
		return nil, fmt.Errorf("%w: plugin returned %d results for %d events", errInvalidEffect, len(resp.Results), len(asked))
	}
	for k, r := range resp.Results {
		i := asked[k]
		out[i] = Simulation{Effects: r.Effects, NoEffectReason: r.NoEffectReason}
		if err := validateEffects(r.Effects, &e.opts.Limits, now); err != nil {
			out[i].Problem = err.Error()
		}
	}
	return out, nil
}
