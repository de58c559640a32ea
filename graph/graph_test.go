package graph_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// testNow is the fixed time of every test here.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type api struct {
	t       *testing.T
	h       http.Handler
	led     *ledger.Ledger
	mem     *members.Store
	program *ledger.Program
}

var seq atomic.Int64

// newAPI returns a handler over the package database and a fresh programme.
func newAPI(t *testing.T) *api {
	t.Helper()
	bdb := dbtest.DB(t)
	clk := clock.NewManual(testNow)
	led := ledger.New(bdb, clk.Now)
	mem := members.NewStore(bdb, clk.Now)
	r := &graph.Resolver{Ledger: led, MemberStore: mem, Log: hclog.NewNullLogger(), Now: clk.Now}
	p, err := led.CreateProgram(context.Background(), fmt.Sprintf("p%d", seq.Add(1)), "Test programme", "")
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, h: asAdmin(graph.NewHandler(r, graph.HandlerOptions{Introspection: true})), led: led, mem: mem, program: p}
}

// do posts a query and returns the response body, compacted.
func (a *api) do(query string, vars map[string]any) string {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	var buf bytes.Buffer
	if err := json.Compact(&buf, rec.Body.Bytes()); err != nil {
		a.t.Fatalf("response is not JSON: %q", rec.Body.String())
	}
	return buf.String()
}

// expect posts a query and fails unless the response equals want (JSON, compared exactly
// after compaction).
func (a *api) expect(query string, vars map[string]any, want string) {
	a.t.Helper()
	got := canonical(a.t, a.do(query, vars))
	if w := canonical(a.t, want); got != w {
		a.t.Fatalf("query %s\n got: %s\nwant: %s", query, got, w)
	}
}

// canonical re-encodes a JSON document so that equal values compare equal as strings (object
// keys sorted, one escaping style).
func canonical(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", doc, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func gid(typ string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", typ, id)))
}

func cur(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("c:%d", id)))
}

func (a *api) member(ref string) *members.Member {
	a.t.Helper()
	m, _, err := a.mem.Upsert(context.Background(), members.UpsertInput{ExternalRef: ref})
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

func TestUpsertMember(t *testing.T) {
	a := newAPI(t)
	const q = `mutation($in: UpsertMemberInput!) { upsertMember(input: $in) {
		created member { externalRef name email birthDate region status attributes } } }`
	a.expect(q, map[string]any{"in": map[string]any{
		"externalRef": "upsert-1", "name": "Anna", "email": "anna@example.com", "birthDate": "1990-05-17",
		"region": "Moscow", "attributes": map[string]any{"plan": "Drive 5", "services": []string{"internet"}},
	}}, `{"data":{"upsertMember":{"created":true,"member":{"externalRef":"upsert-1","name":"Anna",
		"email":"anna@example.com","birthDate":"1990-05-17","region":"Moscow","status":"ACTIVE",
		"attributes":{"plan":"Drive 5","services":["internet"]}}}}}`)
	// Omitted fields keep their value; attributes merge, null removes a key.
	a.expect(q, map[string]any{"in": map[string]any{
		"externalRef": "upsert-1", "status": "BLOCKED", "attributes": map[string]any{"plan": nil, "tv": true},
	}}, `{"data":{"upsertMember":{"created":false,"member":{"externalRef":"upsert-1","name":"Anna",
		"email":"anna@example.com","birthDate":"1990-05-17","region":"Moscow","status":"BLOCKED",
		"attributes":{"services":["internet"],"tv":true}}}}}`)
}

// TestMemberRoundTrip writes every field of a member through upsertMember and reads them back,
// exactly, through each way a member is read: by external reference, by id, as a node and in
// the members list.
func TestMemberRoundTrip(t *testing.T) {
	a := newAPI(t)
	const fields = `id externalRef name email phone birthDate region status attributes createdAt updatedAt`
	in := map[string]any{
		"externalRef": "round-trip-1", "name": "Анна Петрова", "email": "anna@example.com", "phone": "+7 900 000-00-01",
		"birthDate": "1990-03-15", "region": "Moscow", "status": "BLOCKED",
		"attributes": map[string]any{"plan": "Drive 5", "services": []any{"internet", "tv"}, "since": 2019, "vip": true},
	}
	up := a.do(`mutation($in: UpsertMemberInput!) { upsertMember(input: $in) { member { `+fields+` } } }`, map[string]any{"in": in})
	var got struct {
		Data struct {
			UpsertMember struct{ Member map[string]any }
		}
	}
	if err := json.Unmarshal([]byte(up), &got); err != nil || got.Data.UpsertMember.Member == nil {
		t.Fatalf("upsertMember: %s", up)
	}
	written := got.Data.UpsertMember.Member
	id, _ := written["id"].(string)
	want := map[string]any{"id": id, "createdAt": "2026-03-01T10:00:00Z", "updatedAt": "2026-03-01T10:00:00Z"}
	for k, v := range in {
		want[k] = v
	}
	wantJSON, _ := json.Marshal(want)
	if w := canonical(t, string(wantJSON)); canonical(t, mustJSON(t, written)) != w {
		t.Fatalf("upsertMember wrote\n got: %s\nwant: %s", mustJSON(t, written), w)
	}
	m := string(wantJSON)
	a.expect(`{ member(externalRef: "round-trip-1") { `+fields+` } }`, nil, `{"data":{"member":`+m+`}}`)
	a.expect(`query($id: ID!) { member(id: $id) { `+fields+` } }`, map[string]any{"id": id}, `{"data":{"member":`+m+`}}`)
	a.expect(`query($id: ID!) { node(id: $id) { ... on Member { `+fields+` } } }`, map[string]any{"id": id}, `{"data":{"node":`+m+`}}`)
	a.expect(`{ members(filter: {search: "round-trip-1"}) { edges { node { `+fields+` } } } }`, nil,
		`{"data":{"members":{"edges":[{"node":`+m+`}]}}}`)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpsertMemberRejectsBadInput(t *testing.T) {
	a := newAPI(t)
	const q = `mutation($in: UpsertMemberInput!) { upsertMember(input: $in) { created } }`
	a.expect(q, map[string]any{"in": map[string]any{"externalRef": "x", "email": "not-an-address"}},
		`{"errors":[{"message":"invalid member: email \"not-an-address\" is not an e-mail address","path":["upsertMember"],"locations":[{"line":1,"column":37}],
		"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)
	a.expect(q, map[string]any{"in": map[string]any{"externalRef": "x", "birthDate": "17.05.1990"}},
		`{"errors":[{"message":"invalid scalar value: Date \"17.05.1990\" is not a valid YYYY-MM-DD date","path":["upsertMember","input","birthDate"],
		"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)
	a.expect(q, map[string]any{"in": map[string]any{"externalRef": ""}},
		`{"errors":[{"message":"invalid member: externalRef must be 1 to 200 bytes","path":["upsertMember"],"locations":[{"line":1,"column":37}],
		"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)
}

func TestMemberLookup(t *testing.T) {
	a := newAPI(t)
	m := a.member("lookup-1")
	id := gid("Member", m.ID)
	want := fmt.Sprintf(`{"data":{"member":{"id":%q,"externalRef":"lookup-1"}}}`, id)
	a.expect(`query($id: ID) { member(id: $id) { id externalRef } }`, map[string]any{"id": id}, want)
	a.expect(`{ member(externalRef: "lookup-1") { id externalRef } }`, nil, want)
	a.expect(`{ member(externalRef: "nobody") { id } }`, nil, `{"data":{"member":null}}`)
	a.expect(`{ member { id } }`, nil,
		`{"errors":[{"message":"member takes exactly one of id and externalRef","path":["member"],"locations":[{"line":1,"column":3}],"extensions":{"code":"INVALID_INPUT"}}],"data":{"member":null}}`)
	a.expect(`{ member(id: "garbage") { id } }`, nil,
		`{"errors":[{"message":"\"garbage\" is not a valid Member id","path":["member"],"locations":[{"line":1,"column":3}],"extensions":{"code":"INVALID_ID"}}],"data":{"member":null}}`)
	pid := gid("Program", a.program.ID)
	a.expect(`query($id: ID!) { node(id: $id) { __typename ... on Program { code } } }`, map[string]any{"id": pid},
		fmt.Sprintf(`{"data":{"node":{"__typename":"Program","code":%q}}}`, a.program.Code))
	a.expect(`query($id: ID!) { node(id: $id) { __typename ... on Member { externalRef } } }`, map[string]any{"id": id},
		`{"data":{"node":{"__typename":"Member","externalRef":"lookup-1"}}}`)
}

func TestAdjustPointsAndHistory(t *testing.T) {
	a := newAPI(t)
	m := a.member("adjust-1")
	const adjust = `mutation($m: ID!, $p: String!, $n: Int!, $k: String!) {
		adjustPoints(memberId: $m, program: $p, amount: $n, reason: "test", idempotencyKey: $k) {
			replayed transaction { kind points reason idempotencyKey } balance { available pending lifetimeEarned nextExpiration { amount } } } }`
	vars := func(n int, k string) map[string]any {
		return map[string]any{"m": gid("Member", m.ID), "p": a.program.Code, "n": n, "k": k}
	}
	a.expect(adjust, vars(500, "k1"), `{"data":{"adjustPoints":{"replayed":false,
		"transaction":{"kind":"ADJUST","points":500,"reason":"test","idempotencyKey":"k1"},
		"balance":{"available":500,"pending":0,"lifetimeEarned":500,"nextExpiration":null}}}}`)
	a.expect(adjust, vars(500, "k1"), `{"data":{"adjustPoints":{"replayed":true,
		"transaction":{"kind":"ADJUST","points":500,"reason":"test","idempotencyKey":"k1"},
		"balance":{"available":500,"pending":0,"lifetimeEarned":500,"nextExpiration":null}}}}`)
	a.expect(adjust, vars(-200, "k2"), `{"data":{"adjustPoints":{"replayed":false,
		"transaction":{"kind":"ADJUST","points":-200,"reason":"test","idempotencyKey":"k2"},
		"balance":{"available":300,"pending":0,"lifetimeEarned":500,"nextExpiration":null}}}}`)
	a.expect(adjust, vars(-301, "k3"),
		`{"errors":[{"message":"insufficient points","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"INSUFFICIENT_POINTS"}}],"data":null}`)
	a.expect(adjust, vars(7, "k1"),
		`{"errors":[{"message":"idempotency key reused with different input","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"IDEMPOTENCY_CONFLICT"}}],"data":null}`)
	a.expect(adjust, vars(0, "k4"),
		`{"errors":[{"message":"invalid amount: adjustment must be non-zero and at most 1000000000000 in size","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"INVALID_AMOUNT"}}],"data":null}`)
	a.expect(adjust, vars(5, "@sneaky"),
		`{"errors":[{"message":"invalid idempotency key: keys starting with \"@\" are reserved","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"INVALID_IDEMPOTENCY_KEY"}}],"data":null}`)
	a.expect(adjust, map[string]any{"m": gid("Member", m.ID), "p": "no-such-programme", "n": 5, "k": "k5"},
		`{"errors":[{"message":"program not found","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"PROGRAM_NOT_FOUND"}}],"data":null}`)
	a.expect(adjust, map[string]any{"m": gid("Member", 999999999), "p": a.program.Code, "n": 5, "k": "k6"},
		`{"errors":[{"message":"member not found","path":["adjustPoints"],"locations":[{"line":2,"column":3}],"extensions":{"code":"MEMBER_NOT_FOUND"}}],"data":null}`)

	// History, newest first, paginated.
	ts, _, err := a.led.Transactions(context.Background(), ledger.TransactionPage{MemberID: m.ID, Limit: 10})
	if err != nil || len(ts) != 2 {
		t.Fatalf("transactions: %v %d", err, len(ts))
	}
	const hist = `query($m: ID!, $after: String) { member(id: $m) {
		balances { program { code } available }
		transactions(first: 1, after: $after) { edges { cursor node { points kind } } pageInfo { hasNextPage endCursor } } } }`
	a.expect(hist, map[string]any{"m": gid("Member", m.ID)}, fmt.Sprintf(`{"data":{"member":{
		"balances":[{"program":{"code":%q},"available":300}],
		"transactions":{"edges":[{"cursor":%q,"node":{"points":-200,"kind":"ADJUST"}}],"pageInfo":{"hasNextPage":true,"endCursor":%q}}}}}`,
		a.program.Code, cur(ts[0].ID), cur(ts[0].ID)))
	a.expect(hist, map[string]any{"m": gid("Member", m.ID), "after": cur(ts[0].ID)}, fmt.Sprintf(`{"data":{"member":{
		"balances":[{"program":{"code":%q},"available":300}],
		"transactions":{"edges":[{"cursor":%q,"node":{"points":500,"kind":"ADJUST"}}],"pageInfo":{"hasNextPage":false,"endCursor":%q}}}}}`,
		a.program.Code, cur(ts[1].ID), cur(ts[1].ID)))
	a.expect(`query($m: ID!) { member(id: $m) { transactions(first: 1000) { pageInfo { hasNextPage } } } }`,
		map[string]any{"m": gid("Member", m.ID)},
		`{"errors":[{"message":"first must be between 0 and 100","path":["member","transactions"],"locations":[{"line":1,"column":35}],"extensions":{"code":"INVALID_INPUT"}}],"data":{"member":null}}`)
}

func TestReverseTransaction(t *testing.T) {
	a := newAPI(t)
	m := a.member("reverse-1")
	ctx := context.Background()
	expires := testNow.AddDate(1, 0, 0)
	if _, err := a.led.Credit(ctx, ledger.CreditInput{ProgramID: a.program.ID, MemberID: m.ID, Amount: 100, IdempotencyKey: "c1", ExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	spend, err := a.led.Debit(ctx, ledger.DebitInput{ProgramID: a.program.ID, MemberID: m.ID, Amount: 60, IdempotencyKey: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	const rev = `mutation($id: ID!) { reverseTransaction(id: $id, reason: "customer complaint") {
		transaction { kind points reason reverses { kind points reversedBy { kind } } }
		balance { available nextExpiration { amount at } } } }`
	a.expect(rev, map[string]any{"id": gid("Transaction", spend.ID)}, `{"data":{"reverseTransaction":{
		"transaction":{"kind":"REVERSE","points":60,"reason":"customer complaint","reverses":{"kind":"REDEEM","points":-60,"reversedBy":{"kind":"REVERSE"}}},
		"balance":{"available":100,"nextExpiration":{"amount":100,"at":"2027-03-01T10:00:00Z"}}}}}`)
	a.expect(rev, map[string]any{"id": gid("Transaction", spend.ID)},
		`{"errors":[{"message":"transaction already reversed","path":["reverseTransaction"],"locations":[{"line":1,"column":22}],"extensions":{"code":"ALREADY_REVERSED"}}],"data":null}`)
	a.expect(rev, map[string]any{"id": gid("Member", m.ID)},
		fmt.Sprintf(`{"errors":[{"message":"\"%s\" is not a valid Transaction id","path":["reverseTransaction"],"locations":[{"line":1,"column":22}],"extensions":{"code":"INVALID_ID"}}],"data":null}`, gid("Member", m.ID)))
	a.expect(rev, map[string]any{"id": gid("Transaction", 999999999)},
		`{"errors":[{"message":"transaction not found","path":["reverseTransaction"],"locations":[{"line":1,"column":22}],"extensions":{"code":"TRANSACTION_NOT_FOUND"}}],"data":null}`)
}

func TestMembersConnection(t *testing.T) {
	a := newAPI(t)
	prefix := fmt.Sprintf("conn-%d-", time.Now().UnixNano())
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, a.member(fmt.Sprintf("%s%d", prefix, i)).ID)
	}
	const q = `query($s: String, $after: String) { members(filter: {search: $s}, first: 2, after: $after) {
		edges { cursor node { externalRef } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
	a.expect(q, map[string]any{"s": prefix}, fmt.Sprintf(`{"data":{"members":{"edges":[
		{"cursor":%q,"node":{"externalRef":"%s0"}},{"cursor":%q,"node":{"externalRef":"%s1"}}],
		"pageInfo":{"hasNextPage":true,"hasPreviousPage":false,"startCursor":%q,"endCursor":%q}}}}`,
		cur(ids[0]), prefix, cur(ids[1]), prefix, cur(ids[0]), cur(ids[1])))
	a.expect(q, map[string]any{"s": prefix, "after": cur(ids[1])}, fmt.Sprintf(`{"data":{"members":{"edges":[
		{"cursor":%q,"node":{"externalRef":"%s2"}}],
		"pageInfo":{"hasNextPage":false,"hasPreviousPage":true,"startCursor":%q,"endCursor":%q}}}}`,
		cur(ids[2]), prefix, cur(ids[2]), cur(ids[2])))
	a.expect(q, map[string]any{"s": prefix, "after": "bogus!"},
		`{"errors":[{"message":"after is not a cursor returned by this connection","path":["members"],"locations":[{"line":1,"column":37}],"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)
}

// TestBalancesInAndOutOfLists: a member's balances and their programmes read the same whether
// the member is an element of a list (dataloader) or alone (a look-up of its own), for members
// with balances in two programmes, in one, and in none; programmes read again (from the
// resolver's cache) stay the same.
func TestBalancesInAndOutOfLists(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	other, err := a.led.CreateProgram(ctx, fmt.Sprintf("p%d", seq.Add(1)), "Other programme", "")
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("bal-%d-", time.Now().UnixNano())
	credit := func(m *members.Member, p *ledger.Program, n int64) {
		t.Helper()
		if _, err := a.led.Credit(ctx, ledger.CreditInput{ProgramID: p.ID, MemberID: m.ID, Amount: n, IdempotencyKey: fmt.Sprint(m.ID, p.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	m0, m1 := a.member(prefix+"0"), a.member(prefix+"1")
	a.member(prefix + "2")
	credit(m0, a.program, 10)
	credit(m0, other, 20)
	credit(m1, other, 30)
	balances := []string{
		fmt.Sprintf(`[{"program":{"code":%q,"name":"Test programme"},"available":10},{"program":{"code":%q,"name":"Other programme"},"available":20}]`, a.program.Code, other.Code),
		fmt.Sprintf(`[{"program":{"code":%q,"name":"Other programme"},"available":30}]`, other.Code),
		`[]`,
	}
	const sel = `externalRef balances { program { code name } available }`
	var edges []string
	for i, b := range balances {
		edges = append(edges, fmt.Sprintf(`{"node":{"externalRef":"%s%d","balances":%s}}`, prefix, i, b))
	}
	for range 2 { // the second time the programmes come from the cache
		a.expect(`query($s: String) { members(filter: {search: $s}) { edges { node { `+sel+` } } } }`, map[string]any{"s": prefix},
			`{"data":{"members":{"edges":[`+strings.Join(edges, ",")+`]}}}`)
		for i, b := range balances {
			a.expect(`query($r: String!) { member(externalRef: $r) { `+sel+` } }`, map[string]any{"r": fmt.Sprint(prefix, i)},
				fmt.Sprintf(`{"data":{"member":{"externalRef":"%s%d","balances":%s}}}`, prefix, i, b))
		}
	}
}

func TestProgramsQuery(t *testing.T) {
	a := newAPI(t)
	got := a.do(`{ programs { code name } }`, nil)
	if !strings.Contains(got, fmt.Sprintf(`{"code":%q,"name":"Test programme"}`, a.program.Code)) {
		t.Fatalf("programs: %s", got)
	}
	a.expect(`mutation { createProgram(input: {code: "Bad Code", name: "x"}) { code } }`, nil,
		"{\"errors\":[{\"message\":\"invalid program: code must match ^[a-z0-9][a-z0-9_-]{0,62}$\",\"path\":[\"createProgram\"],\"locations\":[{\"line\":1,\"column\":12}],\"extensions\":{\"code\":\"INVALID_INPUT\"}}],\"data\":null}")
	a.expect(fmt.Sprintf(`mutation { createProgram(input: {code: %q, name: "x"}) { code } }`, a.program.Code), nil,
		`{"errors":[{"message":"program already exists","path":["createProgram"],"locations":[{"line":1,"column":12}],"extensions":{"code":"ALREADY_EXISTS"}}],"data":null}`)
}

func TestRequestErrors(t *testing.T) {
	a := newAPI(t)
	a.expect(`{ programs { code `, nil,
		`{"errors":[{"message":"Expected Name, found <EOF>","locations":[{"line":1,"column":19}],"extensions":{"code":"GRAPHQL_PARSE_FAILED"}}]}`)
	a.expect(`{ programs { nope } }`, nil,
		`{"errors":[{"message":"Cannot query field \"nope\" on type \"Program\".","locations":[{"line":1,"column":14}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`)
}

// TestPanicBecomesInternalError checks that a panicking resolver yields a generic error and the
// handler keeps serving.
func TestPanicBecomesInternalError(t *testing.T) {
	r := &graph.Resolver{Log: hclog.NewNullLogger()} // no ledger: programs will panic
	h := asAdmin(graph.NewHandler(r, graph.HandlerOptions{}))
	a := &api{t: t, h: h}
	for i := 0; i < 2; i++ {
		a.expect(`{ programs { code } }`, nil,
			`{"errors":[{"message":"internal error","path":["programs"],"extensions":{"code":"INTERNAL"}}],"data":null}`)
	}
}
