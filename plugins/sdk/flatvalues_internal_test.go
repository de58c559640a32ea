package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeValues is the general decoding flatValues stands in for.
func decodeValues(b []byte) (Values, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v Values
	err := dec.Decode(&v)
	return v, err
}

// FuzzFlatValues checks that whatever flatValues decodes, encoding/json decodes the same, and
// that it takes the common shapes.
func FuzzFlatValues(f *testing.F) {
	flat := []string{`{}`, ` { } `, `{"amount":1999}`, `{"amount": 1999, "currency": "EUR"}`, `{"a":-0,"b":0.25,"c":1e3,"d":-1.5E-7}`,
		`{"t":true,"f":false,"n":null}`, "{\n\t\"a\" : \"Bērziņa\" ,\r\n\"a\":2}", `{"big":12345678901234567890123}`, `{"":""}`}
	for _, s := range flat {
		if _, ok := flatValues([]byte(s)); !ok {
			f.Errorf("flatValues(%s) falls back; want it decoded", s)
		}
		f.Add([]byte(s))
	}
	for _, s := range []string{``, `null`, `[]`, `{"a":{"b":1}}`, `{"a":[1]}`, `{"a":"\u00e9"}`, `{"a":"x\"y"}`, `{"a":01}`, `{"a":1.}`,
		`{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":1}x`, `{"a":1} {}`, `{"a":tru}`, `{"a":truex}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`,
		`{"a":1`, `{"a` + "\xff" + `":1}`, `{"a":"` + "\x01" + `"}`, `{"a":"b"` + "\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := flatValues(b)
		if !ok {
			return
		}
		want, err := decodeValues(b)
		if err != nil {
			t.Fatalf("flatValues(%q) = %v; encoding/json fails: %v", b, got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("flatValues(%q) = %#v; encoding/json gives %#v", b, got, want)
		}
	})
}
