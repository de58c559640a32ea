// Package auth authenticates Promogate's callers and keeps the audit log.
//
// Services present API keys ("pgk_<prefix>_<secret>"): the secret is shown once when a key is
// created and only its SHA-256 is stored; a key carries one or more roles and can be revoked.
// Member-facing frontends present JWT bearer tokens signed by their identity provider: the
// issuer, audience and keys (a JWKS URL or static keys) are configured, and one claim names the
// member (its externalRef). A request without credentials is anonymous.
//
// What each role may do is decided in one place, the GraphQL layer's authorisation table
// (graph/authz.go); this package only says who the caller is. See docs/security.md.
package auth
