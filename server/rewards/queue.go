package rewards

import (
	"context"
	"sync"
)

// memberQueue lets one order per member run at a time in this process. Waiting requests hold no
// database connection, so a burst of orders for one member cannot exhaust the pool while they
// wait for the member's account lock.
type memberQueue struct {
	mu sync.Mutex
	m  map[int64]*memberSlot
}

type memberSlot struct {
	ch      chan struct{} // holds one token while the member is free
	waiters int
}

// lock waits for the member's turn (or ctx) and returns the function that ends it.
func (q *memberQueue) lock(ctx context.Context, memberID int64) (func(), error) {
	q.mu.Lock()
	if q.m == nil {
		q.m = map[int64]*memberSlot{}
	}
	s := q.m[memberID]
	if s == nil {
		s = &memberSlot{ch: make(chan struct{}, 1)}
		s.ch <- struct{}{}
		q.m[memberID] = s
	}
	s.waiters++
	q.mu.Unlock()
	release := func(took bool) {
		if took {
			s.ch <- struct{}{}
		}
		q.mu.Lock()
		s.waiters--
		if s.waiters == 0 {
			delete(q.m, memberID)
		}
		q.mu.Unlock()
	}
	select {
	case <-s.ch:
		return func() { release(true) }, nil
	case <-ctx.Done():
		release(false)
		return nil, ctx.Err()
	}
}
