package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/auth"
)

// Authenticator resolves a request's caller (auth.Authenticator does).
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// Authenticate returns middleware that resolves the caller of every request with a, puts the
// principal in the request context (auth.WithPrincipal) and applies limiter per caller, and to
// failed authentication attempts per client address.
// Bad credentials are answered 401 with UNAUTHENTICATED and a WWW-Authenticate challenge, an
// exhausted rate 429 with RATE_LIMITED and Retry-After, a database outage while looking the key
// up 503 with UNAVAILABLE and Retry-After (as the GraphQL layer answers one), any other failure
// 500 with INTERNAL. A request without credentials goes on as anonymous: what it may do is the
// authorisation table's call.
func Authenticate(a Authenticator, limiter *auth.RateLimiter, log hclog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Failed attempts count against the client address, so guessing keys or replaying
			// bad tokens is throttled before it reaches the key store.
			failKey := "fail:" + clientHost(r)
			if r.Header.Get("Authorization") != "" && limiter.Exhausted(failKey) {
				w.Header().Set("Retry-After", "1")
				WriteGraphQLError(w, r, http.StatusTooManyRequests, "RATE_LIMITED", "too many failed authentication attempts; retry later")
				return
			}
			p, err := a.Authenticate(r)
			switch {
			case auth.IsUnauthenticated(err):
				limiter.Allow(failKey)
				log.Debug("authentication failed", "remote", r.RemoteAddr, "error", err)
				w.Header().Set("WWW-Authenticate", `Bearer realm="promogate", error="invalid_token"`)
				WriteGraphQLError(w, r, http.StatusUnauthorized, "UNAUTHENTICATED",
					"the API key or token is invalid, expired or revoked")
				return
			case db.Unavailable(err):
				log.Warn("authentication unavailable: the database cannot be reached", "error", err)
				w.Header().Set("Retry-After", db.OutageRetryAfter)
				WriteGraphQLError(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "the database cannot be reached; retry later")
				return
			case err != nil:
				log.Error("authentication failed", "error", err)
				WriteGraphQLError(w, r, http.StatusInternalServerError, "INTERNAL", "internal error")
				return
			}
			if ok, wait := limiter.Allow(p.RateKey); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				WriteGraphQLError(w, r, http.StatusTooManyRequests, "RATE_LIMITED",
					fmt.Sprintf("too many requests for these credentials; retry in %s", wait.Round(time.Millisecond)))
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CORS configures cross-origin requests to /graphql.
type CORS struct {
	// AllowedOrigins are exact origins ("https://app.example.com"), "*" for any, or a loopback
	// origin with any port for local development: "http://localhost:*", "http://127.0.0.1:*",
	// "http://[::1]:*" (or https). Empty means no cross-origin access (browsers then refuse
	// other sites' pages). Validate rejects a port wildcard on any other host.
	AllowedOrigins []string
	// MaxAge is how long a browser may cache a preflight answer; default 10 minutes.
	MaxAge time.Duration
}

// loopbackHosts are the hosts a port wildcard may follow.
var loopbackHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// Validate reports an allowed origin with a wildcard other than "*" alone or a loopback
// origin's port ("http://localhost:*"), so that a wildcard never opens a production origin by
// accident.
func (c CORS) Validate() error {
	for _, o := range c.AllowedOrigins {
		if o == "*" || !strings.Contains(o, "*") {
			continue
		}
		if _, ok := loopbackPattern(o); !ok {
			return fmt.Errorf("CORS origin %q: a wildcard is allowed only alone (*) or as the port of a loopback origin (http://localhost:*, http://127.0.0.1:*, http://[::1]:*)", o)
		}
	}
	return nil
}

// loopbackPattern returns the scheme and host of a loopback origin with a port wildcard
// ("http://localhost:*" gives "http://localhost").
func loopbackPattern(pattern string) (string, bool) {
	prefix, ok := strings.CutSuffix(pattern, ":*")
	if !ok {
		return "", false
	}
	for _, scheme := range []string{"http://", "https://"} {
		if host, ok := strings.CutPrefix(prefix, scheme); ok && slices.Contains(loopbackHosts, host) {
			return prefix, true
		}
	}
	return "", false
}

func (c CORS) allows(origin string) bool {
	for _, o := range c.AllowedOrigins {
		if o == "*" || o == origin {
			return true
		}
		if prefix, ok := loopbackPattern(o); ok {
			if port, ok := strings.CutPrefix(origin, prefix+":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether origin's host is the one the request was sent to.
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// Handler wraps next with CORS: allowed origins get Access-Control-Allow-Origin, and preflight
// requests (OPTIONS with Access-Control-Request-Method) are answered here, 204 for an allowed
// origin and 403 otherwise. Credentials travel in the Authorization header, never cookies, so
// Access-Control-Allow-Credentials is not sent. Browsers do not apply CORS to WebSocket
// connections, so an upgrade request from a page of another origin than the server's that is
// not allowed is refused here with 403.
func (c CORS) Handler(next http.Handler) http.Handler {
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if r.Header.Get("Upgrade") != "" {
			if !c.allows(origin) && !sameOrigin(r, origin) {
				WriteGraphQLError(w, r, http.StatusForbidden, "FORBIDDEN", "WebSocket connections from origin "+origin+" are not allowed (--cors-origins)")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !c.allows(origin) {
			if preflight {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(maxAge.Seconds())))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
}

// WriteGraphQLError answers with a GraphQL error response {"errors":[{message, extensions:
// {code}}]} and status, in application/graphql-response+json when the client prefers it and
// application/json otherwise.
func WriteGraphQLError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	media := "application/json"
	accept := r.Header.Get("Accept")
	if g := strings.Index(accept, "application/graphql-response+json"); g >= 0 {
		if j := strings.Index(accept, "application/json"); j < 0 || g < j {
			media = "application/graphql-response+json"
		}
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"message": msg, "extensions": map[string]any{"code": code}}}})
}
