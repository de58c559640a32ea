package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/promogate/promogate/plugins/sdk"
)

// Config is a campaign's configuration. Top-level fields left out of the JSON
// take their value from DefaultConfig; a field that is given replaces the
// default as a whole.
type Config struct {
	// ApplyWindowMonths is how long after registering their service a new
	// client may apply an invite code, in months.
	ApplyWindowMonths int `json:"applyWindowMonths"`
	// RefereeDiscount is what the new client who applies a code gets.
	RefereeDiscount RefereeDiscount `json:"refereeDiscount"`
	// Ladder is the referrer's discount table by number of referred clients,
	// one row per count from 1; past the last row the last row applies.
	Ladder []LadderRow `json:"ladder"`
	// Notify is the message sent to the referrer when a friend applies their
	// code; null sends none.
	Notify *NotifyConfig `json:"notify"`
}

// RefereeDiscount is the invited client's discount.
type RefereeDiscount struct {
	// PercentBasisPoints is the discount in basis points (2000 is 20%).
	PercentBasisPoints int `json:"percentBasisPoints"`
	// Months is how long it lasts, from the end of the client's promo period.
	Months int `json:"months"`
}

// LadderRow is one row of the referrer's discount table.
type LadderRow struct {
	// Friends is the number of referred clients the row is for.
	Friends int `json:"friends"`
	// PercentBasisPoints is the discount in basis points (10000 is 100%).
	PercentBasisPoints int `json:"percentBasisPoints"`
	// Months is how long the discount lasts from the day the friend applied
	// the code.
	Months int `json:"months"`
	// SMSPackage is the number of SMS in a package granted when the referrer
	// reaches exactly this row; 0 for none.
	SMSPackage int64 `json:"smsPackage,omitempty"`
}

// NotifyConfig is a message to the referrer.
type NotifyConfig struct {
	// Channel is sms or email; the core sends to the member's own phone or
	// e-mail address.
	Channel  string `json:"channel"`
	Template string `json:"template"`
}

// Limits of the configuration values.
const (
	maxMonths      = 120
	maxBasisPoints = 10000
	maxLadderRows  = 100
	maxSMSPackage  = 1_000_000
)

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

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "referral campaign",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "applyWindowMonths": {"type": "integer", "minimum": 1, "maximum": 120, "description": "A new client may apply a code until the end of the same calendar day this many months after registering their service."},
    "refereeDiscount": {
      "type": "object", "additionalProperties": false, "required": ["percentBasisPoints", "months"],
      "description": "Discount of the client who applies a code; it starts when their promo period ends.",
      "properties": {
        "percentBasisPoints": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "2000 is 20%."},
        "months": {"type": "integer", "minimum": 1, "maximum": 120}
      }
    },
    "ladder": {
      "type": "array", "minItems": 1, "maxItems": 100,
      "description": "Referrer's discount by number of referred clients; rows for 1, 2, 3, ... friends; past the last row the last row applies.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["friends", "percentBasisPoints", "months"],
        "properties": {
          "friends": {"type": "integer", "minimum": 1, "description": "Row i (from 0) is for i+1 friends."},
          "percentBasisPoints": {"type": "integer", "minimum": 1, "maximum": 10000},
          "months": {"type": "integer", "minimum": 1, "maximum": 120, "description": "Months from the day the friend applied the code."},
          "smsPackage": {"type": "integer", "minimum": 0, "maximum": 1000000, "description": "SMS in a package granted on reaching this row; 0 for none."}
        }
      }
    },
    "notify": {
      "type": ["object", "null"], "additionalProperties": false, "required": ["channel", "template"],
      "description": "Message to the referrer when a friend applies their code; null for none.",
      "properties": {
        "channel": {"enum": ["sms", "email"]},
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
	fill("applyWindowMonths", func() { cfg.ApplyWindowMonths = def.ApplyWindowMonths })
	fill("refereeDiscount", func() { cfg.RefereeDiscount = def.RefereeDiscount })
	fill("ladder", func() { cfg.Ladder = def.Ladder })
	fill("notify", func() { cfg.Notify = def.Notify })
	return cfg, validate(cfg)
}

// validate returns one field error per bad value of cfg.
func validate(cfg Config) []sdk.FieldError {
	var errs []sdk.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	months := func(field string, n int) {
		if n < 1 || n > maxMonths {
			add(field, "out_of_range", "%s is %d, it must be between 1 and %d", field, n, maxMonths)
		}
	}
	percent := func(field string, bp int) {
		if bp < 1 || bp > maxBasisPoints {
			add(field, "out_of_range", "%s is %d, it must be between 1 and %d (basis points: 2000 is 20%%)", field, bp, maxBasisPoints)
		}
	}
	months("applyWindowMonths", cfg.ApplyWindowMonths)
	percent("refereeDiscount.percentBasisPoints", cfg.RefereeDiscount.PercentBasisPoints)
	months("refereeDiscount.months", cfg.RefereeDiscount.Months)
	switch {
	case len(cfg.Ladder) == 0:
		add("ladder", "required", "ladder must have a row for 1 friend")
	case len(cfg.Ladder) > maxLadderRows:
		add("ladder", "too_long", "ladder has %d rows, at most %d", len(cfg.Ladder), maxLadderRows)
	}
	for i, row := range cfg.Ladder {
		field := fmt.Sprintf("ladder[%d]", i)
		if row.Friends != i+1 {
			add(field+".friends", "not_consecutive", "%s.friends is %d, want %d: rows go 1, 2, 3, ... friends", field, row.Friends, i+1)
		}
		percent(field+".percentBasisPoints", row.PercentBasisPoints)
		months(field+".months", row.Months)
		if row.SMSPackage < 0 || row.SMSPackage > maxSMSPackage {
			add(field+".smsPackage", "out_of_range", "%s.smsPackage is %d, it must be between 0 (none) and %d", field, row.SMSPackage, maxSMSPackage)
		}
	}
	if n := cfg.Notify; n != nil {
		if n.Channel != "sms" && n.Channel != "email" {
			add("notify.channel", "unsupported", "notify.channel is %q, want sms or email", n.Channel)
		}
		if strings.TrimSpace(n.Template) == "" {
			add("notify.template", "required", "notify.template must not be empty")
		}
	}
	return errs
}
