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
// one per request are stored, evaluated (one plugin call per campaign) and applied (one group
// commit) together instead of paying the whole pipeline each. There is no timer: a call that
// finds a free slot runs at once with whatever is queued, and calls arriving while the slots
// are busy queue up for the next batch. So a lone call waits for nothing, and under load the
// batches grow with the load.
type coalescer struct {
	slots chan struct{}

	mu    sync.Mutex
	queue []*call
}

// call is one Record call waiting for its results.
type call struct {
	span trace.SpanContext // the caller's, linked from the batch's span
	ins  []Input
	res  []Result
	err  error
	done chan struct{}
}

func newCoalescer(slots int) *coalescer {
	return &coalescer{slots: make(chan struct{}, slots)}
}

// do queues ins and returns their results, running queued calls (its own and others') as one
// batch through run whenever a slot is free. The batch runs detached from the caller's
// cancellation, since it carries other callers' events too; a caller whose ctx ends stops
// waiting, and its events are stored and evaluated all the same.
func (c *coalescer) do(ctx context.Context, ins []Input, run func(context.Context, []Input) ([]Result, error)) ([]Result, error) {
	me := &call{span: trace.SpanContextFromContext(ctx), ins: ins, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	c.mu.Unlock()
	for {
		select {
		case <-me.done:
			return me.res, me.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case c.slots <- struct{}{}:
			c.lead(context.WithoutCancel(ctx), run)
		}
	}
}

// lead runs the queued calls as one batch in the slot the caller holds, and frees the slot.
func (c *coalescer) lead(ctx context.Context, run func(context.Context, []Input) ([]Result, error)) {
	defer func() { <-c.slots }()
	if batch := c.take(); len(batch) > 0 {
		runBatch(ctx, batch, run)
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
	c.queue = append(c.queue[:0], c.queue[n:]...)
	return batch
}

// runBatch runs the calls' inputs as one and hands each call its share of the results.
func runBatch(ctx context.Context, batch []*call, run func(context.Context, []Input) ([]Result, error)) {
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
	links := make([]trace.Link, 0, len(batch))
	for _, cl := range batch {
		all = append(all, cl.ins...)
		links = append(links, trace.Link{SpanContext: cl.span})
	}
	ctx, span := tracer.Start(ctx, "engine.recordBatch", trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("promogate.calls", len(batch)), attribute.Int("promogate.events", len(all))))
	defer span.End()
	res, err := run(ctx, all)
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
