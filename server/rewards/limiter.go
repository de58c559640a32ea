package rewards

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterOptions sets the limits of a Limiter. Zero values take the defaults shown.
type LimiterOptions struct {
	// PerMember is the sustained rate of attempts per member (default 5 per minute) and
	// MemberBurst the attempts allowed at once (default 5).
	PerMember   rate.Limit
	MemberBurst int
	// PerAddress is the sustained rate of attempts per client address (default 20 per minute)
	// and AddressBurst the attempts allowed at once (default 20). One address may serve many
	// members (an office, a mobile carrier's NAT), hence the larger default.
	PerAddress   rate.Limit
	AddressBurst int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Limiter limits attempts at applying codes (referral and promo codes) per member and per
// client address, with one token bucket per member and one per address: an attempt needs a
// token from both. Codes are unguessable (benefits.NewCode: about 49 bits), so at these rates
// guessing one is hopeless; the limiter also keeps a script from probing codes across many
// members from one address. Buckets idle for ten minutes are dropped. It is safe for
// concurrent use; each replica limits on its own (a cluster allows replicas × the rate).
type Limiter struct {
	opts LimiterOptions

	mu        sync.Mutex
	members   map[string]*bucket
	addresses map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// RateLimitError is the error of a refused attempt; it matches ErrRateLimited with errors.Is.
type RateLimitError struct {
	// Scope is "member" or "address": the bucket that was empty.
	Scope string
	// RetryAfter is how long until an attempt would be allowed.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many attempts for this %s; retry in %s", e.Scope, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// NewLimiter returns a limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	if o.PerMember <= 0 {
		o.PerMember = rate.Every(12 * time.Second)
	}
	if o.MemberBurst <= 0 {
		o.MemberBurst = 5
	}
	if o.PerAddress <= 0 {
		o.PerAddress = rate.Every(3 * time.Second)
	}
	if o.AddressBurst <= 0 {
		o.AddressBurst = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{opts: o, members: map[string]*bucket{}, addresses: map[string]*bucket{}}
}

// Allow takes one attempt from the member's and the address's buckets (an empty key skips that
// bucket, e.g. an address unknown to the caller). When either is empty nothing is taken and it
// returns a *RateLimitError; the caller maps it to RATE_LIMITED.
func (l *Limiter) Allow(member, address string) error {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for _, m := range []map[string]*bucket{l.members, l.addresses} {
			for k, b := range m {
				if now.Sub(b.seen) > 10*time.Minute {
					delete(m, k)
				}
			}
		}
		l.lastSweep = now
	}
	type take struct {
		scope string
		r     *rate.Reservation
	}
	var taken []take
	cancel := func() {
		for _, t := range taken {
			t.r.CancelAt(now)
		}
	}
	for _, k := range []struct {
		scope, key string
		m          map[string]*bucket
		limit      rate.Limit
		burst      int
	}{
		{"member", member, l.members, l.opts.PerMember, l.opts.MemberBurst},
		{"address", address, l.addresses, l.opts.PerAddress, l.opts.AddressBurst},
	} {
		if k.key == "" {
			continue
		}
		b := k.m[k.key]
		if b == nil {
			b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
			k.m[k.key] = b
		}
		b.seen = now
		r := b.lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); !r.OK() || d > 0 {
			r.CancelAt(now)
			cancel()
			if d <= 0 {
				d = time.Second
			}
			return &RateLimitError{Scope: k.scope, RetryAfter: d}
		}
		taken = append(taken, take{k.scope, r})
	}
	return nil
}
