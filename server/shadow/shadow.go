package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/pluginhost"
)

// Errors returned by the service.
var (
	// ErrNotFound means the campaign has no attached shadow.
	ErrNotFound = db.NotFound("shadow not found")
	// ErrExists means the campaign already has an attached shadow.
	ErrExists = errors.New("the campaign already has a shadow")
	// ErrInvalid means an input is unacceptable; the message names it.
	ErrInvalid = errors.New("invalid shadow")
)

// Lane is the pluginhost lane shadows evaluate in.
const Lane = "shadow"

// Status is a shadow's state.
type Status string

// Shadow states.
const (
	Attached Status = "attached"
	Promoted Status = "promoted"
	Dropped  Status = "dropped"
)

// Shadow is a stored shadow.
type Shadow struct {
	bun.BaseModel `bun:"table:campaign_shadows"`

	ID              int64           `bun:"id,pk,autoincrement"`
	CampaignID      int64           `bun:"campaign_id"`
	PluginName      string          `bun:"plugin_name"`
	PluginVersion   string          `bun:"plugin_version"`
	Config          json.RawMessage `bun:"config,type:jsonb"`
	Status          Status          `bun:"status"`
	AttachedAt      time.Time       `bun:"attached_at"`
	AttachedBy      string          `bun:"attached_by"`
	EndedAt         *time.Time      `bun:"ended_at"`
	EndedBy         *string         `bun:"ended_by"`
	ReplacedVersion *string         `bun:"replaced_version"`
	ReplacedConfig  json.RawMessage `bun:"replaced_config,type:jsonb"`
}

// Plugins is what the service needs of the plugin host.
type Plugins interface {
	Isolated(k pluginhost.Key, lane string, timeout time.Duration) pluginhost.Program
	IsolatedHealth(k pluginhost.Key, lane string) pluginhost.Health
	Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error)
	ValidateConfig(ctx context.Context, name, version string, config json.RawMessage) ([]pluginhost.FieldError, error)
}

// Options tunes the worker. Zero values take the defaults shown.
type Options struct {
	// Deadline is the deadline of every shadow plugin call (2s).
	Deadline time.Duration
	// BatchSize is the most rows the worker evaluates per pass (200).
	BatchSize int
	// PollInterval is the worker's period when it finds nothing to do (250ms).
	PollInterval time.Duration
	// Refresh is how often the set of shadowed campaigns is read again (1s): a shadow attached
	// through another replica is seen within it.
	Refresh time.Duration
	// MaxAttempts is how many times a row is tried while the shadow plugin is unavailable
	// before it is marked failed (5).
	MaxAttempts int
	// RetryMin and RetryMax bound the back-off between those attempts (500ms, 10s).
	RetryMin, RetryMax time.Duration
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Deadline, 2*time.Second)
	def(&o.PollInterval, 250*time.Millisecond)
	def(&o.Refresh, time.Second)
	def(&o.RetryMin, 500*time.Millisecond)
	def(&o.RetryMax, 10*time.Second)
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
}

// Service attaches, runs, compares, promotes and drops shadows. It is safe for concurrent use;
// several replicas may share one database.
type Service struct {
	db      *db.DB
	plugins Plugins
	log     hclog.Logger
	now     func() time.Time
	opts    Options

	shadowed atomic.Pointer[map[int64]bool]
	// mu serialises the refreshes of shadowed with the changes this replica makes.
	mu sync.Mutex
}

var _ engine.Shadows = (*Service)(nil)

// New returns a service; call Run to evaluate shadows in this replica.
func New(bdb *db.DB, plugins Plugins, log hclog.Logger, now func() time.Time, opts Options) *Service {
	opts.defaults()
	s := &Service{db: bdb, plugins: plugins, log: log, now: now, opts: opts}
	s.shadowed.Store(&map[int64]bool{})
	return s
}

// AttachInput attaches a shadow to a campaign. At least one of PluginVersion and Config is
// set, and together they differ from what the campaign runs.
type AttachInput struct {
	CampaignID int64
	// PluginVersion is a registered version of the campaign's plugin; "" keeps the campaign's.
	PluginVersion string
	// Config is the shadow's configuration; nil keeps the campaign's.
	Config json.RawMessage
	By     string
}

// Attach validates in (the shadow's plugin checks the configuration) and attaches the shadow.
// Errors: campaigns.ErrNotFound, ErrInvalid (nothing differs, a campaign neither active nor
// scheduled, config not JSON), pluginhost.ErrNotFound (the version is not registered), *campaigns.ConfigError,
// ErrExists.
func (s *Service) Attach(ctx context.Context, in AttachInput) (*Shadow, error) {
	c, err := s.campaign(ctx, s.db, in.CampaignID, false)
	if err != nil {
		return nil, err
	}
	if c.Status != campaigns.Active && c.Status != campaigns.Scheduled {
		return nil, fmt.Errorf("%w: campaign %s is %s; a shadow is attached to an active or scheduled campaign", ErrInvalid, c.Code,
			c.Status)
	}
	sh := &Shadow{CampaignID: c.ID, PluginName: c.PluginName, PluginVersion: in.PluginVersion, Config: in.Config,
		Status: Attached, AttachedAt: s.now().UTC(), AttachedBy: in.By}
	if sh.PluginVersion == "" {
		sh.PluginVersion = c.PluginVersion
	}
	if in.Config == nil {
		sh.Config = c.Config
	} else if !json.Valid(in.Config) {
		return nil, fmt.Errorf("%w: config must be JSON", ErrInvalid)
	}
	if sh.PluginVersion == c.PluginVersion && jsonEqual(sh.Config, c.Config) {
		return nil, fmt.Errorf("%w: pluginVersion or config must differ from the campaign's (%s@%s)", ErrInvalid, c.PluginName,
			c.PluginVersion)
	}
	if _, err := s.plugins.Entry(ctx, pluginhost.Key{Name: sh.PluginName, Version: sh.PluginVersion}); err != nil {
		return nil, err
	}
	errs, err := s.plugins.ValidateConfig(ctx, sh.PluginName, sh.PluginVersion, sh.Config)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &campaigns.ConfigError{Errors: errs}
	}
	if _, err := s.db.NewInsert().Model(sh).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		if db.Constraint(err) == "campaign_shadows_attached" {
			return nil, fmt.Errorf("%w: campaign %s", ErrExists, c.Code)
		}
		return nil, fmt.Errorf("shadow: attach: %w", err)
	}
	s.mark(c.ID, true)
	return sh, nil
}

// Get returns the campaign's attached shadow, or ErrNotFound.
func (s *Service) Get(ctx context.Context, campaignID int64) (*Shadow, error) {
	var sh Shadow
	err := s.db.NewSelect().Model(&sh).Where("campaign_id = ? AND status = 'attached'", campaignID).Scan(ctx)
	return &sh, db.Resolve(err, ErrNotFound)
}

// Drop detaches the campaign's shadow; its decisions stay. Errors: ErrNotFound.
func (s *Service) Drop(ctx context.Context, campaignID int64, by string) (*Shadow, error) {
	var sh Shadow
	now := s.now().UTC()
	err := s.db.NewUpdate().Model(&sh).Set("status = 'dropped', ended_at = ?, ended_by = ?", now, by).
		Where("campaign_id = ? AND status = 'attached'", campaignID).Returning("*").Scan(ctx)
	if err != nil {
		return nil, db.Resolve(err, ErrNotFound)
	}
	s.mark(campaignID, false)
	return &sh, nil
}

// Promote makes the campaign's shadow live in one transaction: the campaign runs the shadow's
// plugin version and configuration from the commit on, and the shadow is detached (promoted).
// Under the campaign's row lock, the change is atomic for the engine: an event is decided and
// applied once per campaign, and its outcome names the version that decided it. Errors:
// ErrNotFound, ErrInvalid (the campaign ended).
func (s *Service) Promote(ctx context.Context, campaignID int64, by string) (*Shadow, error) {
	var out Shadow
	err := db.RunInTx(ctx, s.db, func(ctx context.Context, tx db.Tx) error {
		c, err := s.campaign(ctx, tx, campaignID, true)
		if err != nil {
			return err
		}
		var sh Shadow
		if err := tx.NewSelect().Model(&sh).Where("campaign_id = ? AND status = 'attached'", campaignID).For("UPDATE").
			Scan(ctx); err != nil {
			return db.Resolve(err, ErrNotFound)
		}
		if c.Status == campaigns.Ended {
			return fmt.Errorf("%w: campaign %s ended", ErrInvalid, c.Code)
		}
		now := s.now().UTC()
		if _, err := db.PG(tx).Exec(ctx, `UPDATE campaigns SET plugin_version = $2, config = $3::jsonb, updated_at = $4
			WHERE id = $1`, c.ID, sh.PluginVersion, string(sh.Config), now); err != nil {
			return fmt.Errorf("shadow: promote: %w", err)
		}
		version := c.PluginVersion
		sh.Status, sh.EndedAt, sh.EndedBy, sh.ReplacedVersion, sh.ReplacedConfig = Promoted, &now, &by, &version, c.Config
		if _, err := tx.NewUpdate().Model(&sh).Column("status", "ended_at", "ended_by", "replaced_version", "replaced_config").
			WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("shadow: promote: %w", err)
		}
		out = sh
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mark(campaignID, false)
	return &out, nil
}

// campaign reads a campaign, locking its row when lock is set.
func (s *Service) campaign(ctx context.Context, idb bun.IDB, id int64, lock bool) (*campaigns.Campaign, error) {
	var c campaigns.Campaign
	q := idb.NewSelect().Model(&c).Where("id = ?", id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, db.Resolve(err, campaigns.ErrNotFound)
	}
	return &c, nil
}

// Health is the state of the shadow's plugin process in this replica.
func (s *Service) Health(sh *Shadow) pluginhost.Health {
	return s.plugins.IsolatedHealth(pluginhost.Key{Name: sh.PluginName, Version: sh.PluginVersion}, Lane)
}

// Shadowed reports whether the campaign has an attached shadow, as this replica last read
// (see Options.Refresh). It answers from memory.
func (s *Service) Shadowed(campaignID int64) bool {
	return (*s.shadowed.Load())[campaignID]
}

// mark records a change this replica made to the set of shadowed campaigns.
func (s *Service) mark(campaignID int64, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.shadowed.Load()
	next := make(map[int64]bool, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if on {
		next[campaignID] = true
	} else {
		delete(next, campaignID)
	}
	s.shadowed.Store(&next)
}

// refresh reads the set of shadowed campaigns.
func (s *Service) refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := db.PG(s.db).Query(ctx, `SELECT campaign_id FROM campaign_shadows WHERE status = 'attached'`)
	if err != nil {
		return fmt.Errorf("shadow: refresh: %w", err)
	}
	defer rows.Close()
	next := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("shadow: refresh: %w", err)
		}
		next[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("shadow: refresh: %w", err)
	}
	s.shadowed.Store(&next)
	return nil
}

// jsonEqual reports whether two JSON documents are equal as values.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
