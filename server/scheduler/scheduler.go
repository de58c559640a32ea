// Package scheduler runs programme time: pending points become available, lots expire,
// benefits end at the last moment of their validity, tiers lapse, campaigns start and end on
// their dates, and each campaign's plugin hooks (e.g. a month close) run at the moments its
// plugin asks for, in the campaign's time zone, up to and including the first occurrence after
// the campaign's end (the work of its period, such as the close of its last month).
//
// It is safe with several core replicas on one database: every ledger job works under row
// locks, and each hook occurrence is a tick_runs row claimed with a lease and advanced page by
// page in the same transaction as the page's effects (while one page is written, the plugin
// already evaluates the next ones). No state lives in memory between passes.
package scheduler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/hook"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/pluginhost"
)

// Descriptions gives the scheduler each plugin version's schedules.
type Descriptions interface {
	Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error)
}

// Defaults of Options.
const (
	// DefaultPageSize is the number of participants per tick page.
	DefaultPageSize = 1000
	// DefaultPrefetch is how many tick pages are evaluated ahead of the one being applied.
	DefaultPrefetch = 2
)

// Options tunes the scheduler. Zero values take defaults.
type Options struct {
	Interval  time.Duration // 1s: time between passes
	PageSize  int           // DefaultPageSize: participants per tick page
	Lease     time.Duration // 60s: how long a claimed hook run is left to its owner
	BatchSize int           // 1000: accounts per ledger job batch
	// Prefetch is how many pages of a hook run are read and evaluated by the plugin while the
	// page before them is applied (default DefaultPrefetch; negative: none).
	Prefetch int
	// MaxCatchUp bounds how many missed occurrences of one hook a pass runs (default 400).
	MaxCatchUp int
	// Metrics, when not nil, count the passes Run completes, hook lag and pages.
	Metrics *Metrics
}

// Engine is what the scheduler needs from the engine to run a hook: read a page of the run's
// participants, have the campaign's plugin evaluate it, and apply it (only if the run's cursor is
// still the page's). *engine.Engine implements it.
type Engine interface {
	ReadTick(ctx context.Context, run hook.Run, cursor int64, limit int) (hook.Page, error)
	EvaluateTick(ctx context.Context, p hook.Page) error
	ApplyTick(ctx context.Context, p hook.Page) (next int64, done bool, err error)
}

// Scheduler runs scheduled work.
type Scheduler struct {
	db        *db.DB
	ledger    *ledger.Ledger
	benefits  *benefits.Store
	engine    Engine
	campaigns *campaigns.Store
	plugins   Descriptions
	log       hclog.Logger
	now       func() time.Time
	opts      Options
	owner     string
}

// New returns a scheduler.
func New(bdb *db.DB, led *ledger.Ledger, bens *benefits.Store, eng Engine, plugins Descriptions,
	log hclog.Logger, now func() time.Time, opts Options) *Scheduler {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = DefaultPrefetch
	}
	opts.Prefetch = max(opts.Prefetch, 0)
	if opts.MaxCatchUp <= 0 {
		opts.MaxCatchUp = 400
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	// The scheduler only moves campaigns through time; it never validates configurations.
	camps := campaigns.NewStore(bdb, now, nil)
	return &Scheduler{db: bdb, ledger: led, benefits: bens, engine: eng, campaigns: camps, plugins: plugins, log: log, now: now, opts: opts,
		owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))}
}

// Options returns the scheduler's options, defaults filled in.
func (s *Scheduler) Options() Options { return s.opts }

// Run runs passes until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("scheduler pass", "error", err)
		}
		s.opts.Metrics.pass(start, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs one pass of every job at the clock's current time.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	now := s.now().UTC()
	if err := s.ledgerJobs(ctx, now); err != nil {
		return err
	}
	if _, err := s.benefits.EndDue(ctx, now); err != nil {
		return err
	}
	if _, err := s.benefits.LapseTiers(ctx, now); err != nil {
		return err
	}
	if _, err := db.PG(s.db).Exec(ctx, `UPDATE campaigns SET status = 'active', updated_at = $1 WHERE status = 'scheduled' AND starts_at <= $1`,
		now); err != nil {
		return err
	}
	if _, err := s.campaigns.EndDue(ctx, now); err != nil {
		return err
	}
	return s.hooks(ctx, now)
}

func (s *Scheduler) ledgerJobs(ctx context.Context, now time.Time) error {
	for {
		r, err := s.ledger.ReleaseDue(ctx, now, s.opts.BatchSize)
		if err != nil {
			return err
		}
		if r.Accounts < s.opts.BatchSize {
			break
		}
	}
	for {
		r, err := s.ledger.ExpireDue(ctx, now, s.opts.BatchSize)
		if err != nil {
			return err
		}
		if r.Accounts < s.opts.BatchSize {
			return nil
		}
	}
}

// hooks runs every due occurrence of the plugin hooks of every active campaign, and of every
// campaign whose period ran out until the work of its period is done (see hook).
func (s *Scheduler) hooks(ctx context.Context, now time.Time) error {
	cs, err := s.campaigns.WithScheduledWork(ctx)
	if err != nil {
		return err
	}
	for i := range cs {
		c := &cs[i]
		entry, err := s.plugins.Entry(ctx, pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion})
		if err != nil {
			continue
		}
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			continue
		}
		done := true
		for _, sch := range entry.Description.Schedules {
			finished, err := s.hook(ctx, c, sch, loc, now)
			if err != nil {
				s.log.Warn("hook not run", "campaign", c.Code, "hook", sch.Name, "error", err)
			}
			done = done && finished && err == nil
		}
		if done && c.PeriodOver() {
			if err := s.campaigns.FinishPeriodWork(ctx, c.ID); err != nil {
				return err
			}
			s.log.Info("campaign period's scheduled work done", "campaign", c.Code, "ended", c.EndedAt)
		}
	}
	return nil
}

// hook runs the due occurrences of one of campaign c's hooks. A campaign with an end runs its
// hooks' occurrences due up to EndsAt and then one more, the first due after it: that one closes
// the period's last interval (the close of the last month of a programme that runs "to 28
// December" is due on the 29th). hook reports whether that last occurrence has run.
func (s *Scheduler) hook(ctx context.Context, c *campaigns.Campaign, sch pluginhost.Schedule, loc *time.Location, now time.Time) (bool, error) {
	spec, err := pluginhost.ParseSchedule(sch.Spec)
	if err != nil {
		return false, err
	}
	var last *time.Time
	if err := db.PG(s.db).QueryRow(ctx, `SELECT max(due_at) FROM tick_runs WHERE campaign_id = $1 AND hook = $2`, c.ID, sch.Name).Scan(&last); err != nil {
		return false, err
	}
	// Finish an unfinished run first (its owner may have died), then start the next ones.
	if last != nil {
		if err := s.runOccurrence(ctx, hook.Run{Campaign: c, Hook: sch.Name, Due: *last}); err != nil {
			return false, err
		}
		if c.EndsAt != nil && last.After(*c.EndsAt) {
			return !s.running(ctx, c.ID, sch.Name, *last), nil // the last occurrence has started
		}
	}
	// Occurrences before the campaign existed never happened: a campaign created today with a
	// start in the past runs only the latest occurrence due by its creation, not years of daily
	// hooks (plugins release what earlier periods owe on their next run, as the month close does).
	after := c.StartsAt.Add(-time.Nanosecond)
	for next := spec.Next(after, loc); next.Before(c.CreatedAt) && !next.After(now); next = spec.Next(next, loc) {
		if following := spec.Next(next, loc); !following.Before(c.CreatedAt) {
			after = next.Add(-time.Nanosecond)
			break
		}
		after = next
	}
	if last != nil {
		after = *last
	}
	for i := 0; i < s.opts.MaxCatchUp; i++ {
		if c.EndsAt != nil && after.After(*c.EndsAt) {
			return true, nil // a campaign created after its end: nothing is owed
		}
		due := spec.Next(after, loc)
		if due.After(now) {
			return false, nil
		}
		if err := s.runOccurrence(ctx, hook.Run{Campaign: c, Hook: sch.Name, Due: due.UTC()}); err != nil {
			return false, err
		}
		if c.EndsAt != nil && due.After(*c.EndsAt) {
			return !s.running(ctx, c.ID, sch.Name, due.UTC()), nil
		}
		after = due
	}
	return false, nil
}

// running reports whether the hook's occurrence due then is unfinished (another replica may be
// running it); on a failed read it reports true, so the caller tries again.
func (s *Scheduler) running(ctx context.Context, campaignID int64, hook string, due time.Time) bool {
	var status string
	if err := db.PG(s.db).QueryRow(ctx, `SELECT status FROM tick_runs WHERE campaign_id = $1 AND hook = $2 AND due_at = $3`, campaignID, hook, due).
		Scan(&status); err != nil {
		return true
	}
	return status == "running"
}

// runOccurrence claims the occurrence (or resumes it when its lease ran out) and pages through
// the campaign's participants. It returns nil without work when another replica owns it.
func (s *Scheduler) runOccurrence(ctx context.Context, run hook.Run) error {
	wall := time.Now()
	var cursor int64
	var status string
	pg := db.PG(s.db)
	err := pg.QueryRow(ctx, `INSERT INTO tick_runs (campaign_id, hook, due_at, lease_until, owner, started_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, hook, due_at) DO NOTHING RETURNING cursor, status`,
		run.Campaign.ID, run.Hook, run.Due, wall.Add(s.opts.Lease), s.owner, s.now().UTC()).Scan(&cursor, &status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err != nil {
		// Exists already: take it over only when it is unfinished and its lease has run out.
		err = pg.QueryRow(ctx, `UPDATE tick_runs SET owner = $1, lease_until = $2
			WHERE campaign_id = $3 AND hook = $4 AND due_at = $5 AND status = 'running' AND (lease_until < $6 OR owner = $1)
			RETURNING cursor, status`, s.owner, wall.Add(s.opts.Lease), run.Campaign.ID, run.Hook, run.Due, wall).
			Scan(&cursor, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // done, or owned by a live replica
		}
		if err != nil {
			return err
		}
	}
	s.opts.Metrics.hookLag(s.now().Sub(run.Due))
	if err := s.pages(ctx, run, cursor); err != nil {
		return fmt.Errorf("tick %s/%s at %s: %w", run.Campaign.Code, run.Hook, run.Due.Format(time.RFC3339), err)
	}
	return nil
}

// pending is a page of a hook run read ahead of the one being applied.
type pending struct {
	plan hook.Page
	err  error
	// done is closed when the page is evaluated; nil while its evaluation waits for the pages
	// before it to be applied.
	done chan struct{}
}

// pages applies the run's pages in order from cursor, one transaction each (Engine.ApplyTick).
// While a page is applied, up to Options.Prefetch pages after it are read and evaluated by the
// plugin; a page sharing a member with a page not applied yet is evaluated only once that page
// is applied, so the plugin always sees what earlier pages did. The pages are applied exactly
// once whatever other replicas do: each applies only if the run's cursor is still the one it
// starts from; when another replica has moved the cursor, what was read ahead is dropped and
// the run goes on from the new cursor.
func (s *Scheduler) pages(ctx context.Context, run hook.Run, cursor int64) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	evaluate := func(p *pending) {
		p.done = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(p.done)
			p.err = s.engine.EvaluateTick(ctx, p.plan)
		}()
	}
	var queue []*pending // read and not applied yet, in page order
	read, exhausted := cursor, false
	for {
		for !exhausted && len(queue) <= s.opts.Prefetch {
			plan, err := s.engine.ReadTick(ctx, run, read, s.opts.PageSize)
			if err != nil {
				return err
			}
			p := &pending{plan: plan}
			if !slices.ContainsFunc(queue, func(q *pending) bool { return q.plan.Shares(plan) }) {
				evaluate(p)
			}
			queue = append(queue, p)
			read, exhausted = plan.Next(), !plan.More()
		}
		p := queue[0]
		queue = queue[1:]
		if p.done == nil {
			evaluate(p)
		}
		<-p.done
		if p.err != nil {
			return p.err
		}
		next, done, err := s.engine.ApplyTick(ctx, p.plan)
		if err != nil {
			return err
		}
		s.opts.Metrics.page()
		if done {
			s.log.Info("hook ran", "campaign", run.Campaign.Code, "hook", run.Hook, "due", run.Due)
			return nil
		}
		if next != p.plan.Next() || len(queue) == 0 {
			// Nothing read ahead, or another replica applied pages (maybe the last one read):
			// go on from the run's cursor, dropping what was read ahead.
			queue, read, exhausted = nil, next, false
		}
		if _, err := db.PG(s.db).Exec(ctx, `UPDATE tick_runs SET lease_until = $1 WHERE campaign_id = $2 AND hook = $3 AND due_at = $4 AND owner = $5`,
			time.Now().Add(s.opts.Lease), run.Campaign.ID, run.Hook, run.Due, s.owner); err != nil {
			return err
		}
	}
}
