package graph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2"

	"github.com/promogate/promogate/graph"
)

// post sends a raw request to h and returns the status, the Content-Type and the body.
func post(h http.Handler, accept, body string) (int, string, string) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

func queryBody(q string) string {
	b, _ := json.Marshal(map[string]any{"query": q})
	return string(b)
}

// depthBomb returns a member query nested about levels deep.
func depthBomb(levels int) string {
	var b strings.Builder
	b.WriteString(`{ member(externalRef: "x") { `)
	depth := 1
	for depth+4 <= levels {
		b.WriteString(`transactions(first: 1) { edges { node { member { `)
		depth += 4
	}
	b.WriteString("id")
	b.WriteString(strings.Repeat(" } } } }", (depth-1)/4))
	b.WriteString(" } }")
	return b.String()
}

func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "p%d: programs { code } ", i)
	}
	b.WriteString("}")
	return b.String()
}

// TestQueryLimits: a depth bomb, an alias bomb, an expensive query and an oversized document
// are refused before anything runs, each with its own code (200 for application/json, 400 for
// application/graphql-response+json), and the handler goes on serving.
func TestQueryLimits(t *testing.T) {
	a := newAPI(t)
	cases := []struct {
		name, query, code string
	}{
		{"depth bomb", depthBomb(40), "QUERY_TOO_DEEP"},
		{"alias bomb", aliasBomb(200), "TOO_MANY_ALIASES"},
		{"connection cost", `{ members(first: 100) { edges { node { transactions(first: 100) { edges { node { id points reason } } } } } } }`, "QUERY_TOO_COMPLEX"},
		{"token flood", "{ " + strings.Repeat("__typename ", 20000) + "}", "TOO_MANY_TOKENS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for accept, wantStatus := range map[string]int{"application/json": 200, "application/graphql-response+json": 400} {
				status, ctype, body := post(a.h, accept, queryBody(c.query))
				if status != wantStatus || !strings.HasPrefix(ctype, accept) {
					t.Errorf("Accept %s: expected %d %s, got %d %s: %.300s", accept, wantStatus, accept, status, ctype, body)
				}
				var resp struct {
					Data   json.RawMessage `json:"data"`
					Errors []struct {
						Message    string         `json:"message"`
						Extensions map[string]any `json:"extensions"`
					} `json:"errors"`
				}
				if err := json.Unmarshal([]byte(body), &resp); err != nil {
					t.Fatalf("response %.400s: %v", body, err)
				}
				if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != c.code || resp.Data != nil {
					t.Errorf("expected one error %s and no data, got %.400s", c.code, body)
				}
			}
		})
	}
	if _, _, body := post(a.h, "", queryBody(`{ programs { code } }`)); !strings.Contains(body, fmt.Sprintf(`{"code":%q}`, a.program.Code)) {
		t.Errorf("after the refusals: expected the programmes, got %s", body)
	}
	// Just under the limits passes.
	if _, _, body := post(a.h, "", queryBody(depthBomb(graph.DefaultMaxDepth))); strings.Contains(body, "QUERY_TOO_DEEP") {
		t.Errorf("a query at the depth limit was refused: %s", body)
	}
	if _, _, body := post(a.h, "", queryBody(aliasBomb(graph.DefaultMaxAliases))); strings.Contains(body, "errors") {
		t.Errorf("a query at the alias limit was refused: %s", body)
	}
}

// TestLimitsConfigurable: limits come from HandlerOptions; negative switches one off.
func TestLimitsConfigurable(t *testing.T) {
	r := &graph.Resolver{Log: hclog.NewNullLogger()}
	h := asAdmin(graph.NewHandler(r, graph.HandlerOptions{Limits: graph.Limits{MaxAliases: 2, MaxDepth: -1}}))
	if _, _, body := post(h, "", queryBody(`{ a: __typename b: __typename c: __typename }`)); !strings.Contains(body, `"TOO_MANY_ALIASES"`) {
		t.Errorf("3 aliases with a limit of 2: expected TOO_MANY_ALIASES, got %s", body)
	}
	if _, _, body := post(h, "", queryBody(depthBomb(40))); strings.Contains(body, "QUERY_TOO_DEEP") {
		t.Errorf("depth limit off: expected no QUERY_TOO_DEEP, got %s", body)
	}
}

// TestMeasure pins the cost model on small documents.
func TestMeasure(t *testing.T) {
	s := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	cases := []struct {
		query string
		vars  map[string]any
		want  graph.Measurement
	}{
		{`{ programs { code name } }`, nil, graph.Measurement{Depth: 2, Complexity: 1 + 10*2}},
		{`{ a: programs { code } b: program(code: "x") { code } }`, nil, graph.Measurement{Depth: 2, Aliases: 2, Complexity: (1 + 10) + (1 + 1)}},
		// A connection costs first × its selection; its edges list is not counted again.
		{`{ members(first: 5) { edges { node { id } } pageInfo { hasNextPage } } }`, nil,
			graph.Measurement{Depth: 4, Complexity: 1 + 5*((1+1*(1+1))+(1+1))}},
		{`query($n: Int) { members(first: $n) { edges { cursor } } }`, map[string]any{"n": int64(50)},
			graph.Measurement{Depth: 3, Complexity: 1 + 50*(1+1)}},
		// The default first (20) when omitted.
		{`{ members { edges { cursor } } }`, nil, graph.Measurement{Depth: 3, Complexity: 1 + 20*(1+1)}},
		// Fragments count as if inlined; introspection fields do not count.
		{`{ ...F __typename } fragment F on Query { programs { ...G } } fragment G on Program { code }`, nil,
			graph.Measurement{Depth: 2, Complexity: 1 + 10*1}},
	}
	for _, c := range cases {
		doc, errs := gqlparser.LoadQueryWithRules(s, c.query, nil)
		if errs != nil {
			t.Fatalf("%s: %v", c.query, errs)
		}
		got := graph.Measure(doc, doc.Operations[0], c.vars, 0)
		if got != c.want {
			t.Errorf("%s: expected %+v, got %+v", c.query, c.want, got)
		}
	}
}

// TestFragmentBombIsCheap: fragments that each spread the previous one twice describe 2^40
// fields; measuring them takes linear time and the query is refused.
func TestFragmentBombIsCheap(t *testing.T) {
	var b strings.Builder
	b.WriteString("{ ...F0 }\nfragment F40 on Query { programs { code } }\n")
	for i := 39; i >= 0; i-- {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	s := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	doc, errs := gqlparser.LoadQueryWithRules(s, b.String(), nil)
	if errs != nil {
		t.Fatal(errs)
	}
	start := time.Now()
	m := graph.Measure(doc, doc.Operations[0], nil, 0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("measuring took %s", d)
	}
	if m.Complexity < int64(graph.DefaultMaxComplexity) {
		t.Errorf("fragment bomb measured %d, expected over the limit", m.Complexity)
	}
	a := newAPI(t)
	if _, _, body := post(a.h, "", queryBody(b.String())); !strings.Contains(body, "QUERY_TOO_COMPLEX") {
		t.Errorf("fragment bomb: expected a refusal, got %.300s", body)
	}
}
