package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
)

// CheckConfigSchema checks that the plugin's config schema can render a form on its own: it
// asks p to Describe itself and requires of every property of the schema (top-level fields, the
// fields of nested objects and of list items) a title, a description, a type and a default; of
// integers and numbers a minimum and a maximum; of strings an enum, a maxLength or a pattern;
// of lists a maxItems. It also requires DefaultConfig to pass ValidateConfig. Each gap is
// reported with its JSON pointer into the schema.
func CheckConfigSchema(t testing.TB, p sdk.Program) {
	t.Helper()
	ctx := context.Background()
	d, err := p.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	var schema map[string]any
	if err := json.Unmarshal(d.ConfigSchema, &schema); err != nil {
		t.Fatalf("ConfigSchema is not a JSON object: %v", err)
	}
	for _, key := range []string{"title", "description"} {
		if s, _ := schema[key].(string); strings.TrimSpace(s) == "" {
			t.Errorf("the schema has no %s", key)
		}
	}
	if schema["type"] != "object" {
		t.Errorf("the schema's type is %v, want object", schema["type"])
	}
	for _, gap := range schemaGaps(schema, "") {
		t.Error(gap)
	}
	resp, err := p.ValidateConfig(ctx, sdk.ValidateConfigRequest{Config: d.DefaultConfig})
	if err != nil || len(resp.Errors) > 0 {
		t.Errorf("ValidateConfig(DefaultConfig) = %+v, %v; want no errors", resp.Errors, err)
	}
}

// schemaGaps lists what the properties of the object schema s (at pointer at) lack, recursively.
func schemaGaps(s map[string]any, at string) []string {
	var gaps []string
	props, _ := s["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p, _ := props[name].(map[string]any)
		field := at + "/properties/" + name
		for _, key := range []string{"title", "description"} {
			if v, _ := p[key].(string); strings.TrimSpace(v) == "" {
				gaps = append(gaps, fmt.Sprintf("%s has no %s", field, key))
			}
		}
		if _, ok := p["default"]; !ok {
			gaps = append(gaps, field+" has no default")
		}
		gaps = append(gaps, typeGaps(p, field)...)
	}
	return gaps
}

// typeGaps checks the type and limits of the value schema p at field, and the fields inside it.
func typeGaps(p map[string]any, field string) []string {
	if alts, ok := p["oneOf"].([]any); ok {
		var gaps []string
		for i, alt := range alts {
			if a, _ := alt.(map[string]any); a["type"] != "null" {
				gaps = append(gaps, typeGaps(a, fmt.Sprintf("%s/oneOf/%d", field, i))...)
			}
		}
		return gaps
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := p[k]; ok {
				return true
			}
		}
		return false
	}
	var gaps []string
	switch p["type"] {
	case "integer", "number":
		if !has("minimum", "exclusiveMinimum") || !has("maximum", "exclusiveMaximum") {
			gaps = append(gaps, field+" has no minimum and maximum")
		}
	case "string":
		if !has("enum", "maxLength", "pattern", "format") {
			gaps = append(gaps, field+" has no enum, maxLength or pattern")
		}
	case "boolean":
	case "array":
		if !has("maxItems") {
			gaps = append(gaps, field+" has no maxItems")
		}
		if items, ok := p["items"].(map[string]any); ok {
			gaps = append(gaps, typeGaps(items, field+"/items")...)
		} else {
			gaps = append(gaps, field+" has no items")
		}
	case "object":
		if values, ok := p["additionalProperties"].(map[string]any); ok {
			gaps = append(gaps, typeGaps(values, field+"/additionalProperties")...)
		}
		gaps = append(gaps, schemaGaps(p, field)...)
	default:
		gaps = append(gaps, fmt.Sprintf("%s has type %v", field, p["type"]))
	}
	return gaps
}
