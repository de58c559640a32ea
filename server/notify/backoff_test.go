package notify

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestBackoff: the delay after attempt n lies between half and all of BackoffMin·2ⁿ⁻¹ capped
// at BackoffMax, never below BackoffMin, and honours a Retry-After up to BackoffMax.
func TestBackoff(t *testing.T) {
	t.Parallel()
	c := Config{BackoffMin: time.Second, BackoffMax: 5 * time.Minute}.withDefaults()
	for attempt := 1; attempt <= 70; attempt++ {
		ceil := c.BackoffMax
		if attempt <= 20 {
			ceil = min(c.BackoffMin<<(attempt-1), c.BackoffMax)
		}
		floor := max(ceil/2, c.BackoffMin)
		for range 200 {
			if d := c.backoff(attempt, 0); d < floor || d > ceil {
				t.Fatalf("backoff after attempt %d = %s, want between %s and %s", attempt, d, floor, ceil)
			}
		}
	}
	cases := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"Retry-After above the back-off", 1, 42 * time.Second, 42 * time.Second},
		{"Retry-After beyond BackoffMax", 1, time.Hour, 5 * time.Minute},
		{"Retry-After below BackoffMin", 1, time.Millisecond, time.Second},
	}
	for _, tc := range cases {
		if got := c.backoff(tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("%s: backoff = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestConfigDefaults: zero values take the documented defaults; the lease covers two timeouts.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := Config{}.withDefaults()
	want := Config{Timeout: 5 * time.Second, MaxAttempts: 12, BackoffMin: time.Second, BackoffMax: 5 * time.Minute,
		BatchSize: 100, PollInterval: 500 * time.Millisecond, Lease: 30 * time.Second}
	if got.Timeout != want.Timeout || got.MaxAttempts != want.MaxAttempts || got.BackoffMin != want.BackoffMin ||
		got.BackoffMax != want.BackoffMax || got.BatchSize != want.BatchSize || got.PollInterval != want.PollInterval || got.Lease != want.Lease {
		t.Fatalf("defaults: got %+v, want %+v", got, want)
	}
	if l := (Config{Timeout: time.Minute, Lease: time.Second}).withDefaults().Lease; l != 2*time.Minute {
		t.Fatalf("lease with a one-minute timeout: got %s, want 2m0s", l)
	}
}

// TestRetryAfter: delay seconds and HTTP dates are understood; anything else is ignored.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Sat, 21 Nov 2026 10:01:00 GMT": time.Minute,
		"Sat, 21 Nov 2026 09:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCleanError: error text is made storable and short.
func TestCleanError(t *testing.T) {
	t.Parallel()
	if got := cleanError("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("cleanError = %q, want %q", got, "ab\uFFFDc")
	}
	long := cleanError(strings.Repeat("é", 2000))
	if len(long) > 1000+len("…") || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("cleanError of 4000 bytes: %d bytes (valid UTF-8: %v), want at most 1000 and an ellipsis", len(long), utf8.ValidString(long))
	}
}
