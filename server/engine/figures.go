package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/promogate/promogate/db"
)

// DayFigures count what happened to the events of one day that were routed to a campaign.
type DayFigures struct {
	// Date is the day, at midnight UTC (the day itself is in the campaign's time zone).
	Date time.Time
	// Applied, NoEffect, Waiting and Refused count events by the campaign's outcome: applied,
	// no effect, waiting for the plugin, and rejected or failed.
	Applied, NoEffect, Waiting, Refused int64
	// PointsIssued sums the positive points of the applied effects.
	PointsIssued int64
}

// ReasonCount is a no-effect reason and how many events it was given for.
type ReasonCount struct {
	Reason string
	Count  int64
}

// Figures are a campaign's outcome figures over a period of days.
type Figures struct {
	Days    []DayFigures
	Total   DayFigures
	Reasons []ReasonCount
}

// figuresSQL counts, per day of occurrence in the zone $2, the outcomes of campaign $1 stored on
// the events that occurred from $3 (inclusive) to $4 (exclusive): the campaign's entry in
// outcome.campaigns, or in outcome.waiting while its plugin has not answered. The containment
// tests (@>) let PostgreSQL skip events that never reached the campaign before unnesting.
const figuresSQL = `
WITH o AS (
	SELECT (e.occurred_at AT TIME ZONE $2)::date AS day, c->>'status' AS status,
		(SELECT coalesce(sum((x->>'points')::bigint), 0) FROM jsonb_array_elements(coalesce(c->'effects', '[]')) x
			WHERE (x->>'points')::bigint > 0) AS points
	FROM events e CROSS JOIN LATERAL jsonb_array_elements(e.outcome->'campaigns') c
	WHERE e.occurred_at >= $3 AND e.occurred_at < $4
		AND e.outcome @> jsonb_build_object('campaigns', jsonb_build_array(jsonb_build_object('campaignId', $1::bigint)))
		AND (c->>'campaignId')::bigint = $1
	UNION ALL
	SELECT (e.occurred_at AT TIME ZONE $2)::date, 'waiting', 0
	FROM events e
	WHERE e.occurred_at >= $3 AND e.occurred_at < $4
		AND e.outcome @> jsonb_build_object('waiting', jsonb_build_array(jsonb_build_object('campaignId', $1::bigint)))
)
SELECT day::text,
	count(*) FILTER (WHERE status = 'applied'),
	count(*) FILTER (WHERE status = 'no_effect'),
	count(*) FILTER (WHERE status = 'waiting'),
	count(*) FILTER (WHERE status IN ('rejected', 'failed')),
	coalesce(sum(points) FILTER (WHERE status = 'applied'), 0)
FROM o GROUP BY day ORDER BY day`

// reasonsSQL lists campaign $1's most common no-effect reasons on the events that occurred
// from $2 (inclusive) to $3 (exclusive).
const reasonsSQL = `
SELECT coalesce(nullif(c->>'reason', ''), '(no reason given)') AS reason, count(*) AS n
FROM events e CROSS JOIN LATERAL jsonb_array_elements(e.outcome->'campaigns') c
WHERE e.occurred_at >= $2 AND e.occurred_at < $3
	AND e.outcome @> jsonb_build_object('campaigns', jsonb_build_array(jsonb_build_object('campaignId', $1::bigint)))
	AND (c->>'campaignId')::bigint = $1 AND c->>'status' = 'no_effect'
GROUP BY 1 ORDER BY n DESC, reason LIMIT 10`

// CampaignFigures counts the outcomes of campaign campaignID on the events that occurred on the
// days from first to last (inclusive, as calendar dates: only their year, month and day count),
// days taken in loc. Every day of the period has an entry, in order, days without events too.
func (e *Engine) CampaignFigures(ctx context.Context, campaignID int64, loc *time.Location, first, last time.Time) (*Figures, error) {
	from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	until := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	rows, err := db.PG(e.db).Query(ctx, figuresSQL, campaignID, loc.String(), from, until)
	if err != nil {
		return nil, fmt.Errorf("engine: campaign figures: %w", err)
	}
	defer rows.Close()
	byDay := map[string]DayFigures{}
	for rows.Next() {
		var d DayFigures
		var day string
		if err := rows.Scan(&day, &d.Applied, &d.NoEffect, &d.Waiting, &d.Refused, &d.PointsIssued); err != nil {
			return nil, fmt.Errorf("engine: campaign figures: %w", err)
		}
		byDay[day] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engine: campaign figures: %w", err)
	}
	f := &Figures{}
	for day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC); !day.After(last); day = day.AddDate(0, 0, 1) {
		d := byDay[day.Format(time.DateOnly)]
		d.Date = day
		f.Days = append(f.Days, d)
		f.Total.Applied += d.Applied
		f.Total.NoEffect += d.NoEffect
		f.Total.Waiting += d.Waiting
		f.Total.Refused += d.Refused
		f.Total.PointsIssued += d.PointsIssued
	}
	rows, err = db.PG(e.db).Query(ctx, reasonsSQL, campaignID, from, until)
	if err != nil {
		return nil, fmt.Errorf("engine: campaign no-effect reasons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ReasonCount
		if err := rows.Scan(&r.Reason, &r.Count); err != nil {
			return nil, fmt.Errorf("engine: campaign no-effect reasons: %w", err)
		}
		f.Reasons = append(f.Reasons, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engine: campaign no-effect reasons: %w", err)
	}
	return f, nil
}

// MemberEvents returns up to limit of a member's events with ids below beforeID (0: from the
// newest), newest first, and whether more follow.
func (e *Engine) MemberEvents(ctx context.Context, memberID, beforeID int64, limit int) ([]Event, bool, error) {
	if beforeID == 0 {
		beforeID = 1<<63 - 1
	}
	evs, err := e.queryEvents(ctx, e.db, `SELECT `+eventColumns+` FROM events WHERE member_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
		memberID, beforeID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("engine: member events: %w", err)
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	return evs, more, nil
}
