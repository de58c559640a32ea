package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Role is what a caller is allowed to do, as listed in the authorisation table.
type Role string

// The roles. Member is only ever granted by a member token (JWT); API keys carry the others.
const (
	RoleMember    Role = "member"
	RoleFrontend  Role = "frontend"
	RoleIngest    Role = "ingest"
	RoleMarketing Role = "marketing"
	RoleAdmin     Role = "admin"
)

// KeyRoles are the roles an API key may carry.
var KeyRoles = []Role{RoleFrontend, RoleIngest, RoleMarketing, RoleAdmin}

// AllRoles are every role, in the order of the documentation.
var AllRoles = []Role{RoleMember, RoleFrontend, RoleIngest, RoleMarketing, RoleAdmin}

// ParseRoles parses a comma-separated list of roles ("admin,ingest"), rejecting unknown ones and
// any not in allowed. Duplicates are dropped; the result keeps the order of AllRoles.
func ParseRoles(list string, allowed []Role) ([]Role, error) {
	var out []Role
	for s := range strings.SplitSeq(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		r := Role(s)
		if !slices.Contains(allowed, r) {
			return nil, fmt.Errorf("%w: role %q (allowed: %s)", ErrInvalid, s, joinRoles(allowed))
		}
		out = append(out, r)
	}
	return normalizeRoles(out), nil
}

// normalizeRoles sorts roles in the order of AllRoles and drops duplicates.
func normalizeRoles(roles []Role) []Role {
	var out []Role
	for _, r := range AllRoles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out
}

func joinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Kind says how a caller authenticated.
type Kind string

const (
	KindAnonymous Kind = "anonymous"
	KindAPIKey    Kind = "apikey"
	KindToken     Kind = "token"
)

// Principal is the authenticated caller of one request.
type Principal struct {
	Kind Kind
	// Roles the caller holds; empty for a plain anonymous caller.
	Roles []Role
	// KeyID and KeyName identify an API key (KindAPIKey).
	KeyID   int64
	KeyName string
	// Subject is the token's sub claim (KindToken).
	Subject string
	// MemberRef is the externalRef of the member a token names (KindToken).
	MemberRef string
	// Expires is when the token expires (KindToken); zero for other callers.
	Expires time.Time
	// RateKey identifies the caller for rate limiting: the key, the token's member, or the
	// anonymous client's address.
	RateKey string
}

// Anonymous returns the principal of a request without credentials from remote address addr,
// holding the given roles (none unless configured).
func Anonymous(addr string, roles []Role) *Principal {
	return &Principal{Kind: KindAnonymous, Roles: roles, RateKey: "anon:" + addr}
}

// Has reports whether the principal holds role r.
func (p *Principal) Has(r Role) bool { return p != nil && slices.Contains(p.Roles, r) }

// Authenticated reports whether the caller presented valid credentials.
func (p *Principal) Authenticated() bool { return p != nil && p.Kind != KindAnonymous }

// Actor names the caller in the audit log and in logs: "apikey:12:ci", "member:<ref>",
// "anonymous".
func (p *Principal) Actor() string {
	switch {
	case p == nil:
		return "anonymous"
	case p.Kind == KindAPIKey:
		return fmt.Sprintf("apikey:%d:%s", p.KeyID, p.KeyName)
	case p.Kind == KindToken:
		return "member:" + p.MemberRef
	default:
		return "anonymous"
	}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or nil when none was set (which callers treat
// as anonymous without roles).
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
