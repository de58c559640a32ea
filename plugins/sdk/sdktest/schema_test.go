package sdktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

// recorder collects the errors a check reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Error(args ...any)         { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

type described struct {
	sdk.Base
	schema string
}

func (d described) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "x", Version: "1.0.0", ConfigSchema: json.RawMessage(d.schema), DefaultConfig: json.RawMessage(`{}`)}, nil
}

func (described) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, nil
}

func TestCheckConfigSchema(t *testing.T) {
	good := `{"title":"X","description":"An example.","type":"object","properties":{
		"n":{"title":"N","description":"A number.","type":"integer","minimum":0,"maximum":9,"default":1},
		"rows":{"title":"Rows","description":"The rows.","type":"array","maxItems":3,"default":[],"items":{"type":"object","properties":{
			"code":{"title":"Code","description":"Its code.","type":"string","maxLength":5,"default":""}}}},
		"notify":{"title":"Notify","description":"Or null.","default":null,"oneOf":[{"type":"null"},{"type":"object","properties":{
			"channel":{"title":"Channel","description":"How.","type":"string","enum":["sms"],"default":"sms"}}}]}}}`
	r := &recorder{TB: t}
	sdktest.CheckConfigSchema(r, described{schema: good})
	if len(r.errs) > 0 {
		t.Errorf("a complete schema was refused: %q", r.errs)
	}

	bad := `{"title":"X","type":"object","properties":{
		"n":{"title":"N","description":"A number.","type":"integer","minimum":0},
		"rows":{"title":"Rows","description":"The rows.","type":"array","default":[],"items":{"type":"object","properties":{
			"code":{"description":"Its code.","type":"string","default":""}}}}}}`
	r = &recorder{TB: t}
	sdktest.CheckConfigSchema(r, described{schema: bad})
	want := []string{
		"the schema has no description",
		"/properties/n has no default",
		"/properties/n has no minimum and maximum",
		"/properties/rows has no maxItems",
		"/properties/rows/items/properties/code has no title",
		"/properties/rows/items/properties/code has no enum, maxLength or pattern",
	}
	if !reflect.DeepEqual(r.errs, want) {
		t.Errorf("gaps:\n got %q\nwant %q", r.errs, want)
	}
}
