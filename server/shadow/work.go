package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/pluginhost"
)

// Decision is one side's decision on an event, as stored and compared.
type Decision struct {
	Effects        []pluginhost.Effect `json:"effects"`
	NoEffectReason string              `json:"noEffectReason,omitempty"`
	// Error says why the plugin gave no usable answer.
	Error string `json:"error,omitempty"`
	// Status and Code are the live outcome's (applied, no_effect, rejected, failed).
	Status string `json:"status,omitempty"`
	Code   string `json:"code,omitempty"`
}

// Points is the sum of the decision's credits: the points it would issue.
func (d *Decision) Points() int64 {
	var n int64
	for _, e := range d.Effects {
		if e.Kind == pluginhost.KindCreditPoints && e.Credit != nil {
			n += e.Credit.Amount
		}
	}
	return n
}

// Benefits is how many benefits the decision would grant.
func (d *Decision) Benefits() int {
	n := 0
	for _, e := range d.Effects {
		if e.Kind == pluginhost.KindGrantBenefit {
			n++
		}
	}
	return n
}

// agree reports whether two decisions are the same: the same effects (payloads included), and
// both or neither without a usable answer. The reasons given for no effect do not count.
func agree(a, b *Decision) bool {
	if (a.Error == "") != (b.Error == "") {
		return false
	}
	if len(a.Effects) == 0 && len(b.Effects) == 0 {
		return true
	}
	x, errX := json.Marshal(a.Effects)
	y, errY := json.Marshal(b.Effects)
	return errX == nil && errY == nil && string(x) == string(y)
}

// Enqueue stores one pending row per decision of a campaign with an attached shadow, inside
// the live transaction tx (engine.Shadows). A row the shadow already holds for the event is
// left as it is, and a decision for a campaign whose shadow was dropped or promoted meanwhile
// is ignored. One statement.
func (s *Service) Enqueue(ctx context.Context, tx db.Tx, decided []engine.Decided) error {
	n := len(decided)
	cids, eids, mids, points, benefits := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	occurred := make([]time.Time, n)
	camps, items, lives := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range decided {
		live := Decision{Effects: d.Result.Effects, NoEffectReason: d.Result.NoEffectReason, Error: d.Error,
			Status: d.Outcome.Status, Code: d.Outcome.Code}
		c, err := json.Marshal(d.Campaign)
		if err != nil {
			return fmt.Errorf("shadow: encode campaign: %w", err)
		}
		it, err := json.Marshal(d.Item)
		if err != nil {
			return fmt.Errorf("shadow: encode item: %w", err)
		}
		l, err := json.Marshal(live)
		if err != nil {
			return fmt.Errorf("shadow: encode decision: %w", err)
		}
		cids[i], eids[i], mids[i], occurred[i] = d.CampaignID, d.EventID, d.MemberID, d.OccurredAt
		camps[i], items[i], lives[i], points[i], benefits[i] = string(c), string(it), string(l), live.Points(), int64(live.Benefits())
	}
	_, err := db.PG(tx).Exec(ctx, `INSERT INTO shadow_decisions (shadow_id, event_id, member_id, occurred_at, recorded_at,
			campaign, item, live, live_points, live_benefits, next_attempt_at)
		SELECT s.id, d.e, d.m, d.o, $9, d.c::jsonb, d.i::jsonb, d.l::jsonb, d.p, d.b, $9
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
			$8::bigint[], $10::int[]) AS d(campaign, e, m, o, c, i, l, p, b)
		JOIN campaign_shadows s ON s.campaign_id = d.campaign AND s.status = 'attached'
		ON CONFLICT (shadow_id, event_id) DO NOTHING`, cids, eids, mids, occurred, camps, items, lives, points, s.now().UTC(),
		benefits)
	if err != nil {
		return fmt.Errorf("shadow: enqueue: %w", err)
	}
	return nil
}

// Run evaluates pending rows and refreshes the set of shadowed campaigns until ctx is done.
func (s *Service) Run(ctx context.Context) {
	refreshed := time.Time{}
	for {
		if time.Since(refreshed) >= s.opts.Refresh {
			if err := s.refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("shadow: refresh failed", "error", err)
			}
			refreshed = time.Now()
		}
		n, err := s.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("shadow: pass failed", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.PollInterval):
		}
	}
}

// row is a claimed pending row.
type row struct {
	shadowID, eventID int64
	campaign, item    json.RawMessage
	live              json.RawMessage
	attempts          int
}

// Pass claims up to Options.BatchSize pending rows that are due, asks their shadows' plugins
// to decide (one call per shadow and campaign snapshot) and stores the decisions, returning how
// many rows it claimed. A claimed row is leased: another replica leaves it alone until the
// lease (twice the deadline) runs out, so one that dies mid-pass loses nothing.
func (s *Service) Pass(ctx context.Context) (int, error) {
	now := s.now().UTC()
	rows, err := db.PG(s.db).Query(ctx, `UPDATE shadow_decisions d SET next_attempt_at = $2
		FROM (SELECT shadow_id, event_id FROM shadow_decisions WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, event_id LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE d.shadow_id = c.shadow_id AND d.event_id = c.event_id
		RETURNING d.shadow_id, d.event_id, d.campaign, d.item, d.live, d.attempts`, now, now.Add(2*s.opts.Deadline), s.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("shadow: claim: %w", err)
	}
	var claimed []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.shadowID, &r.eventID, &r.campaign, &r.item, &r.live, &r.attempts); err != nil {
			rows.Close()
			return 0, fmt.Errorf("shadow: claim: %w", err)
		}
		claimed = append(claimed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("shadow: claim: %w", err)
	}
	if len(claimed) == 0 {
		return 0, nil
	}
	type group struct {
		shadowID int64
		campaign string
	}
	var order []group
	groups := map[group][]row{}
	for _, r := range claimed {
		g := group{r.shadowID, string(r.campaign)}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	shadows := map[int64]*Shadow{}
	for _, g := range order {
		sh := shadows[g.shadowID]
		if sh == nil {
			sh = &Shadow{}
			if err := s.db.NewSelect().Model(sh).Where("id = ?", g.shadowID).Scan(ctx); err != nil {
				return 0, fmt.Errorf("shadow: load shadow %d: %w", g.shadowID, err)
			}
			shadows[g.shadowID] = sh
		}
		if err := s.decide(ctx, sh, json.RawMessage(g.campaign), groups[g]); err != nil {
			return 0, err
		}
	}
	return len(claimed), nil
}

// decide asks sh's plugin about rows (of one campaign snapshot) and stores the answers.
func (s *Service) decide(ctx context.Context, sh *Shadow, campaign json.RawMessage, rows []row) error {
	var c pluginhost.Campaign
	req := pluginhost.EvaluateRequest{Items: make([]pluginhost.EvaluateItem, len(rows))}
	err := json.Unmarshal(campaign, &c)
	for i := range rows {
		if err != nil {
			break
		}
		err = json.Unmarshal(rows[i].item, &req.Items[i])
	}
	if err != nil {
		return fmt.Errorf("shadow: decode row: %w", err)
	}
	c.Config = sh.Config
	req.Campaign = c
	prog := s.plugins.Isolated(pluginhost.Key{Name: sh.PluginName, Version: sh.PluginVersion}, Lane, s.opts.Deadline)
	resp, err := prog.Evaluate(ctx, req)
	if err == nil && len(resp.Results) != len(rows) {
		err = fmt.Errorf("the plugin returned %d results for %d events", len(resp.Results), len(rows))
	}
	now := s.now().UTC()
	n := len(rows)
	eids, attempts := make([]int64, n), make([]int64, n)
	statuses, decisions, lastErr, agrees := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	points, benefits := make([]int64, n), make([]int64, n)
	next := make([]time.Time, n)
	for i, r := range rows {
		eids[i], attempts[i], next[i] = r.eventID, int64(r.attempts+1), now
		switch {
		case err != nil && errors.Is(err, pluginhost.ErrUnavailable) && r.attempts+1 < s.opts.MaxAttempts:
			statuses[i], lastErr[i] = "pending", err.Error()
			next[i] = now.Add(min(s.opts.RetryMin<<r.attempts, s.opts.RetryMax))
			continue
		}
		var live Decision
		if uErr := json.Unmarshal(r.live, &live); uErr != nil {
			return fmt.Errorf("shadow: decode live decision: %w", uErr)
		}
		var d Decision
		if err != nil {
			d.Error = err.Error()
			statuses[i], lastErr[i] = "failed", d.Error
		} else {
			d = Decision{Effects: resp.Results[i].Effects, NoEffectReason: resp.Results[i].NoEffectReason}
			statuses[i], points[i], benefits[i] = "decided", d.Points(), int64(d.Benefits())
		}
		b, mErr := json.Marshal(d)
		if mErr != nil {
			return fmt.Errorf("shadow: encode decision: %w", mErr)
		}
		decisions[i], agrees[i] = string(b), fmt.Sprint(agree(&live, &d))
	}
	if err != nil {
		s.log.Debug("shadow: plugin gave no decision", "shadow", sh.ID, "plugin", sh.PluginName, "version", sh.PluginVersion,
			"events", n, "error", err)
	}
	_, err = db.PG(s.db).Exec(ctx, `UPDATE shadow_decisions d SET status = u.status, attempts = u.attempts,
			next_attempt_at = u.next, last_error = u.last_error, shadow = nullif(u.shadow, '')::jsonb,
			shadow_points = u.points, shadow_benefits = u.benefits,
			agree = nullif(u.agree, '')::boolean,
			decided_at = CASE WHEN u.status = 'pending' THEN NULL ELSE $9::timestamptz END
		FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[], $7::text[], $8::bigint[], $10::int[],
			$11::text[]) AS u(event_id, status, attempts, next, last_error, shadow, points, benefits, agree)
		WHERE d.shadow_id = $1 AND d.event_id = u.event_id`, sh.ID, eids, statuses, attempts, next, lastErr, decisions, points, now,
		benefits, agrees)
	if err != nil {
		return fmt.Errorf("shadow: store decisions: %w", err)
	}
	return nil
}
