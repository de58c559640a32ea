// Package engine is the event pipeline: it stores each inbound event before anything else,
// routes it to the live campaigns whose plugin handles its type, asks each plugin for a
// decision on a batch of events at once, validates every effect, and applies one event's
// effects together with its outcome in one PostgreSQL transaction.
//
// Guarantees:
//   - an event is stored once per (source, external id); a duplicate delivery gets the first
//     event and its outcome back, and one reusing the id with other content is refused;
//   - evaluation is at least once, effects exactly once: a campaign's effects and its entry in
//     the outcome are written in the same transaction, under the event's row lock, and a
//     campaign already in the outcome is never applied again;
//   - a plugin that is down, hangs or crashes parks its campaigns' part of the event (the event
//     stays pending and the background worker retries it with back-off); a plugin that answers
//     garbage gets a failed outcome for its campaign; other campaigns are unaffected;
//   - a decision taken on a stale snapshot is not applied: each (campaign, member) pair has a
//     version, checked under a row lock and bumped whenever effects are applied; a stale
//     decision is evaluated again on fresh state.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
)

// Errors returned for individual inputs.
var (
	// ErrInvalidEvent means an input field is malformed; the message names it.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrUnknownMember means no member has the event's member reference.
	ErrUnknownMember = db.NotFound("unknown member")
	// ErrEventConflict means the source and external id were used before for other content.
	ErrEventConflict = errors.New("event id reused with different content")
	// ErrNotFound means no event has the id.
	ErrNotFound = db.NotFound("event not found")
	// ErrFutureEvent means the event's occurredAt is further ahead of programme time than
	// Options.MaxFutureSkew allows.
	ErrFutureEvent = errors.New("event from the future")
)

// DefaultMaxFutureSkew is how far ahead of programme time an event's occurredAt may be (clocks
// of the sending systems differ a little) unless Options.MaxFutureSkew says otherwise.
const DefaultMaxFutureSkew = 5 * time.Minute

// Plugins gives the engine the plugins it calls and their descriptions.
type Plugins interface {
	Program(k pluginhost.Key) pluginhost.Program
	Entry(ctx context.Context, k pluginhost.Key) (*pluginhost.Entry, error)
}

// tracer makes the engine's spans: one per Record call, one per merged batch (linked to its
// callers), one per evaluation round (a no-op unless tracing is on).
var tracer = otel.Tracer("github.com/promogate/promogate/server/engine")

// Options tunes the engine. Zero values take defaults.
type Options struct {
	Limits Limits
	// BatchSize is the most events sent to a plugin in one Evaluate call (default 500).
	BatchSize int
	// RetryMin and RetryMax bound the back-off of events waiting for a plugin (1s, 10s).
	RetryMin, RetryMax time.Duration
	// MaxAttempts is how many evaluations an event waits through before its waiting campaigns
	// are given up as failed (default 100).
	MaxAttempts int
	// Lease is how long an event claimed by the worker is left alone by other workers (30s).
	// An event being evaluated in line by Record is leased for at most RetryMax, so one whose
	// evaluation died with its process or connection is evaluated again within RetryMax.
	Lease time.Duration
	// PollInterval is the worker's period (500ms).
	PollInterval time.Duration
	// RecordBudget is the longest Record waits for a plugin's answer (default 1s): a campaign
	// whose plugin has not answered by then is reported waiting, and is applied when the plugin
	// answers (by its lane, or later by the worker); the other campaigns are not held up by it.
	// A plugin slower than the budget is not waited for at all until it answers within it
	// again. The worker's passes wait the same way.
	RecordBudget time.Duration
	// Metrics, when set, count recorded and decided events.
	Metrics *Metrics
	// MaxFutureSkew is how far ahead of programme time an event may have occurred
	// (DefaultMaxFutureSkew); events further ahead are refused with ErrFutureEvent.
	MaxFutureSkew time.Duration
	// Shadows, when set, is given the decisions of campaigns with a shadow run.
	Shadows Shadows
}

func (o *Options) defaults() {
	o.Limits.defaults()
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 100
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.RecordBudget <= 0 {
		o.RecordBudget = time.Second
	}
	if o.MaxFutureSkew <= 0 {
		o.MaxFutureSkew = DefaultMaxFutureSkew
	}
}

// Engine records and evaluates events. It is safe for concurrent use, and several engines
// (core replicas) may share one database.
type Engine struct {
	db        *db.DB
	ledger    *ledger.Ledger
	members   *members.Store
	campaigns *campaigns.Store
	benefits  *benefits.Store
	plugins   Plugins
	log       hclog.Logger
	now       func() time.Time
	opts      Options

	co        *coalescer
	committer *committer
	codes     *codeCache
	pace      *pace

	descMu sync.Mutex
	descs  map[pluginhost.Key]descEntry
}

type descEntry struct {
	types map[string]bool
	at    time.Time
}

// New returns an engine.
func New(bdb *db.DB, led *ledger.Ledger, mem *members.Store, camps *campaigns.Store, bens *benefits.Store, plugins Plugins,
	log hclog.Logger, now func() time.Time, opts Options) *Engine {
	opts.defaults()
	return &Engine{db: bdb, ledger: led, members: mem, campaigns: camps, benefits: bens, plugins: plugins, log: log, now: now,
		opts: opts, co: newCoalescer(), committer: newCommitter(), pace: &pace{budget: opts.RecordBudget, slow: map[pluginhost.Key]bool{}},
		codes: &codeCache{ledger: led, campaigns: camps}, descs: map[pluginhost.Key]descEntry{}}
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$`)

// MaxBatch is the most events one Record call takes.
const MaxBatch = 1000

// Record stores the inputs (deduplicated by source and external id), evaluates the new ones
// and returns one result per input, in order. Inputs are refused individually (Result.Err:
// ErrInvalidEvent, ErrUnknownMember, ErrEventConflict); the error return is for failures of the
// whole call. Small calls made at the same time are merged into one batch (see coalescer), so
// a failure of the whole batch is returned to each of them.
func (e *Engine) Record(ctx context.Context, ins []Input) ([]Result, error) {
	ctx, span := tracer.Start(ctx, "engine.Record", trace.WithAttributes(attribute.Int("promogate.events", len(ins))))
	defer span.End()
	if len(ins) > MaxBatch {
		return nil, fmt.Errorf("%w: at most %d events per call", ErrInvalidEvent, MaxBatch)
	}
	if len(ins) > coalesceMax {
		return e.record(ctx, ins, nil)
	}
	return e.co.do(ctx, ins, e.record)
}

// record is Record for one call's inputs (or several calls' inputs merged). It calls handoff,
// when set, once its events wait only for the database (see process), or when it returns.
func (e *Engine) record(ctx context.Context, ins []Input, handoff func()) ([]Result, error) {
	if handoff != nil {
		defer handoff()
	}
	now := e.now().UTC()
	results := make([]Result, len(ins))
	rows := make([]*Event, len(ins))
	var refList []string
	for i, in := range ins {
		if err := e.checkInput(in, now); err != nil {
			results[i].Err = err
			continue
		}
		refList = append(refList, in.MemberRef)
	}
	refs, err := e.members.IDsByExternalRef(ctx, refList)
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		if results[i].Err != nil {
			continue
		}
		mid := refs[in.MemberRef]
		if mid == 0 {
			results[i].Err = fmt.Errorf("%w: no member has externalRef %q", ErrUnknownMember, in.MemberRef)
			continue
		}
		attrs := in.Attributes
		if attrs == nil {
			attrs = map[string]any{}
		}
		rows[i] = &Event{Source: in.Source, ExternalID: in.ExternalID, Type: in.Type, MemberID: mid,
			OccurredAt: in.OccurredAt.UTC(), Attributes: attrs, InputHash: eventHash(in.Type, mid, in.OccurredAt, attrs),
			ReceivedAt: now, Status: StatusPending, NextAttemptAt: now.Add(min(e.opts.Lease, e.opts.RetryMax))}
	}
	var insert []*Event
	for _, r := range rows {
		if r != nil {
			insert = append(insert, r)
		}
	}
	if len(insert) == 0 {
		return results, nil
	}
	isNew, inserted, routable, err := e.insertEvents(ctx, insert)
	if err != nil {
		return nil, err
	}
	newIDs := make([]int64, len(inserted))
	for i := range inserted {
		newIDs[i] = inserted[i].ID
	}
	var evaluating map[int64][]*campaigns.Campaign
	if len(newIDs) > 0 {
		if evaluating, err = e.process(ctx, inserted, routable, e.opts.RecordBudget, handoff); err != nil {
			e.log.Error("evaluation failed; the worker will retry", "events", len(newIDs), "error", err)
			e.release(ctx, newIDs)
		}
	}
	// Read every event back: new ones by id (with their outcome), duplicates by their key (as
	// first stored).
	var stored []Event
	if len(newIDs) > 0 {
		if stored, err = e.queryEvents(ctx, e.db, `SELECT `+eventColumns+` FROM events WHERE id = ANY($1::bigint[])`,
			newIDs); err != nil {
			return nil, fmt.Errorf("engine: read events back: %w", err)
		}
		for i := range stored {
			e.opts.Metrics.beyondBudget(stillEvaluating(&stored[i], evaluating[stored[i].ID]))
		}
	}
	var dupSources, dupIDs []string
	for _, r := range insert {
		if isNew[[2]string{r.Source, r.ExternalID}] == 0 {
			dupSources, dupIDs = append(dupSources, r.Source), append(dupIDs, r.ExternalID)
		}
	}
	if len(dupSources) > 0 {
		dups, err := e.queryEvents(ctx, e.db, `SELECT `+eventColumns+` FROM events
			WHERE (source, external_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, dupSources, dupIDs)
		if err != nil {
			return nil, fmt.Errorf("engine: read duplicate events: %w", err)
		}
		stored = append(stored, dups...)
	}
	byKey := map[[2]string]*Event{}
	for i := range stored {
		byKey[[2]string{stored[i].Source, stored[i].ExternalID}] = &stored[i]
	}
	firstInBatch := map[[2]string]bool{}
	var fresh, duplicates, conflicts int
	defer func() {
		e.opts.Metrics.record("stored", fresh)
		e.opts.Metrics.record("duplicate", duplicates)
		e.opts.Metrics.record("conflict", conflicts)
	}()
	for i, r := range rows {
		if r == nil {
			continue
		}
		k := [2]string{r.Source, r.ExternalID}
		ev := byKey[k]
		if ev == nil {
			return nil, fmt.Errorf("engine: event %s/%s vanished", r.Source, r.ExternalID)
		}
		if string(ev.InputHash) != string(r.InputHash) {
			results[i].Err = fmt.Errorf("%w: source %q externalId %q", ErrEventConflict, r.Source, r.ExternalID)
			conflicts++
			continue
		}
		results[i].Event = ev
		results[i].Duplicate = isNew[k] == 0 || firstInBatch[k]
		firstInBatch[k] = true
		if results[i].Duplicate {
			duplicates++
		} else {
			fresh++
		}
	}
	return results, nil
}

// stillEvaluating adds to pending event ev's outcome, as waiting, the campaigns cs whose
// plugins had not answered when Record stopped waiting, unless the outcome lists them already
// (as applied, or as waiting), and returns how many it added.
func stillEvaluating(ev *Event, cs []*campaigns.Campaign) int {
	if ev.Status != StatusPending || len(cs) == 0 {
		return 0
	}
	if ev.Outcome == nil {
		ev.Outcome = &Outcome{Campaigns: []CampaignOutcome{}}
	}
	n := 0
	for _, c := range cs {
		if ev.Outcome.Decided(c.ID) {
			continue
		}
		n++
		if waitingOf(ev.Outcome, c.ID) != nil {
			continue
		}
		ev.Outcome.Waiting = append(ev.Outcome.Waiting, Waiting{CampaignID: c.ID, CampaignCode: c.Code, Plugin: c.PluginName,
			PluginVersion: c.PluginVersion, Error: fmt.Sprintf("plugin %s@%s has not answered within the record budget; "+
				"its effects are applied when it does", c.PluginName, c.PluginVersion)})
	}
	return n
}

// waitingOf returns the outcome's waiting entry of the campaign, or nil.
func waitingOf(o *Outcome, campaignID int64) *Waiting {
	for i := range o.Waiting {
		if o.Waiting[i].CampaignID == campaignID {
			return &o.Waiting[i]
		}
	}
	return nil
}

// eventColumns are the columns of Event, as the statements on pgx (db.PG) select them.
const eventColumns = `id, source, external_id, type, member_id, occurred_at, attributes, input_hash, received_at, status,
	attempts, next_attempt_at, last_error, outcome, processed_at`

// queryEvents runs a statement selecting eventColumns on db.PG(idb) and returns its rows.
func (e *Engine) queryEvents(ctx context.Context, idb bun.IDB, query string, args ...any) ([]Event, error) {
	rows, err := db.PG(idb).Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return db.Collect[Event](rows)
}

// insertEvents stores new events in one statement, skipping those whose (source, external id)
// is taken (by an earlier event, or by an earlier row of evs), and returns the ids of those it
// stored by key, the stored rows in id order, and the routable campaigns (see
// campaigns.Store.Routable), read in the same round trip.
func (e *Engine) insertEvents(ctx context.Context, evs []*Event) (map[[2]string]int64, []Event, []campaigns.Campaign, error) {
	n := len(evs)
	sources, extIDs, types, occurred, attrs, hashes := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	memberIDs := make([]int64, n)
	for i, ev := range evs {
		b, err := json.Marshal(ev.Attributes)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("engine: encode attributes: %w", err)
		}
		sources[i], extIDs[i], types[i], memberIDs[i] = ev.Source, ev.ExternalID, ev.Type, ev.MemberID
		occurred[i], attrs[i], hashes[i] = timestampText(ev.OccurredAt), string(b), hex.EncodeToString(ev.InputHash)
	}
	// Every row of one call has the same receipt and lease times ($8, $9).
	b := &pgx.Batch{}
	var stored []Event
	b.Queue(`INSERT INTO events (source, external_id, type, member_id, occurred_at,
			attributes, input_hash, received_at, status, attempts, next_attempt_at, last_error)
		SELECT d.source, d.external_id, d.type, d.member_id, d.occurred_at, d.attributes::jsonb, decode(d.input_hash, 'hex'),
			$8::timestamptz, 'pending', 0, $9::timestamptz, ''
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[], $7::text[])
			WITH ORDINALITY AS d(source, external_id, type, member_id, occurred_at, attributes, input_hash, n)
		ORDER BY d.n
		ON CONFLICT (source, external_id) DO NOTHING
		RETURNING `+eventColumns, sources, extIDs, types, memberIDs, occurred, attrs, hashes, evs[0].ReceivedAt,
		evs[0].NextAttemptAt).Query(func(rows pgx.Rows) (err error) {
		stored, err = db.Collect[Event](rows)
		return err
	})
	var routable []campaigns.Campaign
	e.campaigns.QueueRoutable(b, &routable)
	if err := db.PG(e.db).SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("engine: store events: %w", err)
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].ID < stored[j].ID })
	isNew := make(map[[2]string]int64, len(stored))
	for i := range stored {
		isNew[[2]string{stored[i].Source, stored[i].ExternalID}] = stored[i].ID
	}
	return isNew, stored, routable, nil
}

// timestampText is t as a timestamptz literal, to the microsecond PostgreSQL keeps (truncated,
// as bun and pgdriver write times).
func timestampText(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
}

// checkInput reports why an input is refused at programme time now (ErrInvalidEvent,
// ErrFutureEvent), or nil: the rule of recorded and simulated events alike.
func (e *Engine) checkInput(in Input, now time.Time) error {
	if err := validateInput(in); err != nil {
		return err
	}
	if limit := now.Add(e.opts.MaxFutureSkew); in.OccurredAt.After(limit) {
		return fmt.Errorf("%w: occurredAt %s is %s ahead of programme time %s; at most %s is accepted", ErrFutureEvent,
			in.OccurredAt.Format(time.RFC3339), in.OccurredAt.Sub(now).Round(time.Second), now.Format(time.RFC3339),
			e.opts.MaxFutureSkew)
	}
	return nil
}

func validateInput(in Input) error {
	switch {
	case !tokenRe.MatchString(in.Type):
		return fmt.Errorf("%w: type must be 1-128 letters, digits or _.:/-", ErrInvalidEvent)
	case !tokenRe.MatchString(in.Source):
		return fmt.Errorf("%w: source must be 1-128 letters, digits or _.:/-", ErrInvalidEvent)
	case in.ExternalID == "" || len(in.ExternalID) > 200:
		return fmt.Errorf("%w: externalId must be 1 to 200 bytes", ErrInvalidEvent)
	case in.MemberRef == "":
		return fmt.Errorf("%w: memberRef is required", ErrInvalidEvent)
	case in.OccurredAt.IsZero():
		return fmt.Errorf("%w: occurredAt is required", ErrInvalidEvent)
	}
	if b, err := json.Marshal(in.Attributes); err != nil || len(b) > 64<<10 {
		return fmt.Errorf("%w: attributes must be a JSON object of at most 64 KiB", ErrInvalidEvent)
	}
	return nil
}

func eventHash(typ string, memberID int64, at time.Time, attrs map[string]any) []byte {
	b, _ := json.Marshal(attrs) // map keys are sorted
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", typ, memberID, at.UTC().Format(time.RFC3339Nano))
	h.Write(b)
	return h.Sum(nil)
}

// Get returns event id with its outcome, or ErrNotFound.
func (e *Engine) Get(ctx context.Context, id int64) (*Event, error) {
	var ev Event
	if err := e.db.NewSelect().Model(&ev).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrNotFound)
	}
	return &ev, nil
}

// Run evaluates pending events until ctx ends: events whose plugin was unavailable, and events
// a crashed core left behind. Several replicas may run it at once: events are claimed with
// FOR UPDATE SKIP LOCKED and leased.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := e.runOnce(ctx, e.opts.RecordBudget)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("event worker", "error", err)
				}
				break
			}
			if n < e.opts.BatchSize {
				break
			}
		}
	}
}

// RunOnce claims and evaluates one batch of due pending events and returns how many it claimed,
// once every campaign's plugin has answered (or failed).
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	return e.runOnce(ctx, 0)
}

// runOnce is RunOnce waiting at most wait for the plugins (0: until every one answers); the
// campaigns of plugins that have not answered by then are applied in the background.
func (e *Engine) runOnce(ctx context.Context, wait time.Duration) (int, error) {
	now := e.now().UTC()
	b := &pgx.Batch{}
	var claimed []Event
	b.Queue(`UPDATE events SET next_attempt_at = $1
		WHERE id IN (SELECT id FROM events WHERE status = 'pending' AND next_attempt_at <= $2
		             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+eventColumns, now.Add(e.opts.Lease), now, e.opts.BatchSize).Query(func(rows pgx.Rows) (err error) {
		claimed, err = db.Collect[Event](rows)
		return err
	})
	var routable []campaigns.Campaign
	e.campaigns.QueueRoutable(b, &routable)
	if err := db.PG(e.db).SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("engine: claim events: %w", err)
	}
	if len(claimed) == 0 {
		return 0, nil
	}
	sort.Slice(claimed, func(i, j int) bool { return claimed[i].ID < claimed[j].ID })
	ids := make([]int64, len(claimed))
	for i := range claimed {
		ids[i] = claimed[i].ID
	}
	if _, err := e.process(ctx, claimed, routable, wait, nil); err != nil {
		e.release(ctx, ids)
		return len(ids), err
	}
	return len(ids), nil
}

// release gives up the lease of events whose evaluation failed, so that any worker takes them
// again after RetryMin rather than after the lease. It is best effort: when the database is
// down it fails too, and the lease runs out instead.
func (e *Engine) release(ctx context.Context, ids []int64) {
	at := e.now().UTC().Add(e.opts.RetryMin)
	if _, err := db.PG(e.db).Exec(context.WithoutCancel(ctx), `UPDATE events SET next_attempt_at = $1
		WHERE id = ANY($2::bigint[]) AND status = 'pending' AND next_attempt_at > $1`, at, ids); err != nil {
		e.log.Warn("could not release events after a failed evaluation; their lease runs out instead", "events", len(ids), "error", err)
	}
}

// CampaignsFor returns the campaigns of a programme that are live at t and whose plugin
// evaluates events of type typ, in id order.
func (e *Engine) CampaignsFor(ctx context.Context, programID int64, typ string, t time.Time) ([]campaigns.Campaign, error) {
	routable, err := e.campaigns.Routable(ctx)
	if err != nil {
		return nil, err
	}
	var out []campaigns.Campaign
	for i := range routable {
		c := &routable[i]
		if c.ProgramID == programID && e.routes(ctx, c, typ, t) {
			out = append(out, *c)
		}
	}
	return out, nil
}

// routes reports whether campaign c evaluates an event of type typ that occurred at t: the one
// routing rule of recorded events, CampaignsFor and simulations. The campaign must be live at
// t (scheduled or active, t within its period) and its plugin must list the type.
func (e *Engine) routes(ctx context.Context, c *campaigns.Campaign, typ string, t time.Time) bool {
	return c.Live(t) && e.handles(ctx, c, typ)
}

// whyNotRouted says why routes is false for c, typ and t.
func (e *Engine) whyNotRouted(ctx context.Context, c *campaigns.Campaign, typ string, t time.Time) string {
	if why := c.WhyNotLive(t); why != "" {
		return why
	}
	return fmt.Sprintf("plugin %s@%s of campaign %s does not evaluate events of type %q", c.PluginName, c.PluginVersion, c.Code, typ)
}

// State returns the plugin state a campaign keeps for a member (nil when none).
func (e *Engine) State(ctx context.Context, campaignID, memberID int64) (json.RawMessage, error) {
	var st json.RawMessage
	err := db.PG(e.db).QueryRow(ctx, `SELECT state FROM plugin_state WHERE campaign_id = $1 AND member_id = $2`, campaignID, memberID).
		Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && string(st) == "null" {
		return nil, nil
	}
	return st, err
}

// handles reports whether campaign c's plugin evaluates events of type typ.
func (e *Engine) handles(ctx context.Context, c *campaigns.Campaign, typ string) bool {
	k := pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}
	e.descMu.Lock()
	d, ok := e.descs[k]
	e.descMu.Unlock()
	if !ok || time.Since(d.at) > 10*time.Second {
		entry, err := e.plugins.Entry(ctx, k)
		if err != nil {
			return false
		}
		d = descEntry{types: map[string]bool{}, at: time.Now()}
		for _, t := range entry.Description.EventTypes {
			d.types[t] = true
		}
		e.descMu.Lock()
		e.descs[k] = d
		e.descMu.Unlock()
	}
	return d.types[typ]
}

// retryDelay is the back-off before an event's next evaluation after attempts tries.
func (e *Engine) retryDelay(attempts int) time.Duration {
	d := e.opts.RetryMin << min(max(attempts-1, 0), 16)
	if d > e.opts.RetryMax || d <= 0 {
		d = e.opts.RetryMax
	}
	return d
}

// runTx runs fn in a transaction with the ledger's retry policy.
func (e *Engine) runTx(ctx context.Context, fn func(ctx context.Context, tx db.Tx) error) error {
	return db.RunInTx(ctx, e.db, fn)
}
