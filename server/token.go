package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const tokenUsage = `usage:
  promogate token member [flags] REF   print a member token (JWT) for the member with externalRef REF
  promogate token keygen [flags]       write a development signing key pair

Development only. A member token is normally issued by the frontend's identity provider; this
command signs one with a local development key so that the member cabinet, member-only
queries and subscriptions can be tried against a local server. The server must trust the key:
start it with --jwt-keys-file set to the public key and the same issuer and audience
(` + "`make run`" + ` does all of this; ` + "`make member-token REF=demo-anna`" + ` prints a token for it).
No database is needed. REF is not checked against the members.

flags of member (each also from the environment variable named):
  --jwt-signing-key FILE   PEM private key (PKCS#8 EC P-256, Ed25519 or RSA) (PROMOGATE_JWT_SIGNING_KEY); required
  --jwt-issuer ISS         iss claim (PROMOGATE_JWT_ISSUER); required
  --jwt-audience AUD       aud claim (PROMOGATE_JWT_AUDIENCE); required
  --jwt-member-claim NAME  claim holding REF (PROMOGATE_JWT_MEMBER_CLAIM); default sub
  --ttl DURATION           lifetime (PROMOGATE_JWT_TTL); default 12h

flags of keygen:
  --key FILE               where to write the private key (mode 0600); required
  --public FILE            where to write the public key (for --jwt-keys-file); required
  keygen refuses to overwrite either file.
`

// runToken is the token command: member tokens for development, and the key pair to sign them.
func runToken(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return nil
	case "member":
		return runTokenMember(args[1:], stdout, stderr)
	case "keygen":
		return runTokenKeygen(args[1:], stderr)
	}
	fmt.Fprintf(stderr, "promogate token: unknown command %q\n\n%s", args[0], tokenUsage)
	return errUsage
}

// errUsage is a command line that needs the usage printed; main exits 2 for it.
var errUsage = errors.New("usage")

func runTokenMember(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token member", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage) }
	keyFile := fs.String("jwt-signing-key", os.Getenv("PROMOGATE_JWT_SIGNING_KEY"), "")
	issuer := fs.String("jwt-issuer", os.Getenv("PROMOGATE_JWT_ISSUER"), "")
	audience := fs.String("jwt-audience", os.Getenv("PROMOGATE_JWT_AUDIENCE"), "")
	claim := fs.String("jwt-member-claim", envOr("PROMOGATE_JWT_MEMBER_CLAIM", "sub"), "")
	ttl := 12 * time.Hour
	if v := os.Getenv("PROMOGATE_JWT_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("PROMOGATE_JWT_TTL=%q is not a duration such as 12h", v)
		}
		ttl = d
	}
	fs.DurationVar(&ttl, "ttl", ttl, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	ref := fs.Arg(0)
	switch {
	case *keyFile == "":
		return errors.New("token member: no development signing key configured: set PROMOGATE_JWT_SIGNING_KEY or --jwt-signing-key " +
			"(`make run` creates one in .data/dev-jwt-key.pem; `make member-token REF=…` uses it)")
	case *issuer == "" || *audience == "":
		return errors.New("token member: set the issuer and audience the server checks (PROMOGATE_JWT_ISSUER and PROMOGATE_JWT_AUDIENCE, or --jwt-issuer and --jwt-audience)")
	case *claim == "":
		return errors.New("token member: --jwt-member-claim is empty")
	case ttl <= 0:
		return errors.New("token member: --ttl must be positive")
	case len(ref) > 200:
		return errors.New("token member: REF is longer than 200 bytes")
	}
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("token member: signing key: %w", err)
	}
	key, method, err := parseSigningKey(raw)
	if err != nil {
		return fmt.Errorf("token member: signing key %s: %w", *keyFile, err)
	}
	now := time.Now()
	claims := jwt.MapClaims{"iss": *issuer, "aud": *audience, "sub": ref, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	claims[*claim] = ref
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		return fmt.Errorf("token member: sign: %w", err)
	}
	fmt.Fprintln(stdout, token)
	fmt.Fprintf(stderr, "development member token for %q, valid until %s (send it as Authorization: Bearer <token>)\n",
		ref, now.Add(ttl).Format(time.RFC3339))
	return nil
}

// parseSigningKey reads a PEM PKCS#8 (or SEC 1 EC, or PKCS#1 RSA) private key and returns it
// with its JWT signing method: ES256 for P-256, EdDSA for Ed25519, RS256 for RSA.
func parseSigningKey(raw []byte) (crypto.Signer, jwt.SigningMethod, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, nil, errors.New("only P-256 EC keys are supported (ES256)")
		}
		return k, jwt.SigningMethodES256, nil
	case ed25519.PrivateKey:
		return k, jwt.SigningMethodEdDSA, nil
	case *rsa.PrivateKey:
		return k, jwt.SigningMethodRS256, nil
	}
	return nil, nil, fmt.Errorf("unsupported key type %T", key)
}

func runTokenKeygen(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("token keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage) }
	keyFile := fs.String("key", "", "")
	pubFile := fs.String("public", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *keyFile == "" || *pubFile == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeNew(*keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		return fmt.Errorf("token keygen: %w", err)
	}
	if err := writeNew(*pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		os.Remove(*keyFile)
		return fmt.Errorf("token keygen: %w", err)
	}
	fmt.Fprintf(stderr, "development signing key written to %s, its public key to %s (for --jwt-keys-file)\n", *keyFile, *pubFile)
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
