package backtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// Plugins is what backtests need of the plugin host.
type Plugins interface {
	Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error)
	Program(k pluginhost.Key) pluginhost.Program
	ValidateConfig(ctx context.Context, name, version string, config json.RawMessage) ([]pluginhost.FieldError, error)
}

// Engine is what backtests take from the engine (*engine.Engine implements it): the campaign as
// its plugin is shown it, and the check every plugin decision passes before it is applied.
type Engine interface {
	PluginCampaign(c *campaigns.Campaign, program string) pluginhost.Campaign
	ValidateEffects(effects []pluginhost.Effect, now time.Time) error
}

// Options tunes backtests. Zero values take the defaults shown.
type Options struct {
	Interval   time.Duration // 1s: how often Run looks for a backtest to run or to resume
	Lease      time.Duration // 60s: how long a backtest is left to its runner between checkpoints
	Checkpoint time.Duration // 10s: time between checkpoints (each writes the members changed since the last)
	PageSize   int           // 20,000: events read together, and at most taken ahead of those decided
	BatchSize  int           // 2,000: events per plugin Evaluate call
	Parallel   int           // 3: Evaluate calls in flight at once
	TickPage   int           // 1,000: participants per plugin Tick call
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, time.Second)
	def(&o.Lease, time.Minute)
	def(&o.Checkpoint, 10*time.Second)
	for _, n := range []struct {
		p *int
		v int
	}{{&o.PageSize, 20_000}, {&o.BatchSize, 2_000}, {&o.Parallel, 3}, {&o.TickPage, 1_000}} {
		if *n.p <= 0 {
			*n.p = n.v
		}
	}
}

// Service starts, runs, cancels and reports backtests. It is safe for concurrent use; several
// replicas may run Run on one database (each backtest is run by the one holding its lease).
type Service struct {
	db        *db.DB
	plugins   Plugins
	engine    Engine
	campaigns *campaigns.Store
	ledger    *ledger.Ledger
	members   *members.Store
	log       hclog.Logger
	now       func() time.Time
	opts      Options
	owner     string
	kick      chan struct{}
}

// New returns a backtest service.
func New(bdb *db.DB, plugins Plugins, eng Engine, camps *campaigns.Store, led *ledger.Ledger, mem *members.Store,
	log hclog.Logger, now func() time.Time, opts Options) *Service {
	opts.defaults()
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Service{db: bdb, plugins: plugins, engine: eng, campaigns: camps, ledger: led, members: mem, log: log, now: now,
		opts: opts, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])), kick: make(chan struct{}, 1)}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run runs backtests until ctx ends: started ones, and those whose runner stopped (a core
// restarted) from their last checkpoint. One backtest at a time per core.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		for {
			ran, err := s.RunOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.log.Error("backtest", "error", err)
			}
			if !ran {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// RunOnce claims one running backtest that no live runner holds and runs it until it is done,
// cancelled, or ctx ends. It reports whether it claimed one.
func (s *Service) RunOnce(ctx context.Context) (bool, error) {
	wall := time.Now()
	b, err := scanBacktest(db.PG(s.db).QueryRow(ctx, `UPDATE backtests SET owner = $1, lease_until = $2
		WHERE id = (SELECT id FROM backtests WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $3)
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+backtestColumns, s.owner, wall.Add(s.opts.Lease), wall))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.log.Info("backtest running", "backtest", b.ID, "campaign", b.CampaignID, "resumed", b.SimulatedTo != nil)
	err = s.execute(ctx, b)
	switch {
	case errors.Is(err, errLost):
		s.log.Info("backtest stopped: cancelled or taken over", "backtest", b.ID)
		return true, nil
	case err != nil && ctx.Err() != nil:
		return true, nil //nolint:nilerr // shutting down: the next runner resumes from the checkpoint
	case err != nil:
		s.log.Warn("backtest failed", "backtest", b.ID, "error", err)
		_, uerr := db.PG(s.db).Exec(ctx, `UPDATE backtests SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
			WHERE id = $1 AND owner = $2 AND status = 'running'`, b.ID, s.owner, err.Error(), s.now().UTC())
		return true, uerr
	}
	return true, nil
}

// errLost means the backtest is no longer this runner's: cancelled, or its lease taken over.
var errLost = errors.New("backtest: no longer ours")

// item is one recorded thing the simulation replays: an event or an enrolment.
type item struct {
	at       time.Time
	id       int64
	memberID int64
	event    *pluginhost.Event // nil for an enrolment
	sim      *sim              // the member's, while an event is in flight
	answers  map[string]any    // an enrolment's
	regBy    string
	resp     string
}

// run is one backtest being executed.
type run struct {
	s         *Service
	b         *Backtest
	c         *campaigns.Campaign // the draft with the backtest's plugin version and config, as if active
	camp      pluginhost.Campaign
	prog      pluginhost.Program
	program   string
	loc       *time.Location
	members   map[int64]*sim
	profiles  map[int64]*members.Member
	order     []int64 // participants (members with an accepted enrolment) in enrolment order
	days      map[string]*Day
	today     dayRange // the day of the last item counted
	fills     int64    // the pipe's fills so far, marking the members with an event left waiting (sim.waits)
	totals    Totals
	lastSaved time.Time
}

// dayRange is a day of the campaign's time zone: [from, to) in UTC.
type dayRange struct {
	from, to time.Time
	day      *Day
}

func (s *Service) execute(ctx context.Context, b *Backtest) error {
	c, err := s.campaigns.Get(ctx, b.CampaignID)
	if err != nil {
		return err
	}
	as := *c
	as.PluginVersion, as.Config, as.Status = b.PluginVersion, b.Config, campaigns.Active
	key := pluginhost.Key{Name: b.PluginName, Version: b.PluginVersion}
	entry, err := s.plugins.Entry(ctx, key)
	if err != nil {
		return err
	}
	if entry.SHA256 != b.PluginSHA256 {
		return fmt.Errorf("plugin %s was registered again with another binary since the backtest started", key)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return err
	}
	p, err := s.ledger.Program(ctx, c.ProgramID)
	if err != nil {
		return err
	}
	r := &run{s: s, b: b, c: &as, camp: s.engine.PluginCampaign(&as, p.Code), prog: s.plugins.Program(key), program: p.Code, loc: loc,
		members: map[int64]*sim{}, profiles: map[int64]*members.Member{}, days: map[string]*Day{}, totals: b.Totals,
		lastSaved: time.Now()}
	for i := range b.Days {
		d := b.Days[i]
		r.days[d.Day] = &d
	}
	if err := r.load(ctx); err != nil {
		return err
	}
	return r.simulate(ctx, entry.Description)
}

// load reads the members a resumed backtest checkpointed.
func (r *run) load(ctx context.Context) error {
	rows, err := db.PG(r.s.db).Query(ctx, `SELECT member_id, sim FROM backtest_members WHERE backtest_id = $1`, r.b.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	type first struct {
		id     int64
		at     time.Time
		source int64
	}
	var enrolled []first
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		m := &sim{}
		if err := json.Unmarshal(raw, m); err != nil {
			return fmt.Errorf("member %d: %w", id, err)
		}
		r.members[id] = m
		if len(m.Enrolled) > 0 {
			enrolled = append(enrolled, first{id, m.Enrolled[0].EnrolledAt, m.Enrolled[0].Source})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(enrolled, func(i, j int) bool {
		a, b := enrolled[i], enrolled[j]
		return a.at.Before(b.at) || a.at.Equal(b.at) && a.source < b.source
	})
	for _, e := range enrolled {
		r.order = append(r.order, e.id)
	}
	return nil
}

// hookClock yields the due times of one scheduled hook within the backtest, as the scheduler
// runs them for a campaign live since its start: every occurrence from StartsAt, up to and
// including the first after EndsAt, and before the period's end.
type hookClock struct {
	name string
	spec pluginhost.ScheduleSpec
	next time.Time // zero when no occurrence is left
}

func (r *run) hookClocks(d pluginhost.Description) ([]*hookClock, error) {
	var out []*hookClock
	after := r.b.From.Add(-time.Nanosecond)
	if r.c.StartsAt.After(r.b.From) {
		after = r.c.StartsAt.Add(-time.Nanosecond)
	}
	if r.b.tickAt != nil && r.b.tickAt.After(after) {
		after = *r.b.tickAt
	}
	for _, sch := range d.Schedules {
		spec, err := pluginhost.ParseSchedule(sch.Spec)
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", sch.Name, err)
		}
		h := &hookClock{name: sch.Name, spec: spec}
		h.advance(r, after)
		out = append(out, h)
	}
	return out, nil
}

// advance moves h to its first occurrence after t, or to none.
func (h *hookClock) advance(r *run, t time.Time) {
	if r.c.EndsAt != nil && t.After(*r.c.EndsAt) {
		h.next = time.Time{} // the occurrence after the end has run
		return
	}
	next := h.spec.Next(t, r.loc).UTC()
	if !next.Before(r.b.To) {
		next = time.Time{}
	}
	h.next = next
}

// nextDue returns the earliest due time of the hooks, or the zero time.
func nextDue(hs []*hookClock) time.Time {
	var due time.Time
	for _, h := range hs {
		if !h.next.IsZero() && (due.IsZero() || h.next.Before(due)) {
			due = h.next
		}
	}
	return due
}

// simulate replays the period: events and enrolments in time order, each member's one after
// another on the state the previous left, and each hook occurrence at its due time over the
// participants enrolled by then; it checkpoints every Options.Checkpoint and at the end.
func (r *run) simulate(ctx context.Context, d pluginhost.Description) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hooks, err := r.hookClocks(d)
	if err != nil {
		return err
	}
	enrollments, err := r.readEnrollments(ctx)
	if err != nil {
		return err
	}
	src := &stream{r: r, events: r.readEvents(ctx, d.EventTypes), enrollments: enrollments}
	for {
		due := nextDue(hooks)
		if err := (&pipe{r: r, src: src, due: due}).run(ctx); err != nil {
			return err
		}
		if due.IsZero() {
			break // nothing left before the period's end
		}
		for _, h := range hooks {
			if h.next.Equal(due) {
				if err := r.tick(ctx, h.name, due); err != nil {
					return err
				}
				h.advance(r, due)
			}
		}
		r.b.tickAt = &due
		if err := r.maybeCheckpoint(ctx, due); err != nil {
			return err
		}
	}
	return r.checkpoint(ctx, r.b.To, true)
}

// stream is the period's events and enrolments after the checkpoint, merged in time order.
type stream struct {
	r           *run
	events      <-chan page
	pending     []item // what is left of the event page being taken
	eventsDone  bool
	enrollments []item
}

// next takes the next item before due (the zero time: before the period's end), or returns nil
// when none is left before it. It moves the backtest's cursors past the item.
func (s *stream) next(due time.Time) (*item, error) {
	for len(s.pending) == 0 && !s.eventsDone {
		pg, ok := <-s.events
		if !ok {
			s.eventsDone = true
			break
		}
		if pg.err != nil {
			return nil, pg.err
		}
		for id, p := range pg.profiles {
			if s.r.profiles[id] == nil {
				s.r.profiles[id] = p
			}
		}
		s.pending = pg.items
	}
	var ev, en *item
	if len(s.pending) > 0 {
		ev = &s.pending[0]
	}
	if len(s.enrollments) > 0 {
		en = &s.enrollments[0]
	}
	var it *item
	switch {
	case ev != nil && (en == nil || !en.at.Before(ev.at)):
		it = ev
	case en != nil:
		it = en
	}
	if it == nil || !due.IsZero() && !it.at.Before(due) {
		return nil, nil
	}
	if it == ev {
		s.pending = s.pending[1:]
	} else {
		s.enrollments = s.enrollments[1:]
	}
	s.r.advance(it)
	return it, nil
}

// advance moves the backtest's cursors past it. They are written only at a checkpoint, when
// everything taken before is settled.
func (r *run) advance(it *item) {
	if it.event != nil {
		if r.b.eventAt == nil {
			r.b.eventAt = new(time.Time)
		}
		*r.b.eventAt, r.b.eventID = it.at, it.id
		r.b.EventsDone++
	} else {
		at := it.at
		r.b.enrollmentAt, r.b.enrollmentID = &at, it.id
	}
}

// pipe replays the items of the stream before its due time. Members are independent, so a
// chunk of events goes to the plugin as soon as each of its members has nothing in flight or
// waiting before it: Options.BatchSize events of distinct members per Evaluate call,
// Options.Parallel calls in flight while the next ones are built and the answers settled, each
// event on the state its member's previous item left. An enrolment waits until everything taken
// before it is settled. Every Options.Checkpoint the pipe stops taking, lets everything taken
// settle, and checkpoints.
type pipe struct {
	r        *run
	src      *stream
	due      time.Time
	pending  []*item  // taken, not sent: events waiting for an earlier one of their member, an enrolment and what follows it
	inflight []*chunk // in the order sent
	ended    bool     // nothing is left before due
	draining bool     // a checkpoint is due: take nothing more until everything taken is settled
	taken    bool     // something was taken since the last checkpoint
	last     time.Time
}

// chunk is one Evaluate call: its events (of distinct members) and the answer.
type chunk struct {
	items   []*item
	results []pluginhost.EvaluateResult
	err     error
	done    chan struct{}
}

func (p *pipe) run(ctx context.Context) error {
	r := p.r
	for {
		for len(p.inflight) < r.s.opts.Parallel {
			c, err := p.fill(ctx)
			if err != nil {
				return err
			}
			if c == nil {
				break
			}
			p.inflight = append(p.inflight, c)
		}
		switch {
		case len(p.inflight) > 0:
			c := p.inflight[0]
			<-c.done
			p.inflight = p.inflight[1:]
			if err := p.settle(c); err != nil {
				return err
			}
		case len(p.pending) > 0: // an enrolment, with nothing before it left to settle
			it := p.pending[0]
			p.pending = p.pending[1:]
			if r.profiles[it.memberID] == nil {
				if err := r.loadProfileIDs(ctx, []int64{it.memberID}); err != nil {
					return err
				}
			}
			if err := r.enroll(ctx, it); err != nil {
				return err
			}
		case p.draining && p.taken:
			if err := r.checkpoint(ctx, p.last, false); err != nil {
				return err
			}
			p.draining, p.taken = false, false
			continue
		default:
			return nil // p.ended: everything before due is settled
		}
		if !p.draining && time.Since(r.lastSaved) >= r.s.opts.Checkpoint {
			p.draining = true
		}
	}
}

// take takes the next item of the stream, or returns nil when none is left before due.
func (p *pipe) take() (*item, error) {
	it, err := p.src.next(p.due)
	if err != nil || it == nil {
		p.ended = err == nil
		return nil, err
	}
	p.taken, p.last = true, it.at
	return it, nil
}

// fill sends the next chunk to the plugin: the first events taken, in order, of members with
// nothing in flight or waiting before them, up to an enrolment, and nil when there is none. An
// event outside the campaign's dates is not evaluated and leaves nothing to settle.
func (p *pipe) fill(ctx context.Context) (*chunk, error) {
	r := p.r
	r.fills++
	c := &chunk{done: make(chan struct{})}
	w, i := 0, 0
	for len(c.items) < r.s.opts.BatchSize {
		if i == len(p.pending) {
			if p.ended || p.draining || len(p.pending) >= r.s.opts.PageSize {
				break
			}
			it, err := p.take()
			if err != nil {
				return nil, err
			}
			if it == nil {
				break
			}
			p.pending = append(p.pending, it)
		}
		it := p.pending[i]
		if it.event == nil {
			break
		}
		i++
		if !r.c.Live(it.at) {
			continue
		}
		if m := r.members[it.memberID]; m != nil && (m.busy || m.waits == r.fills) {
			m.waits = r.fills
			p.pending[w] = it
			w++
			continue
		}
		it.sim = r.member(it.memberID)
		it.sim.busy = true
		c.items = append(c.items, it)
	}
	p.pending = append(p.pending[:w], p.pending[i:]...)
	if len(c.items) == 0 {
		return nil, nil
	}
	req := pluginhost.EvaluateRequest{Campaign: r.camp, Items: make([]pluginhost.EvaluateItem, len(c.items))}
	for i, it := range c.items {
		req.Items[i] = pluginhost.EvaluateItem{Event: *it.event,
			Member: it.sim.snapshot(it.memberID, r.profiles[it.memberID], r.program, r.c.Code, it.at)}
	}
	go func() {
		defer close(c.done)
		resp, err := r.prog.Evaluate(ctx, req)
		if err == nil && len(resp.Results) != len(c.items) {
			err = fmt.Errorf("%w: plugin returned %d results for %d events", pluginhost.ErrUnavailable, len(resp.Results), len(c.items))
		}
		c.results, c.err = resp.Results, err
	}()
	return c, nil
}

// settle applies the plugin's decisions on a chunk's events.
func (p *pipe) settle(c *chunk) error {
	r := p.r
	if c.err != nil {
		return fmt.Errorf("plugin %s@%s: %w", r.b.PluginName, r.b.PluginVersion, c.err)
	}
	for i, res := range c.results {
		it := c.items[i]
		m := it.sim
		m.busy, it.sim = false, nil
		m.Events++
		m.dirty = true
		r.totals.EventsEvaluated++
		r.day(it.at).EventsEvaluated++
		r.settle(m, res.Effects, it.at)
	}
	return nil
}

type page struct {
	items    []item
	profiles map[int64]*members.Member // of the members first met in the page
	err      error
}

// readEvents streams the period's events after the checkpoint, in (occurred_at, id) order, in
// pages with the profiles of the members they bring, from one query on a connection of its
// own, while the pages before are decided.
func (r *run) readEvents(ctx context.Context, types []string) <-chan page {
	out := make(chan page, 2)
	go func() {
		defer close(out)
		send := func(p page) bool {
			select {
			case out <- p:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if len(types) == 0 || r.b.maxEventID == 0 {
			return
		}
		from, afterID := r.b.From, int64(0)
		if r.b.eventAt != nil {
			from, afterID = *r.b.eventAt, r.b.eventID
		}
		rows, err := db.PG(r.s.db).Query(ctx, `SELECT id, member_id, type, source, external_id, occurred_at, attributes FROM events
			WHERE occurred_at >= $1 AND occurred_at < $2 AND type = ANY($3::text[]) AND id <= $4 AND (occurred_at, id) > ($5, $6)
			ORDER BY occurred_at, id`, r.b.From, r.b.To, types, r.b.maxEventID, from, afterID)
		if err != nil {
			send(page{err: err})
			return
		}
		defer rows.Close()
		size := r.s.opts.PageSize
		seen := map[int64]bool{}
		var met []int64
		items := make([]item, 0, size)
		flush := func() bool {
			pg := page{items: items}
			if len(met) > 0 {
				if pg.profiles, err = r.s.profiles(ctx, met); err != nil {
					pg = page{err: err}
				}
			}
			items, met = make([]item, 0, size), nil
			return send(pg) && pg.err == nil
		}
		for rows.Next() {
			var it item
			ev := &pluginhost.Event{}
			var raw []byte
			if err := rows.Scan(&it.id, &it.memberID, &ev.Type, &ev.Source, &ev.ExternalID, &ev.OccurredAt, &raw); err != nil {
				send(page{err: err})
				return
			}
			if passThrough(raw) {
				ev.AttributesJSON = raw
			} else if err := json.Unmarshal(raw, &ev.Attributes); err != nil {
				send(page{err: fmt.Errorf("event %d: attributes: %w", it.id, err)})
				return
			}
			ev.ID, ev.OccurredAt = strconv.FormatInt(it.id, 10), ev.OccurredAt.UTC()
			it.at, it.event = ev.OccurredAt, ev
			items = append(items, it)
			if !seen[it.memberID] {
				seen[it.memberID] = true
				met = append(met, it.memberID)
			}
			if len(items) == size && !flush() {
				return
			}
		}
		if err := rows.Err(); err != nil {
			send(page{err: err})
			return
		}
		if len(items) > 0 {
			flush()
		}
	}()
	return out
}

// passThrough reports whether event attributes as PostgreSQL gives them (a jsonb object) can
// go to the plugin as they are: the plugin then decodes the same values as from the attributes
// decoded and encoded again, as the engine sends them. That holds when every number is an
// integer of at most 15 digits, which a float64 keeps exactly and encodes back as it was.
func passThrough(raw []byte) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case c == '-' || '0' <= c && c <= '9':
			j := i
			if c == '-' {
				j++
			}
			k := j
			for k < len(raw) && '0' <= raw[k] && raw[k] <= '9' {
				k++
			}
			if n := k - j; n == 0 || n > 15 || raw[j] == '0' && (n > 1 || c == '-') {
				return false
			}
			if k < len(raw) && (raw[k] == '.' || raw[k] == 'e' || raw[k] == 'E') {
				return false
			}
			i = k - 1
		}
	}
	return true
}

// readEnrollments reads the enrolments recorded in the period in the other campaigns of the
// draft's programme, after the checkpoint, in (enrolled_at, id) order.
func (r *run) readEnrollments(ctx context.Context) ([]item, error) {
	from, afterID := r.b.From, int64(0)
	if r.b.enrollmentAt != nil {
		from, afterID = *r.b.enrollmentAt, r.b.enrollmentID
	}
	rows, err := db.PG(r.s.db).Query(ctx, `SELECT e.id, e.member_id, e.enrolled_at, e.answers, e.registered_by, e.responsible
		FROM enrollments e JOIN campaigns c ON c.id = e.campaign_id
		WHERE c.program_id = $1 AND e.campaign_id <> $2 AND e.enrolled_at >= $3 AND e.enrolled_at < $4 AND e.id <= $5
			AND (e.enrolled_at, e.id) > ($6, $7)
		ORDER BY e.enrolled_at, e.id`, r.c.ProgramID, r.c.ID, r.b.From, r.b.To, r.b.maxEnrollmentID, from, afterID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.memberID, &it.at, &it.answers, &it.regBy, &it.resp); err != nil {
			return nil, err
		}
		it.at = it.at.UTC()
		if it.answers == nil {
			it.answers = map[string]any{}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// member returns the simulated member id, new and empty if the simulation has not met it.
func (r *run) member(id int64) *sim {
	m := r.members[id]
	if m == nil {
		m = &sim{dirty: true}
		r.members[id] = m
	}
	return m
}

func (r *run) loadProfileIDs(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	ps, err := r.s.profiles(ctx, ids)
	if err != nil {
		return err
	}
	maps.Copy(r.profiles, ps)
	return nil
}

// profiles returns the stored profiles of members ids, an empty one for each that is gone.
func (s *Service) profiles(ctx context.Context, ids []int64) (map[int64]*members.Member, error) {
	ms, err := s.members.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if ms[id] == nil {
			ms[id] = &members.Member{ID: id}
		}
	}
	return ms, nil
}

// settle applies one decision for member id at t and counts it.
func (r *run) settle(m *sim, effects []pluginhost.Effect, t time.Time) {
	if len(effects) == 0 {
		r.totals.NoEffect++
		return
	}
	m.dirty = true
	if err := r.s.engine.ValidateEffects(effects, t); err != nil {
		r.totals.Refused++
		m.Refused++
		return
	}
	if slices.ContainsFunc(effects, func(e pluginhost.Effect) bool { return e.Kind == pluginhost.KindReject }) {
		r.totals.Rejected++ // a reject stands for the whole decision
		m.Rejected++
		return
	}
	out, err := m.apply(effects, t)
	if err != nil {
		r.totals.Refused++
		m.Refused++
		return
	}
	r.totals.Applied++
	r.count(m, out, t)
}

// count adds what a decision did to the member, the totals and its day.
func (r *run) count(m *sim, out outcome, t time.Time) {
	m.Points += out.points
	m.Debited += out.debited
	m.Granted += out.granted
	r.totals.PointsIssued += out.points
	r.totals.PointsDebited += out.debited
	r.totals.BenefitsGranted += out.granted
	r.totals.TierChanges += out.tiers
	r.totals.Notifications += out.notifications
	d := r.day(t)
	d.PointsIssued += out.points
	d.PointsDebited += out.debited
	d.BenefitsGranted += out.granted
	if out.reached {
		if !m.Reached {
			m.Reached = true
			r.totals.MembersReached++
		}
		if m.LastDay != d.Day {
			m.LastDay = d.Day
			d.MembersReached++
		}
	}
}

// day returns the counts of t's day in the campaign's time zone.
func (r *run) day(t time.Time) *Day {
	if c := &r.today; c.day != nil && !t.Before(c.from) && t.Before(c.to) {
		return c.day
	}
	local := t.In(r.loc)
	key := local.Format("2006-01-02")
	d := r.days[key]
	if d == nil {
		d = &Day{Day: key}
		r.days[key] = d
	}
	// Remember the day's bounds, provided they are what they seem (both ends on that date) in a
	// zone whose midnight may be skipped or repeated.
	y, m, dd := local.Date()
	from, to := time.Date(y, m, dd, 0, 0, 0, 0, r.loc), time.Date(y, m, dd+1, 0, 0, 0, 0, r.loc)
	if from.Format("2006-01-02") == key && to.Add(-time.Nanosecond).In(r.loc).Format("2006-01-02") == key && !t.Before(from) && t.Before(to) {
		r.today = dayRange{from: from.UTC(), to: to.UTC(), day: d}
	}
	return d
}

// enroll replays one recorded enrolment: the plugin checks eligibility with the recorded
// answers at the recorded time on the simulated member, as engine.Enroll does.
func (r *run) enroll(ctx context.Context, it *item) error {
	r.totals.EnrollmentsReplayed++
	m := r.member(it.memberID)
	m.dirty = true
	if !r.c.Live(it.at) {
		r.totals.Rejected++
		m.Rejected++
		return nil
	}
	resp, err := r.prog.CheckEligibility(ctx, pluginhost.EligibilityRequest{Campaign: r.camp,
		Member: m.snapshot(it.memberID, r.profiles[it.memberID], r.program, r.c.Code, it.at), Answers: it.answers, Now: it.at})
	if err != nil {
		return fmt.Errorf("plugin %s@%s: %w", r.b.PluginName, r.b.PluginVersion, err)
	}
	if !resp.Eligible {
		r.totals.Rejected++
		m.Rejected++
		return nil
	}
	out, refused := outcome{}, r.s.engine.ValidateEffects(resp.Effects, it.at) != nil
	if !refused {
		var err error
		out, err = m.apply(resp.Effects, it.at)
		refused = err != nil
	}
	if refused { // the engine would refuse the enrolment's effects, and so the enrolment
		r.totals.Refused++
		m.Refused++
		return nil
	}
	if len(resp.Effects) == 0 {
		m.Version++ // enrolling changes what the plugin sees
	}
	if len(m.Enrolled) == 0 {
		r.order = append(r.order, it.memberID)
	}
	m.Enrolled = append(m.Enrolled, simEnrollment{Source: it.id, EnrolledAt: it.at, Answers: it.answers, RegisteredBy: it.regBy,
		Responsible: it.resp})
	r.totals.EnrollmentsAccepted++
	r.totals.Applied++
	r.count(m, out, it.at)
	return nil
}

// tick runs one occurrence of a hook over the participants, in pages, as the scheduler does.
func (r *run) tick(ctx context.Context, hook string, due time.Time) error {
	r.totals.HookRuns++
	for start := 0; start < len(r.order); start += r.s.opts.TickPage {
		ids := r.order[start:min(start+r.s.opts.TickPage, len(r.order))]
		var missing []int64
		for _, id := range ids {
			if r.profiles[id] == nil {
				missing = append(missing, id)
			}
		}
		if err := r.loadProfileIDs(ctx, missing); err != nil {
			return err
		}
		req := pluginhost.TickRequest{Campaign: r.camp, Hook: hook, Now: due, Members: make([]pluginhost.Member, len(ids))}
		asked := make(map[string]int64, len(ids))
		for i, id := range ids {
			req.Members[i] = r.member(id).snapshot(id, r.profiles[id], r.program, r.c.Code, due)
			asked[req.Members[i].ID] = id
		}
		resp, err := r.prog.Tick(ctx, req)
		if err != nil {
			return fmt.Errorf("plugin %s@%s: hook %s at %s: %w", r.b.PluginName, r.b.PluginVersion, hook, due.Format(time.RFC3339), err)
		}
		for _, res := range resp.Results {
			id, ok := asked[res.MemberID]
			if !ok || len(res.Effects) == 0 {
				continue
			}
			r.settle(r.member(id), res.Effects, due)
		}
	}
	return nil
}

func (r *run) maybeCheckpoint(ctx context.Context, at time.Time) error {
	if time.Since(r.lastSaved) < r.s.opts.Checkpoint {
		return nil
	}
	return r.checkpoint(ctx, at, false)
}

// checkpointRows is how many members one statement of a checkpoint writes.
const checkpointRows = 1000

// checkpoint writes, in one transaction, the members changed since the last checkpoint, the
// cursors, totals and days, and renews the lease, provided the backtest is still running and
// this runner's (errLost otherwise, and nothing is written). done finishes the backtest.
func (r *run) checkpoint(ctx context.Context, at time.Time, done bool) error {
	var ids []int64
	for id, m := range r.members {
		if m.dirty {
			ids = append(ids, id)
		}
	}
	days := make([]Day, 0, len(r.days))
	for _, d := range r.days {
		days = append(days, *d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Day < days[j].Day })
	totals, err := json.Marshal(r.totals)
	if err != nil {
		return err
	}
	dayJSON, err := json.Marshal(days)
	if err != nil {
		return err
	}
	status := StatusRunning
	now := r.s.now().UTC()
	var finished *time.Time
	if done {
		status, finished = StatusDone, &now
	}
	err = db.RunInTx(ctx, r.s.db, func(ctx context.Context, tx db.Tx) error {
		pg := db.PG(tx)
		tag, err := pg.Exec(ctx, `UPDATE backtests SET event_at = $3, event_id = $4, enrollment_at = $5, enrollment_id = $6,
				tick_at = $7, events_done = $8, sim_at = $9, totals = $10, days = $11, status = $12, finished_at = $13,
				lease_until = $14, updated_at = $15
			WHERE id = $1 AND owner = $2 AND status = 'running'`,
			r.b.ID, r.s.owner, r.b.eventAt, r.b.eventID, r.b.enrollmentAt, r.b.enrollmentID, r.b.tickAt, r.b.EventsDone, at,
			totals, dayJSON, status, finished, time.Now().Add(r.s.opts.Lease), now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errLost
		}
		n := min(len(ids), checkpointRows)
		events, points, debited, granted := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		reached, sims := make([]bool, 0, n), make([]string, 0, n)
		var buf []byte
		for start := 0; start < len(ids); start += checkpointRows {
			part := ids[start:min(start+checkpointRows, len(ids))]
			events, points, debited, granted, reached, sims = events[:0], points[:0], debited[:0], granted[:0], reached[:0], sims[:0]
			for _, id := range part {
				m := r.members[id]
				if buf, err = m.appendJSON(buf[:0]); err != nil {
					return fmt.Errorf("member %d: %w", id, err)
				}
				events, points, debited, granted = append(events, m.Events), append(points, m.Points), append(debited, m.Debited),
					append(granted, m.Granted)
				reached, sims = append(reached, m.Reached), append(sims, string(buf))
			}
			if _, err := pg.Exec(ctx, `INSERT INTO backtest_members (backtest_id, member_id, events, points_issued, points_debited,
					benefits_granted, reached, sim)
				SELECT $1, u.member_id, u.events, u.points, u.debited, u.granted, u.reached, u.sim::jsonb
				FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[], $8::text[])
					AS u(member_id, events, points, debited, granted, reached, sim)
				ON CONFLICT (backtest_id, member_id) DO UPDATE SET events = EXCLUDED.events, points_issued = EXCLUDED.points_issued,
					points_debited = EXCLUDED.points_debited, benefits_granted = EXCLUDED.benefits_granted, reached = EXCLUDED.reached,
					sim = EXCLUDED.sim`, r.b.ID, part, events, points, debited, granted, reached, sims); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		r.members[id].dirty = false
	}
	r.lastSaved = time.Now()
	if done {
		r.s.log.Info("backtest done", "backtest", r.b.ID, "events", r.b.EventsDone, "points", r.totals.PointsIssued,
			"benefits", r.totals.BenefitsGranted)
	}
	return nil
}
