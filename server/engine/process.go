package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
)

// groupSize is how many events one group-commit transaction applies: enough to share a commit,
// few enough that the account locks it holds do not make concurrent batches wait long.
const groupSize = 50

// maxRounds bounds how often one process call re-evaluates decisions found stale.
const maxRounds = 5

// decision is one campaign's answer for one event.
type decision struct {
	effects  []sdk.Effect
	noEffect string
	// version is the (campaign, member) state version the plugin saw.
	version int64
	// err is set when the plugin gave no usable answer: unavailable (wait) or broken (fail).
	err error
}

// job is an event and the campaigns that still have to decide on it.
type job struct {
	ev      *Event
	targets []*campaigns.Campaign
}

// process evaluates and applies the pending events ids.
func (e *Engine) process(ctx context.Context, ids []int64) error {
	var evs []Event
	if err := e.db.NewSelect().Model(&evs).Where("id IN (?) AND status = 'pending'", bun.In(ids)).Order("id").Scan(ctx); err != nil {
		return fmt.Errorf("engine: load events: %w", err)
	}
	routable, err := e.campaigns.Routable(ctx)
	if err != nil {
		return fmt.Errorf("engine: load campaigns: %w", err)
	}
	jobs := make([]job, 0, len(evs))
	for i := range evs {
		jobs = append(jobs, job{ev: &evs[i], targets: e.targets(ctx, &evs[i], routable)})
	}
	for round := 0; len(jobs) > 0; round++ {
		var again []job
		for _, wave := range waves(jobs) {
			decisions := e.evaluate(ctx, wave)
			for start := 0; start < len(wave); start += groupSize {
				group := wave[start:min(start+groupSize, len(wave))]
				stales, err := e.applyWave(ctx, group, decisions, round+1 >= maxRounds)
				if err != nil {
					return err
				}
				for _, j := range group {
					if stale := stales[j.ev.ID]; len(stale) > 0 {
						again = append(again, job{ev: j.ev, targets: stale})
					}
				}
			}
		}
		jobs = again
	}
	return nil
}

// targets returns the campaigns live at the event's time whose plugin handles its type and
// that have not decided on it yet.
func (e *Engine) targets(ctx context.Context, ev *Event, routable []campaigns.Campaign) []*campaigns.Campaign {
	var out []*campaigns.Campaign
	for i := range routable {
		c := &routable[i]
		if !c.Live(ev.OccurredAt) || !e.handles(ctx, c, ev.Type) {
			continue
		}
		if ev.Outcome != nil && ev.Outcome.has(c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// waves splits jobs so that each wave holds at most one event per member, in event order:
// events of one member are decided one after another, each on the state the previous left.
func waves(jobs []job) [][]job {
	var out [][]job
	depth := map[int64]int{}
	for _, j := range jobs {
		d := depth[j.ev.MemberID]
		depth[j.ev.MemberID] = d + 1
		if d == len(out) {
			out = append(out, nil)
		}
		out[d] = append(out[d], j)
	}
	return out
}

// evaluate asks each campaign's plugin about the wave's events, one batched call per campaign
// (chunked by BatchSize), and returns decisions by event id and campaign id.
func (e *Engine) evaluate(ctx context.Context, wave []job) map[int64]map[int64]*decision {
	out := map[int64]map[int64]*decision{}
	byCampaign := map[int64][]*Event{}
	camps := map[int64]*campaigns.Campaign{}
	var memberIDs []int64
	for _, j := range wave {
		out[j.ev.ID] = map[int64]*decision{}
		memberIDs = append(memberIDs, j.ev.MemberID)
		for _, c := range j.targets {
			byCampaign[c.ID] = append(byCampaign[c.ID], j.ev)
			camps[c.ID] = c
		}
	}
	if len(byCampaign) == 0 {
		return out
	}
	snap, err := e.snapshots(ctx, memberIDs, camps)
	for cid, evs := range byCampaign {
		c := camps[cid]
		if err != nil {
			for _, ev := range evs {
				out[ev.ID][cid] = &decision{err: fmt.Errorf("%w: snapshot: %v", pluginhost.ErrUnavailable, err)}
			}
			continue
		}
		prog := e.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion})
		sc := sdkCampaign(c, snap.programCodes[c.ProgramID])
		for start := 0; start < len(evs); start += e.opts.BatchSize {
			chunk := evs[start:min(start+e.opts.BatchSize, len(evs))]
			req := sdk.EvaluateRequest{Campaign: sc, Items: make([]sdk.EvaluateItem, len(chunk))}
			versions := make([]int64, len(chunk))
			for i, ev := range chunk {
				m, v := snap.member(ev.MemberID, cid)
				req.Items[i] = sdk.EvaluateItem{Event: sdkEvent(ev), Member: m}
				versions[i] = v
			}
			resp, err := prog.Evaluate(ctx, req)
			if err == nil && len(resp.Results) != len(chunk) {
				err = fmt.Errorf("%w: plugin returned %d results for %d events", errInvalidEffect, len(resp.Results), len(chunk))
			}
			for i, ev := range chunk {
				if err != nil {
					out[ev.ID][cid] = &decision{err: err}
					continue
				}
				r := resp.Results[i]
				out[ev.ID][cid] = &decision{effects: r.Effects, noEffect: r.NoEffectReason, version: versions[i]}
			}
		}
	}
	return out
}

// apply writes the decisions on one event in one transaction and returns the campaigns whose
// decision was taken on a stale snapshot (to be evaluated again). With last set, stale
// decisions are left for the worker instead.
func (e *Engine) apply(ctx context.Context, j job, decisions map[int64]*decision, last bool) ([]*campaigns.Campaign, error) {
	var stale []*campaigns.Campaign
	err := e.runTx(ctx, e.applier(j, decisions, last, &stale))
	return stale, err
}

// applyWave applies the decisions on a wave's events in one transaction (group commit: one
// commit for the wave instead of one per event), each event under a savepoint of its own and in
// member order, so concurrent waves lock accounts in the same order. An event whose part fails
// is rolled back to its savepoint and applied again in its own transaction afterwards; if the
// wave's transaction itself fails, every event is. It returns each event's stale campaigns.
func (e *Engine) applyWave(ctx context.Context, wave []job, decisions map[int64]map[int64]*decision, last bool) (map[int64][]*campaigns.Campaign, error) {
	stales := make(map[int64][]*campaigns.Campaign, len(wave))
	order := append([]job(nil), wave...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].ev.MemberID < order[b].ev.MemberID })
	var alone []job
	if len(order) > 1 {
		err := e.runTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			clear(stales)
			alone = alone[:0]
			for _, j := range order {
				if _, err := tx.ExecContext(ctx, "SAVEPOINT event"); err != nil {
					return err
				}
				var stale []*campaigns.Campaign
				if err := e.applier(j, decisions[j.ev.ID], last, &stale)(ctx, tx); err != nil {
					if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT event"); rbErr != nil {
						return rbErr
					}
					alone = append(alone, j)
					continue
				}
				if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT event"); err != nil {
					return err
				}
				stales[j.ev.ID] = stale
			}
			return nil
		})
		if err != nil {
			e.log.Warn("group commit failed; applying events one by one", "events", len(order), "error", err)
			clear(stales)
			alone = order
		}
	} else {
		alone = order
	}
	for _, j := range alone {
		stale, err := e.apply(ctx, j, decisions[j.ev.ID], last)
		if err != nil {
			return nil, err
		}
		stales[j.ev.ID] = stale
	}
	return stales, nil
}

// applier returns the unit of work that writes the decisions on one event inside a transaction,
// reporting the campaigns decided on a stale snapshot through stalep.
func (e *Engine) applier(j job, decisions map[int64]*decision, last bool, stalep *[]*campaigns.Campaign) func(context.Context, bun.Tx) error {
	return func(ctx context.Context, tx bun.Tx) error {
		var stale []*campaigns.Campaign
		defer func() { *stalep = stale }()
		var ev Event
		if err := tx.NewSelect().Model(&ev).Where("id = ?", j.ev.ID).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("engine: lock event: %w", err)
		}
		if ev.Status == StatusDone {
			*j.ev = ev
			return nil
		}
		out := ev.Outcome
		if out == nil {
			out = &Outcome{Campaigns: []CampaignOutcome{}}
		}
		now := e.now().UTC()
		var waiting []Waiting
		for _, c := range j.targets {
			if out.has(c.ID) {
				continue
			}
			d := decisions[c.ID]
			if d == nil {
				continue
			}
			co := CampaignOutcome{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName, PluginVersion: c.PluginVersion}
			switch {
			case d.err != nil && unavailable(d.err):
				waiting = append(waiting, Waiting{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName,
					PluginVersion: c.PluginVersion, Error: d.err.Error()})
				continue
			case d.err != nil && errors.Is(d.err, errInvalidEffect):
				co.Status, co.Code, co.Reason = OutcomeFailed, CodeInvalidEffect, d.err.Error()
			case d.err != nil:
				co.Status, co.Code, co.Reason = OutcomeFailed, CodePluginError, d.err.Error()
			default:
				if err := validateEffects(d.effects, &e.opts.Limits, now); err != nil {
					co.Status, co.Code, co.Reason = OutcomeFailed, CodeInvalidEffect, err.Error()
					break
				}
				fresh, err := e.checkVersion(ctx, tx, c.ID, ev.MemberID, d.version, now)
				if err != nil {
					return err
				}
				if !fresh {
					stale = append(stale, c)
					continue
				}
				if err := e.applyDecision(ctx, tx, &ev, c, d, &co, now); err != nil {
					return err
				}
			}
			out.Campaigns = append(out.Campaigns, co)
		}
		if last && len(stale) > 0 {
			for _, c := range stale {
				waiting = append(waiting, Waiting{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName,
					PluginVersion: c.PluginVersion, Error: "member state kept changing; evaluating again"})
			}
			stale = nil
		}
		if len(stale) > 0 {
			// Keep the event pending and leased; the caller evaluates the stale campaigns now.
			ev.Outcome = out
			_, err := tx.NewUpdate().Model(&ev).Column("outcome").WherePK().Exec(ctx)
			*j.ev = ev
			return err
		}
		ev.Attempts++
		if len(waiting) > 0 && ev.Attempts >= e.opts.MaxAttempts {
			for _, w := range waiting {
				out.Campaigns = append(out.Campaigns, CampaignOutcome{CampaignID: w.CampaignID, CampaignCode: w.CampaignCode,
					Plugin: w.Plugin, PluginVersion: w.PluginVersion, Status: OutcomeFailed, Code: CodeGaveUp,
					Reason: fmt.Sprintf("gave up after %d attempts: %s", ev.Attempts, w.Error)})
			}
			waiting = nil
		}
		out.Waiting = waiting
		if len(out.Campaigns) == 0 && len(waiting) == 0 {
			out.Reason = fmt.Sprintf("no live campaign handles events of type %q", ev.Type)
		}
		ev.Outcome = out
		if len(waiting) == 0 {
			ev.Status, ev.ProcessedAt, ev.LastError = StatusDone, &now, ""
		} else {
			ev.NextAttemptAt = now.Add(e.retryDelay(ev.Attempts))
			ev.LastError = waiting[0].Error
		}
		_, err := tx.NewUpdate().Model(&ev).Column("outcome", "status", "processed_at", "attempts", "next_attempt_at", "last_error").
			WherePK().Exec(ctx)
		*j.ev = ev
		return err
	}
}

// applyDecision applies one campaign's validated effects on an event. Applying any effect bumps
// the (campaign, member) version.
func (e *Engine) applyDecision(ctx context.Context, tx bun.Tx, ev *Event, c *campaigns.Campaign, d *decision, co *CampaignOutcome, now time.Time) error {
	if len(d.effects) == 0 {
		co.Status, co.Reason = OutcomeNoEffect, d.noEffect
		if co.Reason == "" {
			co.Reason = "the plugin returned no effects"
		}
		return nil
	}
	// A reject stands for the whole decision: none of the other effects are applied.
	for _, eff := range d.effects {
		if eff.Kind == sdk.KindReject {
			co.Status, co.Code, co.Reason = OutcomeRejected, eff.Reject.Code, eff.Reject.Message
			return nil
		}
	}
	res, err := e.applyEffects(ctx, tx, effectTarget{campaign: c, memberID: ev.MemberID, eventID: ev.ID, now: now}, d.effects)
	if err != nil {
		return err
	}
	if res.failCode != "" {
		co.Status, co.Code, co.Reason = OutcomeFailed, res.failCode, res.failReason
		return nil
	}
	co.Effects, co.Status = res.applied, OutcomeApplied
	return nil
}

// applied is the result of applyEffects: what was applied, or why nothing was.
type applied struct {
	applied              []AppliedEffect
	failCode, failReason string
}

// applyEffects applies validated effects for one member of one campaign inside a savepoint:
// if one of them is refused by the domain (a debit beyond the balance, an unknown benefit key),
// none of them is, and the result says why. Other errors abort the transaction. Applying any
// effect bumps the (campaign, member) state version.
func (e *Engine) applyEffects(ctx context.Context, tx bun.Tx, target effectTarget, effects []sdk.Effect) (applied, error) {
	var out applied
	if len(effects) == 0 {
		return out, nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT effects"); err != nil {
		return out, err
	}
	for i := range effects {
		eff := &effects[i]
		a, err := appliers[eff.Kind].apply(ctx, e, tx, target, i, eff)
		if err != nil {
			if !domainError(err) {
				return out, err
			}
			if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT effects"); rbErr != nil {
				return out, rbErr
			}
			return applied{failCode: domainCode(err), failReason: fmt.Sprintf("effect %d (%s): %v", i, eff.Kind, err)}, nil
		}
		out.applied = append(out.applied, a)
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT effects"); err != nil {
		return out, err
	}
	_, err := tx.NewRaw(`INSERT INTO plugin_state (campaign_id, member_id, version, updated_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (campaign_id, member_id) DO UPDATE SET version = plugin_state.version + 1, updated_at = EXCLUDED.updated_at`,
		target.campaign.ID, target.memberID, target.now).Exec(ctx)
	return out, err
}

// checkVersion locks the (campaign, member) state row, creating it first, and reports whether
// its version is still the one the plugin saw.
func (e *Engine) checkVersion(ctx context.Context, tx bun.Tx, campaignID, memberID, seen int64, now time.Time) (bool, error) {
	if _, err := tx.NewRaw(`INSERT INTO plugin_state (campaign_id, member_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (campaign_id, member_id) DO NOTHING`, campaignID, memberID, now).Exec(ctx); err != nil {
		return false, fmt.Errorf("engine: create state: %w", err)
	}
	var version int64
	if err := tx.NewRaw(`SELECT version FROM plugin_state WHERE campaign_id = ? AND member_id = ? FOR UPDATE`,
		campaignID, memberID).Scan(ctx, &version); err != nil {
		return false, fmt.Errorf("engine: lock state: %w", err)
	}
	return version == seen, nil
}

func unavailable(err error) bool {
	return errors.Is(err, pluginhost.ErrUnavailable) || errors.Is(err, sdk.ErrUnavailable)
}

// domainError reports whether err is a refusal by the ledger (as opposed to a database
// failure, which aborts the whole transaction and is retried).
func domainError(err error) bool {
	return domainCode(err) != ""
}

func domainCode(err error) string {
	switch {
	case errors.Is(err, ledger.ErrInsufficientPoints):
		return "INSUFFICIENT_POINTS"
	case errors.Is(err, ledger.ErrIdempotencyConflict):
		return "IDEMPOTENCY_CONFLICT"
	case errors.Is(err, ledger.ErrInvalidAmount), errors.Is(err, ledger.ErrInvalidPeriod), errors.Is(err, benefits.ErrInvalid),
		errors.Is(err, notify.ErrInvalidNotification), errors.Is(err, notify.ErrNoRecipient):
		return CodeInvalidEffect
	case errors.Is(err, benefits.ErrNotFound):
		return "BENEFIT_NOT_FOUND"
	}
	return ""
}

// snapshot holds what plugins are shown about the members of a wave.
type snapshot struct {
	members       map[int64]*members.Member
	balances      map[int64][]ledger.Balance
	programCodes  map[int64]string
	campaignCodes map[int64]string
	benefits      map[int64][]benefits.Benefit
	tiers         map[int64][]benefits.Tier
	enrollments   map[int64][]benefits.Enrollment
	state         map[[2]int64]stateRow
}

type stateRow struct {
	State   json.RawMessage
	Version int64
}

func (e *Engine) snapshots(ctx context.Context, memberIDs []int64, camps map[int64]*campaigns.Campaign) (*snapshot, error) {
	ms, err := e.members.GetMany(ctx, memberIDs)
	if err != nil {
		return nil, err
	}
	bs, err := e.ledger.Balances(ctx, memberIDs)
	if err != nil {
		return nil, err
	}
	progs, err := e.ledger.Programs(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{members: ms, balances: bs, programCodes: map[int64]string{}, state: map[[2]int64]stateRow{}}
	for _, p := range progs {
		s.programCodes[p.ID] = p.Code
	}
	if s.campaignCodes, err = e.campaigns.Codes(ctx); err != nil {
		return nil, err
	}
	if s.benefits, err = e.benefits.Current(ctx, memberIDs); err != nil {
		return nil, err
	}
	if s.tiers, err = e.benefits.Tiers(ctx, memberIDs); err != nil {
		return nil, err
	}
	if s.enrollments, err = e.benefits.Enrollments(ctx, memberIDs); err != nil {
		return nil, err
	}
	var cids []int64
	for id := range camps {
		cids = append(cids, id)
	}
	var rows []struct {
		CampaignID int64
		MemberID   int64
		State      json.RawMessage
		Version    int64
	}
	if err := e.db.NewRaw(`SELECT campaign_id, member_id, state, version FROM plugin_state
		WHERE campaign_id IN (?) AND member_id IN (?)`, bun.In(cids), bun.In(memberIDs)).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		s.state[[2]int64{r.CampaignID, r.MemberID}] = stateRow{State: r.State, Version: r.Version}
	}
	return s, nil
}

// member returns the SDK snapshot of a member for a campaign, and the state version it shows.
func (s *snapshot) member(memberID, campaignID int64) (sdk.Member, int64) {
	m := s.members[memberID]
	st := s.state[[2]int64{campaignID, memberID}]
	out := sdk.Member{ID: strconv.FormatInt(memberID, 10), State: st.State, Version: st.Version}
	if string(out.State) == "null" {
		out.State = nil
	}
	if m != nil {
		out.ExternalRef, out.Name, out.Email, out.Phone = m.ExternalRef, m.Name, m.Email, m.Phone
		out.Region, out.Status, out.Attributes = m.Region, m.Status, sdk.Values(m.Attributes)
		if m.BirthDate != nil {
			out.BirthDate = m.BirthDate.Format("2006-01-02")
		}
	}
	for _, b := range s.balances[memberID] {
		out.Balances = append(out.Balances, sdk.Balance{Program: s.programCodes[b.ProgramID], Available: b.Available,
			Pending: b.Pending, LifetimeEarned: b.LifetimeEarned, StatusBalance: b.StatusBalance})
	}
	for _, t := range s.tiers[memberID] {
		out.Tiers = append(out.Tiers, sdk.Tier{Program: s.programCodes[t.ProgramID], Tier: t.Tier, ValidUntil: t.ValidUntil})
	}
	for _, b := range s.benefits[memberID] {
		out.Benefits = append(out.Benefits, sdk.Benefit{ID: strconv.FormatInt(b.ID, 10), Key: b.Key,
			Campaign: s.campaignCodes[b.CampaignID], Kind: b.Kind, Title: b.Title, Code: b.Code, Percent: b.Percent,
			Scope: b.Scope, Exclusions: b.Exclusions, ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil, Status: b.Status,
			Attributes: sdk.Values(b.Attributes)})
	}
	for _, en := range s.enrollments[memberID] {
		out.Enrollments = append(out.Enrollments, sdk.Enrollment{Campaign: s.campaignCodes[en.CampaignID],
			EnrolledAt: en.EnrolledAt, Answers: sdk.Values(en.Answers), RegisteredBy: en.RegisteredBy, Responsible: en.Responsible})
	}
	return out, st.Version
}

func sdkCampaign(c *campaigns.Campaign, program string) sdk.Campaign {
	sc := sdk.Campaign{ID: strconv.FormatInt(c.ID, 10), Code: c.Code, Program: program, TimeZone: c.TimeZone,
		StartsAt: c.StartsAt, Config: c.Config}
	if c.EndsAt != nil {
		sc.EndsAt = *c.EndsAt
	}
	return sc
}

func sdkEvent(ev *Event) sdk.Event {
	return sdk.Event{ID: strconv.FormatInt(ev.ID, 10), Type: ev.Type, Source: ev.Source, ExternalID: ev.ExternalID,
		OccurredAt: ev.OccurredAt, Attributes: sdk.Values(ev.Attributes)}
}
