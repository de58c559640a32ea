package rewards

import (
	"errors"
	"testing"
	"time"
)

func TestParseValidity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Validity
		ok   bool
	}{
		{"none", Validity{Kind: "none"}, true},
		{"calendar_month", Validity{Kind: "calendar_month"}, true},
		{"hours:48", Validity{Kind: "hours", N: 48}, true},
		{"hours:1", Validity{Kind: "hours", N: 1}, true},
		{"hours:8760", Validity{Kind: "hours", N: 8760}, true},
		{"months:2", Validity{Kind: "months", N: 2}, true},
		{"months:120", Validity{Kind: "months", N: 120}, true},
		{"hours:0", Validity{}, false},
		{"hours:8761", Validity{}, false},
		{"months:121", Validity{}, false},
		{"months:-1", Validity{}, false},
		{"weeks:2", Validity{}, false},
		{"hours:", Validity{}, false},
		{"", Validity{}, false},
	} {
		got, err := ParseValidity(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseValidity(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseValidity(%q) error %v, want ErrInvalid", tc.in, err)
		}
	}
}

func TestValidityPeriod(t *testing.T) {
	t.Parallel()
	kyiv, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, validity, at string
		from, until        string // until "" = no end
	}{
		{"none", "none", "2026-03-10T09:00:00Z", "2026-03-10T09:00:00Z", ""},
		{"48 hours", "hours:48", "2026-03-10T09:00:00Z", "2026-03-10T09:00:00Z", "2026-03-12T09:00:00Z"},
		{"48 hours across the DST change", "hours:48", "2026-03-28T09:00:00Z", "2026-03-28T09:00:00Z", "2026-03-30T09:00:00Z"},
		{"2 months, same wall clock across DST", "months:2", "2026-02-10T10:00:00+02:00", "2026-02-10T08:00:00Z", "2026-04-10T07:00:00Z"},
		{"31 January + 1 month is 28 February", "months:1", "2026-01-31T12:00:00+02:00", "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z"},
		{"31 December + 2 months is 28 February", "months:2", "2025-12-31T12:00:00+02:00", "2025-12-31T10:00:00Z", "2026-02-28T10:00:00Z"},
		{"31 January + 1 month in a leap year is 29 February", "months:1", "2028-01-31T12:00:00+02:00", "2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z"},
		{"calendar month (DST inside)", "calendar_month", "2026-03-10T09:00:00Z", "2026-02-28T22:00:00Z", "2026-03-31T20:59:59Z"},
		{"calendar month: the 1st 00:00 in the zone is still March 1st", "calendar_month", "2026-02-28T22:00:00Z", "2026-02-28T22:00:00Z", "2026-03-31T20:59:59Z"},
		{"calendar month: 23:59:59 of the last day in the zone", "calendar_month", "2026-02-28T21:59:59Z", "2026-01-31T22:00:00Z", "2026-02-28T21:59:59Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseValidity(tc.validity)
			if err != nil {
				t.Fatal(err)
			}
			from, until := v.Period(at(tc.at), kyiv)
			if !from.Equal(at(tc.from)) {
				t.Errorf("from %s, want %s", from.Format(time.RFC3339), tc.from)
			}
			switch {
			case tc.until == "" && until != nil:
				t.Errorf("until %s, want no end", until.Format(time.RFC3339))
			case tc.until != "" && (until == nil || !until.Equal(at(tc.until))):
				t.Errorf("until %v, want %s", until, tc.until)
			}
		})
	}
}
