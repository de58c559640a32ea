package engine

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/promogate/promogate/server/campaigns"
)

// maxGroup is the most events one group commit applies: a commit takes what queued while the
// previous one ran, up to this many, so that one transaction does not hold its account and
// state locks (which redemptions and other replicas wait for) for long.
const maxGroup = 500

// ownGroup is the most events one transaction of a large set of decisions applies (see
// commit): concurrent large sets often share members, and a transaction holding a member's
// state and account locks makes the others wait until it commits; two groups of 50 of 10,000
// members overlap about one time in five, two of 500 nearly always (measured: E2 was slower with
// 500).
const ownGroup = 50

// committer applies the small sets of decisions of an engine's process calls (merged batches of
// single events, a worker's few, a later wave's few; see commit) in group commits, one at a
// time: a call that finds no commit running commits at once with whatever is queued, and the
// calls arriving meanwhile queue up and are committed together in the next one. There is no
// timer and no fixed number of slots: a lone call waits for nothing, and under load a group is
// as large as what arrived during the previous commit, while the plugin calls and reads of
// other process calls go on beside it.
type committer struct {
	slot chan struct{} // held by the call running a commit

	mu    sync.Mutex
	queue []*commitCall
}

// commitCall is one process call's jobs waiting for their commit.
type commitCall struct {
	span   trace.SpanContext // the process call's, linked from the commit's span
	jobs   []job
	taken  bool // by a group (guarded by committer.mu)
	stales map[int64][]*campaigns.Campaign
	err    error
	done   chan struct{}
}

func newCommitter() *committer {
	return &committer{slot: make(chan struct{}, 1)}
}

// commit applies jobs (see applyWave) and returns the events' stale campaigns. Fewer than
// coalesceMax jobs go to the group commit shared with concurrent calls, and commit waits for it
// whatever ctx says, since the group holds other calls' jobs too; more are a group already and
// are committed on their own (in transactions of ownGroup events), beside the group commit and
// each other, so that the database applies large batches on all its CPUs.
func (e *Engine) commit(ctx context.Context, jobs []job) (map[int64][]*campaigns.Campaign, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if len(jobs) >= coalesceMax {
		return e.applyGroups(ctx, jobs, ownGroup)
	}
	c := e.committer
	me := &commitCall{span: trace.SpanContextFromContext(ctx), jobs: jobs, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		slot := c.slot
		if me.taken {
			slot = nil // a group has the call: only wait for it
		}
		c.mu.Unlock()
		select {
		case <-me.done:
			return me.stales, me.err
		case slot <- struct{}{}:
			e.commitQueued(ctx)
		}
	}
}

// commitQueued commits the queued calls as one group, in the slot the caller holds, and frees
// the slot. The commit's span (engine.groupCommit) is in the trace of the call that runs it and
// links every call in the group.
func (e *Engine) commitQueued(ctx context.Context) {
	c := e.committer
	defer func() { <-c.slot }()
	group := c.take()
	if len(group) == 0 {
		return
	}
	closed := 0
	defer func() {
		if r := recover(); r != nil {
			for _, cl := range group[closed:] {
				cl.err = fmt.Errorf("engine: group commit failed: %v", r)
				close(cl.done)
			}
			panic(r)
		}
	}()
	var jobs []job
	spans := make([]trace.SpanContext, len(group))
	for i, cl := range group {
		jobs = append(jobs, cl.jobs...)
		spans[i] = cl.span
	}
	ctx, span := startLinked(ctx, "engine.groupCommit", spans, len(jobs))
	defer span.End()
	stales, err := e.applyGroups(ctx, jobs, maxGroup)
	for _, cl := range group {
		cl.stales, cl.err = stales, err
		close(cl.done)
		closed++
	}
}

// applyGroups applies jobs in transactions of up to size events (see applyWave), one after
// another, and returns the events' stale campaigns; it stops at the first that fails.
func (e *Engine) applyGroups(ctx context.Context, jobs []job, size int) (map[int64][]*campaigns.Campaign, error) {
	stales := make(map[int64][]*campaigns.Campaign, len(jobs))
	for start := 0; start < len(jobs); start += size {
		s, err := e.applyWave(ctx, jobs[start:min(start+size, len(jobs))])
		if err != nil {
			return stales, err
		}
		maps.Copy(stales, s)
	}
	return stales, nil
}

// take removes queued calls holding up to maxGroup jobs in all (at least one call), in queue
// order. A call holding an event that an earlier call of the group holds too (a worker's pass
// and a lane still running in the background can both have it) stays queued for the next group,
// so that a group locks and settles each event once.
func (c *committer) take() []*commitCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var group, left []*commitCall
	held := map[int64]bool{}
	total := 0
	for _, cl := range c.queue {
		if len(group) > 0 && (total+len(cl.jobs) > maxGroup || holdsAny(held, cl.jobs)) {
			left = append(left, cl)
			continue
		}
		group = append(group, cl)
		cl.taken = true
		total += len(cl.jobs)
		for _, j := range cl.jobs {
			held[j.ev.ID] = true
		}
	}
	c.queue = append(c.queue[:0], left...)
	return group
}

func holdsAny(held map[int64]bool, jobs []job) bool {
	for _, j := range jobs {
		if held[j.ev.ID] {
			return true
		}
	}
	return false
}
