package engine

import (
	"context"

	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// coalesceMax is the largest Record call that is merged with concurrent ones; larger calls are
// batches already and run on their own.
const coalesceMax = 50

// coalescer merges concurrent small Record calls into shared batches, so that events arriving
// one per request are stored, evaluated (one plugin call per campaign) and applied (in the
// engine's group commit) together instead of paying the whole pipeline each. One batch at a
// time is in its intake (storing its events and reading the members' snapshots); it ends its
// intake once it has asked its plugins (see process), and the next batch starts then, with
// every call that queued meanwhile. There is no timer and no fixed number of slots: a lone call
// runs at once, under load a batch is as large as what arrived during the previous one's
// intake, and a batch's database work overlaps the plugin calls and group commits of the
// batches before it. A slow or hanging plugin holds only the batches that wait for it, never
// the intake.
type coalescer struct {
	intake chan struct{} // held by the batch in its intake

	mu    sync.Mutex
	queue []*call
}

// call is one Record call waiting for its results.
type call struct {
	span  trace.SpanContext // the caller's, linked from the batch's span
	ins   []Input
	taken bool // by a batch (guarded by coalescer.mu)
	res   []Result
	err   error
	done  chan struct{}
}

// runFunc runs a batch of inputs; it calls handoff (at least once, and before it returns) when
// the next batch may start.
type runFunc func(ctx context.Context, ins []Input, handoff func()) ([]Result, error)

func newCoalescer() *coalescer {
	return &coalescer{intake: make(chan struct{}, 1)}
}

// do queues ins and returns their results, running queued calls (its own and others') as one
// batch through run whenever no batch is in its intake. The batch runs detached from the
// caller's cancellation, since it carries other callers' events too; a caller whose ctx ends
// stops waiting, and its events are stored and evaluated all the same.
func (c *coalescer) do(ctx context.Context, ins []Input, run runFunc) ([]Result, error) {
	me := &call{span: trace.SpanContextFromContext(ctx), ins: ins, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		taken := me.taken
		c.mu.Unlock()
		intake := c.intake
		if taken {
			intake = nil // a batch has the call: only wait for it
		}
		select {
		case <-me.done:
			return me.res, me.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case intake <- struct{}{}:
			c.lead(context.WithoutCancel(ctx), run)
		}
	}
}

// lead runs the queued calls as one batch, holding the intake until the batch hands it off.
func (c *coalescer) lead(ctx context.Context, run runFunc) {
	var once sync.Once
	handoff := func() { once.Do(func() { <-c.intake }) }
	defer handoff()
	if batch := c.take(); len(batch) > 0 {
		runBatch(ctx, batch, run, handoff)
	}
}

// take removes queued calls holding up to MaxBatch inputs in all (at least one call).
func (c *coalescer) take() []*call {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, total := 0, 0
	for n < len(c.queue) && (n == 0 || total+len(c.queue[n].ins) <= MaxBatch) {
		total += len(c.queue[n].ins)
		n++
	}
	batch := append([]*call(nil), c.queue[:n]...)
	for _, cl := range batch {
		cl.taken = true
	}
	c.queue = append(c.queue[:0], c.queue[n:]...)
	return batch
}

// runBatch runs the calls' inputs as one and hands each call its share of the results.
func runBatch(ctx context.Context, batch []*call, run runFunc, handoff func()) {
	closed := 0
	defer func() {
		if r := recover(); r != nil {
			for _, cl := range batch[closed:] {
				cl.err = fmt.Errorf("engine: recording failed: %v", r)
				close(cl.done)
			}
			panic(r)
		}
	}()
	var all []Input
	spans := make([]trace.SpanContext, len(batch))
	for i, cl := range batch {
		all = append(all, cl.ins...)
		spans[i] = cl.span
	}
	ctx, span := startLinked(ctx, "engine.recordBatch", spans, len(all))
	defer span.End()
	res, err := run(ctx, all, handoff)
	off := 0
	for _, cl := range batch {
		if err != nil {
			cl.err = err
		} else {
			cl.res = res[off : off+len(cl.ins) : off+len(cl.ins)]
		}
		off += len(cl.ins)
		close(cl.done)
		closed++
	}
}

// startLinked starts the span of work done for several calls at once (a merged batch, a group
// commit), linking each call's span and counting the calls and their events.
func startLinked(ctx context.Context, name string, calls []trace.SpanContext, events int) (context.Context, trace.Span) {
	links := make([]trace.Link, len(calls))
	for i, sc := range calls {
		links[i] = trace.Link{SpanContext: sc}
	}
	return tracer.Start(ctx, name, trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("promogate.calls", len(calls)), attribute.Int("promogate.events", events)))
}
