package main

import "github.com/promogate/promogate/plugins/sdk"

// Config is a campaign's configuration. Fields left out of the JSON keep their default
// (defaultConfig). The struct tags make its JSON Schema (see sdk.Config).
type Config struct {
	// PointsPerUnit is credited per whole UnitAmount of the purchase.
	PointsPerUnit int64 `json:"pointsPerUnit" jsonschema:"title=Points per unit,minimum=1,maximum=1000000" jsonschema_description:"Points credited per whole unit amount of a purchase."`
	// UnitAmount is in minor currency units (cents).
	UnitAmount int64 `json:"unitAmount" jsonschema:"title=Unit amount,minimum=1,maximum=100000000" jsonschema_description:"Purchase amount per unit, in minor currency units (cents): 100 is one point per whole currency unit."`
	// WeekendMultiplier multiplies the points on Saturday and Sunday.
	WeekendMultiplier int64 `json:"weekendMultiplier" jsonschema:"title=Weekend multiplier,minimum=1,maximum=100" jsonschema_description:"Multiplier of the points on Saturday and Sunday in the campaign's time zone."`
	// EventType is the event type that earns points.
	EventType string `json:"eventType" jsonschema:"title=Event type,enum=purchase" jsonschema_description:"The event type that earns points."`
	// ExpiresInDays is how many calendar days credited points last; 0 means they do not
	// expire.
	ExpiresInDays int `json:"expiresInDays" jsonschema:"title=Expires in days,minimum=0,maximum=3650" jsonschema_description:"Calendar days until credited points expire, at the purchase's wall-clock time in the campaign's zone; 0 for never."`
}

// defaultConfig is the configuration a campaign starts from.
func defaultConfig() Config {
	return Config{PointsPerUnit: 1, UnitAmount: 100, WeekendMultiplier: 2, EventType: "purchase", ExpiresInDays: 365}
}

// config declares the configuration: schema, default, validation and decoding.
var config = sdk.MustConfig(sdk.ConfigSpec[Config]{
	Plugin:      Name,
	Title:       "Weekend double points",
	Description: "Points for purchases, multiplied on Saturdays and Sundays in the campaign's time zone.",
	Default:     defaultConfig,
})
