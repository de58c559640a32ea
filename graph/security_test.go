package graph_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
)

// secAPI is a handler over the package database with the key store, for one principal.
type secAPI struct {
	store *auth.Store
	r     *graph.Resolver
}

func newSecAPI(t *testing.T) *secAPI {
	bdb := dbtest.DB(t)
	clk := clock.NewManual(testNow)
	store := auth.NewStore(bdb, clk.Now)
	// As the server does: a revocation through the API must reach past the cache at once.
	store.CacheKeys(time.Hour)
	return &secAPI{store: store, r: &graph.Resolver{Ledger: ledger.New(bdb, clk.Now), MemberStore: members.NewStore(bdb, clk.Now),
		Auth: store, Log: hclog.NewNullLogger(), Now: clk.Now}}
}

func (s *secAPI) as(t *testing.T, p *auth.Principal) *api {
	return &api{t: t, h: as(graph.NewHandler(s.r, graph.HandlerOptions{}), p)}
}

func keyOf(id int64, name string, roles ...auth.Role) *auth.Principal {
	return &auth.Principal{Kind: auth.KindAPIKey, Roles: roles, KeyID: id, KeyName: name}
}

func dataOf(t *testing.T, body string, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	v = v.(map[string]any)["data"]
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %s in %s", p, body)
		}
		v = m[p]
	}
	return v
}

// TestAPIKeysOverGraphQL: an admin creates a key (shown once), lists it, revokes it (which takes
// effect at once, although the key was just verified and cached); other roles cannot; the
// viewer says who is calling.
func TestAPIKeysOverGraphQL(t *testing.T) {
	s := newSecAPI(t)
	admin := s.as(t, keyOf(1, "root", auth.RoleAdmin))
	body := admin.do(`mutation { createApiKey(input: {name: "shop-frontend", roles: [FRONTEND, INGEST]}) {
		key apiKey { id name prefix roles createdBy revokedAt } } }`, nil)
	key, _ := dataOf(t, body, "createApiKey", "key").(string)
	k, _ := dataOf(t, body, "createApiKey", "apiKey").(map[string]any)
	if !auth.ValidKey(key) || k == nil || !strings.HasPrefix(key, k["prefix"].(string)+"_") ||
		fmt.Sprint(k["roles"]) != "[FRONTEND INGEST]" || k["createdBy"] != "apikey:1:root" || k["revokedAt"] != nil {
		t.Fatalf("createApiKey: %s", body)
	}
	got, err := s.store.Authenticate(context.Background(), key)
	if err != nil || got.Name != "shop-frontend" {
		t.Fatalf("the created key does not authenticate: %v %v", got, err)
	}
	list := admin.do(`{ apiKeys { edges { node { name prefix } } } }`, nil)
	if !strings.Contains(list, `"name":"shop-frontend"`) || strings.Contains(list, key) {
		t.Errorf("apiKeys: expected the key listed without its secret: %s", list)
	}
	id := k["id"].(string)
	admin.expect(`mutation($id: ID!) { revokeApiKey(id: $id) { name revokedAt } }`, map[string]any{"id": id},
		`{"data":{"revokeApiKey":{"name":"shop-frontend","revokedAt":"2026-03-01T10:00:00Z"}}}`)
	if _, err := s.store.Authenticate(context.Background(), key); err == nil {
		t.Errorf("a revoked key still authenticates")
	}
	if !strings.Contains(admin.do(`{ apiKeys { edges { node { name } } } }`, nil), `"edges":[]`) {
		t.Errorf("revoked keys are listed without includeRevoked")
	}
	admin.expect(`mutation { revokeApiKey(id: "QXBpS2V5Ojk5OTk5") { name } }`, nil,
		`{"errors":[{"message":"auth: no such API key","path":["revokeApiKey"],"locations":[{"line":1,"column":12}],"extensions":{"code":"API_KEY_NOT_FOUND"}}],"data":null}`)
	admin.expect(`mutation { createApiKey(input: {name: "m", roles: [MEMBER]}) { key } }`, nil,
		`{"errors":[{"message":"auth: invalid input: the member role comes only from a member token","path":["createApiKey"],"locations":[{"line":1,"column":12}],"extensions":{"code":"INVALID_INPUT"}}],"data":null}`)

	frontend := s.as(t, keyOf(2, "web", auth.RoleFrontend))
	frontend.expect(`mutation { createApiKey(input: {name: "x", roles: [ADMIN]}) { key } }`, nil,
		`{"errors":[{"message":"your roles (frontend) may not run Mutation.createApiKey","path":["createApiKey"],"locations":[{"line":1,"column":12}],"extensions":{"code":"FORBIDDEN"}}],"data":null}`)
	frontend.expect(`{ viewer { kind roles apiKeyId apiKeyName memberRef } }`, nil,
		fmt.Sprintf(`{"data":{"viewer":{"kind":"API_KEY","roles":["FRONTEND"],"apiKeyId":%q,"apiKeyName":"web","memberRef":null}}}`, gid("ApiKey", 2)))
	s.as(t, nil).expect(`{ viewer { kind roles } }`, nil, `{"data":{"viewer":{"kind":"ANONYMOUS","roles":[]}}}`)
	s.as(t, &auth.Principal{Kind: auth.KindToken, Roles: []auth.Role{auth.RoleMember}, MemberRef: "anna"}).expect(
		`{ viewer { kind roles memberRef } }`, nil, `{"data":{"viewer":{"kind":"MEMBER_TOKEN","roles":["MEMBER"],"memberRef":"anna"}}}`)
}

// TestAuditLog: admin and marketing mutations are logged with who, what, when, the digest of
// the arguments and the outcome; refused attempts at admin operations are logged as denied;
// other roles' mutations are not logged; only admins read the log.
func TestAuditLog(t *testing.T) {
	s := newSecAPI(t)
	ctx := context.Background()
	m, _, err := s.r.MemberStore.Upsert(ctx, members.UpsertInput{ExternalRef: "audit-1"})
	if err != nil {
		t.Fatal(err)
	}
	code := fmt.Sprintf("audit%d", seq.Add(1))
	admin := s.as(t, keyOf(11, "ops", auth.RoleAdmin))
	marketing := s.as(t, keyOf(12, "promo", auth.RoleMarketing))
	frontend := s.as(t, keyOf(13, "web", auth.RoleFrontend))

	admin.do(`mutation($c: String!) { createProgram(input: {code: $c, name: "Audit"}) { code } }`, map[string]any{"c": code})
	vars := map[string]any{"m": gid("Member", m.ID), "p": code, "k": "audit-k1"}
	const adjust = `mutation($m: ID!, $p: String!, $k: String!) { adjustPoints(memberId: $m, program: $p, amount: 0, reason: "oops", idempotencyKey: $k) { replayed } }`
	admin.do(adjust, vars)                                                                     // fails: INVALID_AMOUNT
	marketing.do(adjust, vars)                                                                 // refused
	frontend.do(`mutation { upsertMember(input: {externalRef: "audit-2"}) { created } }`, nil) // not audited

	body := admin.do(`{ auditLog(first: 10, filter: {actor: "apikey:11:ops"}) { edges { node { actor role operation inputDigest outcome errorCode at } } } }`, nil)
	edges, _ := dataOf(t, body, "auditLog", "edges").([]any)
	if len(edges) != 2 {
		t.Fatalf("admin's entries: expected 2, got %s", body)
	}
	first := edges[0].(map[string]any)["node"].(map[string]any)
	wantDigest := auth.Digest(map[string]any{"memberId": vars["m"], "program": code, "amount": 0, "reason": "oops", "idempotencyKey": "audit-k1"})
	if first["operation"] != "adjustPoints" || first["outcome"] != "ERROR" || first["errorCode"] != "INVALID_AMOUNT" ||
		first["role"] != "admin" || first["inputDigest"] != wantDigest || first["at"] != "2026-03-01T10:00:00Z" {
		t.Errorf("newest admin entry: expected adjustPoints ERROR INVALID_AMOUNT with digest %s, got %v", wantDigest, first)
	}
	second := edges[1].(map[string]any)["node"].(map[string]any)
	if second["operation"] != "createProgram" || second["outcome"] != "OK" || second["errorCode"] != nil {
		t.Errorf("older admin entry: expected createProgram OK, got %v", second)
	}
	admin.expect(`{ auditLog(filter: {actor: "apikey:12:promo"}) { edges { node { role operation outcome errorCode } } } }`, nil,
		`{"data":{"auditLog":{"edges":[{"node":{"role":"marketing","operation":"adjustPoints","outcome":"DENIED","errorCode":"FORBIDDEN"}}]}}}`)
	admin.expect(`{ auditLog(filter: {actor: "apikey:13:web"}) { edges { node { operation } } } }`, nil,
		`{"data":{"auditLog":{"edges":[]}}}`)
	page := admin.do(`{ auditLog(first: 1, filter: {actor: "apikey:11:ops"}) { pageInfo { hasNextPage endCursor } } }`, nil)
	after := dataOf(t, page, "auditLog", "pageInfo", "endCursor")
	admin.expect(`query($a: String) { auditLog(first: 5, after: $a, filter: {actor: "apikey:11:ops", outcome: OK}) { edges { node { operation } } } }`,
		map[string]any{"a": after}, `{"data":{"auditLog":{"edges":[{"node":{"operation":"createProgram"}}]}}}`)
	marketing.expect(`{ auditLog { edges { node { id } } } }`, nil,
		`{"errors":[{"message":"your roles (marketing) may not run Query.auditLog","path":["auditLog"],"locations":[{"line":1,"column":3}],"extensions":{"code":"FORBIDDEN"}}],"data":null}`)
}

// TestDigestIsCanonical: the digest is the SHA-256 of the JSON with sorted keys and no spaces,
// whatever the key order.
func TestDigestIsCanonical(t *testing.T) {
	a := auth.Digest(map[string]any{"b": []any{1, "x<y"}, "a": map[string]any{"z": true, "y": nil}})
	b := auth.Digest(map[string]any{"a": map[string]any{"y": nil, "z": true}, "b": []any{json.Number("1"), "x<y"}})
	sum := sha256.Sum256([]byte(`{"a":{"y":null,"z":true},"b":[1,"x<y"]}`))
	if a != b || a != hex.EncodeToString(sum[:]) {
		t.Errorf("digests differ: %s %s, want %s", a, b, hex.EncodeToString(sum[:]))
	}
}
