package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/hook"
	"github.com/promogate/promogate/server/pluginhost"
)

// tickPage is the engine's hook.Page: ReadTick reads it, EvaluateTick asks the campaign's
// plugin for its effects, ApplyTick writes them.
type tickPage struct {
	run       hook.Run
	cursor    int64 // the run's cursor the page starts after
	next      int64 // the page's last enrolment: the run's cursor once the page is applied
	count     int   // enrolments in the page
	more      bool  // enrolments follow the page
	memberIDs []int64
	members   map[int64]bool
	results   map[int64][]pluginhost.Effect
	versions  map[int64]int64    // the state version each member's evaluation saw
	issues    map[int64][]string // a member's effects the engine refused at evaluation
	problems  []string           // results the engine could not place
	now       time.Time
}

// ownPage returns the engine's page behind p, or an error when another implementation made it.
func ownPage(p hook.Page) (*tickPage, error) {
	tp, ok := p.(*tickPage)
	if !ok {
		return nil, fmt.Errorf("engine: a hook page of type %T, not one ReadTick read", p)
	}
	return tp, nil
}

// maxTickEvaluations bounds how many times ApplyTick evaluates a member whose state keeps
// changing under it before it gives up on the page (the scheduler tries the page again later).
const maxTickEvaluations = 4

// errStaleStates rolls back a page in which a member's state changed since its evaluation.
var errStaleStates = errors.New("engine: tick page: member states changed since evaluation")

var _ hook.Page = (*tickPage)(nil)

// Cursor implements hook.Page.
func (p *tickPage) Cursor() int64 { return p.cursor }

// Next implements hook.Page.
func (p *tickPage) Next() int64 { return p.next }

// More implements hook.Page.
func (p *tickPage) More() bool { return p.more }

// Shares implements hook.Page. A page the engine did not read shares, to be safe.
func (p *tickPage) Shares(other hook.Page) bool {
	q, ok := other.(*tickPage)
	if !ok {
		return true
	}
	a, b := p.members, q.members
	if len(a) > len(b) {
		a, b = b, a
	}
	for id := range a {
		if b[id] {
			return true
		}
	}
	return false
}

// TickPage evaluates the next page (up to limit enrolments after cursor) of a scheduled hook
// with the campaign's plugin and applies the effects. The page's effects and the run's new
// cursor are written in one transaction, under the tick_runs row lock and only if the cursor
// is still the one this page started from, so a page is applied exactly once even when two
// replicas work on the same run. It returns the new cursor and whether the run is complete.
func (e *Engine) TickPage(ctx context.Context, run hook.Run, cursor int64, limit int) (int64, bool, error) {
	p, err := e.ReadTick(ctx, run, cursor, limit)
	if err != nil {
		return cursor, false, err
	}
	if err := e.EvaluateTick(ctx, p); err != nil {
		return cursor, false, err
	}
	return e.ApplyTick(ctx, p)
}

// ReadTick reads the page of up to limit enrolments after cursor.
func (e *Engine) ReadTick(ctx context.Context, run hook.Run, cursor int64, limit int) (hook.Page, error) {
	page, more, err := e.benefits.ParticipantPage(ctx, run.Campaign.ID, cursor, limit)
	if err != nil {
		return nil, err
	}
	p := &tickPage{run: run, cursor: cursor, next: cursor, count: len(page), more: more, members: map[int64]bool{}}
	for _, en := range page {
		if !p.members[en.MemberID] {
			p.members[en.MemberID] = true
			p.memberIDs = append(p.memberIDs, en.MemberID)
		}
	}
	if len(page) > 0 {
		p.next = page[len(page)-1].EnrollmentID
	}
	return p, nil
}

// EvaluateTick takes a snapshot of the page's members and asks the campaign's plugin for the
// page's effects, which it validates. It writes nothing; it may run while earlier pages are
// applied, as long as the page shares no member with them (see Shares).
func (e *Engine) EvaluateTick(ctx context.Context, page hook.Page) error {
	p, err := ownPage(page)
	if err != nil {
		return err
	}
	p.results, p.versions, p.issues, p.problems = map[int64][]pluginhost.Effect{}, map[int64]int64{}, map[int64][]string{}, nil
	p.now = e.now().UTC()
	return e.evaluateTick(ctx, p, p.memberIDs)
}

// evaluateTick evaluates the page's members ids (all of them, or those whose state changed
// since their last evaluation), replacing what an earlier evaluation found for them.
func (e *Engine) evaluateTick(ctx context.Context, p *tickPage, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	c := p.run.Campaign
	snap, err := e.snapshots(ctx, ids, map[int64]*campaigns.Campaign{c.ID: c})
	if err != nil {
		return err
	}
	req := pluginhost.TickRequest{Campaign: pluginCampaign(c, snap.programCodes[c.ProgramID]), Hook: p.run.Hook, Now: p.run.Due,
		Members: make([]pluginhost.Member, 0, len(ids))}
	asked := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m, version := snap.member(id, c.ID)
		req.Members = append(req.Members, m)
		asked[id], p.versions[id] = true, version
		delete(p.results, id)
		delete(p.issues, id)
	}
	resp, err := e.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}).Tick(ctx, req)
	if err != nil {
		return err
	}
	for _, r := range resp.Results {
		id, err := strconv.ParseInt(r.MemberID, 10, 64)
		if err != nil || !asked[id] {
			p.problems = append(p.problems, fmt.Sprintf("result for member %q outside the page", r.MemberID))
			continue
		}
		if err := validateEffects(r.Effects, &e.opts.Limits, p.now); err != nil {
			p.issues[id] = append(p.issues[id], fmt.Sprintf("member %d: %v", id, err))
			continue
		}
		p.results[id] = append(p.results[id], r.Effects...)
	}
	return nil
}

// ApplyTick writes an evaluated page: its effects and the run's new cursor, in one transaction
// under the tick_runs row lock and only if the run's cursor is still the one the page started
// from (otherwise another replica applied it, and nothing is written). It returns the run's
// cursor and whether the run is complete.
//
// A member's effects are written only if its state version is still the one its evaluation
// saw, as for events: when an event changed the member's state in between, the transaction is
// rolled back, the changed members are evaluated again, and the page is applied again (at most
// maxTickEvaluations evaluations in all). Members without effects are not checked: an outcome
// of "nothing to do" writes nothing an event could have changed.
//
// Members whose effects are only grants of benefits without codes and put_state (a month's
// gifts) are written together: one insert of their benefits, one update of their states and
// versions; the others one by one with applyEffects. The result is the same either way: the
// same rows, benefit ids in member order, and a member whose grant the benefits store refuses
// gets none of its effects and a problem in the run's last error.
func (e *Engine) ApplyTick(ctx context.Context, page hook.Page) (int64, bool, error) {
	p, err := ownPage(page)
	if err != nil {
		return page.Cursor(), false, err
	}
	for evaluations := 1; ; evaluations++ {
		next, done, stale, err := e.applyTick(ctx, p)
		if err != nil {
			return p.cursor, false, err
		}
		if len(stale) == 0 {
			return next, done, nil
		}
		if evaluations == maxTickEvaluations {
			return p.cursor, false, fmt.Errorf("engine: tick page after %d: the states of %d members kept changing during %d evaluations",
				p.cursor, len(stale), evaluations)
		}
		if err := e.evaluateTick(ctx, p, stale); err != nil {
			return p.cursor, false, err
		}
	}
}

// applyTick is one attempt of ApplyTick. It returns the members whose state changed since their
// evaluation, having written nothing, or none and the run's cursor after the page.
func (e *Engine) applyTick(ctx context.Context, p *tickPage) (next int64, done bool, stale []int64, err error) {
	err = e.runTx(ctx, func(ctx context.Context, tx db.Tx) error {
		next, done, stale = p.next, !p.more, nil
		problems := slices.Clone(p.problems)
		var current int64
		if err := db.PG(tx).QueryRow(ctx, `SELECT cursor FROM tick_runs WHERE campaign_id = $1 AND hook = $2 AND due_at = $3 FOR UPDATE`,
			p.run.Campaign.ID, p.run.Hook, p.run.Due).Scan(&current); err != nil {
			return fmt.Errorf("engine: lock tick run: %w", err)
		}
		if current != p.cursor {
			next, done = current, false // another replica applied this page; continue from its cursor
			return nil
		}
		var batch []memberEffects
		flush := func() error {
			changed, err := e.applyTickBatch(ctx, tx, p.run.Campaign, p.now, batch)
			stale = append(stale, changed...)
			batch = batch[:0]
			return err
		}
		for _, id := range p.memberIDs {
			problems = append(problems, p.issues[id]...)
			effects := p.results[id]
			if len(effects) == 0 {
				continue
			}
			if batchable(effects) {
				if problem := checkGrants(effects); problem != "" {
					problems = append(problems, fmt.Sprintf("member %d: %s", id, problem))
				} else {
					batch = append(batch, memberEffects{memberID: id, seen: p.versions[id], effects: effects})
				}
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			current, err := e.checkVersion(ctx, tx, p.run.Campaign.ID, id, p.versions[id], p.now)
			if err != nil {
				return err
			}
			if !current {
				stale = append(stale, id)
				continue
			}
			target := effectTarget{campaign: p.run.Campaign, memberID: id, now: p.now,
				keyPrefix: fmt.Sprintf("tick:%d:%s:%d:%d", p.run.Campaign.ID, p.run.Hook, p.run.Due.Unix(), id)}
			res, err := e.applyEffects(ctx, tx, target, effects)
			if err != nil {
				return err
			}
			if res.failCode != "" {
				problems = append(problems, fmt.Sprintf("member %d: %s", id, res.failReason))
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if len(stale) > 0 {
			return errStaleStates
		}
		lastError := ""
		if len(problems) > 0 {
			lastError = fmt.Sprint(problems)
			e.log.Warn("tick effects refused", "campaign", p.run.Campaign.Code, "hook", p.run.Hook, "problems", problems)
		}
		_, err := db.PG(tx).Exec(ctx, `UPDATE tick_runs SET cursor = $1, processed = processed + $2,
				last_error = CASE WHEN $3 = '' THEN last_error ELSE $3 END,
				status = CASE WHEN $4 THEN 'done' ELSE status END, finished_at = CASE WHEN $4 THEN now() ELSE finished_at END
			WHERE campaign_id = $5 AND hook = $6 AND due_at = $7`,
			next, p.count, lastError, done, p.run.Campaign.ID, p.run.Hook, p.run.Due)
		return err
	})
	if errors.Is(err, errStaleStates) {
		return p.cursor, false, stale, nil
	}
	return next, done, nil, err
}

// memberEffects are one member's effects in a tick page, and the state version its evaluation
// saw.
type memberEffects struct {
	memberID int64
	seen     int64
	effects  []pluginhost.Effect
}

// batchable reports whether applyTickBatch can write the effects: grants of benefits without
// codes and put_state only.
func batchable(effects []pluginhost.Effect) bool {
	for i := range effects {
		switch effects[i].Kind {
		case pluginhost.KindPutState:
		case pluginhost.KindGrantBenefit:
			if !benefits.Bulk(effects[i].GrantBenefit) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// checkGrants returns why applyEffects would refuse the effects (the benefits store refusing a
// grant), in applyEffects' words, or "".
func checkGrants(effects []pluginhost.Effect) string {
	for i := range effects {
		if effects[i].Kind != pluginhost.KindGrantBenefit {
			continue
		}
		if err := benefits.Check(effects[i].GrantBenefit); err != nil {
			return fmt.Sprintf("effect %d (%s): %v", i, effects[i].Kind, err)
		}
	}
	return ""
}

// applyTickBatch writes what applyEffects writes for each member of batch (checked grants of
// benefits without codes and put_state only), with three statements for all of them: the
// benefits, then each member's state (its last put_state, as applyPutState writes it) with its
// version bumped, then the state and version of members without a state row. It returns the members whose state version is no longer the one their evaluation saw;
// the caller then rolls the transaction back.
func (e *Engine) applyTickBatch(ctx context.Context, tx db.Tx, c *campaigns.Campaign, now time.Time, batch []memberEffects) ([]int64, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	var grants []benefits.Grantee
	ids := make([]int64, len(batch))
	seen := make([]int64, len(batch))
	puts := make([]bool, len(batch))
	states := make([]string, len(batch))
	for i, m := range batch {
		ids[i], seen[i], states[i] = m.memberID, m.seen, "null"
		t := benefits.Target{MemberID: m.memberID, CampaignID: c.ID, ProgramID: c.ProgramID}
		for j := range m.effects {
			switch eff := &m.effects[j]; eff.Kind {
			case pluginhost.KindGrantBenefit:
				grants = append(grants, benefits.Grantee{Target: t, Grant: eff.GrantBenefit})
			case pluginhost.KindPutState:
				puts[i] = true
				states[i] = string(stateJSON(eff.PutState.State))
			}
		}
	}
	found, err := memberSet(db.PG(tx).Query(ctx, `UPDATE plugin_state AS s
		SET state = CASE WHEN u.put THEN u.state::jsonb ELSE s.state END, version = s.version + 1, updated_at = $1
		FROM unnest($2::bigint[], $3::bigint[], $4::boolean[], $5::text[]) AS u(member_id, seen, put, state)
		WHERE s.campaign_id = $6 AND s.member_id = u.member_id AND s.version = u.seen
		RETURNING s.member_id`, now, ids, seen, puts, states, c.ID))
	if err != nil {
		return nil, fmt.Errorf("engine: tick states: %w", err)
	}
	// A member the update missed had no state row when it was evaluated (version 0) and gets one
	// now, or its state changed since.
	var stale, missing []int64
	var missingStates []string
	for i, id := range ids {
		switch {
		case found[id]:
		case seen[i] == 0:
			missing, missingStates = append(missing, id), append(missingStates, states[i])
		default:
			stale = append(stale, id)
		}
	}
	if len(missing) > 0 {
		created, err := memberSet(db.PG(tx).Query(ctx, `INSERT INTO plugin_state (campaign_id, member_id, state, version, updated_at)
			SELECT $1, u.member_id, u.state::jsonb, 1, $2 FROM unnest($3::bigint[], $4::text[]) AS u(member_id, state)
			ON CONFLICT (campaign_id, member_id) DO NOTHING
			RETURNING member_id`, c.ID, now, missing, missingStates))
		if err != nil {
			return nil, fmt.Errorf("engine: tick versions: %w", err)
		}
		for _, id := range missing {
			if !created[id] {
				stale = append(stale, id)
			}
		}
	}
	if len(stale) > 0 {
		return stale, nil
	}
	if len(grants) > 0 {
		if _, err := benefits.GrantMany(ctx, tx, grants, now); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// stateJSON is the document applyPutState stores for a put_state's state.
func stateJSON(state json.RawMessage) json.RawMessage {
	if len(state) == 0 {
		return json.RawMessage("null")
	}
	return state
}

// memberSet collects the member ids a statement returned.
func memberSet(rows pgx.Rows, err error) (map[int64]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		set[id] = true
	}
	return set, rows.Err()
}
