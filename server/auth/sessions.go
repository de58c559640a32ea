package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/promogate/promogate/db"
)

// Console sessions: the marketing console (/console) exchanges an API key for a session whose
// random token the browser keeps in an HttpOnly, SameSite=Strict cookie. See docs/security.md.
const (
	// SessionCookie is the name of the cookie holding a console session token.
	SessionCookie = "promogate_session"
	// SessionHeader must accompany every request authenticated by the session cookie, with the
	// value "1". A page of another origin cannot add it without a CORS preflight, which the
	// server refuses, so a forged cross-site request never runs with the session.
	SessionHeader = "X-Promogate-Console"
	// SessionTTL is how long a session lasts from sign-in.
	SessionTTL = 12 * time.Hour
	// SessionPrefix starts every session token.
	SessionPrefix = "pgs_"
)

// Session is a stored console session: the SHA-256 of its token and the key it acts as.
type Session struct {
	KeyID     int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession signs in with a live API key: it stores a session acting as key k for
// SessionTTL and returns its token (to be set as the cookie, never stored) and the session.
// Expired sessions are deleted on the way.
func (s *Store) CreateSession(ctx context.Context, k *APIKey) (string, *Session, error) {
	b := make([]byte, secretBytes)
	rand.Read(b)
	token := SessionPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	sess := &Session{KeyID: k.ID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if _, err := db.PG(s.db).Exec(ctx, `DELETE FROM console_sessions WHERE expires_at <= $1`, now); err != nil {
		return "", nil, fmt.Errorf("auth: expire sessions: %w", err)
	}
	if _, err := db.PG(s.db).Exec(ctx, `INSERT INTO console_sessions (hash, api_key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hashSecret(token), k.ID, sess.CreatedAt, sess.ExpiresAt); err != nil {
		return "", nil, fmt.Errorf("auth: store session: %w", err)
	}
	return token, sess, nil
}

// SessionKey returns the key a session token acts as. Errors: ErrUnauthenticated when the
// token is malformed, unknown or expired, or its key is revoked.
func (s *Store) SessionKey(ctx context.Context, token string) (*APIKey, error) {
	if !strings.HasPrefix(token, SessionPrefix) || len(token) > 200 {
		return nil, ErrUnauthenticated
	}
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).
		Where("id = (SELECT api_key_id FROM console_sessions WHERE hash = ? AND expires_at > ?)", hashSecret(token), s.now()).
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrUnauthenticated
	case err != nil:
		return nil, fmt.Errorf("auth: look up session: %w", err)
	case k.RevokedAt != nil:
		return nil, ErrUnauthenticated
	}
	s.touch(ctx, k)
	return k, nil
}

// DeleteSession signs a session out; an unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := db.PG(s.db).Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hashSecret(token)); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// SessionToken returns the console session token a request may act with: the session cookie,
// only when the request also carries SessionHeader: 1 and, if it names its origin, comes from
// the server's own origin (scheme and host as the request reached it). Otherwise it returns ""
// and the cookie is ignored: a cross-site request is never run with the session.
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || r.Header.Get(SessionHeader) != "1" {
		return ""
	}
	if !SameOrigin(r) {
		return ""
	}
	return c.Value
}

// SameOrigin reports whether the request's Origin header, when present, names the host the
// request was sent to. Requests without Origin (same-origin GETs, non-browser clients) pass.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
