package rewards

import (
	"strconv"
	"strings"
	"time"
)

// Validity is how long a redeemed reward's benefit lasts.
type Validity struct {
	// Kind is "none", "hours", "months" or "calendar_month".
	Kind string
	// N is the number of hours or months.
	N int
}

// ParseValidity parses a reward's validity:
//
//	none            valid from the order, no end (e.g. a partner promo code)
//	hours:N         from the order for N hours (1..8760), e.g. hours:48
//	months:N        from the order for N calendar months (1..120), same wall-clock time in the
//	                campaign's zone; the 31st becomes the target month's last day
//	calendar_month  the calendar month of the order: its 1st 00:00:00 to its last day 23:59:59
//	                in the campaign's zone
//
// Errors: ErrInvalid.
func ParseValidity(s string) (Validity, error) {
	switch s {
	case "none", "calendar_month":
		return Validity{Kind: s}, nil
	}
	kind, num, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(num)
	switch {
	case !ok || err != nil:
	case kind == "hours" && n >= 1 && n <= 8760:
		return Validity{Kind: kind, N: n}, nil
	case kind == "months" && n >= 1 && n <= 120:
		return Validity{Kind: kind, N: n}, nil
	}
	return Validity{}, invalid("validity %q is not none, hours:N (1..8760), months:N (1..120) or calendar_month", s)
}

// Period returns the benefit's first and last instants (the last is inclusive; nil means no
// end) for a reward redeemed at t, with calendar rules in loc.
func (v Validity) Period(t time.Time, loc *time.Location) (time.Time, *time.Time) {
	t = t.UTC()
	var until time.Time
	switch v.Kind {
	case "hours":
		until = t.Add(time.Duration(v.N) * time.Hour)
	case "months":
		until = addMonths(t.In(loc), v.N).UTC()
	case "calendar_month":
		l := t.In(loc)
		first := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
		last := first.AddDate(0, 1, -1)
		until = time.Date(last.Year(), last.Month(), last.Day(), 23, 59, 59, 0, loc).UTC()
		return first.UTC(), &until
	default:
		return t, nil
	}
	return t, &until
}

// addMonths adds n calendar months keeping the wall-clock time; a day past the end of the
// target month becomes its last day (31 January + 1 month = 28 or 29 February).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}
