package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/promogate/promogate/plugins/sdk"
)

// window is a Period resolved in a time zone: [start, end) in instants.
type window struct {
	start, end time.Time
	period     Period
}

// resolve turns p (already validated) into instants in loc.
func resolve(p Period, loc *time.Location) window {
	from, _ := time.ParseInLocation(time.DateOnly, p.From, loc)
	to, _ := time.ParseInLocation(time.DateOnly, p.To, loc)
	return window{start: from, end: to.AddDate(0, 0, 1), period: p}
}

// contains reports whether t falls on one of the window's days.
func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// lastSecond is 23:59:59 of the window's last day.
func (w window) lastSecond() time.Time { return w.end.Add(-time.Second) }

// String is the window as "YYYY-MM-DD..YYYY-MM-DD".
func (w window) String() string { return w.period.From + ".." + w.period.To }

// daysEnd returns the last second (23:59:59 in loc) of a term of n days that
// starts on the day after the calendar day of t: day 1 is the next day, so the
// term ends n calendar days after t's day.
func daysEnd(t time.Time, n int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+n, 23, 59, 59, 0, loc)
}

// day formats the calendar day of t in loc as YYYY-MM-DD.
func day(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// stamp formats t in loc for messages.
func stamp(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04:05") }

// normPlan folds a tariff plan name for matching: lower case, no quotes, one
// space between words.
func normPlan(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '«', '»', '"', '“', '”', '„', '\'':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// slug turns a plan name into a benefit-key fragment: "Bez Limita 2.0" is
// "bez-limita-2-0".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// numberKey keeps the digits of a subscriber number, so that "+375 29
// 123-45-67" and "375291234567" are the same number.
func numberKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// flag reads a boolean attribute, given as a JSON boolean or as "true" or
// "false". set is false when the attribute is absent or null.
func flag(v sdk.Values, key string) (value, set bool, err error) {
	switch x := v[key].(type) {
	case nil:
		return false, false, nil
	case bool:
		return x, true, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
	}
	return false, false, fmt.Errorf("attribute %s is %v, want true or false", key, v[key])
}
