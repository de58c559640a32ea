package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
)

// JWTConfig configures member tokens. Issuer, Audience and one source of keys are required.
type JWTConfig struct {
	// Issuer must equal the token's iss claim.
	Issuer string
	// Audience must be among the token's aud claim.
	Audience string
	// JWKSURL is fetched for the signing keys, again every RefreshInterval and when a token
	// names an unknown kid (at most every 30 seconds).
	JWKSURL string
	// KeysFile holds static keys: PEM public keys or certificates, or a JWKS document.
	KeysFile string
	// MemberClaim names the claim holding the member's externalRef; default "sub".
	MemberClaim string
	// Leeway tolerates clock skew on exp, nbf and iat; default 30 seconds.
	Leeway time.Duration
	// RefreshInterval of the JWKS; default 10 minutes.
	RefreshInterval time.Duration
	// HTTPClient fetches the JWKS; default a client with a 10 second timeout.
	HTTPClient *http.Client
	Log        hclog.Logger
}

// Enabled reports whether any JWT setting is given.
func (c JWTConfig) Enabled() bool {
	return c.Issuer != "" || c.Audience != "" || c.JWKSURL != "" || c.KeysFile != ""
}

// jwtAlgorithms are the accepted signature algorithms: asymmetric only, so a leaked
// verification key cannot mint tokens and "none" or HMAC-with-a-public-key tricks fail.
var jwtAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// JWTVerifier checks member tokens. It is safe for concurrent use.
type JWTVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
	keys   atomic.Pointer[keySet]

	refreshMu   sync.Mutex
	lastAttempt time.Time
	stop        chan struct{}
	stopOnce    sync.Once
}

type keySet struct {
	byKID map[string]any
	all   []jwt.VerificationKey
}

// NewJWTVerifier validates cfg and loads the keys. A JWKS URL that cannot be fetched now is not
// an error: it is logged and fetched again when a token arrives. Close stops the refresher.
func NewJWTVerifier(ctx context.Context, cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: JWT needs an issuer and an audience")
	}
	if (cfg.JWKSURL == "") == (cfg.KeysFile == "") {
		return nil, errors.New("auth: JWT needs exactly one of a JWKS URL and a keys file")
	}
	if cfg.MemberClaim == "" {
		cfg.MemberClaim = "sub"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 10 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	v := &JWTVerifier{cfg: cfg, stop: make(chan struct{}), parser: jwt.NewParser(
		jwt.WithValidMethods(jwtAlgorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
	)}
	v.keys.Store(&keySet{byKID: map[string]any{}})
	if cfg.KeysFile != "" {
		raw, err := os.ReadFile(cfg.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("auth: JWT keys: %w", err)
		}
		ks, err := parseKeys(raw)
		if err != nil {
			return nil, fmt.Errorf("auth: JWT keys %s: %w", cfg.KeysFile, err)
		}
		v.keys.Store(ks)
		return v, nil
	}
	if err := v.refresh(ctx); err != nil {
		cfg.Log.Warn("JWKS not fetched; retrying when a token arrives", "url", cfg.JWKSURL, "error", err)
	}
	go v.refresher()
	return v, nil
}

// Close stops the background JWKS refresh.
func (v *JWTVerifier) Close() { v.stopOnce.Do(func() { close(v.stop) }) }

func (v *JWTVerifier) refresher() {
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := v.refresh(ctx); err != nil {
				v.cfg.Log.Warn("JWKS refresh failed; keeping the previous keys", "url", v.cfg.JWKSURL, "error", err)
			}
			cancel()
		}
	}
}

// refresh fetches the JWKS and replaces the key set.
func (v *JWTVerifier) refresh(ctx context.Context) error {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	v.lastAttempt = time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS answered %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	ks, err := parseJWKS(raw)
	if err != nil {
		return err
	}
	v.keys.Store(ks)
	return nil
}

// refreshForUnknownKID refetches the JWKS when a token names a kid not seen yet (keys rotate),
// at most every 30 seconds so unknown kids cannot make the server hammer the provider.
func (v *JWTVerifier) refreshForUnknownKID(ctx context.Context) {
	if v.cfg.JWKSURL == "" {
		return
	}
	v.refreshMu.Lock()
	recent := time.Since(v.lastAttempt) < 30*time.Second
	v.refreshMu.Unlock()
	if recent {
		return
	}
	if err := v.refresh(ctx); err != nil {
		v.cfg.Log.Warn("JWKS refresh failed", "url", v.cfg.JWKSURL, "error", err)
	}
}

// Verify checks a token's signature, algorithm, issuer, audience, expiry (required), not-before
// and issued-at, and returns the principal of the member it names. Errors wrap
// ErrUnauthenticated.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		ks := v.keys.Load()
		if kid == "" {
			if len(ks.all) == 0 {
				return nil, errors.New("no keys")
			}
			return jwt.VerificationKeySet{Keys: ks.all}, nil
		}
		if k, ok := ks.byKID[kid]; ok {
			return k, nil
		}
		v.refreshForUnknownKID(ctx)
		if k, ok := v.keys.Load().byKID[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	ref, _ := claims[v.cfg.MemberClaim].(string)
	if ref == "" || len(ref) > 200 {
		return nil, fmt.Errorf("%w: claim %q does not name a member", ErrUnauthenticated, v.cfg.MemberClaim)
	}
	sub, _ := claims["sub"].(string)
	p := &Principal{Kind: KindToken, Roles: []Role{RoleMember}, Subject: sub, MemberRef: ref, RateKey: "member:" + ref}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		p.Expires = exp.Time
	}
	return p, nil
}

// parseKeys reads static keys: a JWKS document, or PEM public keys, RSA public keys or
// certificates (usable by tokens without a kid, or with the kid "0", "1", … by position).
func parseKeys(raw []byte) (*keySet, error) {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		return parseJWKS(t)
	}
	ks := &keySet{byKID: map[string]any{}}
	for {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
		}
		if err != nil {
			return nil, err
		}
		ks.byKID[fmt.Sprint(len(ks.all))] = key
		ks.all = append(ks.all, key)
	}
	if len(ks.all) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return ks, nil
}

// jwk is one key of a JWKS (RFC 7517), RSA, EC or OKP (Ed25519) public keys only.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads a JWKS document. Keys for encryption or of unsupported types are skipped; a
// document with no usable key is an error.
func parseJWKS(raw []byte) (*keySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	ks := &keySet{byKID: map[string]any{}}
	var errs []error
	for _, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", k.Kid, err))
			continue
		}
		if k.Kid != "" {
			ks.byKID[k.Kid] = key
		}
		ks.all = append(ks.all, key)
	}
	if len(ks.all) == 0 {
		return nil, fmt.Errorf("JWKS has no usable signing key %v", errors.Join(errs...))
	}
	return ks, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k jwk) publicKey() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil || len(n) < 256 {
			return nil, errors.New("RSA modulus missing or shorter than 2048 bits")
		}
		e, err := b64(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, errX := b64(k.X)
		y, errY := b64(k.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad EC coordinates")
		}
		point := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, point)
	case "OKP":
		x, err := b64(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("only Ed25519 OKP keys are supported")
		}
		return ed25519.PublicKey(x), nil
	default:
		return nil, fmt.Errorf("unsupported key type %q", k.Kty)
	}
}
