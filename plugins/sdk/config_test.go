package sdk_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
)

type testConfig struct {
	Name  string         `json:"name"`
	Rows  []testRow      `json:"rows"`
	Rates map[string]int `json:"rates"`
}

type testRow struct {
	Code  string `json:"code"`
	Limit int    `json:"limit"`
}

func defaults() testConfig {
	return testConfig{Name: "default", Rows: []testRow{{Code: "a", Limit: 5}, {Code: "b", Limit: 7}},
		Rates: map[string]int{"x": 1, "y": 2}}
}

func TestDecodeConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want testConfig
		errs []sdk.FieldError
	}{
		{"empty keeps defaults", ``, defaults(), nil},
		{"null keeps defaults", `null`, defaults(), nil},
		{"absent fields keep defaults", `{"name":"n"}`, testConfig{Name: "n", Rows: defaults().Rows, Rates: defaults().Rates}, nil},
		{"a list replaces the default's, element fields are not inherited", `{"rows":[{"code":"c"}]}`,
			testConfig{Name: "default", Rows: []testRow{{Code: "c"}}, Rates: defaults().Rates}, nil},
		{"a map replaces the default's", `{"rates":{"z":3}}`,
			testConfig{Name: "default", Rows: defaults().Rows, Rates: map[string]int{"z": 3}}, nil},
		{"wrong type", `{"name":5}`, testConfig{},
			[]sdk.FieldError{{Field: "/name", Code: "invalid_type", Message: "/name must be a string, not a JSON number"}}},
		{"unknown field", `{"nam":"x"}`, testConfig{},
			[]sdk.FieldError{{Field: "/nam", Code: "unknown_field", Message: "/nam is not a setting of testplugin"}}},
		{"two values", `{} {}`, defaults(),
			[]sdk.FieldError{{Code: "invalid_json", Message: "config holds more than one JSON value"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			errs := sdk.DecodeConfig(json.RawMessage(tc.raw), &cfg, "testplugin")
			if !reflect.DeepEqual(errs, tc.errs) {
				t.Fatalf("errors: got %+v want %+v", errs, tc.errs)
			}
			if tc.errs == nil && !reflect.DeepEqual(cfg, tc.want) {
				t.Fatalf("config: got %+v want %+v", cfg, tc.want)
			}
		})
	}
}
