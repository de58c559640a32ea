package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

type shopRow struct {
	Code  string `json:"code" jsonschema:"title=Code,required,minLength=1,maxLength=20" jsonschema_description:"The row's code, e.g. a."`
	Limit int    `json:"limit" jsonschema:"title=Limit,minimum=0,maximum=10" jsonschema_description:"At most this many."`
}

type shopNotify struct {
	Channel string `json:"channel" jsonschema:"title=Channel,enum=sms,enum=email" jsonschema_description:"How to send it."`
}

type shopConfig struct {
	Name   string         `json:"name" jsonschema:"title=Name,minLength=1,maxLength=40" jsonschema_description:"Shown to members."`
	Rows   []shopRow      `json:"rows" jsonschema:"title=Rows,maxItems=3" jsonschema_description:"One per code."`
	Rates  map[string]int `json:"rates" jsonschema:"title=Rates" jsonschema_description:"Percent per category." jsonschema_values:"minimum=0,maximum=100"`
	Notify *shopNotify    `json:"notify" jsonschema:"title=Notify,nullable" jsonschema_description:"The message; null sends none."`
}

func shopDefaults() shopConfig {
	return shopConfig{Name: "shop", Rows: []shopRow{{Code: "a", Limit: 5}}, Rates: map[string]int{"x": 1}, Notify: &shopNotify{Channel: "sms"}}
}

// shopCheck refuses two rows with one code, which the schema cannot say.
func shopCheck(c shopConfig) []sdk.FieldError {
	seen := map[string]bool{}
	var errs []sdk.FieldError
	for i, r := range c.Rows {
		if seen[r.Code] {
			f := sdk.Pointer("rows", i, "code")
			errs = append(errs, sdk.FieldError{Field: f, Code: "duplicate", Message: f + " repeats an earlier row"})
		}
		seen[r.Code] = true
	}
	return errs
}

var shop = sdk.MustConfig(sdk.ConfigSpec[shopConfig]{Plugin: "shop", Title: "Shop", Description: "A test plugin.",
	Default: shopDefaults, Check: shopCheck})

func TestConfigSchema(t *testing.T) {
	want := `{"$schema":"https://json-schema.org/draft/2020-12/schema",` +
		`"properties":{` +
		`"name":{"type":"string","maxLength":40,"minLength":1,"title":"Name","description":"Shown to members.","default":"shop"},` +
		`"rows":{"items":{"properties":{` +
		`"code":{"type":"string","maxLength":20,"minLength":1,"title":"Code","description":"The row's code, e.g. a.","default":""},` +
		`"limit":{"type":"integer","maximum":10,"minimum":0,"title":"Limit","description":"At most this many.","default":0}},` +
		`"additionalProperties":false,"type":"object","required":["code"],"default":{"code":"","limit":0}},` +
		`"type":"array","maxItems":3,"title":"Rows","description":"One per code.","default":[{"code":"a","limit":5}]},` +
		`"rates":{"additionalProperties":{"type":"integer","maximum":100,"minimum":0,"default":0},"type":"object","title":"Rates","description":"Percent per category.","default":{"x":1}},` +
		`"notify":{"oneOf":[{"properties":{` +
		`"channel":{"type":"string","enum":["sms","email"],"title":"Channel","description":"How to send it.","default":"sms"}},` +
		`"additionalProperties":false,"type":"object"},{"type":"null"}],"title":"Notify","description":"The message; null sends none.","default":{"channel":"sms"}}},` +
		`"additionalProperties":false,"type":"object","title":"Shop","description":"A test plugin."}`
	if got := string(shop.Schema()); got != want {
		t.Errorf("schema:\n got %s\nwant %s", got, want)
	}
	if got, want := string(shop.Default()), `{"name":"shop","rows":[{"code":"a","limit":5}],"rates":{"x":1},"notify":{"channel":"sms"}}`; got != want {
		t.Errorf("default: got %s want %s", got, want)
	}
}

func TestConfigParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want shopConfig
		errs []sdk.FieldError
	}{
		{"empty is the default", ``, shopDefaults(), nil},
		{"absent fields keep their default", `{"name":"n","notify":null}`,
			shopConfig{Name: "n", Rows: shopDefaults().Rows, Rates: shopDefaults().Rates}, nil},
		{"a list replaces the default's", `{"rows":[{"code":"b"}]}`,
			shopConfig{Name: "shop", Rows: []shopRow{{Code: "b"}}, Rates: shopDefaults().Rates, Notify: shopDefaults().Notify}, nil},
		{"schema errors name their field", `{"name":"","rows":[{"limit":11},{"code":"b","limit":"x"}],"rates":{"y":101},"notify":{"channel":"pigeon"},"extra":1}`,
			shopDefaults(), []sdk.FieldError{
				{Field: "/extra", Code: "unknown_field", Message: "/extra is not a setting of shop"},
				{Field: "/name", Code: "required", Message: "/name must not be empty"},
				{Field: "/notify/channel", Code: "unsupported", Message: `/notify/channel is "pigeon", it must be one of sms, email`},
				{Field: "/rates/y", Code: "out_of_range", Message: "/rates/y is 101, it must be at most 100"},
				{Field: "/rows/0/code", Code: "required", Message: "/rows/0/code is required"},
				{Field: "/rows/0/limit", Code: "out_of_range", Message: "/rows/0/limit is 11, it must be at most 10"},
				{Field: "/rows/1/limit", Code: "invalid_type", Message: "/rows/1/limit must be an integer, not a string"},
			}},
		{"list indexes in numeric order", `{"rows":[{"code":"a"},{"code":"b"},{"code":"c"},{"code":"d"}]}`, shopDefaults(),
			[]sdk.FieldError{{Field: "/rows", Code: "invalid_length", Message: "/rows has 4 items, it must have at most 3"}}},
		{"the check runs on a valid config", `{"rows":[{"code":"a"},{"code":"a"}]}`, shopDefaults(),
			[]sdk.FieldError{{Field: "/rows/1/code", Code: "duplicate", Message: "/rows/1/code repeats an earlier row"}}},
		{"not an object", `[]`, shopDefaults(),
			[]sdk.FieldError{{Code: "invalid_type", Message: "the config must be an object, not an array"}}},
		{"broken JSON", `{"rows":`, shopDefaults(),
			[]sdk.FieldError{{Code: "invalid_json", Message: "the config is not one JSON value: unexpected EOF"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := shop.Parse(json.RawMessage(tc.raw))
			if !reflect.DeepEqual(errs, tc.errs) {
				t.Fatalf("errors:\n got %+v\nwant %+v", errs, tc.errs)
			}
			if tc.errs == nil && !reflect.DeepEqual(cfg, tc.want) {
				t.Fatalf("config: got %+v want %+v", cfg, tc.want)
			}
		})
	}
}

func TestConfigLoad(t *testing.T) {
	_, err := shop.Load(sdk.Campaign{Code: "spring", Config: json.RawMessage(`{"name":""}`)})
	if !errors.Is(err, sdk.ErrInvalidConfig) || err.Error() != "invalid campaign config: campaign spring: /name: /name must not be empty" {
		t.Errorf("Load: error %v, want ErrInvalidConfig naming /name", err)
	}
	if cfg, err := shop.Load(sdk.Campaign{}); err != nil || cfg.Name != "shop" {
		t.Errorf("Load of no config = %+v, %v; want the default", cfg, err)
	}
	resp := shop.Validate(sdk.ValidateConfigRequest{Config: json.RawMessage(`{"name":1}`)})
	if want := []sdk.FieldError{{Field: "/name", Code: "invalid_type", Message: "/name must be a string, not a number"}}; !reflect.DeepEqual(resp.Errors, want) {
		t.Errorf("Validate = %+v, want %+v", resp.Errors, want)
	}
}

func TestNewConfigRefusesAnInvalidDefault(t *testing.T) {
	_, err := sdk.NewConfig(sdk.ConfigSpec[shopConfig]{Plugin: "shop", Default: func() shopConfig { return shopConfig{} }})
	if err == nil || err.Error() != "sdk: the default config is invalid: /name: /name must not be empty" {
		t.Errorf("NewConfig with an empty name by default: error %v", err)
	}
	_, err = sdk.NewConfig(sdk.ConfigSpec[shopConfig]{Plugin: "shop", Default: shopDefaults,
		Check: func(shopConfig) []sdk.FieldError {
			return []sdk.FieldError{{Field: "/rows", Code: "bad", Message: "no"}}
		}})
	if err == nil {
		t.Error("NewConfig accepted a default its Check refuses")
	}
}

func TestPointer(t *testing.T) {
	for _, tc := range []struct {
		path []any
		want string
	}{
		{nil, ""},
		{[]any{"rows", 2, "points"}, "/rows/2/points"},
		{[]any{"schemes", "8+4"}, "/schemes/8+4"},
		{[]any{"a/b", "c~d"}, "/a~1b/c~0d"},
	} {
		if got := sdk.Pointer(tc.path...); got != tc.want {
			t.Errorf("Pointer(%v) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// shopPlugin is a plugin whose configuration is shop.
type shopPlugin struct{ sdk.Base }

func (shopPlugin) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "shop", Version: "1.0.0", ConfigSchema: shop.Schema(), DefaultConfig: shop.Default()}, nil
}

func (shopPlugin) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	return shop.Validate(req), nil
}

func (shopPlugin) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, nil
}

// TestGeneratedSchemaRendersAForm checks a generated schema with the check every plugin runs.
func TestGeneratedSchemaRendersAForm(t *testing.T) {
	sdktest.CheckConfigSchema(t, sdktest.Connect(t, shopPlugin{}))
}
