package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/console"
)

// sessions is an in-memory console.Sessions accepting one key.
type sessions struct{ deleted []string }

func (s *sessions) Authenticate(_ context.Context, key string) (*auth.APIKey, error) {
	if key != "pgk_good" {
		return nil, auth.ErrUnauthenticated
	}
	return &auth.APIKey{ID: 7, Name: "marketing", Roles: []string{"marketing"}}, nil
}

func (s *sessions) CreateSession(_ context.Context, k *auth.APIKey) (string, *auth.Session, error) {
	return "pgs_token", &auth.Session{KeyID: k.ID, ExpiresAt: time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)}, nil
}

func (s *sessions) DeleteSession(_ context.Context, token string) error {
	s.deleted = append(s.deleted, token)
	return nil
}

func serve(h http.Handler, method, target, body string, hdr map[string]string) *http.Response {
	r := httptest.NewRequest(method, "http://promogate.test"+target, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// TestPagesAndAssets: every console path answers the application page with its security
// headers; built assets are served with their type and cached; unknown assets are 404.
func TestPagesAndAssets(t *testing.T) {
	h := console.Handler(console.Options{Sessions: &sessions{}})
	for _, p := range []string{"/console/", "/console/campaigns/its-gifts-2021", "/console/members/x"} {
		resp := serve(h, http.MethodGet, p, "", nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `<div id="root">`) ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") ||
			resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d %v %.80s", p, resp.StatusCode, resp.Header, body)
		}
		i := strings.Index(string(body), "/console/assets/")
		if i < 0 {
			t.Fatalf("%s: the page names no asset: %s", p, body)
		}
		asset := string(body[i:])
		asset = asset[:strings.IndexByte(asset, '"')]
		a := serve(h, http.MethodGet, asset, "", map[string]string{"Accept-Encoding": "gzip"})
		if a.StatusCode != 200 || !strings.Contains(a.Header.Get("Cache-Control"), "immutable") ||
			a.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: %d %v", asset, a.StatusCode, a.Header)
		}
	}
	if resp := serve(h, http.MethodGet, "/console/assets/nope.js", "", nil); resp.StatusCode != 404 {
		t.Errorf("unknown asset: %d", resp.StatusCode)
	}
	if resp := serve(h, http.MethodPost, "/console/", "", nil); resp.StatusCode != 405 {
		t.Errorf("POST page: %d", resp.StatusCode)
	}
}

// TestSignInAndOut: a good key gets an HttpOnly, SameSite=Strict session cookie; a bad key is
// 401; a request without the console header or from another origin is refused before the key
// is looked at; signing out deletes the session and clears the cookie.
func TestSignInAndOut(t *testing.T) {
	s := &sessions{}
	h := console.Handler(console.Options{Sessions: s})
	hdr := map[string]string{auth.SessionHeader: "1", "Content-Type": "application/json"}

	resp := serve(h, http.MethodPost, "/console/session", `{"key":"pgk_good"}`, hdr)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != `{"expiresAt":"2026-03-01T22:00:00Z","name":"marketing","roles":["marketing"]}`+"\n" {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != auth.SessionCookie || cookies[0].Value != "pgs_token" || !cookies[0].HttpOnly ||
		cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Errorf("cookie: %+v", cookies)
	}

	if resp := serve(h, http.MethodPost, "/console/session", `{"key":"pgk_bad"}`, hdr); resp.StatusCode != 401 {
		t.Errorf("bad key: %d", resp.StatusCode)
	}
	noHeader := map[string]string{"Content-Type": "application/json"}
	otherOrigin := map[string]string{auth.SessionHeader: "1", "Origin": "https://evil.example"}
	for name, h2 := range map[string]map[string]string{"no header": noHeader, "other origin": otherOrigin} {
		resp := serve(h, http.MethodPost, "/console/session", `{"key":"pgk_good"}`, h2)
		if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %d %v", name, resp.StatusCode, resp.Cookies())
		}
	}

	r := httptest.NewRequest(http.MethodDelete, "http://promogate.test/console/session", nil)
	r.Header.Set(auth.SessionHeader, "1")
	r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: "pgs_token"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 204 || len(s.deleted) != 1 || s.deleted[0] != "pgs_token" || w.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign-out: %d, deleted %v, cookies %v", w.Code, s.deleted, w.Result().Cookies())
	}
}
