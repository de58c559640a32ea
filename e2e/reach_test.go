package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/promogate/promogate/graph"
)

// TestMemberTokenReachesNoOtherMember walks the schema from Member, at test time, and checks
// that a member token reads no other member's data through any object type, along any edge.
//
// The core runs the five demo programmes (their plugins, the demo history: a referrer with three
// friends, companies in one gift campaign, an order of rewards, notifications), so members are
// linked the ways the model links them. For each token member A and each edge S.f of the
// object graph reachable from Member (every field of every reachable type), and for every type
// T reachable after the edge, one query goes from member(A) along the shortest path to S,
// through f, along the shortest path to T, and selects every leaf field of T. It runs with A's
// token and with a frontend key:
//   - A's token must never see another member's data: none of any other member's global id,
//     e-mail, phone, or the global ids of the objects listed under that member (transactions,
//     benefits, enrolments, notifications, redemptions, whatever the schema lists), collected
//     from the schema with the admin key; and no error but FORBIDDEN.
//   - The frontend must see other members' data through some of the same queries, so the walk
//     does reach them (the test is not vacuous).
//
// New types and fields are walked without editing the test; a required argument it cannot name
// gets a value made up from its type.
func TestMemberTokenReachesNoOtherMember(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keysFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(keysFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pluginsDir := t.TempDir()
	for _, p := range []string{"giftbymonth", "earntable", "tierstatus", "tariffpromo", "referral"} {
		src := build(t, "plugins/"+p, p)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pluginsDir, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// From the repository root, where the demo finds its reward catalogue; without the depth
	// and cost limits, which would refuse the longest paths.
	c := startCoreIn(t, repoRoot(), newDatabase(t), "--demo", "--plugins-dir", pluginsDir,
		"--jwt-issuer", "https://id.example.com", "--jwt-audience", "cabinet", "--jwt-keys-file", keysFile,
		"--max-depth", "0", "--max-complexity", "0", "--max-errors", "0")
	token := func(ref string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://id.example.com", "aud": "cabinet",
			"sub": ref, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	frontend := data(t, c.gql(`mutation { createApiKey(input: {name: "reach", roles: [FRONTEND]}) { key } }`, nil), "createApiKey", "key").(string)

	s := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	w := newWalker(s)
	queries := w.queries()
	t.Logf("schema walk: %d object types reachable from Member, %d edges, %d paths", len(w.from("Member")), len(w.edges), len(queries))

	others := memberMarks(t, c, w)
	// A member of every kind of link: a referrer (its friends), a company in the gift campaign
	// (the other companies), a member with an order of rewards, a subscriber with notifications.
	tokens := []struct{ ref, program string }{
		{"t2-referrer", "t2-referral"},
		{"its-april-24", "its-gifts-2021"},
		{"rt-privilege", "rt-bonus"},
		{"a1-drive5", "a1-summer-2023"},
	}
	rewardID := data(t, c.gql(`{ rewards(filter: {program: "rt-bonus"}, first: 1) { edges { node { id } } } }`, nil),
		"rewards", "edges", 0, "node", "id").(string)
	reachedOthers := map[string]int{}
	for _, tok := range tokens {
		self, ok := others[tok.ref]
		if !ok {
			t.Fatalf("demo member %s not found", tok.ref)
		}
		var foreign []string
		for ref, m := range others {
			if ref != tok.ref {
				for _, v := range m {
					if !slices.Contains(self, v) {
						foreign = append(foreign, v)
					}
				}
			}
		}
		args := map[string]string{"program": strconv.Quote(tok.program), "rewardId": strconv.Quote(rewardID), "month": `"2021-04"`}
		member, admin := bearer(token(tok.ref)), bearer(frontend)
		type result struct {
			path          string
			member, staff string
		}
		results := make([]result, len(queries))
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					q := fmt.Sprintf(`{ member(externalRef: %q) %s }`, tok.ref, w.render(queries[i], args))
					_, _, mb := c.request(member, gqlBody(q, nil))
					_, _, sb := c.request(admin, gqlBody(q, nil))
					results[i] = result{path: queries[i].String(), member: mb, staff: sb}
				}
			}()
		}
		for i := range queries {
			next <- i
		}
		close(next)
		wg.Wait()
		leaks := 0
		for _, r := range results {
			for _, v := range foreign {
				if strings.Contains(r.member, v) {
					leaks++
					if leaks <= 10 {
						t.Errorf("%s's token reads another member's %q through Member.%s:\n%s", tok.ref, v, r.path, r.member)
					}
					break
				}
			}
			for _, code := range errorCodes(t, r.member) {
				if code != "FORBIDDEN" {
					t.Errorf("%s's token through Member.%s: error %s (only FORBIDDEN expected):\n%s", tok.ref, r.path, code, r.member)
				}
			}
			for _, v := range foreign {
				if strings.Contains(r.staff, v) {
					reachedOthers[tok.ref]++
					break
				}
			}
		}
		if leaks > 10 {
			t.Errorf("%s's token: %d paths of %d read another member's data", tok.ref, leaks, len(results))
		}
	}
	t.Logf("paths on which a frontend key reads another member's data (and the token may not): %v", reachedOthers)

	// Seed 004's "referred clients": client id, name, date the code was activated; the
	// client's own record is refused.
	const referees = `{ member(externalRef: "t2-referrer") { referral(program: "t2-referral") { referees { clientId name activatedAt member { email } } } } }`
	var staff, own struct {
		Data struct {
			Member struct {
				Referral struct {
					Referees []map[string]any `json:"referees"`
				} `json:"referral"`
			} `json:"member"`
		} `json:"data"`
		Errors []struct {
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	_, _, body := c.request(bearer(frontend), gqlBody(referees, nil))
	if err := json.Unmarshal([]byte(body), &staff); err != nil || len(staff.Errors) > 0 || len(staff.Data.Member.Referral.Referees) != 3 {
		t.Fatalf("the referrer's referees as a frontend: %s", body)
	}
	want := staff.Data.Member.Referral.Referees
	for i, r := range want {
		if r["clientId"] != fmt.Sprintf("t2-friend-%d", i+1) || r["name"] != fmt.Sprintf("Friend Company %d", i+1) || r["member"] == nil {
			t.Errorf("referee %d as a frontend: %v", i, r)
		}
		r["member"] = nil
	}
	_, _, body = c.request(bearer(token("t2-referrer")), gqlBody(referees, nil))
	if err := json.Unmarshal([]byte(body), &own); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(own.Data.Member.Referral.Referees)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("the referrer's referees:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	var paths []string
	for _, e := range own.Errors {
		paths = append(paths, fmt.Sprintf("%v %v", e.Extensions["code"], e.Path))
	}
	sort.Strings(paths)
	if w := "[FORBIDDEN [member referral referees 0 member email] FORBIDDEN [member referral referees 1 member email] FORBIDDEN [member referral referees 2 member email]]"; fmt.Sprint(paths) != w {
		t.Errorf("the referrer's errors: %v, want %s\n%s", paths, w, body)
	}
	for _, tok := range tokens[:2] {
		if reachedOthers[tok.ref] == 0 {
			t.Errorf("no path from %s reaches another member even for a frontend key: the walk proves nothing", tok.ref)
		}
	}
}

// errorCodes returns the extensions.code of every error of a response.
func errorCodes(t *testing.T, body string) []string {
	t.Helper()
	var resp struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("response is not JSON: %s", body)
	}
	out := make([]string, len(resp.Errors))
	for i, e := range resp.Errors {
		out[i] = e.Extensions.Code
	}
	return out
}

// memberMarks returns, per member externalRef, the values that identify its data: its global
// id, e-mail and phone, and the global ids of the objects its Member fields list (every field
// without required arguments whose type, or whose connection's nodes, have an id), read with
// the admin key.
func memberMarks(t *testing.T, c *core, w *walker) map[string][]string {
	t.Helper()
	var sel []string
	for _, f := range w.s.Types["Member"].Fields {
		if hasRequiredArgs(f) {
			continue
		}
		def := w.s.Types[f.Type.Name()]
		switch {
		case def.Kind != ast.Object:
		case def.Fields.ForName("id") != nil:
			sel = append(sel, f.Name+" { id }")
		case def.Fields.ForName("edges") != nil:
			node := w.s.Types[def.Fields.ForName("edges").Type.Name()].Fields.ForName("node")
			if node != nil && w.s.Types[node.Type.Name()].Fields.ForName("id") != nil {
				sel = append(sel, f.Name+"(first: 100) { edges { node { id } } }")
			}
		}
	}
	out := map[string][]string{}
	after := ""
	for {
		resp := c.gql(`query($after: String) { members(first: 100, after: $after) { edges { node { id externalRef email phone `+
			strings.Join(sel, " ")+` } } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		conn := data(t, resp, "members").(map[string]any)
		for _, e := range conn["edges"].([]any) {
			node := e.(map[string]any)["node"].(map[string]any)
			ref := node["externalRef"].(string)
			var marks []string
			collectIDs(node, &marks)
			for _, k := range []string{"email", "phone"} {
				if v, _ := node[k].(string); len(v) >= 5 {
					marks = append(marks, strconv.Quote(v))
				}
			}
			out[ref] = marks
		}
		pi := conn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			return out
		}
		after = pi["endCursor"].(string)
	}
}

// collectIDs appends every "id" value under v, quoted as it appears in a response.
func collectIDs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "id" {
				*out = append(*out, strconv.Quote(s))
			} else {
				collectIDs(e, out)
			}
		}
	case []any:
		for _, e := range x {
			collectIDs(e, out)
		}
	}
}

// walker finds the object graph reachable from Member in a schema.
type walker struct {
	s     *ast.Schema
	edges []step
	paths map[string]map[string][]step // from type, to type: the shortest path
}

// step is one field of a path; on names the object type when the field's type is abstract.
type step struct {
	from  string
	field *ast.FieldDefinition
	on    string
}

func (st step) to() string { return st.on }

type path []step

func (p path) String() string {
	parts := make([]string, len(p))
	for i, st := range p {
		parts[i] = st.field.Name
		if st.on != st.field.Type.Name() {
			parts[i] += "(on " + st.on + ")"
		}
	}
	return strings.Join(parts, ".")
}

func newWalker(s *ast.Schema) *walker {
	w := &walker{s: s, paths: map[string]map[string][]step{}}
	for typ := range w.from("Member") {
		w.edges = append(w.edges, w.out(typ)...)
	}
	sort.Slice(w.edges, func(i, j int) bool {
		a, b := w.edges[i], w.edges[j]
		return a.from+"."+a.field.Name+"."+a.on < b.from+"."+b.field.Name+"."+b.on
	})
	return w
}

// out returns the edges leaving an object type: one per field of object type, one per possible
// type of an abstract field.
func (w *walker) out(typ string) []step {
	var out []step
	for _, f := range w.s.Types[typ].Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		def := w.s.Types[f.Type.Name()]
		switch def.Kind {
		case ast.Object:
			out = append(out, step{from: typ, field: f, on: def.Name})
		case ast.Interface, ast.Union:
			for _, p := range w.s.GetPossibleTypes(def) {
				out = append(out, step{from: typ, field: f, on: p.Name})
			}
		}
	}
	return out
}

// from returns the shortest path from root to every object type reachable from it.
func (w *walker) from(root string) map[string][]step {
	if p, ok := w.paths[root]; ok {
		return p
	}
	p := map[string][]step{root: nil}
	queue := []string{root}
	for len(queue) > 0 {
		typ := queue[0]
		queue = queue[1:]
		for _, st := range w.out(typ) {
			if _, seen := p[st.to()]; !seen {
				p[st.to()] = append(slices.Clip(p[typ]), st)
				queue = append(queue, st.to())
			}
		}
	}
	w.paths[root] = p
	return p
}

// queries returns, for every edge S.f and every type T reachable after it, the path from Member
// to S, f, then to T, once each.
func (w *walker) queries() []path {
	seen := map[string]bool{}
	var out []path
	for _, e := range w.edges {
		head := append(slices.Clip(path(w.from("Member")[e.from])), e)
		for _, tail := range w.from(e.to()) {
			p := append(slices.Clip(head), tail...)
			if k := p.String(); !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// render writes a path as a selection below member(…), ending in every leaf field of its last
// type.
func (w *walker) render(p path, args map[string]string) string {
	typ := "Member"
	if len(p) > 0 {
		typ = p[len(p)-1].to()
	}
	inner := w.leaves(typ, args)
	for i := len(p) - 1; i >= 0; i-- {
		st := p[i]
		if st.on != st.field.Type.Name() {
			inner = "... on " + st.on + " " + inner
			inner = "{ " + inner + " }"
		}
		inner = "{ " + st.field.Name + w.args(st.field, args) + " " + inner + " }"
	}
	return inner
}

// leaves selects every scalar and enum field of a type.
func (w *walker) leaves(typ string, args map[string]string) string {
	sel := []string{"__typename"}
	for _, f := range w.s.Types[typ].Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		if k := w.s.Types[f.Type.Name()].Kind; k == ast.Scalar || k == ast.Enum {
			sel = append(sel, f.Name+w.args(f, args))
		}
	}
	return "{ " + strings.Join(sel, " ") + " }"
}

// args writes a field's required arguments: by name from args, else a value made up from the
// type.
func (w *walker) args(f *ast.FieldDefinition, args map[string]string) string {
	var out []string
	for _, a := range f.Arguments {
		if !a.Type.NonNull || a.DefaultValue != nil {
			continue
		}
		v, ok := args[a.Name]
		if !ok {
			v = w.madeUp(a.Type)
		}
		out = append(out, a.Name+": "+v)
	}
	if len(out) == 0 {
		return ""
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func (w *walker) madeUp(typ *ast.Type) string {
	if typ.Elem != nil {
		return "[" + w.madeUp(typ.Elem) + "]"
	}
	switch typ.NamedType {
	case "Int":
		return "1"
	case "Float":
		return "1.5"
	case "Boolean":
		return "true"
	case "Time":
		return `"2026-01-01T00:00:00Z"`
	case "Date":
		return `"2026-01-01"`
	}
	def := w.s.Types[typ.NamedType]
	switch {
	case def != nil && def.Kind == ast.Enum:
		return def.EnumValues[0].Name
	case def != nil && def.Kind == ast.InputObject:
		var fs []string
		for _, f := range def.Fields {
			if f.Type.NonNull && f.DefaultValue == nil {
				fs = append(fs, f.Name+": "+w.madeUp(f.Type))
			}
		}
		return "{" + strings.Join(fs, ", ") + "}"
	}
	return `"x"`
}

func hasRequiredArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}
