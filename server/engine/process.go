package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
)

// maxRounds bounds how often one process call re-evaluates decisions found stale.
const maxRounds = 5

// decision is one campaign's answer for one event.
type decision struct {
	effects  []pluginhost.Effect
	noEffect string
	// version is the (campaign, member) state version the plugin saw.
	version int64
	// err is set when the plugin gave no usable answer: unavailable (wait) or broken (fail).
	err error
	// shown is what the plugin was shown, kept when the campaign has a shadow (Options.Shadows).
	shown *shown
	// last is set on the last evaluation a process call makes: a decision found stale then waits
	// for the worker instead of being evaluated again.
	last bool
}

// job is an event, the campaigns that still have to decide on it, and the decisions taken on it
// (by campaign id) to apply now; targets without a decision are waiting, for their lane while
// evaluating says it is still running, else for the worker.
type job struct {
	ev         *Event
	targets    []*campaigns.Campaign
	decisions  map[int64]*decision
	evaluating func(campaignID int64) bool
}

// targets returns the campaigns live at the event's time whose plugin handles its type and
// that have not decided on it yet.
func (e *Engine) targets(ctx context.Context, ev *Event, routable []campaigns.Campaign) []*campaigns.Campaign {
	var out []*campaigns.Campaign
	for i := range routable {
		c := &routable[i]
		if !e.routes(ctx, c, ev.Type, ev.OccurredAt) {
			continue
		}
		if ev.Outcome != nil && ev.Outcome.Decided(c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// waves splits events so that each wave holds at most one event per member, in event order:
// events of one member are decided one after another, each on the state the previous left.
func waves(evs []*Event) [][]*Event {
	var out [][]*Event
	depth := map[int64]int{}
	for _, ev := range evs {
		d := depth[ev.MemberID]
		depth[ev.MemberID] = d + 1
		if d == len(out) {
			out = append(out, nil)
		}
		out[d] = append(out[d], ev)
	}
	return out
}

// evaluate asks campaign c's plugin about a wave's events, in calls of up to BatchSize events,
// and returns its decisions by event id (marked last as given). It calls asking, when set, once
// the snapshots are read, just before the first plugin call. Each call's duration tells the
// engine's pace whether the plugin is slow now.
func (e *Engine) evaluate(ctx context.Context, c *campaigns.Campaign, wave []*Event, last bool, asking func()) map[int64]*decision {
	out := make(map[int64]*decision, len(wave))
	memberIDs := make([]int64, len(wave))
	for i, ev := range wave {
		memberIDs[i] = ev.MemberID
	}
	snap, err := e.snapshots(ctx, memberIDs, map[int64]*campaigns.Campaign{c.ID: c})
	if err != nil {
		for _, ev := range wave {
			out[ev.ID] = &decision{err: fmt.Errorf("%w: snapshot: %v", pluginhost.ErrUnavailable, err), last: last}
		}
		return out
	}
	k := pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}
	prog := e.plugins.Program(k)
	sc := pluginCampaign(c, snap.programCodes[c.ProgramID])
	shadowed := e.opts.Shadows != nil && e.opts.Shadows.Shadowed(c.ID)
	if asking != nil {
		asking()
	}
	for start := 0; start < len(wave); start += e.opts.BatchSize {
		chunk := wave[start:min(start+e.opts.BatchSize, len(wave))]
		req := pluginhost.EvaluateRequest{Campaign: sc, Items: make([]pluginhost.EvaluateItem, len(chunk))}
		versions := make([]int64, len(chunk))
		for i, ev := range chunk {
			m, v := snap.member(ev.MemberID, c.ID)
			req.Items[i] = pluginhost.EvaluateItem{Event: pluginEvent(ev), Member: m}
			versions[i] = v
		}
		began := time.Now()
		resp, err := prog.Evaluate(ctx, req)
		e.pace.observe(k, time.Since(began), err)
		if err == nil && len(resp.Results) != len(chunk) {
			err = fmt.Errorf("%w: plugin returned %d results for %d events", errInvalidEffect, len(resp.Results), len(chunk))
		}
		for i, ev := range chunk {
			d := &decision{err: err, last: last}
			if err == nil {
				r := resp.Results[i]
				d = &decision{effects: r.Effects, noEffect: r.NoEffectReason, version: versions[i], last: last}
			}
			if shadowed {
				d.shown = &shown{campaign: sc, item: req.Items[i]}
			}
			out[ev.ID] = d
		}
	}
	return out
}

// applyWave applies the decisions on a group of events in one transaction (group commit: one
// commit for the group instead of one per event, see applyGroup) and returns each event's stale
// campaigns. If the group's transaction fails, each event is applied again in a transaction of
// its own, where a credit refused by the ledger fails only its campaign.
func (e *Engine) applyWave(ctx context.Context, wave []job) (map[int64][]*campaigns.Campaign, error) {
	order := append([]job(nil), wave...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].ev.MemberID < order[b].ev.MemberID })
	if len(order) > 1 {
		var stales map[int64][]*campaigns.Campaign
		err := e.runTx(ctx, func(ctx context.Context, tx db.Tx) (err error) {
			stales, err = e.applyGroup(ctx, tx, order, true)
			return err
		})
		if err == nil {
			return stales, nil
		}
		e.log.Warn("group commit failed; applying events one by one", "events", len(order), "error", err)
	}
	stales := make(map[int64][]*campaigns.Campaign, len(order))
	for _, j := range order {
		err := e.runTx(ctx, func(ctx context.Context, tx db.Tx) error {
			s, err := e.applyGroup(ctx, tx, []job{j}, false)
			stales[j.ev.ID] = s[j.ev.ID]
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return stales, nil
}

// applyGroup writes the decisions on group's events (in member order) inside tx and returns
// each event's stale campaigns. It is the one way decisions are applied, to one event or to
// many, with a number of statements that does not grow with the events whose decisions only
// credit points (or change nothing): one round trip locks the events and creates and locks
// every (campaign, member) state row the decisions may need (in key order; two statements in
// one pgx.Batch), one ledger batch writes the credits, one statement stores the outcomes and
// bumps the versions of the states that changed. Other effects are written in place, each
// decision under a savepoint, after the credits gathered so far (so every effect sees the ones
// before it).
//
// A group may hold events of one member from different process calls (see committer): a
// decision applied to a (campaign, member) state counts as a new version for the decisions
// after it in the group, so a later one taken on the same snapshot is stale, as it would be in
// a transaction of its own.
//
// With shared set, the credits of decisions that only credit are gathered across the group and
// any failure of their batch fails the group (the caller then applies each event alone);
// without it, each decision's credits are written under its savepoint, so a credit the ledger
// refuses fails that campaign only.
func (e *Engine) applyGroup(ctx context.Context, tx db.Tx, group []job, shared bool) (map[int64][]*campaigns.Campaign, error) {
	stales := make(map[int64][]*campaigns.Campaign, len(group))
	ids := make([]int64, len(group))
	now := e.now().UTC()
	var pairs [][2]int64 // (campaign, member) whose state version is checked
	for i, j := range group {
		ids[i] = j.ev.ID
		for _, c := range j.targets {
			d := j.decisions[c.ID]
			if d == nil || d.err != nil || validateEffects(d.effects, &e.opts.Limits, now) != nil {
				continue
			}
			pairs = append(pairs, [2]int64{c.ID, j.ev.MemberID})
		}
	}
	b := &pgx.Batch{}
	var locked []Event
	b.Queue(`SELECT `+eventColumns+` FROM events WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, ids).
		Query(func(rows pgx.Rows) (err error) {
			locked, err = db.Collect[Event](rows)
			return err
		})
	versions := queueLockStates(b, pairs, now)
	if err := db.PG(tx).SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("engine: lock events and states: %w", err)
	}
	byID := make(map[int64]*Event, len(locked))
	for i := range locked {
		byID[locked[i].ID] = &locked[i]
	}
	var open []job
	for _, j := range group {
		ev := byID[j.ev.ID]
		if ev == nil {
			return nil, fmt.Errorf("engine: event %d vanished", j.ev.ID)
		}
		if ev.Status == StatusDone {
			*j.ev = *ev
			continue
		}
		open = append(open, j)
	}
	if len(open) == 0 {
		return stales, nil
	}
	var buf *creditBuffer
	if shared {
		buf = &creditBuffer{}
	}
	var bumped [][2]int64
	for _, j := range open {
		ev := byID[j.ev.ID]
		fresh := func(c *campaigns.Campaign, d *decision) (bool, error) {
			return versions[[2]int64{c.ID, ev.MemberID}] == d.version, nil
		}
		applyOne := func(c *campaigns.Campaign, d *decision, co *CampaignOutcome) error {
			if settledWithoutEffects(d, co) {
				return nil
			}
			res, err := e.writeEffects(ctx, tx, effectTarget{campaign: c, memberID: ev.MemberID, eventID: ev.ID, now: now},
				d.effects, buf)
			if err != nil {
				return err
			}
			if res.failCode != "" {
				co.Status, co.Code, co.Reason = OutcomeFailed, res.failCode, res.failReason
				return nil
			}
			co.Effects, co.Status = res.applied, OutcomeApplied
			k := [2]int64{c.ID, ev.MemberID}
			bumped = append(bumped, k)
			versions[k]++ // what the next decision on this state in the group must have seen
			return nil
		}
		stale, err := e.settle(ev, j.targets, j.decisions, j.evaluating, now, fresh, applyOne)
		if err != nil {
			return nil, err
		}
		e.opts.Metrics.decidedAfterCommit(ctx, ev)
		stales[ev.ID] = stale
	}
	if err := buf.flush(ctx, e.ledger, tx); err != nil {
		return nil, err
	}
	if err := storeOutcomes(ctx, tx, open, byID, bumped, now); err != nil {
		return nil, err
	}
	for _, j := range open {
		*j.ev = *byID[j.ev.ID]
	}
	if err := e.enqueueShadows(ctx, tx, open); err != nil {
		return nil, err
	}
	return stales, nil
}

// creditBuffer gathers credits to write together with one ledger.CreditBatchTx call, and
// where each credit's transaction id goes once written.
type creditBuffer struct {
	ins []ledger.CreditInput
	out []*AppliedEffect
}

// add queues a credit whose transaction id goes to *out.
func (b *creditBuffer) add(in ledger.CreditInput, out *AppliedEffect) {
	b.ins, b.out = append(b.ins, in), append(b.out, out)
}

// flush writes the queued credits inside tx and empties b. A nil b has nothing to write.
func (b *creditBuffer) flush(ctx context.Context, l *ledger.Ledger, tx db.Tx) error {
	if b == nil || len(b.ins) == 0 {
		return nil
	}
	trs, err := l.CreditBatchTx(ctx, tx, b.ins)
	if err != nil {
		return err
	}
	for i, tr := range trs {
		b.out[i].TransactionID = tr.ID
	}
	b.ins, b.out = b.ins[:0], b.out[:0]
	return nil
}

// onlyCredits reports whether effects hold nothing but credits.
func onlyCredits(effects []pluginhost.Effect) bool {
	for _, eff := range effects {
		if eff.Kind != pluginhost.KindCreditPoints {
			return false
		}
	}
	return true
}

func splitPairs(pairs [][2]int64) (a, b []int64) {
	a, b = make([]int64, len(pairs)), make([]int64, len(pairs))
	for i, p := range pairs {
		a[i], b[i] = p[0], p[1]
	}
	return a, b
}

// queueLockStates queues on b the statement that creates the missing (campaign, member) state
// rows and locks all of them, in key order; once b's results are read, the map it returns holds
// their versions. An upsert that keeps existing rows as they are locks them as checkVersion
// does.
func queueLockStates(b *pgx.Batch, pairs [][2]int64, now time.Time) map[[2]int64]int64 {
	versions := make(map[[2]int64]int64, len(pairs))
	if len(pairs) == 0 {
		return versions
	}
	cs, ms := splitPairs(pairs)
	b.Queue(`INSERT INTO plugin_state (campaign_id, member_id, updated_at)
		SELECT DISTINCT c, m, $3::timestamptz FROM unnest($1::bigint[], $2::bigint[]) AS k(c, m) ORDER BY c, m
		ON CONFLICT (campaign_id, member_id) DO UPDATE SET updated_at = plugin_state.updated_at
		RETURNING campaign_id, member_id, version`, cs, ms, now).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k [2]int64
			var version int64
			if err := rows.Scan(&k[0], &k[1], &version); err != nil {
				return err
			}
			versions[k] = version
		}
		return rows.Err()
	})
	return versions
}

// storeOutcomes writes the events' outcome, status and retry columns, and bumps the versions
// of the (campaign, member) states in bumped, in one statement.
func storeOutcomes(ctx context.Context, tx db.Tx, jobs []job, byID map[int64]*Event, bumped [][2]int64, now time.Time) error {
	n := len(jobs)
	ids, attempts := make([]int64, n), make([]int64, n)
	outcomes, statuses, processed, next, lastErr := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n)
	for i, j := range jobs {
		ev := byID[j.ev.ID]
		b, err := json.Marshal(ev.Outcome)
		if err != nil {
			return fmt.Errorf("engine: encode outcome: %w", err)
		}
		ids[i], outcomes[i], statuses[i], attempts[i] = ev.ID, string(b), ev.Status, int64(ev.Attempts)
		next[i], lastErr[i] = timestampText(ev.NextAttemptAt), ev.LastError
		if ev.ProcessedAt != nil {
			processed[i] = timestampText(*ev.ProcessedAt)
		}
	}
	cs, ms := splitPairs(bumped)
	_, err := db.PG(tx).Exec(ctx, `WITH bump AS (
			UPDATE plugin_state SET version = version + 1, updated_at = $10::timestamptz
			FROM unnest($8::bigint[], $9::bigint[]) AS k(c, m) WHERE campaign_id = k.c AND member_id = k.m
		)
		UPDATE events SET outcome = d.outcome::jsonb, status = d.status, processed_at = nullif(d.processed, '')::timestamptz,
			attempts = d.attempts, next_attempt_at = d.next, last_error = d.last_error
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::text[])
			AS d(id, outcome, status, processed, attempts, next, last_error)
		WHERE events.id = d.id`, ids, outcomes, statuses, processed, attempts, next, lastErr, cs, ms, now)
	if err != nil {
		return fmt.Errorf("engine: store outcomes: %w", err)
	}
	return nil
}

// settle works out event ev's outcome from the decisions of its target campaigns: a fresh
// decision is applied with apply, a decision on a stale snapshot is returned (to be evaluated
// again; on a process call's last evaluation, it waits for the worker instead), an unavailable
// plugin makes the event wait (until it has been tried MaxAttempts times), a broken answer
// fails its campaign. A target without a decision waits too: for its lane, while evaluating
// says that is still running (such a campaign is never given up here, and the event's next
// attempt is at least RetryMax away, time for the lane to apply it), else for the worker.
// It sets ev's outcome and, unless decisions are stale, its status and retry columns.
func (e *Engine) settle(ev *Event, targets []*campaigns.Campaign, decisions map[int64]*decision,
	evaluating func(campaignID int64) bool, now time.Time,
	fresh func(*campaigns.Campaign, *decision) (bool, error),
	apply func(*campaigns.Campaign, *decision, *CampaignOutcome) error) ([]*campaigns.Campaign, error) {
	out := ev.Outcome
	if out == nil {
		out = &Outcome{Campaigns: []CampaignOutcome{}}
	}
	type wait struct {
		Waiting
		busy bool // its lane is still evaluating it
	}
	var waiting []wait
	var stale []*campaigns.Campaign
	for _, c := range targets {
		if out.Decided(c.ID) {
			continue
		}
		w := wait{Waiting: Waiting{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName, PluginVersion: c.PluginVersion}}
		d := decisions[c.ID]
		if d == nil {
			switch prev := waitingOf(out, c.ID); {
			case evaluating != nil && evaluating(c.ID):
				w.busy, w.Error = true, fmt.Sprintf("plugin %s@%s has not answered yet; its effects are applied when it does",
					c.PluginName, c.PluginVersion)
			case prev != nil:
				w.Error = prev.Error
			default:
				w.Error = "not evaluated yet"
			}
			waiting = append(waiting, w)
			continue
		}
		co := CampaignOutcome{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName, PluginVersion: c.PluginVersion}
		switch {
		case d.err != nil && unavailable(d.err):
			w.Error = d.err.Error()
			waiting = append(waiting, w)
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
			ok, err := fresh(c, d)
			if err != nil {
				return nil, err
			}
			if !ok && d.last {
				w.Error = "member state kept changing; evaluating again"
				waiting = append(waiting, w)
				continue
			}
			if !ok {
				stale = append(stale, c)
				continue
			}
			if err := apply(c, d, &co); err != nil {
				return nil, err
			}
		}
		if d.err == nil && co.Status != OutcomeApplied && len(d.effects) > 0 {
			co.Decision = decided(d.effects) // what was refused, for the explanation (docs/explain.md)
		}
		out.Campaigns = append(out.Campaigns, co)
	}
	ev.Outcome = out
	if len(stale) > 0 {
		// Keep the event pending and leased; the caller evaluates the stale campaigns now.
		return stale, nil
	}
	ev.Attempts++
	out.Waiting = nil
	busy := false
	for _, w := range waiting {
		switch {
		case w.busy:
			busy = true
		case ev.Attempts >= e.opts.MaxAttempts:
			out.Campaigns = append(out.Campaigns, CampaignOutcome{CampaignID: w.CampaignID, CampaignCode: w.CampaignCode,
				Plugin: w.Plugin, PluginVersion: w.PluginVersion, Status: OutcomeFailed, Code: CodeGaveUp,
				Reason: fmt.Sprintf("gave up after %d attempts: %s", ev.Attempts, w.Error)})
			continue
		}
		out.Waiting = append(out.Waiting, w.Waiting)
	}
	if len(out.Campaigns) == 0 && len(out.Waiting) == 0 {
		out.Reason = fmt.Sprintf("no live campaign handles events of type %q", ev.Type)
	}
	if len(out.Waiting) == 0 {
		ev.Status, ev.ProcessedAt, ev.LastError = StatusDone, &now, ""
		return nil, nil
	}
	ev.NextAttemptAt = now.Add(e.retryDelay(ev.Attempts))
	if busy {
		ev.NextAttemptAt = now.Add(max(e.retryDelay(ev.Attempts), e.opts.RetryMax))
	}
	ev.LastError = out.Waiting[0].Error
	return nil, nil
}

// settledWithoutEffects settles a decision that applies nothing: no effects, or a reject (which
// stands for the whole decision: none of the other effects are applied).
func settledWithoutEffects(d *decision, co *CampaignOutcome) bool {
	if len(d.effects) == 0 {
		co.Status, co.Reason = OutcomeNoEffect, d.noEffect
		if co.Reason == "" {
			co.Reason = "the plugin returned no effects"
		}
		return true
	}
	for _, eff := range d.effects {
		if eff.Kind == pluginhost.KindReject {
			co.Status, co.Code, co.Reason = OutcomeRejected, eff.Reject.Code, eff.Reject.Message
			return true
		}
	}
	return false
}

// applied is the result of writeEffects: what was applied, or why nothing was.
type applied struct {
	applied              []AppliedEffect
	failCode, failReason string
}

// applyEffects applies validated effects for one member of one campaign (writeEffects) and
// bumps the (campaign, member) state version when any is applied.
func (e *Engine) applyEffects(ctx context.Context, tx db.Tx, target effectTarget, effects []pluginhost.Effect) (applied, error) {
	out, err := e.writeEffects(ctx, tx, target, effects, nil)
	if err != nil || out.failCode != "" || len(effects) == 0 {
		return out, err
	}
	_, err = db.PG(tx).Exec(ctx, `INSERT INTO plugin_state (campaign_id, member_id, version, updated_at)
		VALUES ($1, $2, 1, $3)
		ON CONFLICT (campaign_id, member_id) DO UPDATE SET version = plugin_state.version + 1, updated_at = EXCLUDED.updated_at`,
		target.campaign.ID, target.memberID, target.now)
	return out, err
}

// writeEffects writes validated effects for one member of one campaign, in order. Credits go
// through a ledger batch: with a shared buffer, effects that are all credits are only queued
// there (the caller flushes it, and a refusal then fails the caller); otherwise the effects are
// written inside a savepoint, credits batched up to the next other effect, and if one of them
// is refused by the domain (a debit beyond the balance, an unknown benefit key) none of them
// is, and the result says why. Other errors abort the transaction. It does not touch the state
// version.
func (e *Engine) writeEffects(ctx context.Context, tx db.Tx, target effectTarget, effects []pluginhost.Effect,
	shared *creditBuffer) (applied, error) {
	var out applied
	if len(effects) == 0 {
		return out, nil
	}
	out.applied = make([]AppliedEffect, len(effects))
	if shared != nil && onlyCredits(effects) {
		for i := range effects {
			queueCredit(shared, target, i, &effects[i], &out.applied[i])
		}
		return out, nil
	}
	// Credits queued by earlier decisions come first; a refusal of theirs is not this
	// decision's, so it fails the caller.
	if err := shared.flush(ctx, e.ledger, tx); err != nil {
		return out, fmt.Errorf("engine: credits of the group: %w", err)
	}
	if _, err := db.PG(tx).Exec(ctx, "SAVEPOINT effects"); err != nil {
		return out, err
	}
	refused := func(i int, err error) (applied, error) {
		if !domainError(err) {
			return out, err
		}
		if _, rbErr := db.PG(tx).Exec(ctx, "ROLLBACK TO SAVEPOINT effects"); rbErr != nil {
			return out, rbErr
		}
		return applied{failCode: domainCode(err), failReason: fmt.Sprintf("effect %d (%s): %v", i, effects[i].Kind, err)}, nil
	}
	var own creditBuffer
	first := 0 // the first effect whose credit is in own
	for i := range effects {
		eff := &effects[i]
		if eff.Kind == pluginhost.KindCreditPoints {
			if len(own.ins) == 0 {
				first = i
			}
			queueCredit(&own, target, i, eff, &out.applied[i])
			continue
		}
		if err := own.flush(ctx, e.ledger, tx); err != nil {
			return refused(first, err)
		}
		a, err := appliers[eff.Kind].apply(ctx, e, tx, target, i, eff)
		if err != nil {
			return refused(i, err)
		}
		out.applied[i] = a
	}
	if err := own.flush(ctx, e.ledger, tx); err != nil {
		return refused(first, err)
	}
	if _, err := db.PG(tx).Exec(ctx, "RELEASE SAVEPOINT effects"); err != nil {
		return out, err
	}
	return out, nil
}

// checkVersion locks the (campaign, member) state row, creating it first, and reports whether
// its version is still the one the plugin saw. One statement: an upsert that keeps the row as
// it is locks an existing row the way FOR NO KEY UPDATE does, which every writer of the row
// also takes.
func (e *Engine) checkVersion(ctx context.Context, tx db.Tx, campaignID, memberID, seen int64, now time.Time) (bool, error) {
	var version int64
	if err := db.PG(tx).QueryRow(ctx, `INSERT INTO plugin_state (campaign_id, member_id, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (campaign_id, member_id) DO UPDATE SET updated_at = plugin_state.updated_at
		RETURNING version`, campaignID, memberID, now).Scan(&version); err != nil {
		return false, fmt.Errorf("engine: lock state: %w", err)
	}
	return version == seen, nil
}

func unavailable(err error) bool {
	return errors.Is(err, pluginhost.ErrUnavailable)
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

// snapshots reads what plugins are shown about the members for the campaigns: the members,
// their balances, current benefits, tiers and enrolments and the campaigns' states of them, in
// one round trip (a pgx.Batch of independent reads), and the codes of the programmes and
// campaigns these name (from codeCache, which rarely has to read).
func (e *Engine) snapshots(ctx context.Context, memberIDs []int64, camps map[int64]*campaigns.Campaign) (*snapshot, error) {
	s := &snapshot{members: map[int64]*members.Member{}, balances: map[int64][]ledger.Balance{},
		benefits: map[int64][]benefits.Benefit{}, tiers: map[int64][]benefits.Tier{},
		enrollments: map[int64][]benefits.Enrollment{}, state: map[[2]int64]stateRow{}}
	var cids, progIDs, campIDs []int64
	for id, c := range camps {
		cids = append(cids, id)
		progIDs = append(progIDs, c.ProgramID)
	}
	b := &pgx.Batch{}
	e.members.QueueGetMany(b, memberIDs, s.members)
	b.Queue(`SELECT program_id, member_id, available, pending, lifetime_earned, status_balance
		FROM accounts WHERE member_id = ANY($1::bigint[]) ORDER BY member_id, program_id`, memberIDs).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var b ledger.Balance
				if err := rows.Scan(&b.ProgramID, &b.MemberID, &b.Available, &b.Pending, &b.LifetimeEarned,
					&b.StatusBalance); err != nil {
					return fmt.Errorf("engine: balances: %w", err)
				}
				s.balances[b.MemberID] = append(s.balances[b.MemberID], b)
			}
			return rows.Err()
		})
	e.benefits.QueueCurrent(b, memberIDs, s.benefits)
	e.benefits.QueueTiers(b, memberIDs, s.tiers)
	e.benefits.QueueEnrollments(b, memberIDs, s.enrollments)
	b.Queue(`SELECT campaign_id, member_id, state, version FROM plugin_state
		WHERE campaign_id = ANY($1::bigint[]) AND member_id = ANY($2::bigint[])`, cids, memberIDs).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var k [2]int64
				var r stateRow
				if err := rows.Scan(&k[0], &k[1], &r.State, &r.Version); err != nil {
					return err
				}
				s.state[k] = r
			}
			return rows.Err()
		})
	if err := db.PG(e.db).SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	for _, m := range memberIDs {
		for _, b := range s.balances[m] {
			progIDs = append(progIDs, b.ProgramID)
		}
		for _, t := range s.tiers[m] {
			progIDs = append(progIDs, t.ProgramID)
		}
		for _, b := range s.benefits[m] {
			campIDs = append(campIDs, b.CampaignID)
		}
		for _, en := range s.enrollments[m] {
			campIDs = append(campIDs, en.CampaignID)
		}
	}
	var err error
	if s.programCodes, s.campaignCodes, err = e.codes.get(ctx, progIDs, campIDs); err != nil {
		return nil, err
	}
	return s, nil
}

// member returns the SDK snapshot of a member for a campaign, and the state version it shows.
func (s *snapshot) member(memberID, campaignID int64) (pluginhost.Member, int64) {
	m := s.members[memberID]
	st := s.state[[2]int64{campaignID, memberID}]
	out := pluginhost.Member{ID: strconv.FormatInt(memberID, 10), State: st.State, Version: st.Version}
	if string(out.State) == "null" {
		out.State = nil
	}
	if m != nil {
		out.ExternalRef, out.Name, out.Email, out.Phone = m.ExternalRef, m.Name, m.Email, m.Phone
		out.Region, out.Status, out.Attributes = m.Region, m.Status, m.Attributes
		if m.BirthDate != nil {
			out.BirthDate = m.BirthDate.Format("2006-01-02")
		}
	}
	for _, b := range s.balances[memberID] {
		out.Balances = append(out.Balances, pluginhost.Balance{Program: s.programCodes[b.ProgramID], Available: b.Available,
			Pending: b.Pending, LifetimeEarned: b.LifetimeEarned, StatusBalance: b.StatusBalance})
	}
	for _, t := range s.tiers[memberID] {
		out.Tiers = append(out.Tiers, pluginhost.Tier{Program: s.programCodes[t.ProgramID], Tier: t.Tier, ValidUntil: t.ValidUntil})
	}
	for _, b := range s.benefits[memberID] {
		out.Benefits = append(out.Benefits, pluginhost.Benefit{ID: strconv.FormatInt(b.ID, 10), Key: b.Key,
			Campaign: s.campaignCodes[b.CampaignID], Kind: b.Kind, Title: b.Title, Code: b.Code, Percent: b.Percent,
			Scope: b.Scope, Exclusions: b.Exclusions, ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil, Status: b.Status,
			Attributes: b.Attributes})
	}
	for _, en := range s.enrollments[memberID] {
		out.Enrollments = append(out.Enrollments, pluginhost.Enrollment{Campaign: s.campaignCodes[en.CampaignID],
			EnrolledAt: en.EnrolledAt, Answers: en.Answers, RegisteredBy: en.RegisteredBy, Responsible: en.Responsible})
	}
	return out, st.Version
}

func pluginCampaign(c *campaigns.Campaign, program string) pluginhost.Campaign {
	sc := pluginhost.Campaign{ID: strconv.FormatInt(c.ID, 10), Code: c.Code, Program: program, TimeZone: c.TimeZone,
		StartsAt: c.StartsAt, Config: c.Config}
	if c.EndsAt != nil {
		sc.EndsAt = *c.EndsAt
	}
	return sc
}

func pluginEvent(ev *Event) pluginhost.Event {
	return pluginhost.Event{ID: strconv.FormatInt(ev.ID, 10), Type: ev.Type, Source: ev.Source, ExternalID: ev.ExternalID,
		OccurredAt: ev.OccurredAt, Attributes: ev.Attributes}
}
