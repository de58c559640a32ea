package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"

	invopop "github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// ConfigSpec declares a plugin's campaign configuration for NewConfig.
type ConfigSpec[T any] struct {
	// Plugin is the plugin's name, used in messages ("x is not a setting of weekenddouble").
	Plugin string
	// Title and Description head the schema (and the console's form).
	Title       string
	Description string
	// Default returns the default configuration, a fresh value on every call. A campaign's
	// configuration is decoded over it: fields it leaves out keep their default. It must be
	// valid.
	Default func() T
	// Check, if set, reports what the schema cannot say (duplicates, order, one field against
	// another) on a configuration that passed the schema, one FieldError per problem, each
	// naming its field with Pointer.
	Check func(T) []FieldError
}

// Config is a plugin's campaign configuration declared once, as a Go struct type T: its JSON
// Schema (Describe), its validation (ValidateConfig) and its decoding (Evaluate and the other
// calls) all come from T and ConfigSpec.Default, so they cannot drift apart.
//
// The schema is generated from T's exported fields: the name is the json tag's; the type
// follows the Go type (a pointer field tagged `jsonschema:"nullable"` may also be null); and
// these struct tags add the rest (github.com/invopop/jsonschema syntax):
//
//	jsonschema:"title=Unit amount,minimum=1,maximum=1000000"  title, limits, enum=a,enum=b,
//	                                                          minLength, maxLength, maxItems,
//	                                                          pattern, required (in list items)
//	jsonschema_description:"Minor currency units (cents) per unit, e.g. 100."
//	jsonschema_values:"minimum=0,maximum=100"                 the values of a map field
//
// (Check the keys of a map in ConfigSpec.Check: the validator misplaces errors of propertyNames.)
//
// Every property's default is the default configuration's value where the path runs through
// objects only, and the zero value of its Go type inside list items and map values (or the
// tag's default=). Top-level fields are never required: left out, they keep their default.
//
// A Config is safe for concurrent use.
type Config[T any] struct {
	spec     ConfigSpec[T]
	schema   json.RawMessage
	def      json.RawMessage
	compiled *validator.Schema
}

// NewConfig builds the schema of T, compiles it and checks that the default configuration
// passes it and Check. It fails on a T that is not a struct, on tags the schema cannot hold, and
// on an invalid default.
func NewConfig[T any](spec ConfigSpec[T]) (*Config[T], error) {
	if spec.Default == nil {
		return nil, errors.New("sdk: ConfigSpec.Default is nil")
	}
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("sdk: config type %s is not a struct", t)
	}
	def, err := json.Marshal(emptyNotNil(spec.Default()))
	if err != nil {
		return nil, fmt.Errorf("sdk: default config: %w", err)
	}
	r := &invopop.Reflector{Anonymous: true, DoNotReference: true, ExpandedStruct: true, RequiredFromJSONSchemaTags: true}
	s := r.ReflectFromType(t)
	s.Version = "https://json-schema.org/draft/2020-12/schema"
	s.Title, s.Description = spec.Title, spec.Description
	var defValue any
	if err := json.Unmarshal(def, &defValue); err != nil {
		return nil, fmt.Errorf("sdk: default config: %w", err)
	}
	if err := decorate(r, s, t, defValue, true); err != nil {
		return nil, err
	}
	s.Default = nil // the document's default is DefaultConfig
	schema, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("sdk: config schema: %w", err)
	}
	doc, err := validator.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("sdk: config schema: %w", err)
	}
	c := validator.NewCompiler()
	const url = "promogate:config.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("sdk: config schema: %w", err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("sdk: config schema: %w", err)
	}
	cfg := &Config[T]{spec: spec, schema: schema, def: def, compiled: compiled}
	if _, errs := cfg.Parse(def); len(errs) > 0 {
		return nil, fmt.Errorf("sdk: the default config is invalid: %s: %s", errs[0].Field, errs[0].Message)
	}
	return cfg, nil
}

// MustConfig is NewConfig for package-level variables: it panics on error, which a plugin's
// first test then reports.
func MustConfig[T any](spec ConfigSpec[T]) *Config[T] {
	c, err := NewConfig(spec)
	if err != nil {
		panic(err)
	}
	return c
}

// Schema returns the JSON Schema (draft 2020-12) of the configuration, for
// Description.ConfigSchema. The caller must not modify it.
func (c *Config[T]) Schema() json.RawMessage { return c.schema }

// Default returns the default configuration as JSON, for Description.DefaultConfig. The caller
// must not modify it.
func (c *Config[T]) Default() json.RawMessage { return c.def }

// Parse checks raw against the schema, decodes it over the default configuration and runs
// Check. An empty or null raw is the default. Every problem comes back as a FieldError whose
// Field is the JSON pointer of the offending value ("/rows/2/points"; "" for the whole
// document); when the schema refuses raw, Check is not run.
func (c *Config[T]) Parse(raw json.RawMessage) (T, []FieldError) {
	cfg := c.spec.Default()
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		trimmed = c.def
	}
	doc, err := validator.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil {
		return cfg, []FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: " + err.Error()}}
	}
	if err := c.compiled.Validate(doc); err != nil {
		var verr *validator.ValidationError
		if !errors.As(err, &verr) {
			return cfg, []FieldError{{Code: "invalid", Message: err.Error()}}
		}
		return cfg, schemaErrors(verr, c.spec.Plugin)
	}
	if errs := DecodeConfig(trimmed, &cfg, c.spec.Plugin); len(errs) > 0 {
		return cfg, errs
	}
	if c.spec.Check != nil {
		if errs := c.spec.Check(cfg); len(errs) > 0 {
			return cfg, errs
		}
	}
	return cfg, nil
}

// Validate is a ready Program.ValidateConfig: the field errors of Parse.
func (c *Config[T]) Validate(req ValidateConfigRequest) ValidateConfigResponse {
	_, errs := c.Parse(req.Config)
	return ValidateConfigResponse{Errors: errs}
}

// Load parses the campaign's configuration for a call. A configuration the core accepted passes
// (it was validated when the campaign was saved); one that does not fails the call with
// ErrInvalidConfig naming the first problem.
func (c *Config[T]) Load(camp Campaign) (T, error) {
	cfg, errs := c.Parse(camp.Config)
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%w: campaign %s: %s: %s", ErrInvalidConfig, camp.Code, errs[0].Field, errs[0].Message)
	}
	return cfg, nil
}

// decorate completes the reflected schema s of Go type t: defaults (def is the default's JSON
// value at this path; inObjects tells whether the path runs through objects only), the value
// and key schemas of maps, and titles and descriptions hoisted out of a nullable field's oneOf.
func decorate(r *invopop.Reflector, s *invopop.Schema, t reflect.Type, def any, inObjects bool) error {
	if s == nil {
		return nil
	}
	inner := s
	if len(s.OneOf) == 2 && s.OneOf[1].Type == "null" {
		inner = s.OneOf[0]
		s.Title, s.Description, inner.Title, inner.Description = inner.Title, inner.Description, "", ""
	}
	if inObjects || s.Default == nil {
		s.Default = def
	}
	if inner != s {
		inner.Default = nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		defObj, _ := def.(map[string]any)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			ps, ok := inner.Properties.Get(name)
			if !ok {
				continue
			}
			sub, present := defObj[name]
			if !present || !inObjects {
				sub = zeroJSON(f.Type)
			}
			if vt := f.Tag.Get("jsonschema_values"); vt != "" && f.Type.Kind() == reflect.Map {
				ps.AdditionalProperties = tagged(r, f.Type.Elem(), vt)
			}
			if err := decorate(r, ps, f.Type, sub, inObjects && present); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if err := decorate(r, inner.Items, t.Elem(), zeroJSON(t.Elem()), false); err != nil {
			return err
		}
	case reflect.Map:
		if err := decorate(r, inner.AdditionalProperties, t.Elem(), zeroJSON(t.Elem()), false); err != nil {
			return err
		}
	}
	return nil
}

// tagged returns the schema of type t with the jsonschema tag tag, reflected through a struct
// with one such field, so that map values take the same tags as fields.
func tagged(r *invopop.Reflector, t reflect.Type, tag string) *invopop.Schema {
	st := reflect.StructOf([]reflect.StructField{{Name: "V", Type: t, Tag: reflect.StructTag(`json:"v" jsonschema:"` + tag + `"`)}})
	plain := *r
	plain.ExpandedStruct = false // an unnamed struct has no definition to expand
	s := plain.ReflectFromType(st)
	v, _ := s.Properties.Get("v")
	return v
}

// zeroJSON returns the JSON value of t's zero value, lists and maps empty rather than null:
// what a form starts a new item with.
func zeroJSON(t reflect.Type) any {
	b, err := json.Marshal(emptyNotNil(reflect.Zero(t).Interface()))
	if err != nil {
		return nil
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// emptyNotNil returns a copy of v whose nil slices and maps (in v and in the structs, pointers
// and slices it holds) are empty ones, so that they encode as [] and {} as the schema wants,
// not as null.
func emptyNotNil(v any) any {
	c := reflect.New(reflect.TypeOf(v)).Elem()
	c.Set(reflect.ValueOf(v))
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				e := reflect.New(v.Type().Elem())
				e.Elem().Set(v.Elem())
				walk(e.Elem())
				v.Set(e)
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			if v.IsNil() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
				return
			}
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(s, v)
			for i := 0; i < s.Len(); i++ {
				walk(s.Index(i))
			}
			v.Set(s)
		case reflect.Map:
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
		}
	}
	walk(c)
	return c.Interface()
}

// Pointer returns the JSON pointer (RFC 6901) of a value inside a configuration from its path:
// Pointer("rows", 2, "points") is "/rows/2/points"; Pointer() is "", the whole document.
func Pointer(path ...any) string {
	var sb strings.Builder
	for _, p := range path {
		sb.WriteByte('/')
		sb.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(fmt.Sprint(p)))
	}
	return sb.String()
}

// schemaErrors turns a schema validation failure into field errors, one per failed leaf,
// ordered by field (list indexes in numeric order).
func schemaErrors(verr *validator.ValidationError, plugin string) []FieldError {
	var out []FieldError
	for _, leaf := range leaves(verr) {
		out = append(out, leafErrors(leaf, plugin)...)
	}
	slices.SortStableFunc(out, func(a, b FieldError) int { return comparePointers(a.Field, b.Field) })
	return slices.CompactFunc(out, func(a, b FieldError) bool { return a == b })
}

// leaves returns the errors at the bottom of e's tree. Of a oneOf or anyOf, it keeps the
// branches that failed for another reason than "the value is not null", so a nullable field
// whose object is wrong reports what is wrong inside it.
func leaves(e *validator.ValidationError) []*validator.ValidationError {
	if len(e.Causes) == 0 {
		return []*validator.ValidationError{e}
	}
	causes := e.Causes
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		var kept []*validator.ValidationError
		for _, c := range causes {
			if t, ok := c.ErrorKind.(*kind.Type); ok && len(c.Causes) == 0 && slices.Equal(t.Want, []string{"null"}) {
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) > 0 {
			causes = kept
		}
	}
	var out []*validator.ValidationError
	for _, c := range causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// leafErrors words one failed keyword as field errors with stable codes.
func leafErrors(e *validator.ValidationError, plugin string) []FieldError {
	at := Pointer(anySlice(e.InstanceLocation)...)
	name := at
	if name == "" {
		name = "the config"
	}
	one := func(code, format string, args ...any) []FieldError {
		return []FieldError{{Field: at, Code: code, Message: name + " " + fmt.Sprintf(format, args...)}}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return one("invalid_type", "must be %s, not %s", article(strings.Join(k.Want, " or ")), article(k.Got))
	case *kind.Required:
		var out []FieldError
		for _, m := range k.Missing {
			f := at + Pointer(m)
			out = append(out, FieldError{Field: f, Code: "required", Message: f + " is required"})
		}
		return out
	case *kind.AdditionalProperties:
		var out []FieldError
		for _, p := range k.Properties {
			f := at + Pointer(p)
			msg := f + " is not a setting of " + plugin
			if at != "" {
				msg = f + " is not a field of " + at
			}
			out = append(out, FieldError{Field: f, Code: "unknown_field", Message: msg})
		}
		return out
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return one("unsupported", "is %s, it must be one of %s", jsonText(k.Got), strings.Join(want, ", "))
	case *kind.Minimum:
		return one("out_of_range", "is %s, it must be at least %s", rat(k.Got), rat(k.Want))
	case *kind.Maximum:
		return one("out_of_range", "is %s, it must be at most %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMinimum:
		return one("out_of_range", "is %s, it must be more than %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMaximum:
		return one("out_of_range", "is %s, it must be less than %s", rat(k.Got), rat(k.Want))
	case *kind.MinLength:
		if k.Want == 1 {
			return one("required", "must not be empty")
		}
		return one("invalid_length", "has %d characters, it must have at least %d", k.Got, k.Want)
	case *kind.MaxLength:
		return one("invalid_length", "has %d characters, it must have at most %d", k.Got, k.Want)
	case *kind.MinItems:
		return one("invalid_length", "has %d items, it must have at least %d", k.Got, k.Want)
	case *kind.MaxItems:
		return one("invalid_length", "has %d items, it must have at most %d", k.Got, k.Want)
	case *kind.MinProperties:
		return one("invalid_length", "has %d entries, it must have at least %d", k.Got, k.Want)
	case *kind.MaxProperties:
		return one("invalid_length", "has %d entries, it must have at most %d", k.Got, k.Want)
	case *kind.UniqueItems:
		return one("duplicate", "has items %d and %d equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.Pattern:
		return one("invalid_format", "is %q, it must match %s", k.Got, k.Want)
	case *kind.Format:
		return one("invalid_format", "is not a valid %s", k.Want)
	}
	return one("invalid", "%s", strings.TrimSpace(e.Error()))
}

// jsonText shows a JSON value as JSON ("pigeon" with its quotes, 12 without).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// article prefixes a JSON type name with "a" or "an" ("an integer", "a string").
func article(t string) string {
	if t == "" {
		return t
	}
	if strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

// rat formats a schema number: an integer without decimals.
func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// comparePointers orders JSON pointers token by token, numbers numerically, so that
// "/rows/2" comes before "/rows/10".
func comparePointers(a, b string) int {
	at, bt := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(at) && i < len(bt); i++ {
		if at[i] == bt[i] {
			continue
		}
		an, aerr := strconv.Atoi(at[i])
		bn, berr := strconv.Atoi(bt[i])
		if aerr == nil && berr == nil {
			return an - bn
		}
		return strings.Compare(at[i], bt[i])
	}
	return len(at) - len(bt)
}
