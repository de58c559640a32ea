package rewards

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(LimiterOptions{PerMember: rate.Every(time.Minute), MemberBurst: 2, PerAddress: rate.Every(time.Minute),
		AddressBurst: 3, Now: func() time.Time { return now }})
	steps := []struct {
		member, addr string
		scope        string // "" allowed, else the refusing bucket
	}{
		{"m1", "10.0.0.1", ""},
		{"m1", "10.0.0.1", ""},
		{"m1", "10.0.0.1", "member"},  // m1's burst of 2 is used up
		{"m2", "10.0.0.1", ""},        // the address's third attempt
		{"m3", "10.0.0.1", "address"}, // the address's burst of 3 is used up
		{"m3", "10.0.0.2", ""},        // m3 took no token from the refused attempt
		{"m3", "", ""},                // no address: the member bucket only
		{"m3", "", "member"},
	}
	for i, s := range steps {
		err := l.Allow(s.member, s.addr)
		var rl *RateLimitError
		switch {
		case s.scope == "" && err != nil:
			t.Fatalf("step %d (%s, %s): %v, want allowed", i, s.member, s.addr, err)
		case s.scope != "" && (!errors.As(err, &rl) || rl.Scope != s.scope || !errors.Is(err, ErrRateLimited)):
			t.Fatalf("step %d (%s, %s): %v, want refused by the %s bucket", i, s.member, s.addr, err, s.scope)
		case s.scope != "" && rl.RetryAfter != time.Minute && s.scope == "member":
			t.Fatalf("step %d: retry after %s, want 1m", i, rl.RetryAfter)
		}
	}
	now = now.Add(time.Minute)
	if err := l.Allow("m1", "10.0.0.1"); err != nil {
		t.Fatalf("a minute later: %v, want allowed", err)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	l := NewLimiter(LimiterOptions{PerMember: rate.Every(time.Hour), MemberBurst: 5})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Allow("m", "addr") == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d attempts allowed, want the burst of 5", ok.Load())
	}
}

func TestMemberQueue(t *testing.T) {
	t.Parallel()
	var q memberQueue
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := q.lock(context.Background(), 7)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d orders of one member ran at once, want 1", most.Load())
	}
	if len(q.m) != 0 {
		t.Fatalf("%d member slots left, want none", len(q.m))
	}
	// A waiter whose context ends gives up without taking the turn.
	unlock, _ := q.lock(context.Background(), 8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := q.lock(ctx, 8); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock while busy: %v, want the deadline", err)
	}
	unlock()
	if unlock2, err := q.lock(context.Background(), 8); err != nil {
		t.Fatal(err)
	} else {
		unlock2()
	}
}
