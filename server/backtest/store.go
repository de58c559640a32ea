package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/pluginhost"
)

// Errors of Start, Get and Cancel.
var (
	// ErrNotFound means there is no backtest with that id.
	ErrNotFound = db.NotFound("backtest not found")
	// ErrInvalidPeriod means the period is empty, reversed or not in the past; the message
	// names the field (from, to).
	ErrInvalidPeriod = errors.New("invalid backtest period")
	// ErrInvalid means another input is malformed; the message names the field.
	ErrInvalid = errors.New("invalid backtest input")
	// ErrNotDraft means the campaign is not a draft: only drafts are backtested.
	ErrNotDraft = errors.New("only a draft campaign can be backtested")
	// ErrRunning means a backtest of the campaign is running already (one at a time).
	ErrRunning = errors.New("a backtest of this campaign is already running")
	// ErrFinished means the backtest is no longer running, so it cannot be cancelled.
	ErrFinished = errors.New("the backtest is not running")
)

// Statuses of a backtest.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Totals are what the simulated campaign did over the whole period.
type Totals struct {
	// EventsEvaluated are the recorded events the campaign's plugin decided on.
	EventsEvaluated int64 `json:"eventsEvaluated"`
	// Applied, NoEffect, Rejected and Refused count decisions on events, enrolments and
	// scheduled runs: with effects applied, without effects, rejected by the plugin, refused by
	// the core (invalid effects, a debit beyond the balance).
	Applied  int64 `json:"applied"`
	NoEffect int64 `json:"noEffect"`
	Rejected int64 `json:"rejected"`
	Refused  int64 `json:"refused"`
	// EnrollmentsReplayed are the recorded enrolments replayed; EnrollmentsAccepted of them
	// the simulated campaign's plugin accepted.
	EnrollmentsReplayed int64 `json:"enrollmentsReplayed"`
	EnrollmentsAccepted int64 `json:"enrollmentsAccepted"`
	// HookRuns are the scheduled hook occurrences run (each over all participants).
	HookRuns        int64 `json:"hookRuns"`
	PointsIssued    int64 `json:"pointsIssued"`
	PointsDebited   int64 `json:"pointsDebited"`
	BenefitsGranted int64 `json:"benefitsGranted"`
	TierChanges     int64 `json:"tierChanges"`
	Notifications   int64 `json:"notifications"`
	// MembersReached are the members the campaign gave or took something (points, a benefit, a
	// tier, a message); a plugin state alone does not count.
	MembersReached int64 `json:"membersReached"`
}

// Day is one day of the period (in the campaign's time zone).
type Day struct {
	Day             string `json:"day"` // YYYY-MM-DD
	EventsEvaluated int64  `json:"eventsEvaluated"`
	PointsIssued    int64  `json:"pointsIssued"`
	PointsDebited   int64  `json:"pointsDebited"`
	BenefitsGranted int64  `json:"benefitsGranted"`
	// MembersReached are the members reached that day.
	MembersReached int64 `json:"membersReached"`
}

// PointValue is the money value of points: Minor minor currency units per Points points.
type PointValue struct {
	Minor  int64
	Points int64
}

// Backtest is one backtest as stored.
type Backtest struct {
	ID            int64
	CampaignID    int64
	PluginName    string
	PluginVersion string
	PluginSHA256  string
	Config        json.RawMessage
	From, To      time.Time
	Value         *PointValue
	Status        string
	EventsTotal   int64
	EventsDone    int64
	// SimulatedTo is how far the simulation has got (nil before the first checkpoint).
	SimulatedTo *time.Time
	Totals      Totals
	Days        []Day
	Error       string
	StartedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time

	maxEventID, maxEnrollmentID int64
	eventAt, enrollmentAt       *time.Time
	eventID, enrollmentID       int64
	tickAt                      *time.Time
}

// Progress is the fraction of the period simulated, 0 to 1 (1 once done).
func (b *Backtest) Progress() float64 {
	if b.Status == StatusDone {
		return 1
	}
	if b.SimulatedTo == nil {
		return 0
	}
	p := float64(b.SimulatedTo.Sub(b.From)) / float64(b.To.Sub(b.From))
	return min(max(p, 0), 1)
}

// Cost is the money value of the points issued in minor currency units (rounded down), or nil
// when the backtest was given no point value.
func (b *Backtest) Cost() *int64 {
	if b.Value == nil {
		return nil
	}
	c := b.Totals.PointsIssued * b.Value.Minor / b.Value.Points
	return &c
}

// StartInput starts a backtest of a draft campaign over [From, To).
type StartInput struct {
	CampaignID int64
	From, To   time.Time
	// PluginVersion and Config, when set, replace the draft's (the draft itself is unchanged).
	PluginVersion string
	Config        json.RawMessage
	Value         *PointValue
	// By names who started it (an audit actor).
	By string
}

const backtestColumns = `id, campaign_id, plugin_name, plugin_version, plugin_sha256, config, period_from, period_to,
	value_minor, value_points, status, events_total, events_done, sim_at, totals, days, error, started_by, created_at,
	updated_at, finished_at, max_event_id, max_enrollment_id, event_at, event_id, enrollment_at, enrollment_id, tick_at`

func scanBacktest(row pgx.Row) (*Backtest, error) {
	var b Backtest
	var minor, points *int64
	var totals, days []byte
	if err := row.Scan(&b.ID, &b.CampaignID, &b.PluginName, &b.PluginVersion, &b.PluginSHA256, &b.Config, &b.From, &b.To,
		&minor, &points, &b.Status, &b.EventsTotal, &b.EventsDone, &b.SimulatedTo, &totals, &days, &b.Error, &b.StartedBy,
		&b.CreatedAt, &b.UpdatedAt, &b.FinishedAt, &b.maxEventID, &b.maxEnrollmentID, &b.eventAt, &b.eventID,
		&b.enrollmentAt, &b.enrollmentID, &b.tickAt); err != nil {
		return nil, err
	}
	if minor != nil && points != nil {
		b.Value = &PointValue{Minor: *minor, Points: *points}
	}
	if err := json.Unmarshal(totals, &b.Totals); err != nil {
		return nil, fmt.Errorf("backtest %d: totals: %w", b.ID, err)
	}
	if err := json.Unmarshal(days, &b.Days); err != nil {
		return nil, fmt.Errorf("backtest %d: days: %w", b.ID, err)
	}
	return &b, nil
}

// Get returns backtest id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (*Backtest, error) {
	b, err := scanBacktest(db.PG(s.db).QueryRow(ctx, `SELECT `+backtestColumns+` FROM backtests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	return b, err
}

// List returns campaign campaignID's backtests, newest first, at most limit.
func (s *Service) List(ctx context.Context, campaignID int64, limit int) ([]Backtest, error) {
	rows, err := db.PG(s.db).Query(ctx, `SELECT `+backtestColumns+` FROM backtests WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2`,
		campaignID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Backtest{}
	for rows.Next() {
		b, err := scanBacktest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

// Start checks in and stores a running backtest, which a Run loop (this core's or another
// replica's) then runs. Errors: campaigns.ErrNotFound, ErrNotDraft, ErrInvalidPeriod,
// ErrInvalid, pluginhost.ErrNotFound (the plugin version is not registered),
// *campaigns.ConfigError (the plugin's field errors), ErrRunning, and the plugin's
// (pluginhost.ErrUnavailable).
func (s *Service) Start(ctx context.Context, in StartInput) (*Backtest, error) {
	c, err := s.campaigns.Get(ctx, in.CampaignID)
	if err != nil {
		return nil, err
	}
	if c.Status != campaigns.Draft {
		return nil, fmt.Errorf("%w: campaign %s is %s", ErrNotDraft, c.Code, c.Status)
	}
	now := s.now().UTC()
	switch {
	case in.From.IsZero():
		return nil, fmt.Errorf("%w: from is required", ErrInvalidPeriod)
	case in.To.IsZero():
		return nil, fmt.Errorf("%w: to is required", ErrInvalidPeriod)
	case !in.To.After(in.From):
		return nil, fmt.Errorf("%w: to (%s) must be after from (%s)", ErrInvalidPeriod, in.To.Format(time.RFC3339), in.From.Format(time.RFC3339))
	case in.To.After(now):
		return nil, fmt.Errorf("%w: to (%s) is in the future; a backtest runs over recorded history", ErrInvalidPeriod, in.To.Format(time.RFC3339))
	}
	if v := in.Value; v != nil && (v.Minor < 0 || v.Points <= 0) {
		return nil, fmt.Errorf("%w: pointValue must have minorUnits ≥ 0 and points > 0", ErrInvalid)
	}
	version := c.PluginVersion
	if in.PluginVersion != "" {
		version = in.PluginVersion
	}
	entry, err := s.plugins.Entry(ctx, pluginhost.Key{Name: c.PluginName, Version: version})
	if err != nil {
		return nil, fmt.Errorf("pluginVersion: %w", err)
	}
	config := c.Config
	if in.Config != nil {
		config = in.Config
	}
	if !json.Valid(config) {
		return nil, fmt.Errorf("%w: config must be JSON", ErrInvalid)
	}
	errs, err := s.plugins.ValidateConfig(ctx, c.PluginName, version, config)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &campaigns.ConfigError{Errors: errs}
	}
	var minor, points *int64
	if in.Value != nil {
		minor, points = &in.Value.Minor, &in.Value.Points
	}
	pg := db.PG(s.db)
	var total, maxEvent, maxEnrollment int64
	if err := pg.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0) FROM events
		WHERE occurred_at >= $1 AND occurred_at < $2 AND type = ANY($3::text[])`, in.From, in.To, entry.Description.EventTypes).
		Scan(&total, &maxEvent); err != nil {
		return nil, err
	}
	if err := pg.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM enrollments`).Scan(&maxEnrollment); err != nil {
		return nil, err
	}
	b, err := scanBacktest(pg.QueryRow(ctx, `INSERT INTO backtests (campaign_id, plugin_name, plugin_version, plugin_sha256, config,
			period_from, period_to, value_minor, value_points, max_event_id, max_enrollment_id, events_total, started_by,
			created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		RETURNING `+backtestColumns,
		c.ID, c.PluginName, version, entry.SHA256, config, in.From.UTC(), in.To.UTC(), minor, points, maxEvent, maxEnrollment,
		total, in.By, now))
	if db.Constraint(err) == "backtests_one_running" {
		return nil, fmt.Errorf("%w: campaign %s", ErrRunning, c.Code)
	}
	if err != nil {
		return nil, err
	}
	s.wake()
	return b, nil
}

// Cancel stops running backtest id: the runner stops at its next checkpoint and what it
// checkpointed is kept. Errors: ErrNotFound, ErrFinished.
func (s *Service) Cancel(ctx context.Context, id int64) (*Backtest, error) {
	tag, err := db.PG(s.db).Exec(ctx, `UPDATE backtests SET status = 'cancelled', finished_at = $2, updated_at = $2
		WHERE id = $1 AND status = 'running'`, id, s.now().UTC())
	if err != nil {
		return nil, err
	}
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fmt.Errorf("%w: backtest %d is %s", ErrFinished, id, b.Status)
	}
	return b, nil
}

// MemberResult is what the simulated campaign did for one member.
type MemberResult struct {
	MemberID        int64
	EventsEvaluated int64
	PointsIssued    int64
	PointsDebited   int64
	BenefitsGranted int64
	// Available and Pending are the member's simulated balance at the end of the period.
	Available, Pending int64
	Tier               string
	Benefits           []Benefit
	Enrolled           bool
}

// Benefit is a benefit the simulated campaign granted.
type Benefit struct {
	Key        string
	Kind       string
	Title      string
	Recipient  string
	Percent    int
	ValidFrom  *time.Time
	ValidUntil *time.Time
	GrantedAt  time.Time
	Attributes map[string]any
}

// Members returns up to limit members of backtest id after member id after (0: from the
// first), in member order, and whether more follow. Only members the simulated campaign
// evaluated or enrolled are listed.
func (s *Service) Members(ctx context.Context, id, after int64, limit int) ([]MemberResult, bool, error) {
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	rows, err := db.PG(s.db).Query(ctx, `SELECT member_id, sim FROM backtest_members WHERE backtest_id = $1 AND member_id > $2
		ORDER BY member_id LIMIT $3`, id, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []MemberResult
	for rows.Next() {
		var mid int64
		var raw []byte
		if err := rows.Scan(&mid, &raw); err != nil {
			return nil, false, err
		}
		var m sim
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, false, fmt.Errorf("backtest %d member %d: %w", id, mid, err)
		}
		r := MemberResult{MemberID: mid, EventsEvaluated: m.Events, PointsIssued: m.Points, PointsDebited: m.Debited,
			BenefitsGranted: m.Granted, Enrolled: len(m.Enrolled) > 0, Benefits: []Benefit{}}
		r.Available, r.Pending = m.balance(b.To)
		if m.Tier != nil && (m.Tier.ValidUntil == nil || m.Tier.ValidUntil.After(b.To)) {
			r.Tier = m.Tier.Tier
		}
		for _, g := range m.Benefits {
			r.Benefits = append(r.Benefits, Benefit{Key: g.Key, Kind: g.Kind, Title: g.Title, Recipient: g.Recipient,
				Percent: g.Percent, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil, GrantedAt: g.GrantedAt, Attributes: g.Attributes})
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
