package graph_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/graph"
)

type httpCase struct {
	name, method, contentType, accept, body, rawQuery string
	status                                            int
	media                                             string // expected Content-Type media type
	want                                              string // substring of the body
	noData                                            bool   // the body must have no data entry
}

func runHTTPCases(t *testing.T, h http.Handler, cases []httpCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/graphql?"+c.rawQuery, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			ctype := rec.Header().Get("Content-Type")
			if rec.Code != c.status || (c.media != "" && !strings.HasPrefix(ctype, c.media)) || !strings.Contains(body, c.want) {
				t.Errorf("expected %d %s with %q, got %d %s: %s", c.status, c.media, c.want, rec.Code, ctype, body)
			}
			if c.noData {
				var m map[string]json.RawMessage
				if json.Unmarshal([]byte(body), &m) != nil {
					t.Errorf("body is not a JSON object: %s", body)
				} else if _, ok := m["data"]; ok {
					t.Errorf("a request error must have no data entry: %s", body)
				}
			}
		})
	}
}

const (
	ctJSON = "application/json"
	gqlRes = "application/graphql-response+json"
)

// TestGraphQLOverHTTP pins the transport's answers to the GraphQL-over-HTTP specification
// (the graphql-http audit in e2e checks the same against the real server).
func TestGraphQLOverHTTP(t *testing.T) {
	h := asAdmin(graph.NewHandler(&graph.Resolver{Log: hclog.NewNullLogger()}, graph.HandlerOptions{Introspection: true}))
	typename := `{"query":"{ __typename }"}`
	runHTTPCases(t, h, []httpCase{
		{name: "json default", contentType: ctJSON, body: typename, status: 200, media: ctJSON, want: `{"data":{"__typename":"Query"}}`},
		{name: "graphql-response+json", contentType: ctJSON, accept: gqlRes, body: typename, status: 200, media: gqlRes, want: `"Query"`},
		{name: "any type", contentType: ctJSON, accept: "*/*", body: typename, status: 200, media: ctJSON},
		{name: "q values", contentType: ctJSON, accept: gqlRes + ";q=0.5, application/json", body: typename, status: 200, media: ctJSON},
		{name: "first on a tie", contentType: ctJSON, accept: gqlRes + ", application/json", body: typename, status: 200, media: gqlRes},
		{name: "charset", contentType: ctJSON + "; charset=utf-8", body: typename, status: 200, media: ctJSON},
		{name: "null parameters", contentType: ctJSON, body: `{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`, status: 200, want: `"Query"`},
		{name: "operation name", contentType: ctJSON, body: `{"query":"query A { a: __typename } query B { b: __typename }","operationName":"B"}`, status: 200, want: `{"data":{"b":"Query"}}`},
		{name: "variables", contentType: ctJSON, body: `{"query":"query($n: String!) { __type(name: $n) { name } }","variables":{"n":"Member"}}`, status: 200, want: `{"data":{"__type":{"name":"Member"}}}`},

		{name: "unacceptable", contentType: ctJSON, accept: "text/html", body: typename, status: 406, media: ctJSON, want: "BAD_REQUEST", noData: true},
		{name: "no content type", body: typename, status: 415, want: "BAD_REQUEST", noData: true},
		{name: "text/plain", contentType: "text/plain", body: typename, status: 415, noData: true},
		{name: "latin1", contentType: ctJSON + "; charset=iso-8859-1", body: typename, status: 415, noData: true},
		{name: "empty body", contentType: ctJSON, status: 400, want: "BAD_REQUEST", noData: true},
		{name: "not JSON", contentType: ctJSON, body: `{ "not a JSON`, status: 400, noData: true},
		{name: "array", contentType: ctJSON, body: `[{"query":"{ __typename }"}]`, status: 400, noData: true},
		{name: "trailing data", contentType: ctJSON, body: typename + `{}`, status: 400, noData: true},
		{name: "query not a string", contentType: ctJSON, body: `{"query":1}`, status: 400, noData: true},
		{name: "no query", contentType: ctJSON, accept: gqlRes, body: `{"qeury":"{ __typename }"}`, status: 400, want: "no query", noData: true},
		{name: "variables a string", contentType: ctJSON, body: `{"query":"{ __typename }","variables":"x"}`, status: 400, noData: true},
		{name: "extensions an array", contentType: ctJSON, body: `{"query":"{ __typename }","extensions":[]}`, status: 400, noData: true},
		{name: "operationName an object", contentType: ctJSON, body: `{"query":"{ __typename }","operationName":{}}`, status: 400, noData: true},

		{name: "parse error json", contentType: ctJSON, accept: ctJSON, body: `{"query":"{"}`, status: 200, media: ctJSON, want: "GRAPHQL_PARSE_FAILED", noData: true},
		{name: "parse error graphql-response", contentType: ctJSON, accept: gqlRes, body: `{"query":"{"}`, status: 400, media: gqlRes, want: "GRAPHQL_PARSE_FAILED", noData: true},
		{name: "validation error json", contentType: ctJSON, body: `{"query":"{ nope }"}`, status: 200, want: "GRAPHQL_VALIDATION_FAILED", noData: true},
		{name: "validation error graphql-response", contentType: ctJSON, accept: gqlRes, body: `{"query":"{ nope }"}`, status: 400, noData: true},
		{name: "no suggestions", contentType: ctJSON, body: `{"query":"{ programz }"}`, status: 200, want: "GRAPHQL_VALIDATION_FAILED"},
		{name: "coercion error graphql-response", contentType: ctJSON, accept: gqlRes, body: `{"query":"query($id: ID!) { __typename }","variables":{"id":null}}`, status: 400, noData: true},
		{name: "unknown operation", contentType: ctJSON, accept: gqlRes, body: `{"query":"query A { __typename }","operationName":"B"}`, status: 400, noData: true},

		{name: "GET", method: http.MethodGet, rawQuery: "query=" + url.QueryEscape("{ __typename }"), status: 200, media: ctJSON, want: `"Query"`},
		{name: "GET variables", method: http.MethodGet, accept: gqlRes, rawQuery: "query=" + url.QueryEscape("query($n: String!) { __type(name: $n) { name } }") + "&variables=" + url.QueryEscape(`{"n":"nope"}`), status: 200, media: gqlRes, want: `{"data":{"__type":null}}`},
		{name: "GET mutation", method: http.MethodGet, accept: gqlRes, rawQuery: "query=" + url.QueryEscape("mutation { __typename }"), status: 405, noData: true},
		{name: "GET bad variables", method: http.MethodGet, rawQuery: "query=" + url.QueryEscape("{ __typename }") + "&variables=%5B%5D", status: 400, noData: true},
		{name: "PUT", method: http.MethodPut, contentType: ctJSON, body: typename, status: 405, noData: true},
	})
	if _, _, body := post(h, "", `{"query":"{ programz }"}`); strings.Contains(body, "Did you mean") {
		t.Errorf("validation errors must not suggest field names: %s", body)
	}
}

// TestPersistedQueries: automatic persisted queries learn a document from one full request;
// registered documents are known from the start; in allow-list mode nothing else runs.
func TestPersistedQueries(t *testing.T) {
	const doc = "query Registered { __typename }"
	hash := graph.DocumentHash(doc)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "registered.graphql"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := graph.LoadDocuments(dir)
	if err != nil || docs[hash] != doc {
		t.Fatalf("LoadDocuments: %v %v", docs, err)
	}
	pq := func(h string) string { return `"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + h + `"}}` }
	other := "query Other { __typename }"
	otherHash := graph.DocumentHash(other)

	r := &graph.Resolver{Log: hclog.NewNullLogger()}
	apq := asAdmin(graph.NewHandler(r, graph.HandlerOptions{Documents: docs}))
	runHTTPCases(t, apq, []httpCase{
		{name: "registered by hash", contentType: ctJSON, body: `{` + pq(hash) + `}`, status: 200, want: `"Query"`},
		{name: "registered by documentId", contentType: ctJSON, body: `{"documentId":"sha256:` + hash + `"}`, status: 200, want: `"Query"`},
		{name: "unknown hash", contentType: ctJSON, body: `{` + pq(otherHash) + `}`, status: 200, want: "PERSISTED_QUERY_NOT_FOUND", noData: true},
		{name: "learn", contentType: ctJSON, body: `{"query":"` + other + `",` + pq(otherHash) + `}`, status: 200, want: `"Query"`},
		{name: "learned", contentType: ctJSON, body: `{` + pq(otherHash) + `}`, status: 200, want: `"Query"`},
		{name: "wrong hash", contentType: ctJSON, body: `{"query":"{ __typename }",` + pq(otherHash) + `}`, status: 200, want: "does not match", noData: true},
		{name: "bad documentId", contentType: ctJSON, body: `{"documentId":"md5:x"}`, status: 400, noData: true},
	})

	only := asAdmin(graph.NewHandler(r, graph.HandlerOptions{Documents: docs, AllowListOnly: true}))
	runHTTPCases(t, only, []httpCase{
		{name: "registered by hash", contentType: ctJSON, body: `{` + pq(hash) + `}`, status: 200, want: `"Query"`},
		{name: "registered in full", contentType: ctJSON, body: `{"query":"` + doc + `"}`, status: 200, want: `"Query"`},
		{name: "other document", contentType: ctJSON, accept: gqlRes, body: `{"query":"` + other + `"}`, status: 400, want: "DOCUMENT_NOT_ALLOWED", noData: true},
		{name: "other document with its hash", contentType: ctJSON, body: `{"query":"` + other + `",` + pq(otherHash) + `}`, status: 200, want: "DOCUMENT_NOT_ALLOWED", noData: true},
		{name: "unknown hash", contentType: ctJSON, body: `{` + pq(otherHash) + `}`, status: 200, want: "DOCUMENT_NOT_ALLOWED", noData: true},
	})

	manifest := filepath.Join(dir, "manifest.json")
	b, _ := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []any{map[string]any{"id": hash, "body": doc, "name": "Registered", "type": "query"}}})
	if err := os.WriteFile(manifest, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := graph.LoadDocuments(manifest); err != nil || got[hash] != doc {
		t.Errorf("manifest: %v %v", got, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"`+otherHash+`": "`+doc+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := graph.LoadDocuments(bad); err == nil {
		t.Errorf("a hash that is not the document's: expected an error")
	}
}
