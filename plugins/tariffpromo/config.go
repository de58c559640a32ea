package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration: the seed's two tables and its three
// periods. Top-level fields left out of the JSON take their value from
// DefaultConfig; a field that is given replaces the default as a whole.
type Config struct {
	// SubscriptionPeriod is when a connection makes a client a participant
	// and earns the discount of Table 1 (seed: "период подписки").
	SubscriptionPeriod Period `json:"subscriptionPeriod"`
	// DiscountMonths is how long the discount lasts, in months counted from
	// the day after the connection.
	DiscountMonths int `json:"discountMonths"`
	// Discounts is Table 1: the participating tariff plans and their discount
	// on the monthly fee.
	Discounts []DiscountRow `json:"discounts"`
	// AddonActivationPeriod is when participants may switch on the add-ons of
	// Table 2 (seed: "период активации" of item 2).
	AddonActivationPeriod Period `json:"addonActivationPeriod"`
	// Addons is Table 2: the free add-on services per tariff plan.
	Addons []AddonRow `json:"addons"`
	// PromoCode is item 3, the video-service promo code; null switches it off.
	PromoCode *PromoCodeConfig `json:"promoCode"`
}

// Period is a range of calendar days in the campaign's time zone, both ends
// inclusive, written YYYY-MM-DD.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// DiscountRow is one row of Table 1.
type DiscountRow struct {
	// Plan is the tariff plan's name as the billing system reports it.
	Plan string `json:"plan"`
	// Aliases are other spellings of the plan (e.g. the Russian name).
	// Matching ignores case, quotes and repeated spaces.
	Aliases []string `json:"aliases,omitempty"`
	// PercentBasisPoints is the discount on the monthly fee in basis points
	// (3001 is 30.01%).
	PercentBasisPoints int `json:"percentBasisPoints"`
}

// AddonRow is one row of Table 2.
type AddonRow struct {
	// Plan is a plan of Table 1.
	Plan string `json:"plan"`
	// Addon is the id the app sends when the member switches it on
	// (lower-case letters, digits and underscores).
	Addon   string `json:"addon"`
	Title   string `json:"title"`
	Content string `json:"content"`
	// Days is the period of the add-on, counted from the day after activation.
	Days int `json:"days"`
}

// PromoCodeConfig is item 3: a promo code for a video-service subscription,
// sent by SMS.
type PromoCodeConfig struct {
	// Period is when a connection earns the promo code; the code must be
	// activated by the member before its end.
	Period       Period `json:"period"`
	Service      string `json:"service"`
	Subscription string `json:"subscription"`
	// MonthlyFee is the subscription's fee with the code, as shown to members.
	MonthlyFee string `json:"monthlyFee"`
	// Template is the SMS template the core renders.
	Template string `json:"template"`
}

// Limits of the configuration values.
const (
	maxDiscountMonths = 120
	maxAddonDays      = 3650
	maxBasisPoints    = 10000
)

var addonID = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// defaultConfig returns the seed's configuration, freshly allocated so that
// decoding into it never touches a shared value.
func defaultConfig() Config {
	minutes := func(plan string) AddonRow {
		return AddonRow{Plan: plan, Addon: "unlimited_minutes", Title: "PROMO. Unlimited minutes to all networks",
			Content: "Unlimited minutes to all networks", Days: 90}
	}
	return Config{
		SubscriptionPeriod: Period{From: "2023-07-01", To: "2023-08-14"},
		DiscountMonths:     6,
		Discounts: []DiscountRow{
			{Plan: "Bez Limita 2.0", Aliases: []string{"Без Лимита 2.0"}, PercentBasisPoints: 3001},
			{Plan: "Drive 5", Aliases: []string{"Драйв 5"}, PercentBasisPoints: 2501},
			{Plan: "Drive 20", Aliases: []string{"Драйв 20"}, PercentBasisPoints: 2084},
		},
		AddonActivationPeriod: Period{From: "2023-07-01", To: "2023-09-30"},
		Addons: []AddonRow{
			minutes("Bez Limita 2.0"),
			{Plan: "Bez Limita 2.0", Addon: "modem", Title: "Modem mode", Content: "Sharing of internet traffic", Days: 90},
			minutes("Drive 5"),
			minutes("Drive 20"),
		},
		PromoCode: &PromoCodeConfig{
			Period:       Period{From: "2023-07-01", To: "2023-09-15"},
			Service:      "VOKA",
			Subscription: "All inclusive 2022",
			MonthlyFee:   "9.90 BYN",
			Template:     "voka_promo_code",
		},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "tariffpromo campaign",
  "type": "object",
  "additionalProperties": false,
  "$defs": {
    "period": {
      "type": "object",
      "additionalProperties": false,
      "required": ["from", "to"],
      "properties": {
        "from": {"type": "string", "format": "date", "description": "First day, inclusive, in the campaign's time zone."},
        "to": {"type": "string", "format": "date", "description": "Last day, inclusive, in the campaign's time zone."}
      }
    }
  },
  "properties": {
    "subscriptionPeriod": {"$ref": "#/$defs/period", "description": "Connections in this period make the client a participant and earn the Table 1 discount."},
    "discountMonths": {"type": "integer", "minimum": 1, "maximum": 120, "description": "Months the discount lasts, counted from the day after the connection; it ends at 23:59:59 of the last day."},
    "discounts": {
      "type": "array", "minItems": 1, "description": "Table 1: participating tariff plans and their discount on the monthly fee.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["plan", "percentBasisPoints"],
        "properties": {
          "plan": {"type": "string", "minLength": 1},
          "aliases": {"type": "array", "items": {"type": "string", "minLength": 1}},
          "percentBasisPoints": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "3001 is 30.01%."}
        }
      }
    },
    "addonActivationPeriod": {"$ref": "#/$defs/period", "description": "Participants may switch on the Table 2 add-ons in this period."},
    "addons": {
      "type": "array", "description": "Table 2: free add-on services per participating plan.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["plan", "addon", "title", "days"],
        "properties": {
          "plan": {"type": "string", "minLength": 1, "description": "A plan of discounts."},
          "addon": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$", "description": "Id the app sends, e.g. unlimited_minutes."},
          "title": {"type": "string", "minLength": 1},
          "content": {"type": "string"},
          "days": {"type": "integer", "minimum": 1, "maximum": 3650, "description": "Days of service, counted from the day after activation."}
        }
      }
    },
    "promoCode": {
      "type": ["object", "null"], "additionalProperties": false, "description": "Video promo code by SMS; null switches it off.",
      "required": ["period", "service", "subscription", "template"],
      "properties": {
        "period": {"$ref": "#/$defs/period"},
        "service": {"type": "string", "minLength": 1},
        "subscription": {"type": "string", "minLength": 1},
        "monthlyFee": {"type": "string"},
        "template": {"type": "string", "minLength": 1}
      }
    }
  }
}`

// parseConfig decodes raw and checks every value. An empty or null config is
// the default one; top-level fields left out take their default.
func parseConfig(raw json.RawMessage) (Config, []sdk.FieldError) {
	def := defaultConfig()
	if len(bytes.TrimSpace(raw)) == 0 {
		return def, nil
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return def, []sdk.FieldError{sdk.ConfigDecodeError(err, Name)}
	}
	if dec.More() {
		return def, []sdk.FieldError{{Code: "invalid_json", Message: "config holds more than one JSON value"}}
	}
	var given map[string]json.RawMessage
	if err := json.Unmarshal(raw, &given); err != nil {
		return def, []sdk.FieldError{{Code: "invalid_json", Message: err.Error()}}
	}
	fill := func(key string, set func()) {
		if _, ok := given[key]; !ok {
			set()
		}
	}
	fill("subscriptionPeriod", func() { cfg.SubscriptionPeriod = def.SubscriptionPeriod })
	fill("discountMonths", func() { cfg.DiscountMonths = def.DiscountMonths })
	fill("discounts", func() { cfg.Discounts = def.Discounts })
	fill("addonActivationPeriod", func() { cfg.AddonActivationPeriod = def.AddonActivationPeriod })
	fill("addons", func() { cfg.Addons = def.Addons })
	fill("promoCode", func() { cfg.PromoCode = def.PromoCode })
	return cfg, validate(cfg)
}

// validate returns one field error per bad value of cfg.
func validate(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	checkPeriod := func(field string, p Period) {
		from, errFrom := time.Parse(time.DateOnly, p.From)
		if errFrom != nil {
			add(field+".from", "invalid_date", "%s.from is %q, want a date YYYY-MM-DD", field, p.From)
		}
		to, errTo := time.Parse(time.DateOnly, p.To)
		if errTo != nil {
			add(field+".to", "invalid_date", "%s.to is %q, want a date YYYY-MM-DD", field, p.To)
		}
		if errFrom == nil && errTo == nil && to.Before(from) {
			add(field, "empty_period", "%s ends (%s) before it starts (%s)", field, p.To, p.From)
		}
	}

	checkPeriod("subscriptionPeriod", cfg.SubscriptionPeriod)
	if cfg.DiscountMonths < 1 || cfg.DiscountMonths > maxDiscountMonths {
		add("discountMonths", "out_of_range", "discountMonths is %d, it must be between 1 and %d", cfg.DiscountMonths, maxDiscountMonths)
	}
	if len(cfg.Discounts) == 0 {
		add("discounts", "required", "discounts must list at least one participating tariff plan")
	}
	names := map[string]string{} // normalised name or alias → field that uses it
	for i, row := range cfg.Discounts {
		field := fmt.Sprintf("discounts[%d]", i)
		if normPlan(row.Plan) == "" {
			add(field+".plan", "required", "%s.plan must name a tariff plan", field)
		}
		for j, name := range append([]string{row.Plan}, row.Aliases...) {
			n := normPlan(name)
			if n == "" {
				if j > 0 {
					add(fmt.Sprintf("%s.aliases[%d]", field, j-1), "required", "%s.aliases[%d] is empty", field, j-1)
				}
				continue
			}
			if other, dup := names[n]; dup && other != field {
				add(field+".plan", "duplicate", "plan name %q of %s is also used by %s", name, field, other)
			}
			names[n] = field
		}
		if row.PercentBasisPoints < 1 || row.PercentBasisPoints > maxBasisPoints {
			add(field+".percentBasisPoints", "out_of_range", "%s.percentBasisPoints is %d, it must be between 1 and %d (basis points: 3001 is 30.01%%)",
				field, row.PercentBasisPoints, maxBasisPoints)
		}
	}

	checkPeriod("addonActivationPeriod", cfg.AddonActivationPeriod)
	seen := map[string]int{}
	for i, row := range cfg.Addons {
		field := fmt.Sprintf("addons[%d]", i)
		plan := normPlan(row.Plan)
		if _, ok := names[plan]; !ok || plan == "" {
			add(field+".plan", "unknown_plan", "%s.plan %q is not a plan of discounts", field, row.Plan)
		}
		if !addonID.MatchString(row.Addon) {
			add(field+".addon", "invalid_id", "%s.addon is %q, want 1 to 64 lower-case letters, digits or underscores", field, row.Addon)
		}
		pair := names[plan] + "/" + row.Addon
		if j, dup := seen[pair]; dup && plan != "" {
			add(field+".addon", "duplicate", "%s repeats add-on %q of plan %q from addons[%d]", field, row.Addon, row.Plan, j)
		}
		seen[pair] = i
		if strings.TrimSpace(row.Title) == "" {
			add(field+".title", "required", "%s.title must name the add-on", field)
		}
		if row.Days < 1 || row.Days > maxAddonDays {
			add(field+".days", "out_of_range", "%s.days is %d, it must be between 1 and %d", field, row.Days, maxAddonDays)
		}
	}

	if pc := cfg.PromoCode; pc != nil {
		checkPeriod("promoCode.period", pc.Period)
		for _, f := range []struct{ name, value string }{
			{"service", pc.Service}, {"subscription", pc.Subscription}, {"template", pc.Template},
		} {
			if strings.TrimSpace(f.value) == "" {
				add("promoCode."+f.name, "required", "promoCode.%s must not be empty", f.name)
			}
		}
	}
	return errs
}
