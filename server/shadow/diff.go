package shadow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/promogate/promogate/db"
)

// Period bounds a diff by the events' time: From inclusive, Until exclusive; nil is open.
type Period struct {
	From, Until *time.Time
}

// Summary compares a shadow with the live campaign over the events of a period.
type Summary struct {
	// Events is how many events the shadow was given; Pending of them wait for its decision,
	// Failed got none (its plugin gave no usable answer), Decided got one.
	Events, Pending, Failed, Decided int64
	// Agreed and Disagreed split Decided.
	Agreed, Disagreed int64
	// LivePoints and ShadowPoints are the points each side's decisions on the Decided events
	// would issue (credits); LiveBenefits and ShadowBenefits the benefits they would grant.
	LivePoints, ShadowPoints     int64
	LiveBenefits, ShadowBenefits int64
	// MembersAffected is how many members had at least one decided event the two disagree on.
	MembersAffected int64
	// LastError is the latest reason the shadow's plugin gave no decision, or "".
	LastError string
}

// Diff summarises shadow shadowID's decisions over the period.
func (s *Service) Diff(ctx context.Context, shadowID int64, p Period) (*Summary, error) {
	var out Summary
	err := db.PG(s.db).QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status = 'decided'),
			count(*) FILTER (WHERE status = 'decided' AND agree), count(*) FILTER (WHERE status = 'decided' AND NOT agree),
			coalesce(sum(live_points) FILTER (WHERE status = 'decided'), 0)::bigint,
			coalesce(sum(shadow_points) FILTER (WHERE status = 'decided'), 0)::bigint,
			coalesce(sum(live_benefits) FILTER (WHERE status = 'decided'), 0)::bigint,
			coalesce(sum(shadow_benefits) FILTER (WHERE status = 'decided'), 0)::bigint,
			count(DISTINCT member_id) FILTER (WHERE status = 'decided' AND NOT agree),
			coalesce((array_agg(last_error ORDER BY decided_at DESC NULLS FIRST, event_id DESC)
				FILTER (WHERE last_error <> ''))[1], '')
		FROM shadow_decisions WHERE shadow_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2)
			AND ($3::timestamptz IS NULL OR occurred_at < $3)`, shadowID, p.From, p.Until).Scan(
		&out.Events, &out.Pending, &out.Failed, &out.Decided, &out.Agreed, &out.Disagreed, &out.LivePoints, &out.ShadowPoints,
		&out.LiveBenefits, &out.ShadowBenefits, &out.MembersAffected, &out.LastError)
	if err != nil {
		return nil, fmt.Errorf("shadow: diff: %w", err)
	}
	return &out, nil
}

// Example is one event the shadow and the live campaign decided differently.
type Example struct {
	EventID, MemberID int64
	OccurredAt        time.Time
	Live, Shadow      Decision
}

// Examples returns up to limit decided events of the period that the two disagree on, in
// event order after the event afterID (0: from the first), and whether there are more.
func (s *Service) Examples(ctx context.Context, shadowID int64, p Period, afterID int64, limit int) ([]Example, bool, error) {
	rows, err := db.PG(s.db).Query(ctx, `SELECT event_id, member_id, occurred_at, live, shadow FROM shadow_decisions
		WHERE shadow_id = $1 AND status = 'decided' AND NOT agree AND event_id > $2
			AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4)
		ORDER BY event_id LIMIT $5`, shadowID, afterID, p.From, p.Until, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("shadow: examples: %w", err)
	}
	defer rows.Close()
	var out []Example
	for rows.Next() {
		var ex Example
		var live, shadow []byte
		if err := rows.Scan(&ex.EventID, &ex.MemberID, &ex.OccurredAt, &live, &shadow); err != nil {
			return nil, false, fmt.Errorf("shadow: examples: %w", err)
		}
		if err := json.Unmarshal(live, &ex.Live); err != nil {
			return nil, false, fmt.Errorf("shadow: examples: %w", err)
		}
		if err := json.Unmarshal(shadow, &ex.Shadow); err != nil {
			return nil, false, fmt.Errorf("shadow: examples: %w", err)
		}
		out = append(out, ex)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("shadow: examples: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
