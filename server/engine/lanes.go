package engine

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/pluginhost"
)

// pace remembers which plugins are slow now: a plugin whose Evaluate call took longer than the
// record budget (or was still running when a process call stopped waiting for it) stays slow
// until one of its calls answers within the budget. Process calls that wait with a budget do not
// wait for the lanes of slow plugins at all, so a plugin that starts hanging costs a recordEvent
// at most one budget, once.
type pace struct {
	budget time.Duration

	mu   sync.Mutex
	slow map[pluginhost.Key]bool
}

func (p *pace) isSlow(k pluginhost.Key) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slow[k]
}

func (p *pace) set(k pluginhost.Key, slow bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slow {
		p.slow[k] = true
	} else {
		delete(p.slow, k)
	}
}

// observe records an Evaluate call of plugin k that took took and ended with err.
func (p *pace) observe(k pluginhost.Key, took time.Duration, err error) {
	switch {
	case took >= p.budget:
		p.set(k, true)
	case err == nil:
		p.set(k, false)
	}
}

// lane is one campaign's part of a process call: its copies of the events routed to it,
// evaluated wave after wave and handed to the call's applier as soon as the plugin answers. A
// lane with no campaign carries the events no campaign is to decide on (the applier settles
// them).
type lane struct {
	campaign *campaigns.Campaign
	key      pluginhost.Key
	events   []*Event
	waves    [][]*Event // events by wave (see run), round one

	// Guarded by run.mu.
	open      map[int64]bool // events this lane has yet to apply
	evalSince time.Time      // when its current Evaluate began; zero when none runs
	done      bool
	asked     bool // it has asked its plugin, or waits for the database, or is done
}

// applyReq is a lane's request to the applier: its decisions on a wave's events, by event id.
type applyReq struct {
	campaign  *campaigns.Campaign // nil: events to settle without decisions
	events    []*Event
	decisions map[int64]*decision
	reply     chan applyReply

	left  map[int64]bool // events not applied yet
	stale map[int64]bool // events whose decision was stale
}

// applyReply tells a lane which of its wave's events it decided on a stale snapshot, or why the
// wave could not be applied.
type applyReply struct {
	stale map[int64]bool
	err   error
}

// run is one process call: its events, their target campaigns, its lanes and its applier.
//
// Events of one member are decided one after another: an event's wave is its rank among its
// member's events in the call, a lane evaluates wave g only once every event of wave g-1 has
// been applied (at least for the campaigns that answered), and the applier writes an event only
// when every target campaign's decision on it has arrived, or that campaign's lane has nothing
// left for it, or is slow (its plugin is slow now, or its Evaluate has run longer than the
// budget). So when all plugins answer, an event's campaigns are applied together in campaign
// order, exactly as one transaction per event would; when one does not, the others go ahead.
type run struct {
	e        *Engine
	events   map[int64]*Event // the applier's copies
	targets  map[int64][]*campaigns.Campaign
	reqs     chan *applyReq
	progress chan struct{} // a lane finished or began an Evaluate

	mu      sync.Mutex
	changed *sync.Cond      // on mu: an event was applied or a lane finished
	lanes   map[int64]*lane // by campaign id
	all     []*lane
	waves   [][]int64      // event ids by wave
	applied map[int64]bool // events applied at least once
	flush   chan chan struct{}
	handoff func() // see process
	asked   int    // lanes asked
}

// process evaluates and applies the pending events evs (in id order), routed to the campaigns
// routable (Routable's, read with them). Each campaign the events are routed to gets a lane (a
// goroutine) that evaluates its events and hands the decisions to the call's one applier, which
// writes together the events that are ready (see run), in the engine's group commits (see
// committer). A plugin that hangs thus delays only its own campaigns: the others' effects are
// applied, and the event stays pending with that campaign waiting until its lane applies it (or
// the worker, once the plugin answers again).
//
// handoff, when set, is called once, as soon as every lane has read its snapshots and asked its
// plugin (or waits for the database, or is done), or the call first hands decisions to the
// group commit, or returns: from then on the call waits only for plugins and the database, so
// the next merged batch may start (see coalescer) without waiting for a slow plugin of this one.
//
// With wait 0 process returns when every lane is done. Otherwise it does not wait for a plugin
// longer than wait: it returns as soon as the lanes still running are slow (an Evaluate of
// theirs has run for wait, or their plugin is slow now, see pace), once the applier has written
// what no longer waits for them; those lanes go on in the background and apply their campaigns
// when their plugin answers. It returns, by event id, the campaigns whose lanes were still
// running.
func (e *Engine) process(ctx context.Context, evs []Event, routable []campaigns.Campaign, wait time.Duration,
	handoff func()) (map[int64][]*campaigns.Campaign, error) {
	ctx, span := tracer.Start(ctx, "engine.process", trace.WithAttributes(attribute.Int("promogate.events", len(evs))))
	defer span.End()
	var once sync.Once
	ended := func() {
		if handoff != nil {
			once.Do(handoff)
		}
	}
	defer ended()
	r := &run{e: e, events: make(map[int64]*Event, len(evs)), targets: make(map[int64][]*campaigns.Campaign, len(evs)),
		reqs: make(chan *applyReq), progress: make(chan struct{}, 1),
		lanes: map[int64]*lane{}, applied: map[int64]bool{}, flush: make(chan chan struct{}), handoff: ended}
	r.changed = sync.NewCond(&r.mu)
	bare := &lane{open: map[int64]bool{}}
	rank := map[int64]int{}
	for i := range evs {
		ev := &evs[i]
		g := rank[ev.MemberID]
		rank[ev.MemberID] = g + 1
		if g == len(r.waves) {
			r.waves = append(r.waves, nil)
		}
		r.waves[g] = append(r.waves[g], ev.ID)
		ts := e.targets(ctx, ev, routable)
		r.events[ev.ID], r.targets[ev.ID] = ev, ts
		if len(ts) == 0 {
			bare.events = append(bare.events, ev)
			bare.open[ev.ID] = true
		}
		for _, c := range ts {
			l := r.lanes[c.ID]
			if l == nil {
				l = &lane{campaign: c, key: pluginhost.Key{Name: c.PluginName, Version: c.PluginVersion}, open: map[int64]bool{}}
				r.lanes[c.ID] = l
				r.all = append(r.all, l)
			}
			cp := *ev
			l.events = append(l.events, &cp)
			for len(l.waves) <= g {
				l.waves = append(l.waves, nil)
			}
			l.waves[g] = append(l.waves[g], &cp)
			l.open[ev.ID] = true
		}
	}
	if len(bare.events) > 0 {
		r.all = append(r.all, bare)
	}
	if len(r.all) == 0 {
		return nil, nil
	}
	// The lanes and the applier outlive a call that stops waiting for them.
	lctx := trace.ContextWithSpanContext(context.WithoutCancel(ctx), span.SpanContext())
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		r.applier(lctx)
	}()
	var wg sync.WaitGroup
	for _, l := range r.all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.finish(l)
			e.runLane(lctx, r, l)
		}()
	}
	go func() {
		wg.Wait()
		close(r.reqs)
	}()
	for {
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			slow, wake := r.slowLeft(time.Now(), wait)
			if slow {
				// Let the applier write what no longer waits for the slow lanes, then answer.
				ack := make(chan struct{})
				select {
				case r.flush <- ack:
					<-ack
				case <-applied:
					return nil, nil
				}
				return r.running(), nil
			}
			if wake > 0 {
				timer = time.NewTimer(wake)
				fire = timer.C
			}
		}
		select {
		case <-applied:
			return nil, nil
		case <-r.progress:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// slowLeft reports whether every lane still running is slow now: its plugin is slow (see
// pace), or its Evaluate has run for budget or longer (its plugin is then marked slow). Otherwise it returns how long until the next running Evaluate reaches the
// budget (0: none runs).
func (r *run) slowLeft(now time.Time, budget time.Duration) (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	slow, wake := true, time.Duration(0)
	for _, l := range r.all {
		switch {
		case l.done:
		case l.campaign == nil:
			slow = false
		case r.e.pace.isSlow(l.key):
		case !l.evalSince.IsZero():
			if d := l.evalSince.Add(budget).Sub(now); d > 0 {
				slow = false
				if wake == 0 || d < wake {
					wake = d
				}
			} else {
				r.e.pace.set(l.key, true)
			}
		default:
			slow = false
		}
	}
	return slow, wake
}

// runLane evaluates and applies lane l's events: wave after wave, then again for the events
// whose decision was taken on a stale snapshot (at most maxRounds evaluations; on the last, a
// stale decision waits for the worker). If a wave cannot be applied, the lane's events are
// released for the worker.
func (e *Engine) runLane(ctx context.Context, r *run, l *lane) {
	if l.campaign == nil {
		r.ask(l)
		r.send(ctx, l, l.events, nil)
		return
	}
	var again []*Event
	for g, wave := range l.waves {
		if g > 0 {
			r.ask(l)
			r.waitWave(g - 1)
		}
		if len(wave) == 0 {
			continue
		}
		stale, ok := r.send(ctx, l, wave, e.evaluateIn(ctx, r, l, wave, maxRounds == 1))
		if !ok {
			return
		}
		again = append(again, stale...)
	}
	for round := 1; len(again) > 0; round++ {
		evs := again
		again = nil
		for _, wave := range waves(evs) {
			stale, ok := r.send(ctx, l, wave, e.evaluateIn(ctx, r, l, wave, round+1 >= maxRounds))
			if !ok {
				return
			}
			again = append(again, stale...)
		}
	}
}

// waitWave waits until every event of wave g has been applied once, or has no lane left to
// apply it.
func (r *run) waitWave(g int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		settled := true
		for _, id := range r.waves[g] {
			if r.applied[id] {
				continue
			}
			for _, c := range r.targets[id] {
				if !r.lanes[c.ID].done {
					settled = false
				}
			}
		}
		if settled {
			return
		}
		r.changed.Wait()
	}
}

// evaluateIn is evaluate for lane l, which meanwhile shows as evaluating.
func (e *Engine) evaluateIn(ctx context.Context, r *run, l *lane, wave []*Event, last bool) map[int64]*decision {
	r.mu.Lock()
	l.evalSince = time.Now()
	r.mu.Unlock()
	r.poke()
	defer func() {
		r.mu.Lock()
		l.evalSince = time.Time{}
		r.mu.Unlock()
	}()
	return e.evaluate(ctx, l.campaign, wave, last, func() { r.ask(l) })
}

// ask marks lane l as having asked its plugin (see process), and hands the call's intake off
// once every lane has.
func (r *run) ask(l *lane) {
	r.mu.Lock()
	if !l.asked {
		l.asked = true
		r.asked++
	}
	all := r.asked == len(r.all)
	r.mu.Unlock()
	if all {
		r.handoff()
	}
}

// send hands lane l's decisions on wave to the applier and returns the events decided on a
// stale snapshot; false if they could not be applied (the lane's events are then released).
func (r *run) send(ctx context.Context, l *lane, wave []*Event, decisions map[int64]*decision) ([]*Event, bool) {
	q := &applyReq{campaign: l.campaign, events: wave, decisions: decisions, reply: make(chan applyReply, 1),
		left: make(map[int64]bool, len(wave)), stale: map[int64]bool{}}
	for _, ev := range wave {
		q.left[ev.ID] = true
	}
	r.reqs <- q
	rep := <-q.reply
	if rep.err != nil {
		ids := make([]int64, len(l.events))
		for i, ev := range l.events {
			ids[i] = ev.ID
		}
		r.e.log.Error("evaluation failed; the worker will retry", "events", len(ids), "error", rep.err)
		r.e.release(ctx, ids)
		return nil, false
	}
	var stale []*Event
	for _, ev := range wave {
		if rep.stale[ev.ID] {
			stale = append(stale, ev)
		}
	}
	return stale, true
}

// applier applies the lanes' requests as their events become ready (see run): each time, all
// the events that are.
func (r *run) applier(ctx context.Context) {
	var pending []*applyReq
	closed := false
	for !closed || len(pending) > 0 {
		ready, wake := r.ready(pending, time.Now())
		if len(ready) > 0 || closed {
			if closed {
				ready = nil // every lane is done: whatever is left is ready
			}
			pending = r.apply(ctx, pending, ready)
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wake > 0 {
			timer = time.NewTimer(wake)
			fire = timer.C
		}
		select {
		case q, ok := <-r.reqs:
			if !ok {
				closed = true
				break
			}
			pending = append(pending, q)
		gather:
			for {
				select {
				case q, ok := <-r.reqs:
					if !ok {
						closed = true
						break gather
					}
					pending = append(pending, q)
				default:
					break gather
				}
			}
		case <-fire:
		case ack := <-r.flush:
			ready, _ := r.ready(pending, time.Now())
			if len(ready) > 0 {
				pending = r.apply(ctx, pending, ready)
			}
			close(ack)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// ready returns the events of pending that can be applied now (see run), and how long until a
// lane that keeps one of them waiting turns slow (0: none is timed).
func (r *run) ready(pending []*applyReq, now time.Time) (map[int64]bool, time.Duration) {
	have := map[int64]map[int64]bool{} // event → campaigns whose decision is pending
	for _, q := range pending {
		for id := range q.left {
			if have[id] == nil {
				have[id] = map[int64]bool{}
			}
			if q.campaign != nil {
				have[id][q.campaign.ID] = true
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ready := map[int64]bool{}
	var wake time.Duration
	for id, got := range have {
		ok := true
		for _, c := range r.targets[id] {
			l := r.lanes[c.ID]
			if got[c.ID] || l.done || !l.open[id] || r.e.pace.isSlow(l.key) {
				continue
			}
			if !l.evalSince.IsZero() {
				d := l.evalSince.Add(r.e.opts.RecordBudget).Sub(now)
				if d <= 0 {
					continue
				}
				if wake == 0 || d < wake {
					wake = d
				}
			}
			ok = false
		}
		if ok {
			ready[id] = true
		}
	}
	return ready, wake
}

// apply writes the decisions pending on the ready events (nil: on all events of pending) in
// the engine's group commit (see committer; an event's campaigns together), answers the
// requests that have nothing left, and returns the others. Handing decisions to the commit
// ends the call's intake, if it has not ended yet (see process).
func (r *run) apply(ctx context.Context, pending []*applyReq, ready map[int64]bool) []*applyReq {
	decisions := map[int64]map[int64]*decision{}
	var jobs []job
	for _, q := range pending {
		for id := range q.left {
			if ready != nil && !ready[id] {
				continue
			}
			ds := decisions[id]
			if ds == nil {
				ds = map[int64]*decision{}
				decisions[id] = ds
				jobs = append(jobs, job{ev: r.events[id], targets: r.targets[id], decisions: ds, evaluating: r.evaluating})
			}
			if q.campaign != nil {
				ds[q.campaign.ID] = q.decisions[id]
			}
		}
	}
	slices.SortFunc(jobs, func(a, b job) int { return cmp.Compare(a.ev.ID, b.ev.ID) })
	r.handoff()
	stales, err := r.e.commit(ctx, jobs)
	r.mu.Lock()
	for _, j := range jobs {
		id := j.ev.ID
		r.applied[id] = true
	}
	r.changed.Broadcast()
	var left []*applyReq
	for _, q := range pending {
		touched := false
		for id := range q.left {
			if _, done := decisions[id]; !done {
				continue
			}
			touched = true
			delete(q.left, id)
			if l := r.lanes[campaignID(q.campaign)]; l != nil {
				stale := false
				for _, c := range stales[id] {
					stale = stale || c.ID == l.campaign.ID
				}
				if stale && err == nil {
					q.stale[id] = true
				} else {
					delete(l.open, id)
				}
			}
		}
		if len(q.left) == 0 || touched && err != nil {
			q.reply <- applyReply{stale: q.stale, err: err}
			continue
		}
		left = append(left, q)
	}
	r.mu.Unlock()
	return left
}

func campaignID(c *campaigns.Campaign) int64 {
	if c == nil {
		return 0
	}
	return c.ID
}

// evaluating reports whether the lane of campaign id is still running.
func (r *run) evaluating(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lanes[id]
	return l != nil && !l.done
}

// finish marks lane l done.
func (r *run) finish(l *lane) {
	r.mu.Lock()
	l.done = true
	r.changed.Broadcast()
	r.mu.Unlock()
	r.ask(l)
	r.poke()
}

// poke tells process that a lane finished or began an Evaluate.
func (r *run) poke() {
	select {
	case r.progress <- struct{}{}:
	default:
	}
}
func (r *run) unfinished() []*lane {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*lane
	for _, l := range r.all {
		if !l.done {
			out = append(out, l)
		}
	}
	return out
}

// running returns, by event id, the campaigns whose lanes are still running.
func (r *run) running() map[int64][]*campaigns.Campaign {
	out := map[int64][]*campaigns.Campaign{}
	for _, l := range r.unfinished() {
		if l.campaign == nil {
			continue
		}
		for _, ev := range l.events {
			out[ev.ID] = append(out[ev.ID], l.campaign)
		}
	}
	return out
}
