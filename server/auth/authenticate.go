package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Authenticator turns a request's credentials into a principal.
type Authenticator struct {
	// Keys checks API keys; required.
	Keys *Store
	// JWT checks member tokens; nil means member tokens are refused.
	JWT *JWTVerifier
	// AnonymousRoles are granted to requests without credentials (none by default).
	AnonymousRoles []Role
	Log            hclog.Logger
}

// Authenticate reads "Authorization: Bearer <API key or JWT>". A request without the header acts
// with its console session cookie when SessionToken admits it, and is anonymous otherwise.
// Errors: ErrUnauthenticated (wrapped) for credentials that are malformed, unknown, revoked,
// expired or otherwise invalid; any other error is the server's (the database failed).
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if token := SessionToken(r); token != "" {
			k, err := a.Keys.SessionKey(r.Context(), token)
			if err != nil {
				return nil, err
			}
			return k.Principal(), nil
		}
	}
	return a.AuthenticateHeader(r.Context(), h, clientAddr(r))
}

// AuthenticateHeader checks an Authorization header value ("Bearer <API key or JWT>") sent by
// the client at address addr, as Authenticate does for a request without a session cookie: an
// empty value is anonymous. A WebSocket connection's credentials, sent in its connection_init
// message, are checked with it.
func (a *Authenticator) AuthenticateHeader(ctx context.Context, h, addr string) (*Principal, error) {
	if h == "" {
		return Anonymous(addr, a.AnonymousRoles), nil
	}
	scheme, cred, ok := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, fmt.Errorf("%w: expected Authorization: Bearer <API key or token>", ErrUnauthenticated)
	}
	if LooksLikeKey(cred) {
		k, err := a.Keys.Authenticate(ctx, cred)
		if err != nil {
			return nil, err
		}
		return k.Principal(), nil
	}
	if a.JWT == nil {
		return nil, ErrUnauthenticated
	}
	return a.JWT.Verify(ctx, cred)
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// IsUnauthenticated reports whether err means bad credentials rather than a server failure.
func IsUnauthenticated(err error) bool { return errors.Is(err, ErrUnauthenticated) }
