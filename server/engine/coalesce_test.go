package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// echo is a run function that answers each input with an event whose external id is the
// input's, and records the size of every batch it was given.
type echo struct {
	mu      sync.Mutex
	batches []int
	gate    chan struct{} // when set, the first batch waits for it to close
}

func (e *echo) run(_ context.Context, ins []Input, _ func()) ([]Result, error) {
	e.mu.Lock()
	e.batches = append(e.batches, len(ins))
	first := len(e.batches) == 1
	e.mu.Unlock()
	if first && e.gate != nil {
		<-e.gate
	}
	out := make([]Result, len(ins))
	for i, in := range ins {
		out[i].Event = &Event{ExternalID: in.ExternalID}
	}
	return out, nil
}

// TestCoalescerMergesConcurrentCalls holds the intake with a first call while 20 more calls
// queue, then releases it: the 20 run as one batch, and every caller gets exactly its
// own results, in its own order.
func TestCoalescerMergesConcurrentCalls(t *testing.T) {
	c := newCoalescer()
	e := &echo{gate: make(chan struct{})}
	ctx := context.Background()
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		if _, err := c.do(ctx, []Input{{ExternalID: "first"}}, e.run); err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.batches) == 1 })

	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins := []Input{{ExternalID: fmt.Sprintf("c%d-a", i)}, {ExternalID: fmt.Sprintf("c%d-b", i)}}
			res, err := c.do(ctx, ins, e.run)
			if err != nil {
				errs <- err
				return
			}
			if len(res) != 2 || res[0].Event.ExternalID != ins[0].ExternalID || res[1].Event.ExternalID != ins[1].ExternalID {
				errs <- fmt.Errorf("caller %d got %+v", i, res)
			}
		}()
	}
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == callers })
	close(e.gate)
	wg.Wait()
	<-firstDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if fmt.Sprint(e.batches) != "[1 40]" {
		t.Fatalf("batch sizes %v, want [1 40]", e.batches)
	}
}

// TestCoalescerSharesFailures: a failure of the merged batch reaches every caller in it, and a
// panic in it reaches the waiting callers as an error while the running caller panics.
func TestCoalescerSharesFailures(t *testing.T) {
	boom := errors.New("boom")
	c := newCoalescer()
	res, err := c.do(context.Background(), []Input{{}}, func(context.Context, []Input, func()) ([]Result, error) { return nil, boom })
	if !errors.Is(err, boom) || res != nil {
		t.Fatalf("got %v, %v; want boom", res, err)
	}

	gate := make(chan struct{})
	started := make(chan struct{})
	panicking := func(context.Context, []Input, func()) ([]Result, error) {
		close(started)
		<-gate
		panic("plugin exploded")
	}
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_, _ = c.do(context.Background(), []Input{{}}, panicking)
	}()
	<-started
	// A second caller queued behind the panicking batch runs in a batch of its own.
	waiterErr := make(chan error, 1)
	go func() {
		_, err := c.do(context.Background(), []Input{{}}, func(context.Context, []Input, func()) ([]Result, error) {
			return nil, errors.New("second batch")
		})
		waiterErr <- err
	}()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == 1 })
	close(gate)
	if r := <-recovered; fmt.Sprint(r) != "plugin exploded" {
		t.Fatalf("recovered %v, want the panic", r)
	}
	if err := <-waiterErr; err == nil || err.Error() != "second batch" {
		t.Fatalf("waiting caller: %v", err)
	}
}

// TestCoalescerCallerGivesUp: a caller whose context ends while it waits returns its error.
func TestCoalescerCallerGivesUp(t *testing.T) {
	c := newCoalescer()
	c.intake <- struct{}{} // a batch is in its intake
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.do(ctx, []Input{{}}, (&echo{}).run)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want deadline exceeded", err)
	}
}

// TestCoalescerStartsTheNextBatchAtHandoff: a batch that hands its intake off (its decisions went
// to the group commit) lets the calls queued meanwhile run as the next batch while it is still
// running; without the handoff they would wait for it to end.
func TestCoalescerStartsTheNextBatchAtHandoff(t *testing.T) {
	c := newCoalescer()
	ctx := context.Background()
	handedOff, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		_, err := c.do(ctx, []Input{{ExternalID: "first"}}, func(_ context.Context, ins []Input, handoff func()) ([]Result, error) {
			handoff()
			close(handedOff)
			<-release // still applying
			return make([]Result, len(ins)), nil
		})
		firstDone <- err
	}()
	<-handedOff
	var batches []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.do(ctx, []Input{{}}, func(_ context.Context, ins []Input, _ func()) ([]Result, error) {
				mu.Lock()
				batches = append(batches, len(ins))
				mu.Unlock()
				return make([]Result, len(ins)), nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait() // they ran while the first batch is still running
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range batches {
		total += n
	}
	if total != 3 {
		t.Fatalf("batches %v, want the 3 calls run", batches)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
