package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/web"
)

// fakeAuth accepts "Bearer good" as an admin key, "Bearer down" fails like a dead database,
// anything else in the header is bad credentials, and no header is anonymous.
type fakeAuth struct{}

func (fakeAuth) Authenticate(r *http.Request) (*auth.Principal, error) {
	switch r.Header.Get("Authorization") {
	case "":
		return auth.Anonymous("1.2.3.4", nil), nil
	case "Bearer good":
		return &auth.Principal{Kind: auth.KindAPIKey, Roles: []auth.Role{auth.RoleAdmin}, KeyID: 1, KeyName: "k", RateKey: "key:1"}, nil
	case "Bearer down":
		return nil, errors.New("connection refused")
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
		auth, want string
		status     int
	}{
		{"", "anonymous 2", 200},
		{"Bearer good", "apikey:1:k 2", 200},
		{"Bearer bad", `"UNAUTHENTICATED"`, 401},
		{"Bearer down", `"INTERNAL"`, 503},
	} {
		headers := map[string]string{}
		if c.auth != "" {
			headers["Authorization"] = c.auth
		}
		rec := serve(h, "POST", "/graphql", headers, "{}")
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%q: expected %d %s, got %d %s", c.auth, c.status, c.want, rec.Code, rec.Body.String())
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
