package web_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/internal/web"
)

// fakeAuth accepts "Bearer good" as an admin key, "Bearer down" fails like a dead database,
// "Bearer broken" like a fault that is not an outage, anything else in the header is bad
// credentials, and no header is anonymous.
type fakeAuth struct{}

func (fakeAuth) Authenticate(r *http.Request) (*auth.Principal, error) {
	switch r.Header.Get("Authorization") {
	case "":
		return auth.Anonymous("1.2.3.4", nil), nil
	case "Bearer good":
		return &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{auth.RoleAdmin}, KeyID: 1, KeyName: "k", RateKey: "key:1"}, nil
	case "Bearer down":
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	case "Bearer broken":
		return nil, errors.New("the key store answered nonsense")
	}
	return nil, auth.ErrUnauthenticated
}

// echo answers with the caller it sees and the body length it could read.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n := 0
	if r.Body != nil {
		buf := make([]byte, 1<<16)
		for {
			k, err := r.Body.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
	}
	fmt.Fprintf(w, "%s %d", auth.FromContext(r.Context()).Actor(), n)
})

func newHandler(limiter *auth.RateLimiter, origins ...string) http.Handler {
	return web.Handler(web.Routes{GraphQL: echo, MaxBodyBytes: 100,
		Auth: web.Authenticate(fakeAuth{}, limiter, hclog.NewNullLogger()),
		CORS: web.CORS{AllowedOrigins: origins}})
}

func serve(h http.Handler, method, path string, headers map[string]string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuthenticationMiddleware(t *testing.T) {
	h := newHandler(nil)
	for _, c := range []struct {
		auth, want, retryAfter string
		status                 int
	}{
		{"", "anonymous 2", "", 200},
		{"Bearer good", "apikey:1:k 2", "", 200},
		{"Bearer bad", `"UNAUTHENTICATED"`, "", 401},
		{"Bearer down", `"UNAVAILABLE"`, db.OutageRetryAfter, 503},
		{"Bearer broken", `"INTERNAL"`, "", 500},
	} {
		headers := map[string]string{}
		if c.auth != "" {
			headers["Authorization"] = c.auth
		}
		rec := serve(h, "POST", "/graphql", headers, "{}")
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%q: expected %d %s, got %d %s", c.auth, c.status, c.want, rec.Code, rec.Body.String())
		}
		if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("%q: Retry-After %q, want %q", c.auth, got, c.retryAfter)
		}
		if c.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a Bearer challenge: %v", rec.Header())
		}
	}
	// The explorer and the probes need no credentials, even bad ones are not checked there.
	if rec := serve(h, "GET", "/healthz", map[string]string{"Authorization": "Bearer bad"}, ""); rec.Code != 200 {
		t.Errorf("/healthz: %d", rec.Code)
	}
	if rec := serve(h, "GET", "/", nil, ""); rec.Code != 200 {
		t.Errorf("explorer: %d", rec.Code)
	}
}

func TestRateLimitPerCaller(t *testing.T) {
	h := newHandler(auth.NewRateLimiter(1, 2))
	key := map[string]string{"Authorization": "Bearer good"}
	for i := range 2 {
		if rec := serve(h, "POST", "/graphql", key, ""); rec.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i, rec.Code)
		}
	}
	rec := serve(h, "POST", "/graphql", key, "")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `"RATE_LIMITED"`) {
		t.Errorf("over the rate: expected 429 RATE_LIMITED with Retry-After 1, got %d %v %s", rec.Code, rec.Header(), rec.Body.String())
	}
	if rec := serve(h, "POST", "/graphql", nil, ""); rec.Code != 200 {
		t.Errorf("another caller (anonymous) is limited by the key's bucket: %d", rec.Code)
	}
	// Failed attempts from one address are throttled before they reach the key store.
	h = newHandler(auth.NewRateLimiter(1, 2))
	bad := map[string]string{"Authorization": "Bearer bad"}
	var codes []int
	for range 4 {
		codes = append(codes, serve(h, "POST", "/graphql", bad, "").Code)
	}
	if fmt.Sprint(codes) != "[401 401 429 429]" {
		t.Errorf("bad credentials four times: expected [401 401 429 429], got %v", codes)
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHandler(nil)
	big := strings.Repeat("x", 101)
	rec := serve(h, "POST", "/graphql", map[string]string{"Accept": "application/graphql-response+json"}, big)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), `"REQUEST_TOO_LARGE"`) ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/graphql-response+json") {
		t.Errorf("101 bytes over a limit of 100: expected 413 REQUEST_TOO_LARGE, got %d %s %s", rec.Code, rec.Header(), rec.Body.String())
	}
	// A body of unknown length is cut at the limit (the GraphQL transport answers 413 then).
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(big))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if !strings.HasSuffix(rec.Body.String(), " 100") {
		t.Errorf("chunked body: expected at most 100 bytes read, got %s", rec.Body.String())
	}
}

func TestCORS(t *testing.T) {
	h := newHandler(nil, "https://app.example.com")
	preflight := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type"}
	rec := serve(h, "OPTIONS", "/graphql", preflight, "")
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") ||
		rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("allowed preflight: %d %v", rec.Code, rec.Header())
	}
	preflight["Origin"] = "https://evil.example.com"
	if rec := serve(h, "OPTIONS", "/graphql", preflight, ""); rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin's preflight: %d %v", rec.Code, rec.Header())
	}
	rec = serve(h, "POST", "/graphql", map[string]string{"Origin": "https://app.example.com"}, "")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" || rec.Header().Get("Vary") != "Origin" {
		t.Errorf("allowed origin's request: %v", rec.Header())
	}
	rec = serve(h, "POST", "/graphql", map[string]string{"Origin": "https://evil.example.com"}, "")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin's request got CORS headers: %v", rec.Header())
	}
	// Preflights carry no credentials and are answered before authentication.
	if rec := serve(newHandler(nil, "*"), "OPTIONS", "/graphql", map[string]string{"Origin": "https://x.example",
		"Access-Control-Request-Method": "POST", "Authorization": "Bearer bad"}, ""); rec.Code != 204 {
		t.Errorf("wildcard preflight: %d", rec.Code)
	}
}

// TestCORSLoopbackPorts: "http://localhost:*" and "http://127.0.0.1:*" allow those hosts'
// pages on any port (a development server) and nothing else; a port wildcard on another host
// is refused by Validate.
func TestCORSLoopbackPorts(t *testing.T) {
	cors := web.CORS{AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}}
	if err := cors.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	h := newHandler(nil, cors.AllowedOrigins...)
	for origin, allowed := range map[string]bool{
		"http://localhost:3000":          true,
		"http://127.0.0.1:5173":          true,
		"http://localhost:8080":          true,
		"http://localhost":               false,
		"http://localhost:":              false,
		"https://localhost:3000":         false,
		"http://localhost:3000.evil.com": false,
		"http://evil.localhost:3000":     false,
		"http://localhost:30a0":          false,
		"http://[::1]:3000":              false,
		"http://192.168.1.5:3000":        false,
	} {
		rec := serve(h, "OPTIONS", "/graphql", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, "")
		switch {
		case allowed && (rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != origin):
			t.Errorf("preflight from %s: expected 204 allowing it, got %d %v", origin, rec.Code, rec.Header())
		case !allowed && (rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != ""):
			t.Errorf("preflight from %s: expected 403, got %d %v", origin, rec.Code, rec.Header())
		}
	}
	for _, bad := range []string{"https://app.example.com:*", "https://*.example.com", "http://*:*", "http://localhost*", "*.localhost:*"} {
		if err := (web.CORS{AllowedOrigins: []string{"http://localhost:*", bad}}).Validate(); err == nil {
			t.Errorf("Validate(%q): expected an error", bad)
		}
	}
	for _, good := range []string{"*", "https://app.example.com", "https://[::1]:*", "https://localhost:*"} {
		if err := (web.CORS{AllowedOrigins: []string{good}}).Validate(); err != nil {
			t.Errorf("Validate(%q): %v", good, err)
		}
	}
}

// TestWebSocketOrigins: browsers do not apply CORS to WebSocket connections, so an upgrade
// request from another origin's page is refused unless the origin is allowed; the server's own
// pages and clients without an Origin (not browsers) are let through.
func TestWebSocketOrigins(t *testing.T) {
	h := newHandler(nil, "https://app.example.com", "http://localhost:*")
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"https://app.example.com", 200},
		{"http://localhost:3000", 200},
		{"http://example.com", 200}, // the request's own host (httptest's default)
		{"", 200},
		{"https://evil.example.com", 403},
		{"http://127.0.0.1:3000", 403},
	} {
		headers := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}
		if tc.origin != "" {
			headers["Origin"] = tc.origin
		}
		rec := serve(h, "GET", "/graphql", headers, "")
		if rec.Code != tc.status {
			t.Errorf("upgrade from origin %q: expected %d, got %d %s", tc.origin, tc.status, rec.Code, rec.Body.String())
		}
		if tc.status == 403 && !strings.Contains(rec.Body.String(), `"FORBIDDEN"`) {
			t.Errorf("upgrade from origin %q: expected FORBIDDEN, got %s", tc.origin, rec.Body.String())
		}
	}
}
