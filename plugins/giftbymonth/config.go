package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration. Fields left out of the JSON keep their value from the
// default. The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// ProgramStart and ProgramEnd (YYYY-MM-DD, inclusive, campaign zone) bound the days on which
	// members may register.
	ProgramStart string `json:"programStart" jsonschema:"title=Registration opens,pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$" jsonschema_description:"First day on which members may register (YYYY-MM-DD, in the campaign's time zone)."`
	ProgramEnd   string `json:"programEnd" jsonschema:"title=Registration closes,pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$" jsonschema_description:"Last day on which members may register, inclusive (YYYY-MM-DD, in the campaign's time zone)."`
	// FirstContractMonth and LastContractMonth (YYYY-MM, inclusive) bound the start months of
	// the contracts that take part.
	FirstContractMonth string `json:"firstContractMonth" jsonschema:"title=First contract month,pattern=^[0-9]{4}-[0-9]{2}$" jsonschema_description:"Earliest start month (YYYY-MM) of the contracts that take part."`
	LastContractMonth  string `json:"lastContractMonth" jsonschema:"title=Last contract month,pattern=^[0-9]{4}-[0-9]{2}$" jsonschema_description:"Latest start month (YYYY-MM) of the contracts that take part."`
	// RegistrationLastDay is the last day of each month on which registration is open
	// (inclusive); it is also the last day on which a contract starting in that month may be
	// registered, and the month's gifts are released when that day has ended. In a shorter month
	// it is the last day.
	RegistrationLastDay int `json:"registrationLastDay" jsonschema:"title=Last registration day of a month,minimum=1,maximum=31" jsonschema_description:"Registration is open from the 1st to this day of each month, inclusive (the last day in a shorter month); a contract must be registered by this day of its start month, and the month's gifts are released when it ends."`
	// Levels are the contract levels that take part ("PROF").
	Levels []string `json:"levels" jsonschema:"title=Contract levels,minItems=1,maxItems=20,minLength=1,maxLength=40" jsonschema_description:"The contract levels that take part, e.g. PROF."`
	// Terms are the eligible contract terms in months.
	Terms []int `json:"terms" jsonschema:"title=Eligible terms,minItems=1,maxItems=12,minimum=1,maximum=120" jsonschema_description:"The eligible contract terms, in months."`
	// Schemes maps a preferential contract scheme to the term it counts as ("8+4" counts as 12
	// months).
	Schemes map[string]int `json:"schemes" jsonschema:"title=Preferential schemes" jsonschema_description:"A preferential contract scheme and the eligible term it counts as, e.g. 8+4 counts as 12 months." jsonschema_values:"minimum=1,maximum=120"`
	// RequirePaidInFull refuses contracts not paid for the whole term up front.
	RequirePaidInFull bool `json:"requirePaidInFull" jsonschema:"title=Paid in full" jsonschema_description:"Only contracts paid for the whole term up front take part."`
	// RequireProductRegistered refuses members whose software product is not registered in their
	// account.
	RequireProductRegistered bool `json:"requireProductRegistered" jsonschema:"title=Product registered" jsonschema_description:"The member's software product must be registered in its account."`
	// ContractsAttribute is the member attribute holding the member's ITS contracts (an array of
	// contract objects).
	ContractsAttribute string `json:"contractsAttribute" jsonschema:"title=Contracts attribute,minLength=1,maxLength=100" jsonschema_description:"The member attribute holding the member's ITS contracts (an array of contract objects)."`
	// ProductRegisteredAttribute is the member attribute that is true when the member's software
	// product is registered.
	ProductRegisteredAttribute string `json:"productRegisteredAttribute" jsonschema:"title=Product-registered attribute,minLength=1,maxLength=100" jsonschema_description:"The member attribute that is true when the member's software product is registered."`
	// HeadAttribute is the member attribute naming the head of the organisation, the last-resort
	// gift recipient (the member's name if it is absent).
	HeadAttribute string `json:"headAttribute" jsonschema:"title=Head-of-organisation attribute,minLength=1,maxLength=100" jsonschema_description:"The member attribute naming the head of the organisation, the last-resort gift recipient."`
	// Gifts is the gift table: one row per contract start month and term.
	Gifts []Gift `json:"gifts" jsonschema:"title=Gift table,maxItems=240" jsonschema_description:"One row per contract start month and term; a list given replaces the whole default table."`
}

// Gift is one row of the gift table.
type Gift struct {
	// StartMonth is the contract start month, YYYY-MM.
	StartMonth string `json:"startMonth" jsonschema:"title=Contract start month,required,pattern=^[0-9]{4}-[0-9]{2}$" jsonschema_description:"The contract start month (YYYY-MM) the row is for."`
	// TermMonths is the contract term the row is for (an eligible term; an "8+4" contract counts
	// as the term of its scheme).
	TermMonths int `json:"termMonths" jsonschema:"title=Term,required,minimum=1,maximum=120" jsonschema_description:"The contract term in months the row is for; a preferential scheme counts as its term."`
	// Items are the gift's items, in lower case as they read inside a sentence; the benefit's
	// title joins them with " + ".
	Items []string `json:"items" jsonschema:"title=Items,required,minItems=1,maxItems=10,minLength=1,maxLength=200" jsonschema_description:"The gift's items, in lower case as they read inside a sentence; the benefit's title joins them with +."`
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

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Gift by month (ITS 2021)",
	Description: "A gift for every eligible ITS contract registered in the programme, by the contract's start month and term, released after each month's registration closes.",
	Default:     defaultConfig,
	Check:       checkConfig,
})

// checkConfig reports what the schema cannot: dates and months that do not exist or are out of
// order, repeated terms and gift rows, schemes and gifts of terms that are not eligible, gifts
// outside the contract months, and blank names.
func checkConfig(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	start, startErr := time.Parse(time.DateOnly, cfg.ProgramStart)
	if startErr != nil {
		add("/programStart", "invalid_date", "%q is not a date", cfg.ProgramStart)
	}
	end, endErr := time.Parse(time.DateOnly, cfg.ProgramEnd)
	if endErr != nil {
		add("/programEnd", "invalid_date", "%q is not a date", cfg.ProgramEnd)
	}
	if startErr == nil && endErr == nil && end.Before(start) {
		add("/programEnd", "before_start", "%s is before programStart %s", cfg.ProgramEnd, cfg.ProgramStart)
	}
	first, firstOK := parseMonth(cfg.FirstContractMonth)
	if !firstOK {
		add("/firstContractMonth", "invalid_month", "%q is not a month", cfg.FirstContractMonth)
	}
	last, lastOK := parseMonth(cfg.LastContractMonth)
	if !lastOK {
		add("/lastContractMonth", "invalid_month", "%q is not a month", cfg.LastContractMonth)
	}
	if firstOK && lastOK && last.Before(first) {
		add("/lastContractMonth", "before_start", "%s is before firstContractMonth %s", cfg.LastContractMonth, cfg.FirstContractMonth)
	}
	for i, l := range cfg.Levels {
		if strings.TrimSpace(l) == "" {
			add(sdk.Pointer("levels", i), "required", "is blank")
		}
	}
	for i, t := range cfg.Terms {
		if slices.Contains(cfg.Terms[:i], t) {
			add(sdk.Pointer("terms", i), "duplicate", "%d months is listed twice", t)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Schemes)) {
		f := sdk.Pointer("schemes", name)
		if strings.TrimSpace(name) == "" {
			add(f, "required", "is a blank scheme name")
			continue
		}
		if t := cfg.Schemes[name]; !slices.Contains(cfg.Terms, t) {
			add(f, "not_a_term", "counts as %d months, which is not one of the eligible terms %s", t, joinInts(cfg.Terms))
		}
	}
	for _, a := range []struct{ field, value string }{
		{"/contractsAttribute", cfg.ContractsAttribute},
		{"/productRegisteredAttribute", cfg.ProductRegisteredAttribute},
		{"/headAttribute", cfg.HeadAttribute},
	} {
		if strings.TrimSpace(a.value) == "" {
			add(a.field, "required", "is blank, it must name a member attribute")
		}
	}
	seen := map[string]int{}
	for i, g := range cfg.Gifts {
		m, ok := parseMonth(g.StartMonth)
		switch {
		case !ok:
			add(sdk.Pointer("gifts", i, "startMonth"), "invalid_month", "%q is not a month", g.StartMonth)
		case firstOK && lastOK && (m.Before(first) || m.After(last)):
			add(sdk.Pointer("gifts", i, "startMonth"), "out_of_range", "%s is outside the contract months %s..%s", g.StartMonth, cfg.FirstContractMonth, cfg.LastContractMonth)
		}
		if !slices.Contains(cfg.Terms, g.TermMonths) {
			add(sdk.Pointer("gifts", i, "termMonths"), "not_a_term", "%d is not one of the eligible terms %s", g.TermMonths, joinInts(cfg.Terms))
		}
		for j, it := range g.Items {
			if strings.TrimSpace(it) == "" {
				add(sdk.Pointer("gifts", i, "items", j), "required", "is blank")
			}
		}
		key := fmt.Sprintf("%s/%d", g.StartMonth, g.TermMonths)
		if prev, dup := seen[key]; dup {
			add(sdk.Pointer("gifts", i), "duplicate", "repeats %s: %s, %d months", sdk.Pointer("gifts", prev), g.StartMonth, g.TermMonths)
		} else {
			seen[key] = i
		}
	}
	return errs
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
		for _, name := range slices.Sorted(maps.Keys(c.Schemes)) {
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

// parseMonth parses YYYY-MM as the first day of that month in UTC.
func parseMonth(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01", s)
	return t, err == nil
}
