package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/promogate/promogate/server/auth"
)

const (
	testIssuer   = "https://id.example.com"
	testAudience = "promogate"
)

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64url(k.N.Bytes()), "e": b64url(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	raw, _ := k.Bytes() // 0x04 || X || Y
	size := (len(raw) - 1) / 2
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(raw[1 : 1+size]), "y": b64url(raw[1+size:])}
}

// jwksServer serves a JWKS whose keys can be swapped, counting fetches.
type jwksServer struct {
	*httptest.Server
	keys    atomic.Value // []map[string]any
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{}
	s.keys.Store(keys)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys.Load()})
	}))
	t.Cleanup(s.Close)
	return s
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(sub string, mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": testIssuer, "aud": []string{testAudience, "other"}, "sub": sub,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

// TestJWT: a token signed by a key of the JWKS, for the configured issuer and audience and not
// expired, names its member; anything else is ErrUnauthenticated.
func TestJWT(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := newJWKSServer(t, rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey))
	v, err := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: testIssuer, Audience: testAudience,
		JWKSURL: srv.URL, Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	ok := map[string]string{
		"RS256": sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", nil)),
		"ES256": sign(t, jwt.SigningMethodES256, ecKey, "e1", claims("boris", nil)),
	}
	for name, tok := range ok {
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Errorf("%s: expected a valid token, got %v", name, err)
			continue
		}
		if p.Kind != auth.KindToken || !p.Has(auth.RoleMember) || len(p.Roles) != 1 || p.MemberRef == "" || p.Actor() != "member:"+p.MemberRef {
			t.Errorf("%s: principal %+v", name, p)
		}
	}
	if p, _ := v.Verify(context.Background(), ok["RS256"]); p.MemberRef != "anna" {
		t.Errorf("member: expected anna, got %q", p.MemberRef)
	}

	bad := map[string]string{
		"expired":         sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
		"no expiry":       sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid":   sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"wrong audience":  sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
		"wrong issuer":    sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("anna", func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })),
		"bad signature":   sign(t, jwt.SigningMethodRS256, otherRSA, "r1", claims("anna", nil)),
		"unknown kid":     sign(t, jwt.SigningMethodRS256, otherRSA, "zz", claims("anna", nil)),
		"no member":       sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims("", nil)),
		"hmac with n":     sign(t, jwt.SigningMethodHS256, rsaKey.N.Bytes(), "r1", claims("anna", nil)),
		"alg none":        sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "r1", claims("anna", nil)),
		"key of another":  sign(t, jwt.SigningMethodES256, ecKey, "r1", claims("anna", nil)),
		"garbage":         "not.a.token",
		"tampered claims": tamper(ok["RS256"]),
	}
	for name, tok := range bad {
		if p, err := v.Verify(context.Background(), tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: expected ErrUnauthenticated, got %+v, %v", name, p, err)
		}
	}

	// Keys rotate: a token with a new kid makes the verifier fetch the JWKS again (once).
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.keys.Store([]map[string]any{rsaJWK("r2", &newKey.PublicKey)})
	before := srv.fetches.Load()
	rotated := sign(t, jwt.SigningMethodRS256, newKey, "r2", claims("anna", nil))
	if _, err := v.Verify(context.Background(), rotated); err != nil {
		// The unknown-kid test above refetched less than 30 seconds ago, so the refresh may
		// have been throttled; a fresh verifier must accept it.
		v2, _ := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL})
		defer v2.Close()
		if _, err := v2.Verify(context.Background(), rotated); err != nil {
			t.Errorf("rotated key: %v", err)
		}
	}
	if srv.fetches.Load()-before > 1 {
		t.Errorf("unknown kids made %d JWKS fetches, expected at most 1", srv.fetches.Load()-before)
	}
}

// tamper changes a token's payload without re-signing it.
func tamper(tok string) string {
	parts := [3]string{}
	copy(parts[:], splitDots(tok))
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		panic(err) // the test's own token
	}
	c["sub"] = "boris"
	b, _ := json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestJWTStaticKeys: keys from a PEM file (no kid needed) or a JWKS file, and a custom claim
// naming the member.
func TestJWTStaticKeys(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := t.TempDir()
	der, _ := x509.MarshalPKIXPublicKey(edPub)
	der2, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pemFile := filepath.Join(dir, "keys.pem")
	if err := os.WriteFile(pemFile, append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der2})...), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: testIssuer, Audience: testAudience,
		KeysFile: pemFile, MemberClaim: "account"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, edPriv, "", claims("user-1", func(c jwt.MapClaims) { c["account"] = "acc-7" })),
		"ES256": sign(t, jwt.SigningMethodES256, ecKey, "", claims("user-1", func(c jwt.MapClaims) { c["account"] = "acc-7" })),
	} {
		p, err := v.Verify(context.Background(), tok)
		if err != nil || p.MemberRef != "acc-7" || p.Subject != "user-1" {
			t.Errorf("%s: expected member acc-7, got %+v %v", name, p, err)
		}
	}
	noClaim := sign(t, jwt.SigningMethodEdDSA, edPriv, "", claims("user-1", nil))
	if _, err := v.Verify(context.Background(), noClaim); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("token without the member claim: expected ErrUnauthenticated, got %v", err)
	}

	jwksFile := filepath.Join(dir, "jwks.json")
	b, _ := json.Marshal(map[string]any{"keys": []any{ecJWK("e1", &ecKey.PublicKey), map[string]any{"kty": "oct", "k": "c2VjcmV0"}}})
	if err := os.WriteFile(jwksFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	v2, err := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, KeysFile: jwksFile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ecKey, "e1", claims("anna", nil))); err != nil {
		t.Errorf("JWKS file: %v", err)
	}

	for name, cfg := range map[string]auth.JWTConfig{
		"no issuer":   {Audience: testAudience, KeysFile: pemFile},
		"no audience": {Issuer: testIssuer, KeysFile: pemFile},
		"no keys":     {Issuer: testIssuer, Audience: testAudience},
		"both keys":   {Issuer: testIssuer, Audience: testAudience, KeysFile: pemFile, JWKSURL: "http://127.0.0.1:1/"},
		"bad file":    {Issuer: testIssuer, Audience: testAudience, KeysFile: filepath.Join(dir, "missing")},
	} {
		if _, err := auth.NewJWTVerifier(context.Background(), cfg); err == nil {
			t.Errorf("%s: expected a configuration error", name)
		}
	}
}
