package benefits

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	db *bun.DB
}

// NewStore returns a store on bdb.
func NewStore(bdb *bun.DB) *Store { return &Store{db: bdb} }

// Page selects a page of a member's rows, newest first.
type Page struct {
	MemberID   int64
	ActiveOnly bool
	At         time.Time // with ActiveOnly: in force at this moment
	BeforeID   int64
	Limit      int
}

// listQueries read a page of a member's benefits, newest first: $1 is the member, $2 the
// number of rows, then the moment the benefits must be in force at (bit 1 of the index, active
// only) and the cursor (bit 0) where given. Each is one constant text, prepared once.
var listQueries = [4]string{
	listPage(""),
	listPage(" AND id < $3"),
	listPage(activeAt),
	listPage(activeAt + " AND id < $4"),
}

const activeAt = " AND status = 'active' AND (valid_from IS NULL OR valid_from <= $3) AND (valid_until IS NULL OR valid_until + interval '1 second' > $3)"

func listPage(where string) string {
	return `SELECT * FROM benefits WHERE member_id = $1` + where + ` ORDER BY id DESC LIMIT $2`
}

// List returns a page of the member's benefits and whether more follow.
func (s *Store) List(ctx context.Context, p Page) ([]Benefit, bool, error) {
	which, args := 0, []any{p.MemberID, p.Limit + 1}
	if p.ActiveOnly {
		which, args = which|2, append(args, p.At)
	}
	if p.BeforeID != 0 {
		which, args = which|1, append(args, p.BeforeID)
	}
	var bs []Benefit
	if err := s.scan(ctx, &bs, listQueries[which], args...); err != nil {
		return nil, false, fmt.Errorf("benefits: list: %w", err)
	}
	more := len(bs) > p.Limit
	if more {
		bs = bs[:p.Limit]
	}
	return bs, more, nil
}

// scan runs a read as a prepared statement (db.Prepared) and scans its rows into dst, a
// pointer to a slice of models.
func (s *Store) scan(ctx context.Context, dst any, query string, args ...any) error {
	rows, err := db.Prepared(s.db).QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return s.db.ScanRows(ctx, rows, dst)
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

// Current returns the benefits not ended (active or available) of the given members, by member.
func (s *Store) Current(ctx context.Context, memberIDs []int64) (map[int64][]Benefit, error) {
	var bs []Benefit
	if err := s.scan(ctx, &bs, currentQuery, db.Int64s(memberIDs)); err != nil {
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
	var ts []Tier
	if err := s.scan(ctx, &ts, tiersQuery, db.Int64s(memberIDs)); err != nil {
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
	var es []Enrollment
	if err := s.scan(ctx, &es, enrollmentsQuery, db.Int64s(memberIDs)); err != nil {
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
	rows, err := db.Prepared(s.db).QueryContext(ctx, `SELECT id, member_id FROM enrollments WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
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
	res, err := s.db.NewRaw(`UPDATE benefits SET status = 'ended', end_reason = coalesce(nullif(end_reason, ''), 'expired'),
		ended_at = valid_until, updated_at = ?
		WHERE status <> 'ended' AND valid_until IS NOT NULL AND valid_until + interval '1 second' <= ?`, now, now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("benefits: end due: %w", err)
	}
	return res.RowsAffected()
}

// LapseTiers removes tiers whose validity ended before now and returns how many lapsed. A
// programme plugin that wants a lapsed member in a lower tier sets it (its daily tick sees the
// member without the tier).
func (s *Store) LapseTiers(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.NewRaw(`DELETE FROM tiers WHERE valid_until IS NOT NULL AND valid_until < ?`, now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("benefits: lapse tiers: %w", err)
	}
	return res.RowsAffected()
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
	rows, err := db.Prepared(s.db).QueryContext(ctx, `SELECT e.id, m.name FROM enrollments e JOIN members m ON m.id = e.member_id
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
