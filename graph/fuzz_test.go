package graph_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/graph"
)

var requestSeeds = []string{
	`{"query":"{ __typename }"}`,
	`{"query":"query Q($n: String!) { __type(name: $n) { name } }","operationName":"Q","variables":{"n":"Member"}}`,
	`{"query":null,"variables":null,"extensions":null,"operationName":null}`,
	`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}`,
	`{"documentId":"sha256:ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}`,
	`{"query":"mutation { adjustPoints(memberId: \"x\", program: \"p\", amount: 1, reason: \"r\", idempotencyKey: \"k\") { replayed } }"}`,
	`{"query":"{ a: programs { code } b: programs { code } ...F } fragment F on Query { viewer { kind } }"}`,
	`{"query":"{ members(first: 100) { edges { node { transactions(first: 100) { edges { node { id } } } } } } }"}`,
	`{"query":1}`, `[]`, `{`, ``, `{"query":"{"}`, `{"query":"{ __typename }"}{}`, "{\"query\":\"\\ud800\"}",
}

// FuzzDecodeRequest: the POST body decoder never panics; what it accepts has a query or a
// persisted-query hash, and survives a round trip through JSON unchanged.
//
//	TEST_DATABASE_URL=… go test -run '^$' -fuzz FuzzDecodeRequest -fuzztime 60s ./graph
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := graph.DecodeRequest(body)
		if err != nil {
			var re *graph.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error is not a *RequestError: %T %v", err, err)
			}
			return
		}
		if p.Query == "" && p.Extensions["persistedQuery"] == nil {
			t.Fatalf("accepted a request with neither a query nor a persisted query: %q", body)
		}
		again, err := json.Marshal(map[string]any{"query": p.Query, "operationName": p.OperationName,
			"variables": p.Variables, "extensions": p.Extensions})
		if err != nil {
			t.Fatalf("decoded params do not encode: %v", err)
		}
		p2, err := graph.DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request %s refused: %v", again, err)
		}
		if p2.Query != p.Query || p2.OperationName != p.OperationName || !reflect.DeepEqual(p2.Variables, p.Variables) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", p, p2)
		}
	})
}

// FuzzGraphQLRequest posts arbitrary bodies with arbitrary Accept headers to the whole GraphQL
// handler as an anonymous caller (so no resolver touches a database) and checks that it always
// answers a JSON object with errors or data, never a 5xx, and with a status the
// GraphQL-over-HTTP specification allows.
//
//	TEST_DATABASE_URL=… go test -run '^$' -fuzz FuzzGraphQLRequest -fuzztime 60s ./graph
func FuzzGraphQLRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s), "application/json")
		f.Add([]byte(s), "application/graphql-response+json")
	}
	f.Add([]byte(`{"query":"{ __typename }"}`), "text/html;q=0.1, */*;q=0.01")
	h := graph.NewHandler(&graph.Resolver{Log: hclog.NewNullLogger()}, graph.HandlerOptions{Introspection: true})
	allowed := map[int]bool{200: true, 400: true, 405: true, 406: true, 413: true, 415: true}
	f.Fuzz(func(t *testing.T, body []byte, accept string) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if strings.ContainsAny(accept, "\r\n\x00") {
			return
		}
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q (Accept %q): %s", rec.Code, body, accept, rec.Body.String())
		}
		var resp map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not a JSON object for %q: %s", body, rec.Body.String())
		}
		if resp["errors"] == nil && resp["data"] == nil {
			t.Fatalf("response has neither data nor errors: %s", rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), `"INTERNAL"`) {
			t.Fatalf("internal error for %q: %s", body, rec.Body.String())
		}
	})
}
