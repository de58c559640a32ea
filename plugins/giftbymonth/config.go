package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration. Fields left out of the JSON keep
// their value from DefaultConfig.
type Config struct {
	// ProgramStart and ProgramEnd (YYYY-MM-DD, inclusive, campaign zone) bound
	// the days on which members may register.
	ProgramStart string `json:"programStart"`
	ProgramEnd   string `json:"programEnd"`
	// FirstContractMonth and LastContractMonth (YYYY-MM, inclusive) bound the
	// start months of the contracts that take part.
	FirstContractMonth string `json:"firstContractMonth"`
	LastContractMonth  string `json:"lastContractMonth"`
	// RegistrationLastDay is the last day of each month on which registration
	// is open (inclusive); it is also the last day on which a contract
	// starting in that month may be registered, and the month's gifts are
	// released when that day has ended. In a shorter month it is the last day.
	RegistrationLastDay int `json:"registrationLastDay"`
	// Levels are the contract levels that take part ("PROF").
	Levels []string `json:"levels"`
	// Terms are the eligible contract terms in months.
	Terms []int `json:"terms"`
	// Schemes maps a preferential contract scheme to the term it counts as
	// ("8+4" counts as 12 months).
	Schemes map[string]int `json:"schemes"`
	// RequirePaidInFull refuses contracts not paid for the whole term up front.
	RequirePaidInFull bool `json:"requirePaidInFull"`
	// RequireProductRegistered refuses members whose software product is not
	// registered in their account.
	RequireProductRegistered bool `json:"requireProductRegistered"`
	// ContractsAttribute is the member attribute holding the member's ITS
	// contracts (an array of contract objects).
	ContractsAttribute string `json:"contractsAttribute"`
	// ProductRegisteredAttribute is the member attribute that is true when
	// the member's software product is registered.
	ProductRegisteredAttribute string `json:"productRegisteredAttribute"`
	// HeadAttribute is the member attribute naming the head of the
	// organisation, the last-resort gift recipient (the member's name if
	// it is absent).
	HeadAttribute string `json:"headAttribute"`
	// Gifts is the gift table: one row per contract start month and term.
	Gifts []Gift `json:"gifts"`
}

// Gift is one row of the gift table.
type Gift struct {
	// StartMonth is the contract start month, YYYY-MM.
	StartMonth string `json:"startMonth"`
	// TermMonths is the contract term the row is for (an eligible term; an
	// "8+4" contract counts as the term of its scheme).
	TermMonths int `json:"termMonths"`
	// Items are the gift's items, in lower case as they read inside a
	// sentence; the benefit's title joins them with " + ".
	Items []string `json:"items"`
}

const (
	headphones = "branded folding headphones"
	bag        = "sports bag with the BAS logo"
	calculator = "branded calculator"
	hairDryer  = "branded travel hair dryer"
	towel      = "beach towel"
	stationery = "branded stationery set"
	calendar   = "2022 wall calendar"
)

// defaultConfig returns the seed's 2021 programme. It builds fresh values on
// every call, so decoding a campaign's config over it never touches another
// call's maps or slices.
func defaultConfig() Config {
	var gifts []Gift
	add := func(months []int, twelve, twentyFour []string) {
		for _, m := range months {
			month := fmt.Sprintf("2021-%02d", m)
			gifts = append(gifts,
				Gift{StartMonth: month, TermMonths: 12, Items: twelve},
				Gift{StartMonth: month, TermMonths: 24, Items: twentyFour})
		}
	}
	add([]int{1, 2, 3}, []string{headphones}, []string{headphones, bag})
	add([]int{4}, []string{calculator}, []string{calculator, hairDryer})
	add([]int{5}, []string{headphones}, []string{headphones, bag})
	add([]int{6}, []string{towel}, []string{towel, hairDryer})
	add([]int{7}, []string{headphones}, []string{headphones, bag})
	add([]int{8, 9, 10, 11}, []string{stationery}, []string{stationery, hairDryer})
	add([]int{12}, []string{calendar}, []string{calendar, hairDryer})
	return Config{
		ProgramStart:               "2021-01-01",
		ProgramEnd:                 "2021-12-28",
		FirstContractMonth:         "2021-01",
		LastContractMonth:          "2021-12",
		RegistrationLastDay:        28,
		Levels:                     []string{"PROF"},
		Terms:                      []int{12, 24},
		Schemes:                    map[string]int{"8+4": 12},
		RequirePaidInFull:          true,
		RequireProductRegistered:   true,
		ContractsAttribute:         "itsContracts",
		ProductRegisteredAttribute: "productRegistered",
		HeadAttribute:              "headOfOrganisation",
		Gifts:                      gifts,
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "giftbymonth campaign configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "programStart": {"type": "string", "format": "date", "description": "First day of registration (YYYY-MM-DD, campaign zone)."},
    "programEnd": {"type": "string", "format": "date", "description": "Last day of registration, inclusive (YYYY-MM-DD, campaign zone)."},
    "firstContractMonth": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "Earliest contract start month that takes part (YYYY-MM)."},
    "lastContractMonth": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "Latest contract start month that takes part (YYYY-MM)."},
    "registrationLastDay": {"type": "integer", "minimum": 1, "maximum": 31, "description": "Registration is open from the 1st to this day of each month (inclusive); a contract must be registered by this day of its start month; the month's gifts are released when this day ends."},
    "levels": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}, "description": "Contract levels that take part."},
    "terms": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}, "description": "Eligible contract terms in months."},
    "schemes": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}, "description": "Preferential schemes and the term each counts as, e.g. {\"8+4\": 12}."},
    "requirePaidInFull": {"type": "boolean", "description": "Only contracts paid for the whole term up front take part."},
    "requireProductRegistered": {"type": "boolean", "description": "The member's software product must be registered in its account."},
    "contractsAttribute": {"type": "string", "minLength": 1, "description": "Member attribute holding the ITS contracts."},
    "productRegisteredAttribute": {"type": "string", "minLength": 1, "description": "Member attribute that is true when the software product is registered."},
    "headAttribute": {"type": "string", "minLength": 1, "description": "Member attribute naming the head of the organisation (last-resort gift recipient)."},
    "gifts": {
      "type": "array",
      "description": "Gift table: one row per contract start month and term.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["startMonth", "termMonths", "items"],
        "properties": {
          "startMonth": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
          "termMonths": {"type": "integer", "minimum": 1},
          "items": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
        }
      }
    }
  }
}`

// parseConfig decodes raw over defaultConfig and checks every value. An empty
// or null config is the default.
func parseConfig(raw json.RawMessage) (Config, []sdk.FieldError) {
	cfg := defaultConfig()
	if errs := sdk.DecodeConfig(raw, &cfg, Name); errs != nil {
		return cfg, errs
	}

	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	start, startErr := time.Parse(time.DateOnly, cfg.ProgramStart)
	if startErr != nil {
		add("programStart", "invalid_date", "programStart %q is not a date YYYY-MM-DD", cfg.ProgramStart)
	}
	end, endErr := time.Parse(time.DateOnly, cfg.ProgramEnd)
	if endErr != nil {
		add("programEnd", "invalid_date", "programEnd %q is not a date YYYY-MM-DD", cfg.ProgramEnd)
	}
	if startErr == nil && endErr == nil && end.Before(start) {
		add("programEnd", "before_start", "programEnd %s is before programStart %s", cfg.ProgramEnd, cfg.ProgramStart)
	}
	first, firstOK := parseMonth(cfg.FirstContractMonth)
	if !firstOK {
		add("firstContractMonth", "invalid_month", "firstContractMonth %q is not a month YYYY-MM", cfg.FirstContractMonth)
	}
	last, lastOK := parseMonth(cfg.LastContractMonth)
	if !lastOK {
		add("lastContractMonth", "invalid_month", "lastContractMonth %q is not a month YYYY-MM", cfg.LastContractMonth)
	}
	if firstOK && lastOK && last.Before(first) {
		add("lastContractMonth", "before_start", "lastContractMonth %s is before firstContractMonth %s", cfg.LastContractMonth, cfg.FirstContractMonth)
	}
	if cfg.RegistrationLastDay < 1 || cfg.RegistrationLastDay > 31 {
		add("registrationLastDay", "out_of_range", "registrationLastDay is %d, it must be between 1 and 31", cfg.RegistrationLastDay)
	}
	if len(cfg.Levels) == 0 {
		add("levels", "required", "levels must name at least one contract level")
	}
	for i, l := range cfg.Levels {
		if strings.TrimSpace(l) == "" {
			add(fmt.Sprintf("levels[%d]", i), "required", "levels[%d] is empty", i)
		}
	}
	if len(cfg.Terms) == 0 {
		add("terms", "required", "terms must list at least one eligible term")
	}
	for i, t := range cfg.Terms {
		switch {
		case t < 1 || t > 120:
			add(fmt.Sprintf("terms[%d]", i), "out_of_range", "terms[%d] is %d, it must be between 1 and 120 months", i, t)
		case slices.Contains(cfg.Terms[:i], t):
			add(fmt.Sprintf("terms[%d]", i), "duplicate", "terms[%d]: %d months is listed twice", i, t)
		}
	}
	for _, name := range sortedKeys(cfg.Schemes) {
		if strings.TrimSpace(name) == "" {
			add("schemes", "required", "a scheme name is empty")
			continue
		}
		if t := cfg.Schemes[name]; !slices.Contains(cfg.Terms, t) {
			add("schemes."+name, "not_a_term", "scheme %s counts as %d months, which is not one of the eligible terms %s", name, t, joinInts(cfg.Terms))
		}
	}
	for _, a := range []struct{ field, value string }{
		{"contractsAttribute", cfg.ContractsAttribute},
		{"productRegisteredAttribute", cfg.ProductRegisteredAttribute},
		{"headAttribute", cfg.HeadAttribute},
	} {
		if strings.TrimSpace(a.value) == "" {
			add(a.field, "required", "%s must name a member attribute", a.field)
		}
	}

	seen := map[string]int{}
	for i, g := range cfg.Gifts {
		field := fmt.Sprintf("gifts[%d]", i)
		m, ok := parseMonth(g.StartMonth)
		switch {
		case !ok:
			add(field+".startMonth", "invalid_month", "%s.startMonth %q is not a month YYYY-MM", field, g.StartMonth)
		case firstOK && lastOK && (m.Before(first) || m.After(last)):
			add(field+".startMonth", "out_of_range", "%s.startMonth %s is outside the contract months %s..%s", field, g.StartMonth, cfg.FirstContractMonth, cfg.LastContractMonth)
		}
		if !slices.Contains(cfg.Terms, g.TermMonths) {
			add(field+".termMonths", "not_a_term", "%s.termMonths %d is not one of the eligible terms %s", field, g.TermMonths, joinInts(cfg.Terms))
		}
		if len(g.Items) == 0 {
			add(field+".items", "required", "%s.items must list at least one item", field)
		}
		for j, it := range g.Items {
			if strings.TrimSpace(it) == "" {
				add(fmt.Sprintf("%s.items[%d]", field, j), "required", "%s.items[%d] is empty", field, j)
			}
		}
		key := fmt.Sprintf("%s/%d", g.StartMonth, g.TermMonths)
		if prev, dup := seen[key]; dup {
			add(field, "duplicate", "%s repeats gifts[%d]: %s, %d months", field, prev, g.StartMonth, g.TermMonths)
		} else {
			seen[key] = i
		}
	}
	return cfg, errs
}

// gift returns the gift table row for a start month and an effective term.
func (c Config) gift(month string, term int) (Gift, bool) {
	for _, g := range c.Gifts {
		if g.StartMonth == month && g.TermMonths == term {
			return g, true
		}
	}
	return Gift{}, false
}

// termsText describes the eligible terms: "12 (incl. 8+4) or 24".
func (c Config) termsText() string {
	parts := make([]string, len(c.Terms))
	for i, t := range c.Terms {
		parts[i] = fmt.Sprint(t)
		var schemes []string
		for _, name := range sortedKeys(c.Schemes) {
			if c.Schemes[name] == t {
				schemes = append(schemes, name)
			}
		}
		if len(schemes) > 0 {
			parts[i] += " (incl. " + strings.Join(schemes, ", ") + ")"
		}
	}
	return orList(parts)
}

// orList joins "a", "b" and "c" as "a, b or c".
func orList(parts []string) string {
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseMonth parses YYYY-MM as the first day of that month in UTC.
func parseMonth(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01", s)
	return t, err == nil
}
