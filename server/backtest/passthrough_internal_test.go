package backtest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// asPlugin decodes attributes as the plugin's SDK does (numbers as json.Number).
func asPlugin(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	err := dec.Decode(&v)
	return v, err
}

// FuzzPassThrough checks that attributes passThrough lets through reach the plugin as the same
// values as when decoded and encoded again (as the engine sends them), and which it lets through.
func FuzzPassThrough(f *testing.F) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`{"amount": 1999}`, true},
		{`{}`, true},
		{`{"a": -12, "b": 0, "c": 999999999999999, "d": [1, {"e": 2}], "s": "1.5e3", "t": true, "n": null}`, true},
		{`{"s": "a\"1.5", "k": 7}`, true},
		{`{"a": 1.5}`, false},
		{`{"a": 1.0}`, false},
		{`{"a": 1e3}`, false},
		{`{"a": 1000000000000000}`, false}, // 16 digits
		{`{"a": -0}`, false},
		{`{"a": [2E3]}`, false},
		{`null`, false},
		{`[1]`, false},
	} {
		if got := passThrough([]byte(tc.raw)); got != tc.want {
			f.Errorf("passThrough(%s) = %v, want %v", tc.raw, got, tc.want)
		}
		f.Add([]byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var decoded map[string]any
		if json.Unmarshal(raw, &decoded) != nil || !passThrough(raw) {
			return // PostgreSQL gives valid JSON; only what passes through matters
		}
		again, err := json.Marshal(decoded)
		if err != nil {
			t.Fatal(err)
		}
		want, err := asPlugin(again)
		if err != nil {
			t.Fatal(err)
		}
		got, err := asPlugin(raw)
		if err != nil {
			t.Fatalf("%s passes through, but the plugin cannot decode it: %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s passes through as %v; decoded and encoded again it is %v", raw, got, want)
		}
	})
}
