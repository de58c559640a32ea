package sdk_test

import (
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

func TestParseScheduleRejects(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"",
		"weekly at=10:00:00",
		"daily",
		"daily at=25:00:00",
		"daily at=10:00",
		"daily at=10:00:00 day=3",
		"daily at=10:00:00 at=11:00:00",
		"daily 10:00:00",
		"monthly at=10:00:00",
		"monthly day=0 at=10:00:00",
		"monthly day=32 at=10:00:00",
		"monthly day=x at=10:00:00",
		"every=",
		"every=500ms",
		"every=1h daily",
		"every=-1h",
	} {
		if s, err := sdk.ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) = %v, want an error", spec, s)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	riga := mustZone("Europe/Riga")
	in := func(loc *time.Location, y int, m time.Month, d, hh, mm, ss int) time.Time {
		return time.Date(y, m, d, hh, mm, ss, 0, loc)
	}
	cases := []struct {
		spec, canonical string
		after, want     time.Time
	}{
		{"daily at=23:59:59", "daily at=23:59:59", in(riga, 2021, 4, 3, 10, 0, 0), in(riga, 2021, 4, 3, 23, 59, 59)},
		{"daily  at=23:59:59 ", "daily at=23:59:59", in(riga, 2021, 4, 3, 23, 59, 59), in(riga, 2021, 4, 4, 23, 59, 59)},
		// Read in Riga although the instant is given in UTC: 21:00 UTC is
		// already midnight in Riga (UTC+3 in summer).
		{"daily at=00:00:00", "daily at=00:00:00", time.Date(2021, 4, 3, 20, 59, 59, 0, time.UTC), in(riga, 2021, 4, 4, 0, 0, 0)},
		// 03:30 does not exist in Riga on 2021-03-28 (clocks jump 03:00 → 04:00).
		{"daily at=03:30:00", "daily at=03:30:00", in(riga, 2021, 3, 28, 1, 0, 0), in(riga, 2021, 3, 28, 4, 30, 0)},
		{"monthly day=28 at=23:59:59", "monthly day=28 at=23:59:59", in(riga, 2021, 4, 3, 0, 0, 0), in(riga, 2021, 4, 28, 23, 59, 59)},
		{"monthly at=23:59:59 day=28", "monthly day=28 at=23:59:59", in(riga, 2021, 4, 28, 23, 59, 59), in(riga, 2021, 5, 28, 23, 59, 59)},
		{"monthly day=31 at=00:00:00", "monthly day=31 at=00:00:00", in(riga, 2021, 1, 31, 0, 0, 0), in(riga, 2021, 2, 28, 0, 0, 0)},
		{"monthly day=31 at=00:00:00", "monthly day=31 at=00:00:00", in(riga, 2024, 2, 1, 0, 0, 0), in(riga, 2024, 2, 29, 0, 0, 0)},
		{"monthly day=15 at=12:00:00", "monthly day=15 at=12:00:00", in(riga, 2021, 12, 20, 0, 0, 0), in(riga, 2022, 1, 15, 12, 0, 0)},
		{"every=1h", "every=1h0m0s", time.Date(2021, 4, 3, 10, 15, 0, 0, time.UTC), time.Date(2021, 4, 3, 11, 0, 0, 0, time.UTC)},
		{"every=15m", "every=15m0s", time.Date(2021, 4, 3, 10, 15, 0, 0, time.UTC), time.Date(2021, 4, 3, 10, 30, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		s, err := sdk.ParseSchedule(tc.spec)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if s.String() != tc.canonical {
			t.Errorf("ParseSchedule(%q).String() = %q, want %q", tc.spec, s.String(), tc.canonical)
		}
		if got := s.Next(tc.after, riga); !got.Equal(tc.want) {
			t.Errorf("%q.Next(%v) = %v, want %v", tc.spec, tc.after, got, tc.want)
		}
	}
}
