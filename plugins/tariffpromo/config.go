package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration. Top-level fields left out of the JSON keep their
// default; a field that is given replaces the default as a whole (its objects' fields are
// required). The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// SubscriptionPeriod is when a connection makes a client a participant and earns the
	// discount of Table 1 (seed: "период подписки").
	SubscriptionPeriod Period `json:"subscriptionPeriod" jsonschema:"title=Subscription period" jsonschema_description:"Connections in this period make the client a participant and earn the discount of Table 1."`
	// DiscountMonths is how long the discount lasts, in months counted from the day after the
	// connection.
	DiscountMonths int `json:"discountMonths" jsonschema:"title=Discount lasts (months),minimum=1,maximum=120" jsonschema_description:"Months the discount lasts, counted from the day after the connection; it ends at 23:59:59 of the last day."`
	// Discounts is Table 1: the participating tariff plans and their discount on the monthly
	// fee.
	Discounts []DiscountRow `json:"discounts" jsonschema:"title=Table 1: discounts,minItems=1,maxItems=50" jsonschema_description:"The participating tariff plans and their discount on the monthly fee."`
	// AddonActivationPeriod is when participants may switch on the add-ons of Table 2 (seed:
	// "период активации" of item 2).
	AddonActivationPeriod Period `json:"addonActivationPeriod" jsonschema:"title=Add-on activation period" jsonschema_description:"Participants may switch on the add-ons of Table 2 in this period."`
	// Addons is Table 2: the free add-on services per tariff plan.
	Addons []AddonRow `json:"addons" jsonschema:"title=Table 2: add-ons,maxItems=100" jsonschema_description:"The free add-on services per participating tariff plan."`
	// PromoCode is item 3, the video-service promo code; null switches it off.
	PromoCode *PromoCodeConfig `json:"promoCode" jsonschema:"title=Video promo code,nullable" jsonschema_description:"A video-service promo code sent by SMS for a connection in its period; null switches it off."`
}

// Period is a span of calendar days, both inclusive, in the campaign's time zone.
type Period struct {
	From string `json:"from" jsonschema:"title=From,required,pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$" jsonschema_description:"The first day (YYYY-MM-DD), inclusive, in the campaign's time zone."`
	To   string `json:"to" jsonschema:"title=To,required,pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$" jsonschema_description:"The last day (YYYY-MM-DD), inclusive, in the campaign's time zone."`
}

// DiscountRow is a row of Table 1.
type DiscountRow struct {
	// Plan is the tariff plan's name as the billing system reports it.
	Plan string `json:"plan" jsonschema:"title=Tariff plan,required,minLength=1,maxLength=100" jsonschema_description:"The tariff plan's name as the billing system reports it."`
	// Aliases are other spellings of the plan (e.g. the Russian name). Matching ignores case,
	// quotes and repeated spaces.
	Aliases []string `json:"aliases,omitempty" jsonschema:"title=Other names,maxItems=10,minLength=1,maxLength=100" jsonschema_description:"Other spellings of the plan, e.g. its Russian name; matching ignores case, quotes and repeated spaces."`
	// PercentBasisPoints is the discount on the monthly fee in basis points (3001 is 30.01%).
	PercentBasisPoints int `json:"percentBasisPoints" jsonschema:"title=Discount (basis points),required,minimum=1,maximum=10000" jsonschema_description:"The discount on the monthly fee in basis points: 3001 is 30.01%."`
}

// AddonRow is a row of Table 2.
type AddonRow struct {
	// Plan is a plan of Table 1.
	Plan string `json:"plan" jsonschema:"title=Tariff plan,required,minLength=1,maxLength=100" jsonschema_description:"A plan of Table 1 (by its name or one of its other names)."`
	// Addon is the id the app sends when the member switches it on (lower-case letters, digits
	// and underscores).
	Addon   string `json:"addon" jsonschema:"title=Add-on id,required,pattern=^[a-z0-9_]{1\\,64}$" jsonschema_description:"The id the app sends when the member switches it on, e.g. unlimited_minutes: 1 to 64 lower-case letters, digits and underscores."`
	Title   string `json:"title" jsonschema:"title=Title,required,minLength=1,maxLength=200" jsonschema_description:"The add-on's name shown to the member."`
	Content string `json:"content" jsonschema:"title=Content,maxLength=500" jsonschema_description:"What the add-on gives, shown to the member."`
	// Days is the period of the add-on, counted from the day after activation.
	Days int `json:"days" jsonschema:"title=Days,required,minimum=1,maximum=3650" jsonschema_description:"Days of service, counted from the day after activation."`
}

// PromoCodeConfig is item 3 of the promotion.
type PromoCodeConfig struct {
	// Period is when a connection earns the promo code; the code must be activated by the
	// member before its end.
	Period       Period `json:"period" jsonschema:"title=Period,required" jsonschema_description:"A connection in this period earns the promo code; the member must activate it before the period ends."`
	Service      string `json:"service" jsonschema:"title=Service,required,minLength=1,maxLength=100" jsonschema_description:"The video service, e.g. VOKA."`
	Subscription string `json:"subscription" jsonschema:"title=Subscription,required,minLength=1,maxLength=100" jsonschema_description:"The service's subscription the code opens."`
	// MonthlyFee is the subscription's fee with the code, as shown to members.
	MonthlyFee string `json:"monthlyFee" jsonschema:"title=Monthly fee,maxLength=50" jsonschema_description:"The subscription's fee with the code, as shown to members, e.g. 9.90 BYN."`
	// Template is the SMS template the core renders.
	Template string `json:"template" jsonschema:"title=SMS template,required,minLength=1,maxLength=100" jsonschema_description:"The SMS template the core renders."`
}

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

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Tariff promotion (A1 summer)",
	Description: "A discount on the monthly fee for connecting a participating tariff plan in the subscription period, free add-on services to switch on, and a video promo code by SMS.",
	Default:     defaultConfig,
	Check:       checkConfig,
})

// checkConfig reports what the schema cannot: dates that do not exist, periods that end before
// they start, plan names used twice, add-ons of plans that do not take part or listed twice,
// and blank names.
func checkConfig(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	checkPeriod := func(field string, p Period) {
		from, errFrom := time.Parse(time.DateOnly, p.From)
		if errFrom != nil {
			add(field+"/from", "invalid_date", "%q is not a date", p.From)
		}
		to, errTo := time.Parse(time.DateOnly, p.To)
		if errTo != nil {
			add(field+"/to", "invalid_date", "%q is not a date", p.To)
		}
		if errFrom == nil && errTo == nil && to.Before(from) {
			add(field, "empty_period", "ends (%s) before it starts (%s)", p.To, p.From)
		}
	}

	checkPeriod("/subscriptionPeriod", cfg.SubscriptionPeriod)
	names := map[string]string{} // normalised name or alias → the row that uses it
	for i, row := range cfg.Discounts {
		rowField := sdk.Pointer("discounts", i)
		if normPlan(row.Plan) == "" {
			add(rowField+"/plan", "required", "must name a tariff plan")
		}
		for j, name := range append([]string{row.Plan}, row.Aliases...) {
			field := rowField + "/plan"
			if j > 0 {
				field = sdk.Pointer("discounts", i, "aliases", j-1)
			}
			n := normPlan(name)
			if n == "" {
				if j > 0 {
					add(field, "required", "is blank")
				}
				continue
			}
			if other, dup := names[n]; dup && other != rowField {
				add(field, "duplicate", "%q is also a name of %s", name, other)
			}
			names[n] = rowField
		}
	}

	checkPeriod("/addonActivationPeriod", cfg.AddonActivationPeriod)
	seen := map[string]int{}
	for i, row := range cfg.Addons {
		plan := normPlan(row.Plan)
		if _, ok := names[plan]; !ok || plan == "" {
			add(sdk.Pointer("addons", i, "plan"), "unknown_plan", "%q is not a plan of discounts", row.Plan)
		}
		pair := names[plan] + "/" + row.Addon
		if j, dup := seen[pair]; dup && plan != "" {
			add(sdk.Pointer("addons", i, "addon"), "duplicate", "repeats add-on %q of plan %q from %s", row.Addon, row.Plan, sdk.Pointer("addons", j))
		}
		seen[pair] = i
		if strings.TrimSpace(row.Title) == "" {
			add(sdk.Pointer("addons", i, "title"), "required", "is blank")
		}
	}

	if pc := cfg.PromoCode; pc != nil {
		checkPeriod("/promoCode/period", pc.Period)
		for _, f := range []struct{ name, value string }{
			{"service", pc.Service}, {"subscription", pc.Subscription}, {"template", pc.Template},
		} {
			if strings.TrimSpace(f.value) == "" {
				add("/promoCode/"+f.name, "required", "is blank")
			}
		}
	}
	return errs
}
