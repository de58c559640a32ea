// Package campaigns stores campaigns: a programme bound to a plugin name and version with a
// configuration, a time zone and a period, moving through draft → scheduled → active →
// paused → ended. The plugin validates the configuration; the core routes events to the
// campaigns that are live when the event occurred.
package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/pluginhost"
)

// Errors returned by the store.
var (
	// ErrNotFound means no campaign matches.
	ErrNotFound = db.NotFound("campaign not found")
	// ErrExists means the code is taken.
	ErrExists = errors.New("campaign code already exists")
	// ErrInvalid means an input field is unacceptable; the message names it.
	ErrInvalid = errors.New("invalid campaign")
	// ErrIllegalTransition means the requested state change is not allowed from the current state.
	ErrIllegalTransition = errors.New("illegal campaign state transition")
	// ErrNotPublic means the campaign does not publish its participants' names.
	ErrNotPublic = errors.New("participants are not public")
)

// ConfigError lists the plugin's field-level objections to a configuration.
type ConfigError struct {
	Errors []pluginhost.FieldError
}

func (e *ConfigError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid campaign config"
	}
	return fmt.Sprintf("invalid campaign config: %s: %s", e.Errors[0].Field, e.Errors[0].Message)
}

// Status is a campaign's lifecycle state.
type Status string

// Campaign states.
const (
	Draft     Status = "draft"
	Scheduled Status = "scheduled"
	Active    Status = "active"
	Paused    Status = "paused"
	Ended     Status = "ended"
)

// transitions lists the legal moves.
var transitions = map[Status][]Status{
	Draft:     {Scheduled, Active, Ended},
	Scheduled: {Active, Paused, Ended},
	Active:    {Paused, Ended},
	Paused:    {Active, Ended},
}

// Campaign is a stored campaign.
type Campaign struct {
	bun.BaseModel `bun:"table:campaigns"`

	ID            int64           `bun:"id,pk,autoincrement"`
	Code          string          `bun:"code"`
	Name          string          `bun:"name"`
	ProgramID     int64           `bun:"program_id"`
	PluginName    string          `bun:"plugin_name"`
	PluginVersion string          `bun:"plugin_version"`
	Config        json.RawMessage `bun:"config,type:jsonb"`
	TimeZone      string          `bun:"time_zone"`
	StartsAt      time.Time       `bun:"starts_at"`
	EndsAt        *time.Time      `bun:"ends_at"`
	Status        Status          `bun:"status"`
	// EndedAt is when the campaign ended: at EndsAt when its period ran out (the scheduler
	// ends it then), or when endCampaign ended it. Nil while it has not ended.
	EndedAt *time.Time `bun:"ended_at"`
	// PeriodWorkDone is set once the scheduled work of a campaign whose period ran out is
	// finished: the last occurrence of each hook (see Scheduler).
	PeriodWorkDone bool `bun:"period_work_done"`
	// PublicParticipants makes the names of the campaign's participants public (anyone may
	// list them, anonymous callers too); off by default.
	PublicParticipants bool      `bun:"public_participants"`
	CreatedAt          time.Time `bun:"created_at"`
	UpdatedAt          time.Time `bun:"updated_at"`
}

// Live reports whether the campaign takes events that occurred at t: t is within [StartsAt,
// EndsAt) and the campaign is scheduled or active, or its period ran out (PeriodOver: events
// of its period that arrive late still count).
func (c *Campaign) Live(t time.Time) bool {
	if c.Status != Active && c.Status != Scheduled && !c.PeriodOver() {
		return false
	}
	return !t.Before(c.StartsAt) && (c.EndsAt == nil || t.Before(*c.EndsAt))
}

// PeriodOver reports whether the campaign ended because its period ran out (at EndsAt, not
// earlier by endCampaign): its period's events and scheduled work still belong to it.
func (c *Campaign) PeriodOver() bool {
	return c.Status == Ended && c.EndedAt != nil && c.EndsAt != nil && !c.EndedAt.Before(*c.EndsAt)
}

// WhyNotLive says why the campaign does not take events that occurred at t (see Live), or is
// empty when it does.
func (c *Campaign) WhyNotLive(t time.Time) string {
	switch {
	case c.Live(t):
		return ""
	case c.Status == Draft:
		return fmt.Sprintf("campaign %s is a draft: it takes no events until it is activated", c.Code)
	case c.Status == Paused:
		return fmt.Sprintf("campaign %s is paused: events that occur while it is paused are not evaluated", c.Code)
	case c.Status == Ended && !c.PeriodOver():
		return fmt.Sprintf("campaign %s was ended before its period was over", c.Code)
	case t.Before(c.StartsAt):
		return fmt.Sprintf("campaign %s starts at %s, after %s", c.Code, c.StartsAt.UTC().Format(time.RFC3339),
			t.UTC().Format(time.RFC3339))
	default:
		return fmt.Sprintf("campaign %s ends at %s, not after %s", c.Code, c.EndsAt.UTC().Format(time.RFC3339),
			t.UTC().Format(time.RFC3339))
	}
}

// Validator asks a plugin whether a configuration is acceptable.
type Validator interface {
	ValidateConfig(ctx context.Context, plugin, version string, config json.RawMessage) ([]pluginhost.FieldError, error)
}

// Store reads and writes campaigns.
type Store struct {
	db        *db.DB
	now       func() time.Time
	validator Validator
}

// NewStore returns a campaign store; validator checks configurations with their plugin.
func NewStore(bdb *db.DB, now func() time.Time, validator Validator) *Store {
	return &Store{db: bdb, now: now, validator: validator}
}

// CreateInput creates a campaign in the draft state.
type CreateInput struct {
	Code          string
	Name          string
	ProgramID     int64
	PluginName    string
	PluginVersion string
	// Config is the plugin configuration; nil means the plugin's default config.
	Config   json.RawMessage
	TimeZone string
	StartsAt time.Time
	EndsAt   *time.Time
	// PublicParticipants makes the participants' names public (see Campaign).
	PublicParticipants bool
}

var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Create validates in (the plugin checks the configuration) and stores a draft campaign.
// Errors: ErrInvalid, *ConfigError, ErrExists, and the validator's errors.
func (s *Store) Create(ctx context.Context, in CreateInput) (*Campaign, error) {
	if !codeRe.MatchString(in.Code) {
		return nil, fmt.Errorf("%w: code must match %s", ErrInvalid, codeRe)
	}
	if in.Name == "" || len(in.Name) > 200 {
		return nil, fmt.Errorf("%w: name must be 1 to 200 bytes", ErrInvalid)
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		return nil, fmt.Errorf("%w: time zone %q is not an IANA zone name", ErrInvalid, in.TimeZone)
	}
	if in.StartsAt.IsZero() {
		return nil, fmt.Errorf("%w: startsAt is required", ErrInvalid)
	}
	if in.EndsAt != nil && !in.EndsAt.After(in.StartsAt) {
		return nil, fmt.Errorf("%w: endsAt must be after startsAt", ErrInvalid)
	}
	if err := s.validate(ctx, in.PluginName, in.PluginVersion, in.Config); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := &Campaign{Code: in.Code, Name: in.Name, ProgramID: in.ProgramID, PluginName: in.PluginName,
		PluginVersion: in.PluginVersion, Config: in.Config, TimeZone: in.TimeZone, StartsAt: in.StartsAt.UTC(),
		EndsAt: utc(in.EndsAt), Status: Draft, PublicParticipants: in.PublicParticipants, CreatedAt: now, UpdatedAt: now}
	if _, err := s.db.NewInsert().Model(c).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		switch db.Constraint(err) {
		case "campaigns_code_key":
			return nil, ErrExists
		case "campaigns_program_id_fkey":
			return nil, fmt.Errorf("%w: program does not exist", ErrInvalid)
		case "campaigns_plugin_fkey":
			return nil, fmt.Errorf("%w: plugin %s@%s is not registered", ErrInvalid, in.PluginName, in.PluginVersion)
		}
		return nil, fmt.Errorf("campaigns: insert: %w", err)
	}
	return c, nil
}

func (s *Store) validate(ctx context.Context, plugin, version string, config json.RawMessage) error {
	if len(config) == 0 || !json.Valid(config) {
		return fmt.Errorf("%w: config must be JSON", ErrInvalid)
	}
	errs, err := s.validator.ValidateConfig(ctx, plugin, version, config)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return &ConfigError{Errors: errs}
	}
	return nil
}

// UpdateConfig validates config with the campaign's plugin and stores it; later events see it.
func (s *Store) UpdateConfig(ctx context.Context, id int64, config json.RawMessage) (*Campaign, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status == Ended {
		return nil, fmt.Errorf("%w: an ended campaign cannot be changed", ErrIllegalTransition)
	}
	if err := s.validate(ctx, c.PluginName, c.PluginVersion, config); err != nil {
		return nil, err
	}
	c.Config, c.UpdatedAt = config, s.now().UTC()
	if _, err := s.db.NewUpdate().Model(c).Column("config", "updated_at").WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("campaigns: update config: %w", err)
	}
	return c, nil
}

// Transition moves campaign id to the state to, if legal from its current state. Activating a
// campaign whose start is in the future makes it scheduled instead; asking for the state it is
// already in changes nothing. Errors: ErrNotFound, ErrIllegalTransition.
func (s *Store) Transition(ctx context.Context, id int64, to Status) (*Campaign, error) {
	var out *Campaign
	err := db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		var c Campaign
		if err := tx.NewSelect().Model(&c).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return db.Resolve(err, ErrNotFound)
		}
		now := s.now().UTC()
		target := to
		if to == Active && c.StartsAt.After(now) {
			target = Scheduled
		}
		if c.Status == target {
			out = &c // asking again for the state it is in (e.g. activating a scheduled campaign) changes nothing
			return nil
		}
		if !legal(c.Status, target) {
			return fmt.Errorf("%w: %s → %s", ErrIllegalTransition, c.Status, to)
		}
		from := c.Status
		c.Status, c.UpdatedAt = target, now
		if target == Ended {
			c.EndedAt = &now
			if c.EndsAt != nil && !now.Before(*c.EndsAt) && from != Draft {
				end := *c.EndsAt // its period ran out before anyone ended it: it ended then
				c.EndedAt = &end
			}
		}
		if _, err := tx.NewUpdate().Model(&c).Column("status", "ended_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = &c
		return nil
	})
	return out, err
}

func legal(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Get returns campaign id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*Campaign, error) {
	return s.one(ctx, "id = ?", id)
}

// GetByCode returns the campaign with the code, or ErrNotFound.
func (s *Store) GetByCode(ctx context.Context, code string) (*Campaign, error) {
	return s.one(ctx, "code = ?", code)
}

func (s *Store) one(ctx context.Context, where string, arg any) (*Campaign, error) {
	var c Campaign
	if err := s.db.NewSelect().Model(&c).Where(where, arg).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrNotFound)
	}
	return &c, nil
}

// Routable returns every campaign that can take events: scheduled or active, or ended because
// its period ran out (for events of its period that arrive late; see Live).
func (s *Store) Routable(ctx context.Context) ([]Campaign, error) {
	var cs []Campaign
	err := s.db.NewSelect().Model(&cs).Where("status IN ('scheduled', 'active') OR " + periodOverSQL).Order("id").Scan(ctx)
	return cs, err
}

// QueueRoutable queues Routable's read on b, so that a caller reads it together with other
// statements in one round trip; once b's results are read (pgx.BatchResults.Close, which
// returns the first error), *out holds the campaigns, in id order.
func (s *Store) QueueRoutable(b *pgx.Batch, out *[]Campaign) {
	b.Queue(`SELECT * FROM campaigns WHERE status IN ('scheduled', 'active') OR ` + periodOverSQL + ` ORDER BY id`).
		Query(func(rows pgx.Rows) (err error) {
			if *out, err = db.Collect[Campaign](rows); err != nil {
				return fmt.Errorf("campaigns: routable: %w", err)
			}
			return nil
		})
}

// periodOverSQL is Campaign.PeriodOver as SQL.
const periodOverSQL = "(status = 'ended' AND ended_at IS NOT NULL AND ends_at IS NOT NULL AND ended_at >= ends_at)"

// EndDue ends every started campaign (scheduled, active or paused) whose period is over by now,
// as of its EndsAt, and returns how many it ended. One statement: replicas running it at once
// end each campaign once.
func (s *Store) EndDue(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.PG(s.db).Exec(ctx, `UPDATE campaigns SET status = 'ended', ended_at = ends_at, updated_at = $1
		WHERE status IN ('scheduled', 'active', 'paused') AND ends_at IS NOT NULL AND ends_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("campaigns: end due: %w", err)
	}
	return res.RowsAffected(), nil
}

// WithScheduledWork returns the campaigns whose plugin hooks the scheduler runs: the active
// ones, and those whose period ran out while the last occurrences of their hooks (the work of
// the period, e.g. the close of its last month) have not all run, in id order.
func (s *Store) WithScheduledWork(ctx context.Context) ([]Campaign, error) {
	var cs []Campaign
	err := s.db.NewSelect().Model(&cs).Where("status = 'active' OR (" + periodOverSQL + " AND NOT period_work_done)").
		Order("id").Scan(ctx)
	return cs, err
}

// FinishPeriodWork records that the scheduled work of campaign id's period is done.
func (s *Store) FinishPeriodWork(ctx context.Context, id int64) error {
	_, err := s.db.NewUpdate().Model((*Campaign)(nil)).Set("period_work_done = true").Where("id = ? AND NOT period_work_done", id).Exec(ctx)
	return err
}

// SetParticipantsPublic makes the names of campaign id's participants public, or private again.
// Errors: ErrNotFound.
func (s *Store) SetParticipantsPublic(ctx context.Context, id int64, public bool) (*Campaign, error) {
	var c Campaign
	err := s.db.NewUpdate().Model(&c).Set("public_participants = ?", public).
		Set("updated_at = CASE WHEN public_participants = ? THEN updated_at ELSE ? END", public, s.now().UTC()).
		Where("id = ?", id).Returning("*").Scan(ctx)
	if err != nil {
		return nil, db.Resolve(err, ErrNotFound)
	}
	return &c, nil
}

// Codes returns every campaign's code by id.
func (s *Store) Codes(ctx context.Context) (map[int64]string, error) {
	rows, err := db.PG(s.db).Query(ctx, "SELECT id, code FROM campaigns")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			return nil, err
		}
		out[id] = code
	}
	return out, rows.Err()
}

// GetMany returns the campaigns with the given ids, keyed by id; missing ids are absent.
func (s *Store) GetMany(ctx context.Context, ids []int64) (map[int64]*Campaign, error) {
	var cs []Campaign
	if err := s.db.NewSelect().Model(&cs).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]*Campaign, len(cs))
	for i := range cs {
		out[cs[i].ID] = &cs[i]
	}
	return out, nil
}

// PluginVersion names a plugin version, as campaigns refer to it.
type PluginVersion struct{ Name, Version string }

// ByPlugins returns the campaigns of each plugin version, in id order; a version without
// campaigns is absent.
func (s *Store) ByPlugins(ctx context.Context, vs []PluginVersion) (map[PluginVersion][]Campaign, error) {
	names, versions := make([]string, len(vs)), make([]string, len(vs))
	for i, v := range vs {
		names[i], versions[i] = v.Name, v.Version
	}
	var cs []Campaign
	if err := s.db.NewSelect().Model(&cs).
		Where("(plugin_name, plugin_version) IN (SELECT * FROM unnest(?::text[], ?::text[]))", pgdialect.Array(names), pgdialect.Array(versions)).
		Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[PluginVersion][]Campaign, len(vs))
	for _, c := range cs {
		k := PluginVersion{c.PluginName, c.PluginVersion}
		out[k] = append(out[k], c)
	}
	return out, nil
}

// ByPlugin returns the campaigns that use a plugin version, in id order.
func (s *Store) ByPlugin(ctx context.Context, name, version string) ([]Campaign, error) {
	var cs []Campaign
	err := s.db.NewSelect().Model(&cs).Where("plugin_name = ? AND plugin_version = ?", name, version).Order("id").Scan(ctx)
	return cs, err
}

// Filter narrows a campaign listing.
type Filter struct {
	ProgramID int64
	Status    Status
}

// List returns up to limit campaigns with ids above afterID, and whether more follow.
func (s *Store) List(ctx context.Context, f Filter, afterID int64, limit int) ([]Campaign, bool, error) {
	var cs []Campaign
	q := s.db.NewSelect().Model(&cs).Where("id > ?", afterID).OrderExpr("id").Limit(limit + 1)
	if f.ProgramID != 0 {
		q = q.Where("program_id = ?", f.ProgramID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, err
	}
	more := len(cs) > limit
	if more {
		cs = cs[:limit]
	}
	return cs, more, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
