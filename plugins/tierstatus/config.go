package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// Event types the plugin evaluates.
const (
	EventBillEmail        = "bill.email_delivery"
	EventProfileCompleted = "profile.completed"
	EventSurveyAnswered   = "survey.answered"
	EventTopup            = "topup"
	EventPayment          = "payment"
	EventRewardRedeemed   = "reward.redeemed"
)

// EventTypes lists every event type the plugin evaluates.
var EventTypes = []string{EventBillEmail, EventProfileCompleted, EventSurveyAnswered, EventTopup, EventPayment, EventRewardRedeemed}

// actionEvents are the event types an Action row may pay for.
var actionEvents = []string{EventBillEmail, EventProfileCompleted}

// maxPoints is the largest credit the core accepts in one effect.
const maxPoints = 1_000_000

// Config is a campaign's configuration. Fields left out of the JSON keep
// their value from the default.
type Config struct {
	// JoinPoints are credited on joining the programme.
	JoinPoints int64 `json:"joinPoints"`
	// JoinAvailableAfterHours keeps the joining points pending this long (the
	// seed promises them "within 24 hours"); 0 credits them at once.
	JoinAvailableAfterHours int `json:"joinAvailableAfterHours"`
	// BirthdayPoints are credited on the member's birthday.
	BirthdayPoints int64 `json:"birthdayPoints"`
	// Actions are one-off actions credited at once, at most once per member.
	Actions []Action `json:"actions"`
	// SurveyMinPoints and SurveyMaxPoints bound the points of a survey (the
	// survey.answered event's points attribute).
	SurveyMinPoints int64 `json:"surveyMinPoints"`
	SurveyMaxPoints int64 `json:"surveyMaxPoints"`
	// TopupRubPerPoint: one point per this many roubles of a single top-up of
	// at least TopupMinRub roubles.
	TopupRubPerPoint int64 `json:"topupRubPerPoint"`
	TopupMinRub      int64 `json:"topupMinRub"`
	// TopupPending keeps top-up points pending like the month's payments.
	TopupPending bool `json:"topupPending"`
	// PaymentRubPerPoint: one point per this many roubles paid for one of
	// PaymentServices.
	PaymentRubPerPoint int64    `json:"paymentRubPerPoint"`
	PaymentServices    []string `json:"paymentServices"`
	// PendingDaysAfterMonth: payment points become available this many days
	// after the end of the month of the payment, at 00:00 in the campaign's
	// zone.
	PendingDaysAfterMonth int `json:"pendingDaysAfterMonth"`
	// ExpiryMonths: points expire this many calendar months after they become
	// available.
	ExpiryMonths int `json:"expiryMonths"`
	// Tiers are the statuses, lowest first; the first is given on joining and
	// needs 0 status points.
	Tiers []Tier `json:"tiers"`
	// ExchangesPerMonth is how many exchanges (orders) a member may make per
	// calendar month in the campaign's zone.
	ExchangesPerMonth int `json:"exchangesPerMonth"`
	// RequiredAnswers are questionnaire fields that must be answered to join.
	RequiredAnswers []string `json:"requiredAnswers"`
}

// Action is a one-off action worth a fixed number of points.
type Action struct {
	Event  string `json:"event"`
	Title  string `json:"title"`
	Points int64  `json:"points"`
}

// Tier is one status.
type Tier struct {
	Name string `json:"name"`
	// Threshold is the status points (accumulated since the last status
	// review) at which the status is reached.
	Threshold int64 `json:"threshold"`
	// DiscountPercent is the discount on every catalogue reward.
	DiscountPercent int64 `json:"discountPercent"`
	// ValidMonths is how long the status lasts once reached.
	ValidMonths int `json:"validMonths"`
}

// defaultConfig returns the seed's programme; fresh values on every call.
func defaultConfig() Config {
	return Config{
		JoinPoints:              500,
		JoinAvailableAfterHours: 0,
		BirthdayPoints:          1000,
		Actions: []Action{
			{Event: EventBillEmail, Title: "bill delivery switched to e-mail", Points: 300},
			{Event: EventProfileCompleted, Title: "every profile field filled in", Points: 100},
		},
		SurveyMinPoints:       100,
		SurveyMaxPoints:       1000,
		TopupRubPerPoint:      5,
		TopupMinRub:           1000,
		TopupPending:          true,
		PaymentRubPerPoint:    5,
		PaymentServices:       []string{"internet", "tv", "phone"},
		PendingDaysAfterMonth: 15,
		ExpiryMonths:          24,
		Tiers: []Tier{
			{Name: "Basic", Threshold: 0, DiscountPercent: 0, ValidMonths: 12},
			{Name: "Standard", Threshold: 4000, DiscountPercent: 5, ValidMonths: 24},
			{Name: "Privilege", Threshold: 10000, DiscountPercent: 10, ValidMonths: 24},
			{Name: "VIP", Threshold: 20000, DiscountPercent: 15, ValidMonths: 24},
		},
		ExchangesPerMonth: 1,
		RequiredAnswers:   []string{},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "tierstatus campaign configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "joinPoints": {"type": "integer", "minimum": 0, "maximum": 1000000, "description": "Points on joining; 0 for none."},
    "joinAvailableAfterHours": {"type": "integer", "minimum": 0, "maximum": 720, "description": "Joining points stay pending this many hours; 0 credits them at once."},
    "birthdayPoints": {"type": "integer", "minimum": 0, "maximum": 1000000, "description": "Points on the member's birthday; 0 for none."},
    "actions": {
      "type": "array",
      "description": "One-off actions credited at once, once per member.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["event", "title", "points"],
        "properties": {
          "event": {"type": "string", "enum": ["bill.email_delivery", "profile.completed"]},
          "title": {"type": "string", "minLength": 1},
          "points": {"type": "integer", "minimum": 1, "maximum": 1000000}
        }
      }
    },
    "surveyMinPoints": {"type": "integer", "minimum": 1, "description": "Least points of a survey."},
    "surveyMaxPoints": {"type": "integer", "maximum": 1000000, "description": "Most points of a survey."},
    "topupRubPerPoint": {"type": "integer", "minimum": 1, "description": "Roubles per point of a top-up."},
    "topupMinRub": {"type": "integer", "minimum": 0, "description": "Smallest single top-up that earns points, in roubles."},
    "topupPending": {"type": "boolean", "description": "Top-up points are pending until the month's payments are credited."},
    "paymentRubPerPoint": {"type": "integer", "minimum": 1, "description": "Roubles per point of a service payment."},
    "paymentServices": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}, "description": "Services whose payments earn points."},
    "pendingDaysAfterMonth": {"type": "integer", "minimum": 0, "maximum": 60, "description": "Payment points become available this many days after the end of the payment's month (00:00, campaign zone)."},
    "expiryMonths": {"type": "integer", "minimum": 1, "maximum": 120, "description": "Points expire this many months after they become available."},
    "tiers": {
      "type": "array", "minItems": 1,
      "description": "Statuses, lowest first; the first is given on joining and has threshold 0.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["name", "threshold", "discountPercent", "validMonths"],
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "threshold": {"type": "integer", "minimum": 0},
          "discountPercent": {"type": "integer", "minimum": 0, "maximum": 100},
          "validMonths": {"type": "integer", "minimum": 1, "maximum": 120}
        }
      }
    },
    "exchangesPerMonth": {"type": "integer", "minimum": 1, "description": "Exchanges (orders) a member may make per calendar month."},
    "requiredAnswers": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Questionnaire fields that must be answered to join."}
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
	between := func(field string, v, lo, hi int64) {
		if v < lo || v > hi {
			add(field, "out_of_range", "%s is %d, it must be between %d and %d", field, v, lo, hi)
		}
	}
	between("joinPoints", cfg.JoinPoints, 0, maxPoints)
	between("joinAvailableAfterHours", int64(cfg.JoinAvailableAfterHours), 0, 720)
	between("birthdayPoints", cfg.BirthdayPoints, 0, maxPoints)
	seen := map[string]int{}
	for i, a := range cfg.Actions {
		f := fmt.Sprintf("actions[%d]", i)
		if !slices.Contains(actionEvents, a.Event) {
			add(f+".event", "unsupported", "%s.event %q is not one of %s", f, a.Event, strings.Join(actionEvents, ", "))
		} else if prev, dup := seen[a.Event]; dup {
			add(f+".event", "duplicate", "%s.event %s already has actions[%d]", f, a.Event, prev)
		} else {
			seen[a.Event] = i
		}
		if strings.TrimSpace(a.Title) == "" {
			add(f+".title", "required", "%s.title is empty", f)
		}
		between(f+".points", a.Points, 1, maxPoints)
	}
	between("surveyMinPoints", cfg.SurveyMinPoints, 1, maxPoints)
	between("surveyMaxPoints", cfg.SurveyMaxPoints, 1, maxPoints)
	if cfg.SurveyMaxPoints < cfg.SurveyMinPoints {
		add("surveyMaxPoints", "below_minimum", "surveyMaxPoints %d is below surveyMinPoints %d", cfg.SurveyMaxPoints, cfg.SurveyMinPoints)
	}
	between("topupRubPerPoint", cfg.TopupRubPerPoint, 1, 1_000_000)
	between("topupMinRub", cfg.TopupMinRub, 0, 1_000_000_000)
	between("paymentRubPerPoint", cfg.PaymentRubPerPoint, 1, 1_000_000)
	if len(cfg.PaymentServices) == 0 {
		add("paymentServices", "required", "paymentServices must list at least one service")
	}
	for i, s := range cfg.PaymentServices {
		if strings.TrimSpace(s) == "" {
			add(fmt.Sprintf("paymentServices[%d]", i), "required", "paymentServices[%d] is empty", i)
		}
	}
	between("pendingDaysAfterMonth", int64(cfg.PendingDaysAfterMonth), 0, 60)
	between("expiryMonths", int64(cfg.ExpiryMonths), 1, 120)
	if len(cfg.Tiers) == 0 {
		add("tiers", "required", "tiers must list at least one status")
	}
	names := map[string]int{}
	for i, t := range cfg.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		key := strings.ToLower(strings.TrimSpace(t.Name))
		if key == "" {
			add(f+".name", "required", "%s.name is empty", f)
		} else if prev, dup := names[key]; dup {
			add(f+".name", "duplicate", "%s.name %s repeats tiers[%d]", f, t.Name, prev)
		} else {
			names[key] = i
		}
		switch {
		case i == 0 && t.Threshold != 0:
			add(f+".threshold", "must_be_zero", "%s.threshold is %d; the first status is given on joining and needs 0", f, t.Threshold)
		case i > 0 && t.Threshold <= cfg.Tiers[i-1].Threshold:
			add(f+".threshold", "not_increasing", "%s.threshold %d is not above tiers[%d].threshold %d", f, t.Threshold, i-1, cfg.Tiers[i-1].Threshold)
		}
		between(f+".discountPercent", t.DiscountPercent, 0, 100)
		between(f+".validMonths", int64(t.ValidMonths), 1, 120)
	}
	between("exchangesPerMonth", int64(cfg.ExchangesPerMonth), 1, 1000)
	for i, a := range cfg.RequiredAnswers {
		if strings.TrimSpace(a) == "" {
			add(fmt.Sprintf("requiredAnswers[%d]", i), "required", "requiredAnswers[%d] is empty", i)
		}
	}
	return cfg, errs
}

// action returns the action row of an event type.
func (c Config) action(event string) (Action, bool) {
	for _, a := range c.Actions {
		if a.Event == event {
			return a, true
		}
	}
	return Action{}, false
}

// tierRank is the index of the named status in Tiers, or -1.
func (c Config) tierRank(name string) int {
	return slices.IndexFunc(c.Tiers, func(t Tier) bool { return strings.EqualFold(t.Name, name) })
}
