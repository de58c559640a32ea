package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// DecodeConfig decodes a campaign configuration into *cfg, which holds the plugin's defaults:
// fields the configuration leaves out keep their default, and a list or map it sets replaces the
// default's whole (encoding/json alone would merge into the default's elements). An empty or
// null configuration leaves *cfg as it is. Unknown fields, wrong types and anything after the
// first JSON value are returned as one field error (see ConfigDecodeError); plugin names the
// plugin in messages.
func DecodeConfig(raw json.RawMessage, cfg any, plugin string) []FieldError {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil
	}
	resetPresent(cfg, trimmed)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return []FieldError{ConfigDecodeError(err, plugin)}
	}
	if dec.More() {
		return []FieldError{{Code: "invalid_json", Message: "config holds more than one JSON value"}}
	}
	return nil
}

// resetPresent zeroes the top-level slice and map fields of the struct *cfg that raw sets, so
// that decoding replaces them instead of merging into the defaults.
func resetPresent(cfg any, raw []byte) {
	var present map[string]json.RawMessage
	if json.Unmarshal(raw, &present) != nil {
		return
	}
	v := reflect.ValueOf(cfg).Elem()
	if v.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if _, ok := present[name]; !ok {
			continue
		}
		if k := v.Field(i).Kind(); k == reflect.Slice || k == reflect.Map {
			v.Field(i).SetZero()
		}
	}
}

// ConfigDecodeError turns an encoding/json decoding error into a field error: invalid_type
// naming the field (as a JSON pointer without list indexes, which encoding/json does not
// report) and the expected type, unknown_field (from DisallowUnknownFields), or invalid_json.
func ConfigDecodeError(err error, plugin string) FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		f := Pointer(anySlice(strings.Split(typeErr.Field, "."))...)
		return FieldError{
			Field:   f,
			Code:    "invalid_type",
			Message: fmt.Sprintf("%s must be a %s, not a JSON %s", f, typeErr.Type, typeErr.Value),
		}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f := Pointer(strings.Trim(name, `"`))
		return FieldError{Field: f, Code: "unknown_field", Message: fmt.Sprintf("%s is not a setting of %s", f, plugin)}
	}
	return FieldError{Code: "invalid_json", Message: err.Error()}
}
