package graph

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestWriteResponseAsJSONMarshal: a response is written byte for byte as json.Marshal writes it,
// with or without the data-only shortcut.
func TestWriteResponseAsJSONMarshal(t *testing.T) {
	yes := true
	for name, resp := range map[string]*graphql.Response{
		"data":             {Data: json.RawMessage(`{"member":{"name":"A <b> & \u003c","note":"line` + "\u2028" + `sep` + "\u2029" + `","n":[1,2.5,null,true]}}`)},
		"null data":        {},
		"errors":           {Errors: gqlerror.List{{Message: "x <y>"}}, Data: json.RawMessage(`{"a":null}`)},
		"extensions":       {Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"k": "v"}},
		"incremental part": {Data: json.RawMessage(`{"a":1}`), Label: "l", HasNext: &yes},
	} {
		rec := httptest.NewRecorder()
		writeResponse(rec, mediaJSON, 200, resp)
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != mediaJSON+"; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
	}
}
