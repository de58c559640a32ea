package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// Event types, one per row of the seed's accrual table (Appendix 1).
const (
	EventPrepayment            = "prepayment"               // row 1
	EventOnlineSeminarPurchase = "online_seminar.purchased" // row 3
	EventSeminarPurchase       = "seminar.purchased"        // row 4
	EventKitExtended           = "kit.extended"             // row 5
	EventCertificateBasic      = "certificate.basic"        // row 6
	EventCertificateProf       = "certificate.professional" // row 7
	EventClientNew             = "client.new"               // row 8
	EventRecommendationSale    = "recommendation.sale"      // row 9
	EventRecommendationContact = "recommendation.contact"   // row 10
	EventContestParticipation  = "contest.participation"    // row 11
	EventFriendBrought         = "seminar.friend_brought"   // row 12
	EventJournalSubscribed     = "journal.subscribed"       // row 13
	EventReview                = "review"                   // row 14
)

// EventTypes lists every event type the plugin evaluates, in table order.
var EventTypes = []string{
	EventPrepayment, EventOnlineSeminarPurchase, EventSeminarPurchase, EventKitExtended,
	EventCertificateBasic, EventCertificateProf, EventClientNew, EventRecommendationSale,
	EventRecommendationContact, EventContestParticipation, EventFriendBrought,
	EventJournalSubscribed, EventReview,
}

// maxPoints is the largest credit the core accepts in one effect.
const maxPoints = 1_000_000

// Config is a campaign's configuration. Fields left out of the JSON keep
// their value from the default.
type Config struct {
	// Rows is the accrual table.
	Rows []Row `json:"rows"`
	// MaxPayablePercent caps, per reward category, the share of the price
	// that bonuses may pay (percent, floored); a category not listed has no
	// cap.
	MaxPayablePercent map[string]int64 `json:"maxPayablePercent"`
	// LinkedAttribute is the member attribute that is true when the client is
	// linked to a bonus account without registering in the cabinet.
	LinkedAttribute string `json:"linkedAttribute"`
}

// Row is one row of the accrual table.
type Row struct {
	// Row is the row's number in the published table (reasons cite it).
	Row int `json:"row"`
	// Event is the event type the row pays for.
	Event string `json:"event"`
	// Title is the basis of the accrual, shown on the bonus account.
	Title string `json:"title"`
	// Points is the amount credited, or the minimum when From is set.
	Points int64 `json:"points"`
	// From marks a "from N" row: the amount may be higher than Points (by
	// the event's bonus attribute, or by Percent or PerAmount of its amount
	// attribute) but never lower.
	From bool `json:"from"`
	// Percent, when positive, makes a "from" row proportional: that percent
	// of the event's amount (roubles), floored.
	Percent int64 `json:"percent,omitempty"`
	// PerAmount, when positive, makes a "from" row proportional: one bonus
	// per PerAmount whole roubles of the event's amount.
	PerAmount int64 `json:"perAmount,omitempty"`
	// MinMonths, when positive, requires the event's months attribute to be
	// at least this (row 1: prepayment for 6 months or more).
	MinMonths int64 `json:"minMonths,omitempty"`
}

// defaultConfig returns the seed's Appendix 1 and spending rules; fresh
// values on every call.
func defaultConfig() Config {
	return Config{
		Rows: []Row{
			{Row: 1, Event: EventPrepayment, Title: "prepayment for 6 months or more", Points: 100, From: true, MinMonths: 6},
			{Row: 3, Event: EventOnlineSeminarPurchase, Title: "purchase of an online seminar", Points: 5, From: true},
			{Row: 4, Event: EventSeminarPurchase, Title: "purchase of a seminar", Points: 5, From: true},
			{Row: 5, Event: EventKitExtended, Title: "extension of the product kit", Points: 5, From: true},
			{Row: 6, Event: EventCertificateBasic, Title: `certificate of level "Basic"`, Points: 10},
			{Row: 7, Event: EventCertificateProf, Title: `certificate of level "Professional"`, Points: 20},
			{Row: 8, Event: EventClientNew, Title: "new client", Points: 100},
			{Row: 9, Event: EventRecommendationSale, Title: "recommendation that led to a sale", Points: 1000},
			{Row: 10, Event: EventRecommendationContact, Title: "recommendation (contact passed on)", Points: 50},
			{Row: 11, Event: EventContestParticipation, Title: "taking part in a contest", Points: 10},
			{Row: 12, Event: EventFriendBrought, Title: `"brought a friend" to a seminar`, Points: 5},
			{Row: 13, Event: EventJournalSubscribed, Title: `subscription to the journal "Glavnaya Kniga"`, Points: 3, From: true},
			{Row: 14, Event: EventReview, Title: "review", Points: 5},
		},
		MaxPayablePercent: map[string]int64{"seminar": 50, "online_seminar": 50},
		LinkedAttribute:   "bonusAccountLinked",
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "earntable campaign configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "rows": {
      "type": "array",
      "description": "Accrual table: one row per event type.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["row", "event", "title", "points"],
        "properties": {
          "row": {"type": "integer", "minimum": 1, "description": "Row number in the published table."},
          "event": {"type": "string", "enum": ["prepayment", "online_seminar.purchased", "seminar.purchased", "kit.extended", "certificate.basic", "certificate.professional", "client.new", "recommendation.sale", "recommendation.contact", "contest.participation", "seminar.friend_brought", "journal.subscribed", "review"]},
          "title": {"type": "string", "minLength": 1, "description": "Basis of the accrual shown on the bonus account."},
          "points": {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "Bonuses, or the minimum of a \"from\" row."},
          "from": {"type": "boolean", "description": "\"From N\" row: more is possible (event attribute bonus, percent, perAmount), never less."},
          "percent": {"type": "integer", "minimum": 0, "maximum": 100, "description": "\"From\" rows: bonuses = this percent of the event's amount (roubles), floored, if above points."},
          "perAmount": {"type": "integer", "minimum": 0, "description": "\"From\" rows: one bonus per this many whole roubles of the event's amount, if above points."},
          "minMonths": {"type": "integer", "minimum": 0, "description": "The event's months attribute must be at least this."}
        }
      }
    },
    "maxPayablePercent": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100}, "description": "Reward category → most percent of the price payable with bonuses; unlisted categories have no cap."},
    "linkedAttribute": {"type": "string", "minLength": 1, "description": "Member attribute that is true when the client is linked to a bonus account."}
  }
}`

// parseConfig decodes raw over the default and checks every value. An empty
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
	rowsSeen, eventsSeen := map[int]int{}, map[string]int{}
	for i, r := range cfg.Rows {
		f := fmt.Sprintf("rows[%d]", i)
		if r.Row < 1 {
			add(f+".row", "out_of_range", "%s.row is %d, it must be at least 1", f, r.Row)
		} else if prev, dup := rowsSeen[r.Row]; dup {
			add(f+".row", "duplicate", "%s.row %d repeats rows[%d]", f, r.Row, prev)
		} else {
			rowsSeen[r.Row] = i
		}
		if !slices.Contains(EventTypes, r.Event) {
			add(f+".event", "unsupported", "%s.event %q is not one of %s", f, r.Event, strings.Join(EventTypes, ", "))
		} else if prev, dup := eventsSeen[r.Event]; dup {
			add(f+".event", "duplicate", "%s.event %s already has rows[%d]", f, r.Event, prev)
		} else {
			eventsSeen[r.Event] = i
		}
		if strings.TrimSpace(r.Title) == "" {
			add(f+".title", "required", "%s.title is empty", f)
		}
		if r.Points < 1 || r.Points > maxPoints {
			add(f+".points", "out_of_range", "%s.points is %d, it must be between 1 and %d", f, r.Points, maxPoints)
		}
		if r.Percent < 0 || r.Percent > 100 {
			add(f+".percent", "out_of_range", "%s.percent is %d, it must be between 0 and 100", f, r.Percent)
		}
		if r.PerAmount < 0 {
			add(f+".perAmount", "out_of_range", "%s.perAmount is %d, it must not be negative", f, r.PerAmount)
		}
		if r.Percent > 0 && r.PerAmount > 0 {
			add(f, "exclusive", "%s sets both percent and perAmount; choose one", f)
		}
		if !r.From && (r.Percent > 0 || r.PerAmount > 0) {
			add(f+".from", "required", "%s is proportional but not a \"from\" row; set from: true", f)
		}
		if r.MinMonths < 0 || r.MinMonths > 120 {
			add(f+".minMonths", "out_of_range", "%s.minMonths is %d, it must be between 0 and 120", f, r.MinMonths)
		}
	}
	for _, cat := range sortedKeys(cfg.MaxPayablePercent) {
		if p := cfg.MaxPayablePercent[cat]; p < 0 || p > 100 {
			add("maxPayablePercent."+cat, "out_of_range", "maxPayablePercent.%s is %d, it must be between 0 and 100", cat, p)
		}
		if strings.TrimSpace(cat) == "" {
			add("maxPayablePercent", "required", "a category name is empty")
		}
	}
	if strings.TrimSpace(cfg.LinkedAttribute) == "" {
		add("linkedAttribute", "required", "linkedAttribute must name a member attribute")
	}
	return cfg, errs
}

// row returns the table row for an event type.
func (c Config) row(event string) (Row, bool) {
	for _, r := range c.Rows {
		if r.Event == event {
			return r, true
		}
	}
	return Row{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
