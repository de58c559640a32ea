package main

import (
	"fmt"
	"maps"
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

// Config is a campaign's configuration. Fields left out of the JSON keep their value from the
// default. The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// Rows is the accrual table.
	Rows []Row `json:"rows" jsonschema:"title=Accrual table,maxItems=13" jsonschema_description:"One row per event type (Appendix 1 of the programme); an event type without a row earns nothing. A list given replaces the whole default table."`
	// MaxPayablePercent caps, per reward category, the share of the price that bonuses may pay
	// (percent, floored); a category not listed has no cap.
	MaxPayablePercent map[string]int64 `json:"maxPayablePercent" jsonschema:"title=Most of a price payable with bonuses" jsonschema_description:"Reward category → the most percent of its price that bonuses may pay (floored); categories not listed have no cap." jsonschema_values:"minimum=0,maximum=100"`
	// LinkedAttribute is the member attribute that is true when the client is linked to a bonus
	// account without registering in the cabinet.
	LinkedAttribute string `json:"linkedAttribute" jsonschema:"title=Linked-account attribute,minLength=1,maxLength=100" jsonschema_description:"The member attribute that is true when the client is linked to a bonus account without registering in the cabinet."`
}

// Row is one row of the accrual table.
type Row struct {
	// Row is the row's number in the published table (reasons cite it).
	Row int `json:"row" jsonschema:"title=Row,required,minimum=1,maximum=999" jsonschema_description:"The row's number in the published table; reasons cite it."`
	// Event is the event type the row pays for.
	Event string `json:"event" jsonschema:"title=Event type,required,enum=prepayment,enum=online_seminar.purchased,enum=seminar.purchased,enum=kit.extended,enum=certificate.basic,enum=certificate.professional,enum=client.new,enum=recommendation.sale,enum=recommendation.contact,enum=contest.participation,enum=seminar.friend_brought,enum=journal.subscribed,enum=review" jsonschema_description:"The event type the row pays for."`
	// Title is the basis of the accrual, shown on the bonus account.
	Title string `json:"title" jsonschema:"title=Basis of accrual,required,minLength=1,maxLength=200" jsonschema_description:"Shown on the bonus account as the credit's reason."`
	// Points is the amount credited, or the minimum when From is set.
	Points int64 `json:"points" jsonschema:"title=Bonuses,required,minimum=1,maximum=1000000" jsonschema_description:"The bonuses credited, or the minimum of a \"from\" row."`
	// From marks a "from N" row: the amount may be higher than Points (by the event's bonus
	// attribute, or by Percent or PerAmount of its amount attribute) but never lower.
	From bool `json:"from" jsonschema:"title=From (at least)" jsonschema_description:"A \"from N\" row: more is possible (the event's bonus attribute, percent or perAmount of its amount), never less."`
	// Percent, when positive, makes a "from" row proportional: that percent of the event's
	// amount (roubles), floored.
	Percent int64 `json:"percent,omitempty" jsonschema:"title=Percent of the amount,minimum=0,maximum=100" jsonschema_description:"\"From\" rows: the bonuses are this percent of the event's amount in roubles, floored, if above points; 0 for none."`
	// PerAmount, when positive, makes a "from" row proportional: one bonus per PerAmount whole
	// roubles of the event's amount.
	PerAmount int64 `json:"perAmount,omitempty" jsonschema:"title=Roubles per bonus,minimum=0,maximum=1000000" jsonschema_description:"\"From\" rows: one bonus per this many whole roubles of the event's amount, if above points; 0 for none."`
	// MinMonths, when positive, requires the event's months attribute to be at least this (row
	// 1: prepayment for 6 months or more).
	MinMonths int64 `json:"minMonths,omitempty" jsonschema:"title=Minimum months,minimum=0,maximum=120" jsonschema_description:"The event's months attribute must be at least this; 0 for no minimum."`
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

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Earn table (VashPlus)",
	Description: "Bonuses per client interaction from the programme's accrual table, and the share of a reward's price that bonuses may pay.",
	Default:     defaultConfig,
	Check:       checkConfig,
})

// checkConfig reports what the schema cannot: repeated rows and event types, proportional rows that
// are not "from" rows or are proportional twice, blank titles and category names.
func checkConfig(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	rowsSeen, eventsSeen := map[int]int{}, map[string]int{}
	for i, r := range cfg.Rows {
		if prev, dup := rowsSeen[r.Row]; dup {
			add(sdk.Pointer("rows", i, "row"), "duplicate", "%d repeats %s", r.Row, sdk.Pointer("rows", prev))
		} else {
			rowsSeen[r.Row] = i
		}
		if prev, dup := eventsSeen[r.Event]; dup {
			add(sdk.Pointer("rows", i, "event"), "duplicate", "%s already has %s", r.Event, sdk.Pointer("rows", prev))
		} else {
			eventsSeen[r.Event] = i
		}
		if strings.TrimSpace(r.Title) == "" {
			add(sdk.Pointer("rows", i, "title"), "required", "is blank")
		}
		if r.Percent > 0 && r.PerAmount > 0 {
			add(sdk.Pointer("rows", i), "exclusive", "sets both percent and perAmount; choose one")
		}
		if !r.From && (r.Percent > 0 || r.PerAmount > 0) {
			add(sdk.Pointer("rows", i, "from"), "required", "must be true: the row is proportional")
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(cfg.MaxPayablePercent)) {
		if strings.TrimSpace(cat) == "" {
			add(sdk.Pointer("maxPayablePercent", cat), "required", "is a blank category name")
		}
	}
	if strings.TrimSpace(cfg.LinkedAttribute) == "" {
		add("/linkedAttribute", "required", "is blank, it must name a member attribute")
	}
	return errs
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
