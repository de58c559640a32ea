package main

import (
	"fmt"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration. Top-level fields left out of the JSON keep their
// default; a field that is given replaces the default as a whole (its objects' fields are all
// required). The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// ApplyWindowMonths is how long after registering their service a new client may apply an
	// invite code, in months.
	ApplyWindowMonths int `json:"applyWindowMonths" jsonschema:"title=Window to apply a code (months),minimum=1,maximum=120" jsonschema_description:"A new client may apply an invite code until the end of the same calendar day this many months after registering their service."`
	// RefereeDiscount is what the new client who applies a code gets.
	RefereeDiscount RefereeDiscount `json:"refereeDiscount" jsonschema:"title=Discount of the invited client" jsonschema_description:"The discount of the new client who applies a code; it starts when their promo period ends."`
	// Ladder is the referrer's discount table by number of referred clients, one row per count
	// from 1; past the last row the last row applies.
	Ladder []LadderRow `json:"ladder" jsonschema:"title=Referrer's ladder,minItems=1,maxItems=100" jsonschema_description:"The referrer's discount by number of referred clients: rows for 1, 2, 3, ... friends; past the last row the last row applies."`
	// Notify is the message sent to the referrer when a friend applies their code; null sends
	// none.
	Notify *NotifyConfig `json:"notify" jsonschema:"title=Message to the referrer,nullable" jsonschema_description:"The message sent to the referrer when a friend applies their code; null sends none."`
}

// RefereeDiscount is the invited client's discount.
type RefereeDiscount struct {
	// PercentBasisPoints is the discount in basis points (2000 is 20%).
	PercentBasisPoints int `json:"percentBasisPoints" jsonschema:"title=Discount (basis points),required,minimum=1,maximum=10000" jsonschema_description:"The discount in basis points: 2000 is 20%."`
	// Months is how long it lasts, from the end of the client's promo period.
	Months int `json:"months" jsonschema:"title=Months,required,minimum=1,maximum=120" jsonschema_description:"How long the discount lasts, from the end of the client's promo period."`
}

// LadderRow is one row of the referrer's discount table.
type LadderRow struct {
	// Friends is the number of referred clients the row is for.
	Friends int `json:"friends" jsonschema:"title=Friends,required,minimum=1,maximum=100" jsonschema_description:"The number of referred clients the row is for: row i (from 0) is for i+1 friends."`
	// PercentBasisPoints is the discount in basis points (10000 is 100%).
	PercentBasisPoints int `json:"percentBasisPoints" jsonschema:"title=Discount (basis points),required,minimum=1,maximum=10000" jsonschema_description:"The referrer's discount in basis points: 10000 is 100%."`
	// Months is how long the discount lasts from the day the friend applied the code.
	Months int `json:"months" jsonschema:"title=Months,required,minimum=1,maximum=120" jsonschema_description:"How long the discount lasts, from the day the friend applied the code."`
	// SMSPackage is the number of SMS in a package granted when the referrer reaches exactly
	// this row; 0 for none.
	SMSPackage int64 `json:"smsPackage,omitempty" jsonschema:"title=SMS package,minimum=0,maximum=1000000" jsonschema_description:"The SMS in a package granted when the referrer reaches exactly this row; 0 for none."`
}

// NotifyConfig is a message to the referrer.
type NotifyConfig struct {
	// Channel is sms or email; the core sends to the member's own phone or e-mail address.
	Channel  string `json:"channel" jsonschema:"title=Channel,required,enum=sms,enum=email" jsonschema_description:"sms or email; the core sends to the referrer's own phone or e-mail address."`
	Template string `json:"template" jsonschema:"title=Template,required,minLength=1,maxLength=100" jsonschema_description:"The name of the message template the core renders."`
}

// defaultConfig returns the seed's configuration, freshly allocated so that
// decoding into it never touches a shared value.
func defaultConfig() Config {
	return Config{
		ApplyWindowMonths: 1,
		RefereeDiscount:   RefereeDiscount{PercentBasisPoints: 2000, Months: 3},
		Ladder: []LadderRow{
			{Friends: 1, PercentBasisPoints: 2000, Months: 3},
			{Friends: 2, PercentBasisPoints: 4000, Months: 6},
			{Friends: 3, PercentBasisPoints: 6000, Months: 12, SMSPackage: 1200},
			{Friends: 4, PercentBasisPoints: 8000, Months: 12},
			{Friends: 5, PercentBasisPoints: 10000, Months: 12, SMSPackage: 3200},
		},
		Notify: &NotifyConfig{Channel: "sms", Template: "referral_friend_joined"},
	}
}

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Referral (t2)",
	Description: "A discount for the client who applies a friend's invite code, and a growing discount with SMS packages for the friend who invited them.",
	Default:     defaultConfig,
	Check:       checkConfig,
})

// checkConfig reports what the schema cannot: ladder rows that do not count 1, 2, 3, ... friends and a
// blank template.
func checkConfig(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	for i, row := range cfg.Ladder {
		if row.Friends != i+1 {
			f := sdk.Pointer("ladder", i, "friends")
			errs = append(errs, sdk.FieldError{Field: f, Code: "not_consecutive",
				Message: fmt.Sprintf("%s is %d, want %d: rows go 1, 2, 3, ... friends", f, row.Friends, i+1)})
		}
	}
	if n := cfg.Notify; n != nil && strings.TrimSpace(n.Template) == "" {
		errs = append(errs, sdk.FieldError{Field: "/notify/template", Code: "required", Message: "/notify/template is blank"})
	}
	return errs
}
