package pluginhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/server/pluginhost"
)

// fill sets every field of *v, recursively, to a value that is not the zero value: strings to
// their field's name, numbers counting up, times to distinct instants, one element in every
// slice and map, an object in every JSON document. Two types with the same field names filled
// this way encode to the same JSON exactly when the same fields hold the same values.
func fill(v any) {
	n := 0
	var walk func(reflect.Value, string)
	walk = func(v reflect.Value, name string) {
		n++
		switch {
		case v.Type() == reflect.TypeOf(time.Time{}):
			v.Set(reflect.ValueOf(time.Date(2021, 4, 1, 0, 0, n, 0, time.UTC)))
			return
		case v.Type() == reflect.TypeOf(json.RawMessage(nil)):
			v.SetBytes([]byte(fmt.Sprintf(`{"n":%d}`, n)))
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("%s-%d", name, n))
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			walk(v.Elem(), name)
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			walk(v.Index(0), name)
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			elem := reflect.New(v.Type().Elem()).Elem()
			if elem.Kind() == reflect.Interface {
				elem.Set(reflect.ValueOf(fmt.Sprintf("%s-%d", name, n)))
			} else {
				walk(elem, name)
			}
			m.SetMapIndex(reflect.ValueOf("k"), elem)
			v.Set(m)
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i), v.Type().Field(i).Name)
			}
		default:
			panic(fmt.Sprintf("fill: %s of kind %s", name, v.Kind()))
		}
	}
	walk(reflect.ValueOf(v).Elem(), "")
}

func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(g) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// recorder is an SDK program that keeps the last request it got and answers with fixed,
// fully filled responses.
type recorder struct {
	req  any
	desc sdk.Description
	vc   sdk.ValidateConfigResponse
	el   sdk.EligibilityResponse
	ev   sdk.EvaluateResponse
	qu   sdk.QuoteResponse
	ti   sdk.TickResponse
}

func (r *recorder) Describe(context.Context) (sdk.Description, error) { return r.desc, nil }
func (r *recorder) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest) (sdk.ValidateConfigResponse, error) {
	r.req = req
	return r.vc, nil
}
func (r *recorder) CheckEligibility(_ context.Context, req sdk.EligibilityRequest) (sdk.EligibilityResponse, error) {
	r.req = req
	return r.el, nil
}
func (r *recorder) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	r.req = req
	return r.ev, nil
}
func (r *recorder) Quote(_ context.Context, req sdk.QuoteRequest) (sdk.QuoteResponse, error) {
	r.req = req
	return r.qu, nil
}
func (r *recorder) Tick(_ context.Context, req sdk.TickRequest) (sdk.TickResponse, error) {
	r.req = req
	return r.ti, nil
}

// TestTranslationCarriesEveryField sends fully filled core requests through Adapt and gets
// fully filled SDK answers back: every field must arrive, under the same name, with the same
// value. A field added to either side without its translation fails here.
func TestTranslationCarriesEveryField(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	for _, v := range []any{&r.desc, &r.vc, &r.el, &r.ev, &r.qu, &r.ti} {
		fill(v)
	}
	// One effect carrying every payload: the translation must not drop any, even on a
	// malformed effect, so that the engine sees what the plugin sent.
	p := pluginhost.Adapt(r)

	desc, err := p.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "Describe", r.desc, desc)

	var vcReq pluginhost.ValidateConfigRequest
	fill(&vcReq)
	vc, err := p.ValidateConfig(ctx, vcReq)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "ValidateConfig request", vcReq, r.req)
	sameJSON(t, "ValidateConfig response", r.vc, vc)

	var elReq pluginhost.EligibilityRequest
	fill(&elReq)
	el, err := p.CheckEligibility(ctx, elReq)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "CheckEligibility request", elReq, r.req)
	sameJSON(t, "CheckEligibility response", r.el, el)

	var evReq pluginhost.EvaluateRequest
	fill(&evReq)
	ev, err := p.Evaluate(ctx, evReq)
	if err != nil {
		t.Fatal(err)
	}
	// A program in this process gets an event's AttributesJSON decoded as its Attributes, as a
	// plugin process does.
	wantEv := evReq
	wantEv.Items = slices.Clone(evReq.Items)
	for i := range wantEv.Items {
		e := &wantEv.Items[i].Event
		dec := json.NewDecoder(bytes.NewReader(e.AttributesJSON))
		dec.UseNumber()
		e.Attributes = nil
		if err := dec.Decode(&e.Attributes); err != nil {
			t.Fatal(err)
		}
		e.AttributesJSON = nil
	}
	sameJSON(t, "Evaluate request", wantEv, r.req)
	sameJSON(t, "Evaluate response", r.ev, ev)

	var quReq pluginhost.QuoteRequest
	fill(&quReq)
	qu, err := p.Quote(ctx, quReq)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "Quote request", quReq, r.req)
	sameJSON(t, "Quote response", r.qu, qu)

	var tiReq pluginhost.TickRequest
	fill(&tiReq)
	ti, err := p.Tick(ctx, tiReq)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "Tick request", tiReq, r.req)
	sameJSON(t, "Tick response", r.ti, ti)
}

// TestTranslationKeepsNil checks that absent stays absent: nil lists and documents of the core
// reach the plugin as nil, and the plugin's nil answers come back nil.
func TestTranslationKeepsNil(t *testing.T) {
	r := &recorder{}
	p := pluginhost.Adapt(r)
	ev, err := p.Evaluate(context.Background(), pluginhost.EvaluateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.req.(sdk.EvaluateRequest); got.Items != nil || got.Campaign.Config != nil {
		t.Errorf("request = %+v, want nil items and config", got)
	}
	if ev.Results != nil {
		t.Errorf("results = %#v, want nil", ev.Results)
	}
	ti, err := p.Tick(context.Background(), pluginhost.TickRequest{Members: []pluginhost.Member{{}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.req.(sdk.TickRequest).Members[0]; m.Attributes != nil || m.Balances != nil || m.State != nil {
		t.Errorf("member = %+v, want nil attributes, balances and state", m)
	}
	if ti.Results != nil {
		t.Errorf("tick results = %#v, want nil", ti.Results)
	}
}

// errorProgram fails every call with err.
type errorProgram struct {
	sdk.Base
	err error
}

func (e errorProgram) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{}, e.err
}
func (e errorProgram) Evaluate(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{}, e.err
}

// TestTranslationErrors checks that SDK errors gain the core's sentinels and keep their chain.
func TestTranslationErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unavailable", fmt.Errorf("%w: try later", sdk.ErrUnavailable), pluginhost.ErrUnavailable},
		{"invalid config", fmt.Errorf("%w: unitAmount is 0", sdk.ErrInvalidConfig), pluginhost.ErrInvalidConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pluginhost.Adapt(errorProgram{err: c.err}).Evaluate(context.Background(), pluginhost.EvaluateRequest{})
			if !errors.Is(err, c.want) || !errors.Is(err, c.err) {
				t.Errorf("error %v: want it to match %v and %v", err, c.want, c.err)
			}
		})
	}
	other := fmt.Errorf("%w: boom", sdk.ErrInternal)
	_, err := pluginhost.Adapt(errorProgram{err: other}).Describe(context.Background())
	if !errors.Is(err, sdk.ErrInternal) || errors.Is(err, pluginhost.ErrUnavailable) || errors.Is(err, pluginhost.ErrInvalidConfig) {
		t.Errorf("internal error became %v", err)
	}
}
