// Package clock is the core's notion of time. Production uses the system clock; tests and the
// documented development option (--clock-start) use a Manual clock that can be set and advanced,
// so programme time (month closes, expiry, benefit ends) can be driven deliberately.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the current system time.
func (Real) Now() time.Time { return time.Now() }

// Manual is a clock that stands still until it is set or advanced. It is safe for concurrent
// use.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now returns the clock's current reading.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// Set moves the clock to t (backwards too).
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.t = t
	m.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new reading.
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = m.t.Add(d)
	return m.t
}

// Offset is a clock that runs at real speed from a chosen start: useful for replaying a
// programme's dates (e.g. 2021) in development. It is safe for concurrent use.
type Offset struct {
	mu sync.Mutex
	d  time.Duration
}

// NewOffset returns a clock that read start at the moment of the call and advances in real time.
func NewOffset(start time.Time) *Offset { return &Offset{d: time.Until(start)} }

// Now returns the real time shifted by the offset.
func (o *Offset) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Now().Add(o.d)
}

// Set makes the clock read t now (and run on from there).
func (o *Offset) Set(t time.Time) {
	o.mu.Lock()
	o.d = time.Until(t)
	o.mu.Unlock()
}
