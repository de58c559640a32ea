package sdk

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ScheduleSpec is a parsed Schedule.Spec. The zero value is not a valid spec;
// get one from ParseSchedule.
type ScheduleSpec struct {
	kind                 string // "daily", "monthly" or "every"
	day                  int    // monthly: 1..31
	hour, minute, second int
	every                time.Duration
}

// ParseSchedule parses the schedule grammar of Description.Schedules. Tokens
// are separated by spaces; wall-clock times are in the campaign's time zone:
//
//	daily at=HH:MM:SS            every day at that time
//	monthly day=N at=HH:MM:SS    every month on day N (1..31) at that time; in
//	                             a month shorter than N, on its last day
//	every=DURATION               every DURATION (Go syntax, at least 1s, e.g.
//	                             "15m", "1h30m"), at instants that are whole
//	                             multiples of it since 0001-01-01 UTC (so
//	                             "every=1h" fires on the hour, in UTC)
//
// Examples: "daily at=00:00:00", "monthly day=28 at=23:59:59", "every=5m".
func ParseSchedule(spec string) (ScheduleSpec, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return ScheduleSpec{}, fmt.Errorf("schedule %q: empty", spec)
	}
	fail := func(format string, args ...any) (ScheduleSpec, error) {
		return ScheduleSpec{}, fmt.Errorf("schedule %q: %s", spec, fmt.Sprintf(format, args...))
	}
	if d, ok := strings.CutPrefix(fields[0], "every="); ok {
		if len(fields) != 1 {
			return fail("every= takes no other field")
		}
		every, err := time.ParseDuration(d)
		if err != nil {
			return fail("every: %v", err)
		}
		if every < time.Second {
			return fail("every: %s is shorter than 1s", every)
		}
		return ScheduleSpec{kind: "every", every: every}, nil
	}

	s := ScheduleSpec{kind: fields[0]}
	var want []string
	switch s.kind {
	case "daily":
		want = []string{"at"}
	case "monthly":
		want = []string{"day", "at"}
	default:
		return fail("starts with %q, want daily, monthly or every=", s.kind)
	}
	seen := map[string]string{}
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return fail("%q is not key=value", f)
		}
		if _, dup := seen[key]; dup {
			return fail("%s given twice", key)
		}
		seen[key] = value
	}
	for _, key := range want {
		if _, ok := seen[key]; !ok {
			return fail("%s needs %s=", s.kind, key)
		}
	}
	if len(seen) != len(want) {
		return fail("%s takes only %s", s.kind, strings.Join(want, "= and ")+"=")
	}
	at, err := time.Parse(time.TimeOnly, seen["at"])
	if err != nil {
		return fail("at=%s is not HH:MM:SS", seen["at"])
	}
	s.hour, s.minute, s.second = at.Clock()
	if s.kind == "monthly" {
		s.day, err = strconv.Atoi(seen["day"])
		if err != nil || s.day < 1 || s.day > 31 {
			return fail("day=%s is not a day of the month 1..31", seen["day"])
		}
	}
	return s, nil
}

// String returns the spec in canonical form.
func (s ScheduleSpec) String() string {
	at := fmt.Sprintf("at=%02d:%02d:%02d", s.hour, s.minute, s.second)
	switch s.kind {
	case "daily":
		return "daily " + at
	case "monthly":
		return fmt.Sprintf("monthly day=%d %s", s.day, at)
	case "every":
		return "every=" + s.every.String()
	default:
		return ""
	}
}

// Next returns the first time the schedule fires strictly after after, with
// wall-clock times read in loc. A wall-clock time skipped by a daylight-saving
// change fires at the corresponding instant after the change (time.Date's
// normalisation).
func (s ScheduleSpec) Next(after time.Time, loc *time.Location) time.Time {
	if s.kind == "every" {
		return after.Truncate(s.every).Add(s.every)
	}
	t := after.In(loc)
	if s.kind == "daily" {
		for d := 0; ; d++ {
			c := time.Date(t.Year(), t.Month(), t.Day()+d, s.hour, s.minute, s.second, 0, loc)
			if c.After(after) {
				return c
			}
		}
	}
	for m := 0; ; m++ {
		first := time.Date(t.Year(), t.Month()+time.Month(m), 1, 0, 0, 0, 0, loc)
		day := min(s.day, daysIn(first.Year(), first.Month()))
		c := time.Date(first.Year(), first.Month(), day, s.hour, s.minute, s.second, 0, loc)
		if c.After(after) {
			return c
		}
	}
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
