package benefits

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Enrollment is a member's registration in a campaign.
type Enrollment struct {
	bun.BaseModel `bun:"table:enrollments"`

	ID             int64          `bun:"id,pk,autoincrement"`
	CampaignID     int64          `bun:"campaign_id"`
	MemberID       int64          `bun:"member_id"`
	IdempotencyKey string         `bun:"idempotency_key"`
	InputHash      []byte         `bun:"input_hash"`
	Answers        map[string]any `bun:"answers,type:jsonb"`
	RegisteredBy   string         `bun:"registered_by"`
	Responsible    string         `bun:"responsible"`
	EnrolledAt     time.Time      `bun:"enrolled_at"`
}

// Store reads benefits, tiers and enrolments, and runs their scheduled transitions.
type Store struct {
	db *db.DB
}

// NewStore returns a store on bdb.
func NewStore(bdb *db.DB) *Store { return &Store{db: bdb} }

// Page selects a page of a member's rows, newest first.
type Page struct {
	MemberID   int64
	ActiveOnly bool
	At         time.Time // with ActiveOnly: in force at this moment
	BeforeID   int64
	Limit      int
}

// listQuery reads a page of a member's benefits, newest first: $1 the member, $2 the cursor
// (ids below it), $3 the number of rows, and with $4 only those in force at $5.
const listQuery = `SELECT * FROM benefits WHERE member_id = $1 AND id < $2
	AND (NOT $4::boolean OR (status = 'active' AND (valid_from IS NULL OR valid_from <= $5)
	                         AND (valid_until IS NULL OR valid_until + interval '1 second' > $5)))
	ORDER BY id DESC LIMIT $3`

// List returns a page of the member's benefits and whether more follow.
func (s *Store) List(ctx context.Context, p Page) ([]Benefit, bool, error) {
	before := p.BeforeID
	if before == 0 {
		before = math.MaxInt64
	}
	bs, err := collect[Benefit](ctx, s.db, listQuery, p.MemberID, before, p.Limit+1, p.ActiveOnly, p.At)
	if err != nil {
		return nil, false, fmt.Errorf("benefits: list: %w", err)
	}
	more := len(bs) > p.Limit
	if more {
		bs = bs[:p.Limit]
	}
	return bs, more, nil
}

// collect runs a read on pgx and scans its rows into models.
func collect[T any](ctx context.Context, idb bun.IDB, query string, args ...any) ([]T, error) {
	rows, err := db.PG(idb).Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return db.Collect[T](rows)
}

// ofMembers is the FROM clause of Current, Tiers and Enrollments: the rows of table for the
// members in the array parameter $1, found with the table's member index one member at a time
// (OFFSET 0 keeps the planner from joining otherwise, which it would do on a table whose
// statistics are out of date, e.g. a benefits table that was empty when last analysed).
func ofMembers(table, where string) string {
	return `(SELECT DISTINCT id FROM unnest($1::bigint[]) AS u(id)) AS m
		CROSS JOIN LATERAL (SELECT * FROM ` + table + ` WHERE member_id = m.id` + where + ` OFFSET 0) AS t`
}

// Statements of Current, Tiers and Enrollments.
var (
	currentQuery     = `SELECT t.* FROM ` + ofMembers("benefits", " AND status <> 'ended'") + ` ORDER BY t.id`
	tiersQuery       = `SELECT t.* FROM ` + ofMembers("tiers", "") + ` ORDER BY t.program_id`
	enrollmentsQuery = `SELECT t.* FROM ` + ofMembers("enrollments", "") + ` ORDER BY t.id`
)

// QueueCurrent, QueueTiers and QueueEnrollments queue the statement of Current, Tiers or
// Enrollments on b, so that a caller reads them together with other statements in one round
// trip; once b's results are read (pgx.BatchResults.Close, which returns the first error), out
// holds the rows by member, as the method returns them.
func (s *Store) QueueCurrent(b *pgx.Batch, memberIDs []int64, out map[int64][]Benefit) {
	queueByMember(b, currentQuery, memberIDs, out, func(x *Benefit) int64 { return x.MemberID }, "current")
}

// QueueTiers queues Tiers' statement on b (see QueueCurrent).
func (s *Store) QueueTiers(b *pgx.Batch, memberIDs []int64, out map[int64][]Tier) {
	queueByMember(b, tiersQuery, memberIDs, out, func(x *Tier) int64 { return x.MemberID }, "tiers")
}

// QueueEnrollments queues Enrollments' statement on b (see QueueCurrent).
func (s *Store) QueueEnrollments(b *pgx.Batch, memberIDs []int64, out map[int64][]Enrollment) {
	queueByMember(b, enrollmentsQuery, memberIDs, out, func(x *Enrollment) int64 { return x.MemberID }, "enrollments")
}

func queueByMember[T any](b *pgx.Batch, query string, memberIDs []int64, out map[int64][]T, member func(*T) int64, what string) {
	b.Queue(query, memberIDs).Query(func(rows pgx.Rows) error {
		rs, err := db.Collect[T](rows)
		if err != nil {
			return fmt.Errorf("benefits: %s: %w", what, err)
		}
		for i := range rs {
			m := member(&rs[i])
			out[m] = append(out[m], rs[i])
		}
		return nil
	})
}

// Current returns the benefits not ended (active or available) of the given members, by member.
func (s *Store) Current(ctx context.Context, memberIDs []int64) (map[int64][]Benefit, error) {
	bs, err := collect[Benefit](ctx, s.db, currentQuery, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("benefits: current: %w", err)
	}
	out := map[int64][]Benefit{}
	for _, b := range bs {
		out[b.MemberID] = append(out[b.MemberID], b)
	}
	return out, nil
}

// Tiers returns the tiers of the given members, by member.
func (s *Store) Tiers(ctx context.Context, memberIDs []int64) (map[int64][]Tier, error) {
	ts, err := collect[Tier](ctx, s.db, tiersQuery, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("benefits: tiers: %w", err)
	}
	out := map[int64][]Tier{}
	for _, t := range ts {
		out[t.MemberID] = append(out[t.MemberID], t)
	}
	return out, nil
}

// Enrollments returns the enrolments of the given members, by member, oldest first.
func (s *Store) Enrollments(ctx context.Context, memberIDs []int64) (map[int64][]Enrollment, error) {
	es, err := collect[Enrollment](ctx, s.db, enrollmentsQuery, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("benefits: enrollments: %w", err)
	}
	out := map[int64][]Enrollment{}
	for _, e := range es {
		out[e.MemberID] = append(out[e.MemberID], e)
	}
	return out, nil
}

// MemberEnrollments returns a page of one member's enrolments, newest first.
func (s *Store) MemberEnrollments(ctx context.Context, memberID, beforeID int64, limit int) ([]Enrollment, bool, error) {
	var es []Enrollment
	q := s.db.NewSelect().Model(&es).Where("member_id = ?", memberID).OrderExpr("id DESC").Limit(limit + 1)
	if beforeID != 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, err
	}
	more := len(es) > limit
	if more {
		es = es[:limit]
	}
	return es, more, nil
}

// Participants returns a page of a campaign's enrolments in enrolment order. A non-empty
// search keeps the enrolments of members whose external ref, name, e-mail or phone contains it
// (case-insensitive).
func (s *Store) Participants(ctx context.Context, campaignID int64, search string, afterID int64, limit int) ([]Enrollment, bool, error) {
	var es []Enrollment
	q := s.db.NewSelect().Model(&es).Where("campaign_id = ? AND id > ?", campaignID, afterID)
	if search != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(search) + "%"
		q = q.Where(`member_id IN (SELECT id FROM members WHERE external_ref ILIKE ? OR name ILIKE ? OR email ILIKE ? OR phone ILIKE ?)`,
			like, like, like, like)
	}
	if err := q.OrderExpr("id").Limit(limit + 1).Scan(ctx); err != nil {
		return nil, false, err
	}
	more := len(es) > limit
	if more {
		es = es[:limit]
	}
	return es, more, nil
}

// Participant is one enrolment of a campaign, as a scheduled hook pages through them.
type Participant struct {
	EnrollmentID int64
	MemberID     int64
}

// ParticipantPage returns up to limit of a campaign's enrolments after afterID, in enrolment
// order, and whether more follow: the enrolments Participants returns, without their contents.
func (s *Store) ParticipantPage(ctx context.Context, campaignID, afterID int64, limit int) ([]Participant, bool, error) {
	rows, err := db.PG(s.db).Query(ctx, `SELECT id, member_id FROM enrollments WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		campaignID, afterID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("benefits: participants: %w", err)
	}
	defer rows.Close()
	ps := make([]Participant, 0, limit+1)
	for rows.Next() {
		var p Participant
		if err := rows.Scan(&p.EnrollmentID, &p.MemberID); err != nil {
			return nil, false, fmt.Errorf("benefits: participants: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("benefits: participants: %w", err)
	}
	more := len(ps) > limit
	if more {
		ps = ps[:limit]
	}
	return ps, more, nil
}

// Fulfillment returns the campaign's physical gifts for a month ("YYYY-MM", the gift's
// attributes.month), in grant order.
func (s *Store) Fulfillment(ctx context.Context, campaignID int64, month string) ([]Benefit, error) {
	var bs []Benefit
	err := s.db.NewSelect().Model(&bs).Where("campaign_id = ? AND kind = 'gift' AND attributes->>'month' = ?", campaignID, month).
		Order("id").Scan(ctx)
	return bs, err
}

// EndDue ends every benefit whose last second (valid_until, inclusive: a benefit valid until
// 23:59:59 applies for that whole second) is over by now, with the reason of an end planned by
// End, else "expired", and returns how many it ended.
func (s *Store) EndDue(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.PG(s.db).Exec(ctx, `UPDATE benefits SET status = 'ended', end_reason = coalesce(nullif(end_reason, ''), 'expired'),
		ended_at = valid_until, updated_at = $1
		WHERE status <> 'ended' AND valid_until IS NOT NULL AND valid_until + interval '1 second' <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("benefits: end due: %w", err)
	}
	return res.RowsAffected(), nil
}

// LapseTiers removes tiers whose validity ended before now and returns how many lapsed. A
// programme plugin that wants a lapsed member in a lower tier sets it (its daily tick sees the
// member without the tier).
func (s *Store) LapseTiers(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.PG(s.db).Exec(ctx, `DELETE FROM tiers WHERE valid_until IS NOT NULL AND valid_until < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("benefits: lapse tiers: %w", err)
	}
	return res.RowsAffected(), nil
}

// PublicParticipant is a participant as a campaign that publishes its participants shows it:
// the member's name and nothing else (the enrolment id only orders and pages the list).
type PublicParticipant struct {
	EnrollmentID int64
	Name         string
}

// PublicParticipants returns a page of the names of a campaign's participants after afterID, in
// enrolment order, and whether more follow. It does not check that the campaign publishes them.
func (s *Store) PublicParticipants(ctx context.Context, campaignID, afterID int64, limit int) ([]PublicParticipant, bool, error) {
	rows, err := db.PG(s.db).Query(ctx, `SELECT e.id, m.name FROM enrollments e JOIN members m ON m.id = e.member_id
		WHERE e.campaign_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3`, campaignID, afterID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("benefits: public participants: %w", err)
	}
	defer rows.Close()
	var ps []PublicParticipant
	for rows.Next() {
		var p PublicParticipant
		if err := rows.Scan(&p.EnrollmentID, &p.Name); err != nil {
			return nil, false, fmt.Errorf("benefits: public participants: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("benefits: public participants: %w", err)
	}
	more := len(ps) > limit
	if more {
		ps = ps[:limit]
	}
	return ps, more, nil
}
