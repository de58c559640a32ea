package main

import (
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

// maxPoints is the largest credit the core accepts in one effect.
const maxPoints = 1_000_000

// Config is a campaign's configuration. Fields left out of the JSON keep their value from the
// default. The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// JoinPoints are credited on joining the programme.
	JoinPoints int64 `json:"joinPoints" jsonschema:"title=Joining points,minimum=0,maximum=1000000" jsonschema_description:"Points credited on joining the programme; 0 for none."`
	// JoinAvailableAfterHours keeps the joining points pending this long (the seed promises them
	// "within 24 hours"); 0 credits them at once.
	JoinAvailableAfterHours int `json:"joinAvailableAfterHours" jsonschema:"title=Joining points pending for (hours),minimum=0,maximum=720" jsonschema_description:"The joining points stay pending this many hours; 0 credits them at once."`
	// BirthdayPoints are credited on the member's birthday.
	BirthdayPoints int64 `json:"birthdayPoints" jsonschema:"title=Birthday points,minimum=0,maximum=1000000" jsonschema_description:"Points credited on the member's birthday; 0 for none."`
	// Actions are one-off actions credited at once, at most once per member.
	Actions []Action `json:"actions" jsonschema:"title=One-off actions,maxItems=2" jsonschema_description:"Actions credited at once, at most once per member; one row per event type."`
	// SurveyMinPoints and SurveyMaxPoints bound the points of a survey (the survey.answered
	// event's points attribute).
	SurveyMinPoints int64 `json:"surveyMinPoints" jsonschema:"title=Least points of a survey,minimum=1,maximum=1000000" jsonschema_description:"The least points a survey (its points attribute) may credit."`
	SurveyMaxPoints int64 `json:"surveyMaxPoints" jsonschema:"title=Most points of a survey,minimum=1,maximum=1000000" jsonschema_description:"The most points a survey (its points attribute) may credit."`
	// TopupRubPerPoint: one point per this many roubles of a single top-up of at least
	// TopupMinRub roubles.
	TopupRubPerPoint int64 `json:"topupRubPerPoint" jsonschema:"title=Roubles per point of a top-up,minimum=1,maximum=1000000" jsonschema_description:"One point per this many roubles of a single top-up."`
	TopupMinRub      int64 `json:"topupMinRub" jsonschema:"title=Smallest top-up (roubles),minimum=0,maximum=1000000000" jsonschema_description:"The smallest single top-up that earns points, in roubles."`
	// TopupPending keeps top-up points pending like the month's payments.
	TopupPending bool `json:"topupPending" jsonschema:"title=Top-up points pending" jsonschema_description:"Top-up points stay pending like the month's payment points."`
	// PaymentRubPerPoint: one point per this many roubles paid for one of PaymentServices.
	PaymentRubPerPoint int64    `json:"paymentRubPerPoint" jsonschema:"title=Roubles per point of a payment,minimum=1,maximum=1000000" jsonschema_description:"One point per this many roubles paid for one of the payment services."`
	PaymentServices    []string `json:"paymentServices" jsonschema:"title=Payment services,minItems=1,maxItems=20,minLength=1,maxLength=40" jsonschema_description:"The services whose payments earn points."`
	// PendingDaysAfterMonth: payment points become available this many days after the end of
	// the month of the payment, at 00:00 in the campaign's zone.
	PendingDaysAfterMonth int `json:"pendingDaysAfterMonth" jsonschema:"title=Pending days after the month,minimum=0,maximum=60" jsonschema_description:"Payment points become available this many days after the end of the payment's month, at 00:00 in the campaign's time zone."`
	// ExpiryMonths: points expire this many calendar months after they become available.
	ExpiryMonths int `json:"expiryMonths" jsonschema:"title=Points expire after (months),minimum=1,maximum=120" jsonschema_description:"Points expire this many calendar months after they become available."`
	// Tiers are the statuses, lowest first; the first is given on joining and needs 0 status
	// points.
	Tiers []Tier `json:"tiers" jsonschema:"title=Statuses,minItems=1,maxItems=20" jsonschema_description:"The statuses, lowest first; the first is given on joining and has threshold 0."`
	// ExchangesPerMonth is how many exchanges (orders) a member may make per calendar month in
	// the campaign's zone.
	ExchangesPerMonth int `json:"exchangesPerMonth" jsonschema:"title=Exchanges per month,minimum=1,maximum=1000" jsonschema_description:"How many exchanges (orders) a member may make per calendar month in the campaign's time zone."`
	// RequiredAnswers are questionnaire fields that must be answered to join.
	RequiredAnswers []string `json:"requiredAnswers" jsonschema:"title=Required answers,maxItems=50,minLength=1,maxLength=100" jsonschema_description:"Questionnaire fields that must be answered to join."`
}

// Action is a one-off action credited at once.
type Action struct {
	Event  string `json:"event" jsonschema:"title=Event type,required,enum=bill.email_delivery,enum=profile.completed" jsonschema_description:"The event type of the action."`
	Title  string `json:"title" jsonschema:"title=Reason,required,minLength=1,maxLength=200" jsonschema_description:"The credit's reason shown to the member."`
	Points int64  `json:"points" jsonschema:"title=Points,required,minimum=1,maximum=1000000" jsonschema_description:"The points credited."`
}

// Tier is a status.
type Tier struct {
	Name string `json:"name" jsonschema:"title=Name,required,minLength=1,maxLength=40" jsonschema_description:"The status's name, e.g. Privilege."`
	// Threshold is the status points (accumulated since the last status review) at which the
	// status is reached.
	Threshold int64 `json:"threshold" jsonschema:"title=Threshold,required,minimum=0,maximum=1000000000" jsonschema_description:"The status points, accumulated since the last status review, at which the status is reached."`
	// DiscountPercent is the discount on every catalogue reward.
	DiscountPercent int64 `json:"discountPercent" jsonschema:"title=Discount (percent),required,minimum=0,maximum=100" jsonschema_description:"The discount on every catalogue reward, in percent."`
	// ValidMonths is how long the status lasts once reached.
	ValidMonths int `json:"validMonths" jsonschema:"title=Valid for (months),required,minimum=1,maximum=120" jsonschema_description:"How long the status lasts once reached, in months."`
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

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Tier status (RT bonus)",
	Description: "Points for joining, birthdays, actions, surveys, top-ups and service payments; statuses by status points with a discount on the catalogue; a limit of exchanges per month.",
	Default:     defaultConfig,
	Check:       checkConfig,
})

// checkConfig reports what the schema cannot: repeated actions and statuses, a survey range upside
// down, thresholds that do not start at 0 and rise, and blank names.
func checkConfig(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i, a := range cfg.Actions {
		if prev, dup := seen[a.Event]; dup {
			add(sdk.Pointer("actions", i, "event"), "duplicate", "%s already has %s", a.Event, sdk.Pointer("actions", prev))
		} else {
			seen[a.Event] = i
		}
		if strings.TrimSpace(a.Title) == "" {
			add(sdk.Pointer("actions", i, "title"), "required", "is blank")
		}
	}
	if cfg.SurveyMaxPoints < cfg.SurveyMinPoints {
		add("/surveyMaxPoints", "below_minimum", "%d is below surveyMinPoints %d", cfg.SurveyMaxPoints, cfg.SurveyMinPoints)
	}
	for i, s := range cfg.PaymentServices {
		if strings.TrimSpace(s) == "" {
			add(sdk.Pointer("paymentServices", i), "required", "is blank")
		}
	}
	names := map[string]int{}
	for i, t := range cfg.Tiers {
		key := strings.ToLower(strings.TrimSpace(t.Name))
		if key == "" {
			add(sdk.Pointer("tiers", i, "name"), "required", "is blank")
		} else if prev, dup := names[key]; dup {
			add(sdk.Pointer("tiers", i, "name"), "duplicate", "%s repeats %s", t.Name, sdk.Pointer("tiers", prev))
		} else {
			names[key] = i
		}
		switch {
		case i == 0 && t.Threshold != 0:
			add(sdk.Pointer("tiers", i, "threshold"), "must_be_zero", "is %d; the first status is given on joining and needs 0", t.Threshold)
		case i > 0 && t.Threshold <= cfg.Tiers[i-1].Threshold:
			add(sdk.Pointer("tiers", i, "threshold"), "not_increasing", "%d is not above %s %d", t.Threshold, sdk.Pointer("tiers", i-1, "threshold"), cfg.Tiers[i-1].Threshold)
		}
	}
	for i, a := range cfg.RequiredAnswers {
		if strings.TrimSpace(a) == "" {
			add(sdk.Pointer("requiredAnswers", i), "required", "is blank")
		}
	}
	return errs
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
