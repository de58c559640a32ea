package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/pluginhost"
)

// TickRun names one occurrence of a campaign's scheduled hook.
type TickRun struct {
	Campaign *campaigns.Campaign
	Hook     string
	Due      time.Time
}

// TickPage evaluates the next page (up to limit enrolments after cursor) of a scheduled hook
// with the campaign's plugin and applies the effects. The page's effects and the run's new
// cursor are written in one transaction, under the tick_runs row lock and only if the cursor
// is still the one this page started from, so a page is applied exactly once even when two
// replicas work on the same run. It returns the new cursor and whether the run is complete.
func (e *Engine) TickPage(ctx context.Context, run TickRun, cursor int64, limit int) (int64, bool, error) {
	page, more, err := e.benefits.Participants(ctx, run.Campaign.ID, cursor, limit)
	if err != nil {
		return cursor, false, err
	}
	var memberIDs []int64
	seen := map[int64]bool{}
	for _, en := range page {
		if !seen[en.MemberID] {
			seen[en.MemberID] = true
			memberIDs = append(memberIDs, en.MemberID)
		}
	}
	next := cursor
	if len(page) > 0 {
		next = page[len(page)-1].ID
	}
	results := map[int64][]sdk.Effect{}
	var problems []string
	now := e.now().UTC()
	if len(memberIDs) > 0 {
		c := run.Campaign
		snap, err := e.snapshots(ctx, memberIDs, map[int64]*campaigns.Campaign{c.ID: c})
		if err != nil {
			return cursor, false, err
		}
		req := sdk.TickRequest{Campaign: sdkCampaign(c, snap.programCodes[c.ProgramID]), Hook: run.Hook, Now: run.Due}
		for _, id := range memberIDs {
			m, _ := snap.member(id, c.ID)
			req.Members = append(req.Members, m)
		}
		resp, err := e.plugins.Program(pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}).Tick(ctx, req)
		if err != nil {
			return cursor, false, err
		}
		for _, r := range resp.Results {
			id, err := strconv.ParseInt(r.MemberID, 10, 64)
			if err != nil || !seen[id] {
				problems = append(problems, fmt.Sprintf("result for member %q outside the page", r.MemberID))
				continue
			}
			if err := validateEffects(r.Effects, &e.opts.Limits, now); err != nil {
				problems = append(problems, fmt.Sprintf("member %d: %v", id, err))
				continue
			}
			results[id] = append(results[id], r.Effects...)
		}
	}
	done := !more
	err = e.runTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var current int64
		if err := tx.NewRaw(`SELECT cursor FROM tick_runs WHERE campaign_id = ? AND hook = ? AND due_at = ? FOR UPDATE`,
			run.Campaign.ID, run.Hook, run.Due).Scan(ctx, &current); err != nil {
			return fmt.Errorf("engine: lock tick run: %w", err)
		}
		if current != cursor {
			next, done = current, false // another replica applied this page; continue from its cursor
			return nil
		}
		for _, id := range memberIDs {
			effects := results[id]
			if len(effects) == 0 {
				continue
			}
			target := effectTarget{campaign: run.Campaign, memberID: id, now: now,
				keyPrefix: fmt.Sprintf("tick:%d:%s:%d:%d", run.Campaign.ID, run.Hook, run.Due.Unix(), id)}
			res, err := e.applyEffects(ctx, tx, target, effects)
			if err != nil {
				return err
			}
			if res.failCode != "" {
				problems = append(problems, fmt.Sprintf("member %d: %s", id, res.failReason))
			}
		}
		lastError := ""
		if len(problems) > 0 {
			lastError = fmt.Sprint(problems)
			e.log.Warn("tick effects refused", "campaign", run.Campaign.Code, "hook", run.Hook, "problems", problems)
		}
		q := `UPDATE tick_runs SET cursor = ?, processed = processed + ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END`
		if done {
			q += `, status = 'done', finished_at = now()`
		}
		_, err := tx.NewRaw(q+` WHERE campaign_id = ? AND hook = ? AND due_at = ?`,
			next, len(page), lastError, lastError, run.Campaign.ID, run.Hook, run.Due).Exec(ctx)
		return err
	})
	if err != nil {
		return cursor, false, err
	}
	return next, done, nil
}
