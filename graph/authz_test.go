package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

// asAdmin runs every request through h as an admin API key, as the HTTP authentication
// middleware would.
func asAdmin(h http.Handler) http.Handler {
	return as(h, &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{auth.RoleAdmin}, KeyID: 1, KeyName: "test"})
}

func as(h http.Handler, p *auth.Principal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	})
}

// schemaRoots returns "Query.<field>" and "Mutation.<field>" for every root field of the schema,
// introspection fields included.
func schemaRoots(t *testing.T) map[string]*ast.FieldDefinition {
	t.Helper()
	s := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	out := map[string]*ast.FieldDefinition{}
	for _, root := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			out[root.Name+"."+f.Name] = f
		}
	}
	return out
}

// TestAuthorizationTableCoversSchema: every root field of the schema has a row in the
// authorisation table, so no operation is open (or shut) by accident. A new operation fails
// here until it joins graph.Authorization and the expectations below.
func TestAuthorizationTableCoversSchema(t *testing.T) {
	var missing []string
	for name := range schemaRoots(t) {
		if _, ok := graph.Authorization[name]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("root fields missing from graph.Authorization (refused to everyone until added): %v", missing)
	}
	roots := schemaRoots(t)
	for name := range graph.Authorization {
		if _, ok := roots[name]; !ok {
			t.Logf("graph.Authorization lists %s, which the schema does not have (yet)", name)
		}
	}
}

// TestMemberDataCoversSchema: every object type of the schema says what it is to a member
// token (graph.MemberDataClass), so no new type is open to members (or shut) by accident. A
// new type fails here until it joins memberData in graph/authz.go; until then member tokens are
// refused its fields.
func TestMemberDataCoversSchema(t *testing.T) {
	s := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	var missing []string
	for name, def := range s.Types {
		if def.Kind == ast.Object && !def.BuiltIn && !strings.HasPrefix(name, "__") && graph.MemberDataClass(name) == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("object types missing from memberData in graph/authz.go (refused to member tokens until added): %v", missing)
	}
	// Every object with a global id that names its member (a member field) belongs to it.
	for name, def := range s.Types {
		if def.Kind != ast.Object || !slices.Contains(def.Interfaces, "Node") {
			continue
		}
		if f := def.Fields.ForName("member"); f != nil && f.Type.Name() == "Member" {
			if c := graph.MemberDataClass(name); c != "owned" && c != "staff" {
				t.Errorf("%s has a member but is %q to member tokens; it should be owned", name, c)
			}
		}
	}
}

// expectedAccess is the operation × role matrix of docs/security.md, written out by hand so a
// change to graph.Authorization must be made twice: "-" anonymous, "m" a member token for its
// own member, "F" frontend, "I" ingest, "K" marketing, "A" admin.
var expectedAccess = map[string]string{
	"Query.viewer":   "- m F I K A",
	"Query.__schema": "- m F I K A",
	"Query.__type":   "- m F I K A",

	"Query.publicParticipants": "- m F I K A",

	"Query.node":             "m F A",
	"Query.member":           "m F K A",
	"Query.members":          "F K A",
	"Query.transaction":      "F A",
	"Query.programs":         "m F I K A",
	"Query.program":          "m F I K A",
	"Query.plugins":          "F K A",
	"Query.campaigns":        "F K A",
	"Query.campaign":         "F K A",
	"Query.rewards":          "m F K A",
	"Query.reward":           "m F K A",
	"Query.event":            "F I A",
	"Query.checkEligibility": "m F A",
	"Query.apiKeys":          "A",
	"Query.auditLog":         "A",

	"Mutation.upsertMember": "F I A",
	"Mutation.recordEvent":  "I A",
	"Mutation.recordEvents": "I A",

	"Mutation.enroll":            "m F A",
	"Mutation.redeemRewards":     "m F A",
	"Mutation.applyReferralCode": "m F A",
	"Mutation.sendInvite":        "m F A",
	"Mutation.activateBenefit":   "m F A",

	"Mutation.createCampaign":        "K A",
	"Mutation.updateCampaignConfig":  "K A",
	"Mutation.activateCampaign":      "K A",
	"Mutation.pauseCampaign":         "K A",
	"Mutation.endCampaign":           "K A",
	"Mutation.simulateCampaign":      "K A",
	"Mutation.startBacktest":         "K A",
	"Mutation.cancelBacktest":        "K A",
	"Query.backtest":                 "K A",
	"Query.backtests":                "K A",
	"Mutation.setFulfillmentStatus":  "K A",
	"Mutation.setParticipantsPublic": "K A",
	"Mutation.createReward":          "K A",
	"Mutation.updateReward":          "K A",
	"Mutation.importRewardCodes":     "K A",
	"Mutation.attachShadow":          "K A",
	"Mutation.promoteShadow":         "K A",
	"Mutation.dropShadow":            "K A",

	"Mutation.createProgram":      "A",
	"Mutation.adjustPoints":       "A",
	"Mutation.reverseTransaction": "A",
	"Mutation.reverseRedemption":  "A",
	"Mutation.registerPlugin":     "A",
	"Mutation.reloadPlugin":       "A",
	"Mutation.createApiKey":       "A",
	"Mutation.revokeApiKey":       "A",
	"Mutation.setClock":           "A",

	"Subscription.member":   "m F K A",
	"Subscription.event":    "F I A",
	"Subscription.campaign": "F K A",
}

var letterRole = map[string]auth.Role{"m": auth.RoleMember, "F": auth.RoleFrontend, "I": auth.RoleIngest,
	"K": auth.RoleMarketing, "A": auth.RoleAdmin}

// TestAuthorizationTableMatchesExpectations: the table says what the matrix says, row by row.
func TestAuthorizationTableMatchesExpectations(t *testing.T) {
	for op, want := range expectedAccess {
		rule, ok := graph.Authorization[op]
		if !ok {
			t.Errorf("%s: expected access %q, missing from graph.Authorization", op, want)
			continue
		}
		var got []string
		if rule.Anonymous {
			got = append(got, "-")
		}
		for _, l := range []string{"m", "F", "I", "K", "A"} {
			if slices.Contains(rule.Roles, letterRole[l]) {
				got = append(got, l)
			}
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s: table allows %q, expected %q", op, g, want)
		}
	}
	for op := range graph.Authorization {
		if _, ok := expectedAccess[op]; !ok {
			t.Errorf("%s is in graph.Authorization but has no expected access in this test", op)
		}
	}
}

// caller is one column of the matrix.
type caller struct {
	name      string
	principal func(self, other *members.Member) *auth.Principal
	// target is the member the operation's member arguments name.
	target func(self, other *members.Member) *members.Member
	// letter is the column of expectedAccess that decides; "" means the member-for-another
	// column, allowed only where a member is allowed and no member is named.
	letter string
}

func keyPrincipal(r auth.Role) func(self, other *members.Member) *auth.Principal {
	return func(*members.Member, *members.Member) *auth.Principal {
		return &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{r}, KeyID: 7, KeyName: string(r)}
	}
}

func selfMember(self, _ *members.Member) *members.Member   { return self }
func otherMember(_, other *members.Member) *members.Member { return other }

var callers = []caller{
	{"anonymous", func(*members.Member, *members.Member) *auth.Principal { return nil }, selfMember, "-"},
	{"member-self", func(self, _ *members.Member) *auth.Principal {
		return &auth.Principal{Kind: auth.KindToken, Roles: []auth.Role{auth.RoleMember}, MemberRef: self.ExternalRef}
	}, selfMember, "m"},
	{"member-other", func(self, _ *members.Member) *auth.Principal {
		return &auth.Principal{Kind: auth.KindToken, Roles: []auth.Role{auth.RoleMember}, MemberRef: self.ExternalRef}
	}, otherMember, ""},
	{"frontend", keyPrincipal(auth.RoleFrontend), selfMember, "F"},
	{"ingest", keyPrincipal(auth.RoleIngest), selfMember, "I"},
	{"marketing", keyPrincipal(auth.RoleMarketing), selfMember, "K"},
	{"admin", keyPrincipal(auth.RoleAdmin), selfMember, "A"},
}

// memberSelfOps are the operations a member may run only about itself.
var memberSelfOps = map[string]bool{"Query.node": true, "Query.member": true, "Mutation.enroll": true,
	"Mutation.redeemRewards": true, "Mutation.applyReferralCode": true, "Mutation.sendInvite": true,
	"Mutation.activateBenefit": true, "Subscription.member": true}

// TestAuthorizationMatrix runs every root operation of the schema as every caller, with
// arguments made up from the schema (member arguments naming the caller's own member, or for
// "member-other" another member), and checks the answer: an allowed call may succeed or fail
// for any reason but authorisation; a refused one fails with exactly UNAUTHENTICATED
// (anonymous) or FORBIDDEN.
func TestAuthorizationMatrix(t *testing.T) {
	// Allowed calls run for real (an admin's createProgram creates one), so the matrix has a
	// database of its own.
	ctx := context.Background()
	url, drop, err := dbtest.CreateDatabase(ctx, dbtest.AdminURL(), "authz_matrix")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	bdb, err := db.Open(ctx, url, db.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if _, err := db.Migrate(ctx, bdb); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(testNow)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	store := auth.NewStore(bdb, clk.Now)
	r := &graph.Resolver{Ledger: led, MemberStore: mem, Auth: store, Log: hclog.NewNullLogger(), Now: clk.Now}
	// Subscriptions run over WebSocket, with the caller of the upgrade request.
	h := graph.NewHandler(r, graph.HandlerOptions{Introspection: true, Live: &graph.LiveOptions{
		Authenticate: func(context.Context, string, string) (*auth.Principal, error) { return nil, auth.ErrUnauthenticated }}})
	self, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: "matrix-self"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := mem.Upsert(ctx, members.UpsertInput{ExternalRef: "matrix-other"})
	if err != nil {
		t.Fatal(err)
	}
	s := graph.NewExecutableSchema(graph.Config{Resolvers: r}).Schema()
	roots := schemaRoots(t)
	ops := make([]string, 0, len(roots))
	for op := range roots {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	counts := map[string]int{}
	for _, op := range ops {
		want, ok := expectedAccess[op]
		if !ok {
			t.Errorf("%s: no expected access; add it to expectedAccess and graph.Authorization", op)
			continue
		}
		allowed := strings.Fields(want)
		for _, c := range callers {
			t.Run(op+"/"+c.name, func(t *testing.T) {
				target := c.target(self, other)
				query, vars, names := synthesize(s, op, roots[op], target)
				expect := expectedCode(op, c.letter, allowed, names)
				var resp []byte
				if strings.HasPrefix(op, "Subscription.") {
					resp = firstMessage(t, as(h, c.principal(self, other)), fieldName(op), query, vars)
				} else {
					body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
					req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					as(h, c.principal(self, other)).ServeHTTP(rec, req)
					resp = rec.Body.Bytes()
				}
				code := denialCode(t, resp, fieldName(op))
				if code != expect {
					t.Errorf("%s as %s: expected %s, got %s\nquery: %s\nvariables: %v\nresponse: %s",
						op, c.name, orAllowed(expect), orAllowed(code), query, vars, resp)
				}
				counts[c.name+" "+orAllowed(expect)]++
			})
		}
	}
	t.Logf("matrix: %d operations × %d callers: %v", len(ops), len(callers), counts)
}

// expectedCode is the answer the matrix expects: "" (allowed), UNAUTHENTICATED or FORBIDDEN.
// The member-for-another column ("") is allowed only where a member is allowed and the call
// names no member.
func expectedCode(op, letter string, allowed []string, namesMember bool) string {
	switch {
	case letter == "":
		if slices.Contains(allowed, "m") && !namesMember && !memberSelfOps[op] {
			return ""
		}
		return "FORBIDDEN"
	case slices.Contains(allowed, letter):
		return ""
	case letter == "-":
		return "UNAUTHENTICATED"
	default:
		return "FORBIDDEN"
	}
}

func orAllowed(code string) string {
	if code == "" {
		return "allowed"
	}
	return code
}

func fieldName(op string) string {
	_, f, _ := strings.Cut(op, ".")
	return f
}

// denialCode returns UNAUTHENTICATED or FORBIDDEN when the response refuses the root field, and
// "" when the field ran (whatever else went wrong).
func denialCode(t *testing.T, body []byte, field string) string {
	t.Helper()
	var resp struct {
		Errors []struct {
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response is not JSON: %s", body)
	}
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		if (code == "UNAUTHENTICATED" || code == "FORBIDDEN") && len(e.Path) == 1 && e.Path[0] == field {
			return code
		}
		if code == "GRAPHQL_VALIDATION_FAILED" || code == "GRAPHQL_PARSE_FAILED" {
			t.Fatalf("the synthesized request is invalid: %s", body)
		}
	}
	return ""
}

// synthesize builds a request calling one root field with made-up arguments: every required
// argument, plus the member arguments, which name target.
func synthesize(s *ast.Schema, op string, f *ast.FieldDefinition, target *members.Member) (string, map[string]any, bool) {
	kind := "query"
	switch {
	case strings.HasPrefix(op, "Mutation."):
		kind = "mutation"
	case strings.HasPrefix(op, "Subscription."):
		kind = "subscription"
	}
	var decls, args []string
	vars := map[string]any{}
	for i, a := range f.Arguments {
		v, ok := argValue(s, op, a.Name, a.Type, target, 0)
		if !ok && !a.Type.NonNull {
			continue
		}
		name := fmt.Sprintf("a%d", i)
		decls = append(decls, "$"+name+": "+a.Type.String())
		args = append(args, a.Name+": $"+name)
		vars[name] = v
	}
	call := f.Name
	if len(args) > 0 {
		call += "(" + strings.Join(args, ", ") + ")"
	}
	if def := s.Types[f.Type.Name()]; def != nil && (def.Kind == ast.Object || def.Kind == ast.Interface || def.Kind == ast.Union) {
		call += " { __typename }"
	}
	head := kind
	if len(decls) > 0 {
		head += "(" + strings.Join(decls, ", ") + ")"
	}
	raw, _ := json.Marshal(vars)
	names := strings.Contains(string(raw), base64ID("Member", target.ID)) || strings.Contains(string(raw), `"`+target.ExternalRef+`"`)
	return head + " { " + call + " }", vars, names
}

// argValue makes a value for an argument or input field of type typ. It reports false for an
// optional argument it would rather leave out.
func argValue(s *ast.Schema, op, name string, typ *ast.Type, target *members.Member, depth int) (any, bool) {
	memberGID := base64ID("Member", target.ID)
	switch name {
	case "memberId", "availableTo":
		return memberGID, true
	case "memberIds":
		return []any{memberGID}, true
	case "externalRef", "memberRef":
		return target.ExternalRef, true
	case "id":
		if op == "Query.node" { // member() is called with externalRef alone
			return memberGID, true
		}
	}
	if !typ.NonNull {
		return nil, false
	}
	if typ.Elem != nil {
		v, _ := argValue(s, op, name, typ.Elem, target, depth+1)
		return []any{v}, true
	}
	switch typ.NamedType {
	case "ID":
		return base64ID("Thing", 1), true
	case "String":
		return "matrix", true
	case "Int":
		return 1, true
	case "Float":
		return 1.5, true
	case "Boolean":
		return true, true
	case "Time":
		return "2026-03-01T10:00:00Z", true
	case "Date":
		return "2026-03-01", true
	case "JSON":
		return map[string]any{}, true
	}
	def := s.Types[typ.NamedType]
	switch {
	case def == nil:
		return "matrix", true
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name, true
	case def.Kind == ast.InputObject && depth < 5:
		obj := map[string]any{}
		for _, f := range def.Fields {
			if v, ok := argValue(s, op, f.Name, f.Type, target, depth+1); ok {
				obj[f.Name] = v
			}
		}
		return obj, true
	}
	return "matrix", true
}

func base64ID(typ string, id int64) string { return gid(typ, id) }

// firstMessage subscribes over WebSocket to h (served for the purpose) and returns the first
// answer as a response body: a next message's payload, or {"errors": …} of an error message.
// A connection refused at connection_init (a caller with no role at all) answers
// UNAUTHENTICATED, as its queries would be.
func firstMessage(t *testing.T, h http.Handler, field, query string, vars map[string]any) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.CloseNow() }()
	send := func(msg map[string]any) {
		b, _ := json.Marshal(msg)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]any{"type": "connection_init"})
	send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": query, "variables": vars}})
	for {
		_, b, err := c.Read(ctx)
		if websocket.CloseStatus(err) == 4403 {
			return []byte(`{"errors":[{"path":["` + field + `"],"extensions":{"code":"UNAUTHENTICATED"}}]}`)
		}
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Fatal(err)
		}
		switch msg.Type {
		case "next":
			return msg.Payload
		case "error":
			return []byte(`{"errors":` + string(msg.Payload) + `}`)
		}
	}
}

// TestMemberTokenActsOnlyForItself: a member token reaches its own member by id, externalRef
// or node id, with everything nested under it, and nothing about another member.
func TestMemberTokenActsOnlyForItself(t *testing.T) {
	a := newAPI(t)
	self, other := a.member("token-self"), a.member("token-other")
	if _, err := a.led.Adjust(context.Background(), a.program.ID, self.ID, 40, "welcome", "token-self-1"); err != nil {
		t.Fatal(err)
	}
	r := &graph.Resolver{Ledger: a.led, MemberStore: a.mem, Log: hclog.NewNullLogger(), Now: func() time.Time { return testNow }}
	h := as(graph.NewHandler(r, graph.HandlerOptions{}), &auth.Principal{Kind: auth.KindToken,
		Roles: []auth.Role{auth.RoleMember}, MemberRef: "token-self"})
	m := &api{t: t, h: h}
	selfID, otherID := gid("Member", self.ID), gid("Member", other.ID)
	forbidden := func(field string) string {
		return fmt.Sprintf(`{"errors":[{"message":"a member token may only act for its own member","path":[%q],"locations":[{"line":1,"column":3}],"extensions":{"code":"FORBIDDEN"}}],"data":{%q:null}}`, field, field)
	}
	m.expect(fmt.Sprintf(`{ member(id: %q) { externalRef balances { available } } }`, selfID), nil,
		`{"data":{"member":{"externalRef":"token-self","balances":[{"available":40}]}}}`)
	m.expect(`{ member(externalRef: "token-self") { externalRef transactions(first: 1) { edges { node { points member { externalRef } } } } } }`, nil,
		`{"data":{"member":{"externalRef":"token-self","transactions":{"edges":[{"node":{"points":40,"member":{"externalRef":"token-self"}}}]}}}}`)
	m.expect(fmt.Sprintf(`{ node(id: %q) { ... on Member { externalRef } } }`, selfID), nil,
		`{"data":{"node":{"externalRef":"token-self"}}}`)
	m.expect(fmt.Sprintf(`{ member(id: %q) { externalRef } }`, otherID), nil, forbidden("member"))
	m.expect(`{ member(externalRef: "token-other") { externalRef } }`, nil, forbidden("member"))
	m.expect(fmt.Sprintf(`{ member(id: %q, externalRef: "token-self") { externalRef } }`, otherID), nil, forbidden("member"))
	m.expect(`{ member { externalRef } }`, nil, forbidden("member"))
	m.expect(fmt.Sprintf(`{ node(id: %q) { id } }`, otherID), nil, forbidden("node"))
	m.expect(fmt.Sprintf(`{ node(id: %q) { id } }`, gid("Program", a.program.ID)), nil, forbidden("node"))

	// A token whose member does not exist reaches nobody.
	ghost := &api{t: t, h: as(graph.NewHandler(r, graph.HandlerOptions{}), &auth.Principal{Kind: auth.KindToken,
		Roles: []auth.Role{auth.RoleMember}, MemberRef: "token-ghost"})}
	ghost.expect(fmt.Sprintf(`{ member(id: %q) { externalRef } }`, selfID), nil, forbidden("member"))
	ghost.expect(`{ member(externalRef: "token-ghost") { externalRef } }`, nil, `{"data":{"member":null}}`)
}
