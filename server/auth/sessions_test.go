package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/clock"
)

// TestConsoleSessions: a session acts as its key until it expires, is signed out or its key is
// revoked; only the token's SHA-256 is stored.
func TestConsoleSessions(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	clk := clock.NewManual(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	s := auth.NewStore(bdb, clk.Now)
	_, k, err := s.CreateKey(ctx, "marketing", []auth.Role{auth.RoleMarketing}, "test")
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := s.CreateSession(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.Equal(clk.Now().Add(auth.SessionTTL)) || len(token) < 40 {
		t.Fatalf("session: %+v, token %q", sess, token)
	}
	var stored int
	if err := bdb.NewRaw("SELECT count(*) FROM console_sessions WHERE hash = sha256(convert_to(?, 'UTF8')) AND api_key_id = ?", token, k.ID).Scan(ctx, &stored); err != nil || stored != 1 {
		t.Errorf("expected the session stored under the token's SHA-256, found %d (%v)", stored, err)
	}
	got, err := s.SessionKey(ctx, token)
	if err != nil || got.ID != k.ID || !got.Principal().Has(auth.RoleMarketing) {
		t.Fatalf("session key: expected key %d, got %+v, %v", k.ID, got, err)
	}
	for _, bad := range []string{"", "pgs_unknown", token + "x", "pgk_" + token[4:]} {
		if _, err := s.SessionKey(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("token %q: expected ErrUnauthenticated, got %v", bad, err)
		}
	}

	// Expiry.
	clk.Set(clk.Now().Add(auth.SessionTTL))
	if _, err := s.SessionKey(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired session: expected ErrUnauthenticated, got %v", err)
	}

	// Sign-out.
	token2, _, err := s.CreateSession(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, token2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionKey(ctx, token2); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("signed-out session: expected ErrUnauthenticated, got %v", err)
	}

	// Revoking the key ends its sessions.
	token3, _, err := s.CreateSession(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionKey(ctx, token3); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("session of a revoked key: expected ErrUnauthenticated, got %v", err)
	}
	// Creating a session deleted the expired one.
	var rows int
	if err := bdb.NewRaw("SELECT count(*) FROM console_sessions").Scan(ctx, &rows); err != nil || rows != 1 {
		t.Errorf("sessions left: expected 1 (the revoked key's), got %d (%v)", rows, err)
	}
}

// TestSessionCookieNeedsHeaderAndOrigin: the authenticator acts with the session cookie only
// with the console header and from the server's own origin; otherwise the request is
// anonymous, so a forged cross-site request never runs as the session.
func TestSessionCookieNeedsHeaderAndOrigin(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	s := auth.NewStore(bdb, time.Now)
	_, k, err := s.CreateKey(ctx, "marketing", []auth.Role{auth.RoleMarketing}, "test")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.CreateSession(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Authenticator{Keys: s}
	cases := []struct {
		name   string
		header string
		origin string
		cookie string
		want   auth.Kind
		err    bool
	}{
		{name: "cookie, header, no origin", header: "1", cookie: token, want: auth.KindAPIKey},
		{name: "cookie, header, same origin", header: "1", origin: "http://promogate.test", cookie: token, want: auth.KindAPIKey},
		{name: "cookie without header", cookie: token, want: auth.KindAnonymous},
		{name: "cookie, wrong header value", header: "yes", cookie: token, want: auth.KindAnonymous},
		{name: "cookie, header, other origin", header: "1", origin: "https://evil.example", cookie: token, want: auth.KindAnonymous},
		{name: "unknown session", header: "1", cookie: "pgs_nope", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://promogate.test/graphql", nil)
			if tc.header != "" {
				r.Header.Set(auth.SessionHeader, tc.header)
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: tc.cookie})
			p, err := a.Authenticate(r)
			if tc.err {
				if !auth.IsUnauthenticated(err) {
					t.Fatalf("expected ErrUnauthenticated, got %v, %v", p, err)
				}
				return
			}
			if err != nil || p.Kind != tc.want {
				t.Fatalf("expected a %s caller, got %+v, %v", tc.want, p, err)
			}
		})
	}
}
