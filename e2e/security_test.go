package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/promogate/promogate/db"
)

// request posts body to /graphql with the given headers and returns the status, the headers
// and the body.
func (c *core) request(headers map[string]string, body []byte) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func gqlBody(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// TestGraphQLHTTPAudit runs the graphql-http audit suite (GraphQL-over-HTTP conformance, the
// npm package pinned in e2e/package.json) against the real server and requires no error and no
// warning.
func TestGraphQLHTTPAudit(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; .ci/run installs it when e2e/package.json exists")
		}
		t.Skip("node is not installed")
	}
	dir := filepath.Join(repoRoot(), "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-http", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--prefix", dir, "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	c := startCore(t, newDatabase(t), "--introspection")
	cmd := exec.Command(node, filepath.Join(dir, "graphql_http_audit.mjs"), c.URL+"/graphql")
	cmd.Env = append(os.Environ(), "AUDIT_AUTHORIZATION=Bearer "+adminKey)
	out, err := cmd.CombinedOutput()
	t.Logf("graphql-http audit:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var counts struct{ OK, Warn, Notice, Error int }
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &counts); jerr != nil {
		t.Fatalf("no counts from the audit (%v): %s", err, out)
	}
	if err != nil || counts.Error != 0 || counts.Warn != 0 || counts.OK == 0 {
		t.Errorf("audit: expected only ok results, got ok %d, warn %d, notice %d, error %d (%v)",
			counts.OK, counts.Warn, counts.Notice, counts.Error, err)
	}
	// The same server still answers normally afterwards.
	if got := compact(c.gql(`{ viewer { kind } }`, nil)); got != `{"data":{"viewer":{"kind":"API_KEY"}}}` {
		t.Errorf("after the audit: %s", got)
	}
}

func errorCodeOf(t *testing.T, body string) string {
	t.Helper()
	var resp struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Errors) == 0 {
		t.Fatalf("expected a GraphQL error response, got %s", body)
	}
	return resp.Errors[0].Extensions.Code
}

// TestHostileRequestsRefused: a depth bomb, an alias bomb, an expensive connection query, a
// token flood and an oversized body are each refused with their own code by the real server,
// which goes on serving; a caller over its rate gets 429 while others are served.
func TestHostileRequestsRefused(t *testing.T) {
	c := startCore(t, newDatabase(t))
	deep := `{ member(externalRef: "x") {` + strings.Repeat(` transactions { edges { node { member {`, 10) + ` id` +
		strings.Repeat(` } } } }`, 10) + ` } }`
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 500 {
		fmt.Fprintf(&aliases, " a%d: programs { code }", i)
	}
	aliases.WriteString(" }")
	huge := bytes.Repeat([]byte(" "), 2<<20)
	huge = append(append([]byte(`{"query":"{ __typename }"`), huge...), '}')
	cases := []struct {
		name   string
		body   []byte
		accept string
		status int
		code   string
	}{
		{"depth bomb", gqlBody(deep, nil), "application/json", 200, "QUERY_TOO_DEEP"},
		{"depth bomb (graphql-response+json)", gqlBody(deep, nil), "application/graphql-response+json", 400, "QUERY_TOO_DEEP"},
		{"alias bomb", gqlBody(aliases.String(), nil), "", 200, "TOO_MANY_ALIASES"},
		{"connection cost", gqlBody(`{ members(first: 100) { edges { node { transactions(first: 100) { edges { node { id } } } } } } }`, nil), "", 200, "QUERY_TOO_COMPLEX"},
		{"token flood", gqlBody("{"+strings.Repeat(" __typename", 40000)+" }", nil), "", 200, "TOO_MANY_TOKENS"},
		{"oversized body", huge, "", 413, "REQUEST_TOO_LARGE"},
	}
	for _, tc := range cases {
		headers := bearer(adminKey)
		if tc.accept != "" {
			headers["Accept"] = tc.accept
		}
		start := time.Now()
		status, _, body := c.request(headers, tc.body)
		if status != tc.status || errorCodeOf(t, body) != tc.code {
			t.Errorf("%s: expected %d %s, got %d %.300s", tc.name, tc.status, tc.code, status, body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: refusing took %s", tc.name, d)
		}
		if got := compact(c.gql(`{ programs { code } }`, nil)); got != `{"data":{"programs":[]}}` {
			t.Fatalf("after the %s the server answers %s", tc.name, got)
		}
	}

	limited := startCore(t, newDatabase(t), "--rate-limit", "1", "--rate-burst", "3")
	var statuses []int
	var retryAfter string
	for range 5 {
		status, h, _ := limited.request(bearer(adminKey), gqlBody(`{ __typename }`, nil))
		statuses = append(statuses, status)
		if status == 429 {
			retryAfter = h.Get("Retry-After")
		}
	}
	if fmt.Sprint(statuses[:3]) != "[200 200 200]" || statuses[4] != 429 || retryAfter == "" {
		t.Errorf("rate 1/s, burst 3: expected 200 200 200 then 429 with Retry-After, got %v (Retry-After %q)", statuses, retryAfter)
	}
	if status, _, body := limited.request(nil, gqlBody(`{ viewer { kind } }`, nil)); status != 200 {
		t.Errorf("another caller is limited too: %d %s", status, body)
	}
}

var keyPattern = regexp.MustCompile(`pgk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`)

// TestAPIKeysAndAuditLog: keys made by the CLI and by the mutation work with their roles, are
// stored hashed, and stop working when revoked (401 UNAUTHENTICATED): at once when revoked
// through the API, within --api-key-cache-ttl when revoked with the CLI; every admin mutation
// is in the audit log.
func TestAPIKeysAndAuditLog(t *testing.T) {
	dbURL := newDatabase(t)
	const cacheTTL = time.Second
	c := startCore(t, dbURL, "--api-key-cache-ttl", cacheTTL.String())
	bin := build(t, "server", "promogate")

	cli := exec.Command(bin, "apikey", "create", "--role", "ingest", "--role", "frontend", "--name", "ci")
	cli.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	var stdout, stderr bytes.Buffer
	cli.Stdout, cli.Stderr = &stdout, &stderr
	if err := cli.Run(); err != nil {
		t.Fatalf("apikey create: %v\n%s", err, stderr.String())
	}
	ciKey := strings.TrimSpace(stdout.String())
	if !keyPattern.MatchString(ciKey) || ciKey != keyPattern.FindString(ciKey) {
		t.Fatalf("apikey create printed %q, expected the key alone", ciKey)
	}
	status, _, body := c.request(bearer(ciKey), gqlBody(`{ viewer { kind roles apiKeyName } }`, nil))
	if status != 200 || compactJSON(body) != `{"data":{"viewer":{"apiKeyName":"ci","kind":"API_KEY","roles":["FRONTEND","INGEST"]}}}` {
		t.Errorf("CLI key: %d %s", status, body)
	}
	if _, _, body := c.request(bearer(ciKey), gqlBody(`mutation { createProgram(input: {code: "x", name: "x"}) { code } }`, nil)); errorCodeOf(t, body) != "FORBIDDEN" {
		t.Errorf("an ingest+frontend key creating a programme: expected FORBIDDEN, got %s", body)
	}

	resp := c.gql(`mutation { createApiKey(input: {name: "marketing-tool", roles: [MARKETING]}) { key apiKey { id prefix } } }`, nil)
	key, _ := data(t, resp, "createApiKey", "key").(string)
	id, _ := data(t, resp, "createApiKey", "apiKey", "id").(string)
	if !keyPattern.MatchString(key) {
		t.Fatalf("createApiKey: %s", compact(resp))
	}
	if status, _, body := c.request(bearer(key), gqlBody(`{ viewer { roles } }`, nil)); status != 200 || !strings.Contains(body, "MARKETING") {
		t.Errorf("new key: %d %s", status, body)
	}

	// Stored: the SHA-256 of the secret, never the key.
	bdb, err := db.Open(context.Background(), dbURL, db.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var dump string
	if err := bdb.NewRaw(`SELECT string_agg(concat_ws('|', id, name, prefix, encode(hash, 'hex'), roles, created_by), E'\n') FROM api_keys`).Scan(context.Background(), &dump); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, ciKey, adminKey} {
		secret := k[len("pgk_")+17:]
		sum := sha256.Sum256([]byte(secret))
		if strings.Contains(dump, secret) || !strings.Contains(dump, fmt.Sprintf("%x", sum)) {
			t.Errorf("key %s…: expected only the SHA-256 of its secret stored, table:\n%s", k[:20], dump)
		}
	}

	if got := compact(c.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { name } }`, map[string]any{"id": id})); got != `{"data":{"revokeApiKey":{"name":"marketing-tool"}}}` {
		t.Fatalf("revoke: %s", got)
	}
	status, h, body := c.request(bearer(key), gqlBody(`{ viewer { roles } }`, nil))
	if status != 401 || errorCodeOf(t, body) != "UNAUTHENTICATED" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("revoked key: expected 401 UNAUTHENTICATED, got %d %s", status, body)
	}
	// Without credentials: only the viewer (and the probes and explorer).
	if _, _, body := c.request(nil, gqlBody(`{ programs { code } }`, nil)); errorCodeOf(t, body) != "UNAUTHENTICATED" {
		t.Errorf("anonymous programs: expected UNAUTHENTICATED, got %s", body)
	}

	list := exec.Command(bin, "apikey", "list", "--all")
	list.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	out, err := list.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\tmarketing-tool\t") || !strings.Contains(string(out), "revoked") || strings.Contains(string(out), key) {
		t.Errorf("apikey list --all: %v\n%s", err, out)
	}

	var ciID int
	if _, err := fmt.Sscanf(stderr.String(), "created API key %d", &ciID); err != nil {
		t.Fatalf("apikey create printed %q: %v", stderr.String(), err)
	}
	revoke := exec.Command(bin, "apikey", "revoke", fmt.Sprint(ciID))
	revoke.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	if out, err := revoke.CombinedOutput(); err != nil || ciID == 0 {
		t.Errorf("apikey revoke %d: %v\n%s", ciID, err, out)
	}
	// The core may have verified the key less than the cache time ago: it refuses it within that.
	deadline := time.Now().Add(cacheTTL + 2*time.Second)
	for {
		status, _, _ := c.request(bearer(ciKey), gqlBody(`{ viewer { kind } }`, nil))
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("key revoked by the CLI: expected 401 within %s, still %d", cacheTTL, status)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	log := compact(data(t, c.gql(`{ auditLog(first: 10) { edges { node { actor role operation outcome errorCode } } } }`, nil), "auditLog"))
	want := `{"edges":[` +
		`{"node":{"actor":"apikey:1:bootstrap","errorCode":null,"operation":"revokeApiKey","outcome":"OK","role":"admin"}},` +
		`{"node":{"actor":"apikey:1:bootstrap","errorCode":null,"operation":"createApiKey","outcome":"OK","role":"admin"}},` +
		`{"node":{"actor":"apikey:2:ci","errorCode":"FORBIDDEN","operation":"createProgram","outcome":"DENIED","role":"frontend,ingest"}}]}`
	if log != want {
		t.Errorf("audit log:\n got %s\nwant %s", log, want)
	}
}

// TestMemberTokens: a member-facing frontend's JWT (static keys here) lets the member read its
// own cabinet and nothing of another member; expired tokens, other audiences and foreign
// signatures are 401.
func TestMemberTokens(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keysFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(keysFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCore(t, newDatabase(t), "--demo", "--jwt-issuer", "https://id.example.com", "--jwt-audience", "cabinet",
		"--jwt-keys-file", keysFile, "--jwt-member-claim", "account")
	other := data(t, c.gql(`mutation { upsertMember(input: {externalRef: "someone-else"}) { member { id } } }`, nil), "upsertMember", "member", "id")
	token := func(account, aud string, exp time.Duration, k *ecdsa.PrivateKey) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://id.example.com", "aud": aud,
			"sub": "user-1", "account": account, "iat": time.Now().Unix(), "exp": time.Now().Add(exp).Unix()}).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	anna := token("demo-anna", "cabinet", 5*time.Minute, key)
	status, _, body := c.request(bearer(anna), gqlBody(`{ viewer { kind memberRef } member(externalRef: "demo-anna") { name balances { available } } }`, nil))
	if status != 200 || compactJSON(body) != `{"data":{"member":{"balances":[{"available":1100}],"name":"Anna Kovalenko"},"viewer":{"kind":"MEMBER_TOKEN","memberRef":"demo-anna"}}}` {
		t.Errorf("own cabinet: %d %s", status, body)
	}
	for name, q := range map[string]string{
		"another member by ref": `{ member(externalRef: "someone-else") { name } }`,
		"another member by id":  fmt.Sprintf(`{ member(id: %q) { name } }`, other),
		"the member list":       `{ members { edges { node { name } } } }`,
		"an adjustment":         fmt.Sprintf(`mutation { adjustPoints(memberId: %q, program: "demo", amount: 5, reason: "x", idempotencyKey: "x") { replayed } }`, other),
	} {
		if _, _, body := c.request(bearer(anna), gqlBody(q, nil)); errorCodeOf(t, body) != "FORBIDDEN" {
			t.Errorf("%s with anna's token: expected FORBIDDEN, got %s", name, body)
		}
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, tok := range map[string]string{
		"expired":        token("demo-anna", "cabinet", -time.Minute, key),
		"wrong audience": token("demo-anna", "billing", 5*time.Minute, key),
		"bad signature":  token("demo-anna", "cabinet", 5*time.Minute, stranger),
	} {
		status, _, body := c.request(bearer(tok), gqlBody(`{ viewer { kind } }`, nil))
		if status != 401 || errorCodeOf(t, body) != "UNAUTHENTICATED" {
			t.Errorf("%s token: expected 401 UNAUTHENTICATED, got %d %s", name, status, body)
		}
	}
}

func compactJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
