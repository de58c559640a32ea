package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/internal/web"
)

// securityConfig is the serve command's authentication, limit and CORS configuration (see
// docs/security.md).
type securityConfig struct {
	bootstrapAdminKey string
	apiKeyCacheTTL    time.Duration
	anonymousRoles    string
	jwtIssuer         string
	jwtAudience       string
	jwtJWKSURL        string
	jwtKeysFile       string
	jwtMemberClaim    string
	rateLimit         int
	rateBurst         int
	corsOrigins       string
	maxBodyBytes      int64
	maxDepth          int
	maxAliases        int
	maxComplexity     int
	maxTokens         int
	maxErrors         int
	documents         string
	allowListOnly     bool
}

func (s *securityConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&s.bootstrapAdminKey, "bootstrap-admin-key", env("PROMOGATE_BOOTSTRAP_ADMIN_KEY", ""),
		"store this API key (from `promogate apikey generate`) with the admin role at start, if not stored yet (env PROMOGATE_BOOTSTRAP_ADMIN_KEY)")
	fs.DurationVar(&s.apiKeyCacheTTL, "api-key-cache-ttl", envDuration("PROMOGATE_API_KEY_CACHE_TTL", 5*time.Second),
		"how long a verified API key is trusted without reading it again; a key revoked on another replica or with the CLI works here that long; 0: no cache (env PROMOGATE_API_KEY_CACHE_TTL)")
	fs.StringVar(&s.anonymousRoles, "anonymous-roles", env("PROMOGATE_ANONYMOUS_ROLES", ""),
		"roles granted to requests without credentials, comma-separated; empty: none (env PROMOGATE_ANONYMOUS_ROLES)")
	fs.StringVar(&s.jwtIssuer, "jwt-issuer", env("PROMOGATE_JWT_ISSUER", ""), "member tokens: required iss claim (env PROMOGATE_JWT_ISSUER)")
	fs.StringVar(&s.jwtAudience, "jwt-audience", env("PROMOGATE_JWT_AUDIENCE", ""), "member tokens: required aud claim (env PROMOGATE_JWT_AUDIENCE)")
	fs.StringVar(&s.jwtJWKSURL, "jwt-jwks-url", env("PROMOGATE_JWT_JWKS_URL", ""), "member tokens: URL of the signing keys (JWKS) (env PROMOGATE_JWT_JWKS_URL)")
	fs.StringVar(&s.jwtKeysFile, "jwt-keys-file", env("PROMOGATE_JWT_KEYS_FILE", ""), "member tokens: file of static signing keys, PEM or JWKS (env PROMOGATE_JWT_KEYS_FILE)")
	fs.StringVar(&s.jwtMemberClaim, "jwt-member-claim", env("PROMOGATE_JWT_MEMBER_CLAIM", "sub"), "member tokens: claim holding the member's externalRef (env PROMOGATE_JWT_MEMBER_CLAIM)")
	fs.IntVar(&s.rateLimit, "rate-limit", envInt("PROMOGATE_RATE_LIMIT", 100), "requests per second per API key, member or anonymous address; 0: no limit (env PROMOGATE_RATE_LIMIT)")
	fs.IntVar(&s.rateBurst, "rate-burst", envInt("PROMOGATE_RATE_BURST", 200), "requests a caller may send at once above the rate (env PROMOGATE_RATE_BURST)")
	fs.StringVar(&s.corsOrigins, "cors-origins", env("PROMOGATE_CORS_ORIGINS", ""), "origins whose pages may call /graphql, comma-separated: exact origins, *, or loopback origins with any port for development (http://localhost:*, http://127.0.0.1:*); empty: none (env PROMOGATE_CORS_ORIGINS)")
	fs.Int64Var(&s.maxBodyBytes, "max-body-bytes", int64(envInt("PROMOGATE_MAX_BODY_BYTES", 1<<20)), "largest request body on /graphql (env PROMOGATE_MAX_BODY_BYTES)")
	fs.IntVar(&s.maxDepth, "max-depth", envInt("PROMOGATE_MAX_DEPTH", graph.DefaultMaxDepth), "deepest field nesting of a query; 0: no limit (env PROMOGATE_MAX_DEPTH)")
	fs.IntVar(&s.maxAliases, "max-aliases", envInt("PROMOGATE_MAX_ALIASES", graph.DefaultMaxAliases), "most aliases in a query; 0: no limit (env PROMOGATE_MAX_ALIASES)")
	fs.IntVar(&s.maxComplexity, "max-complexity", envInt("PROMOGATE_MAX_COMPLEXITY", graph.DefaultMaxComplexity), "highest estimated query cost; 0: no limit (env PROMOGATE_MAX_COMPLEXITY)")
	fs.IntVar(&s.maxTokens, "max-tokens", envInt("PROMOGATE_MAX_TOKENS", graph.DefaultMaxTokens), "most parser tokens in a document; 0: no limit (env PROMOGATE_MAX_TOKENS)")
	fs.IntVar(&s.maxErrors, "max-errors", envInt("PROMOGATE_MAX_ERRORS", graph.DefaultMaxErrors), "most errors in one response, the last saying how many were left out; 0: no limit (env PROMOGATE_MAX_ERRORS)")
	fs.StringVar(&s.documents, "documents", env("PROMOGATE_DOCUMENTS", ""), "registered GraphQL documents: a directory of .graphql files or a JSON file of sha256 to document (env PROMOGATE_DOCUMENTS)")
	fs.BoolVar(&s.allowListOnly, "allow-list-only", envBool("PROMOGATE_ALLOW_LIST_ONLY", false), "run only the registered --documents (env PROMOGATE_ALLOW_LIST_ONLY)")
}

// security is what runServe wires from securityConfig.
type security struct {
	store   *auth.Store
	limiter *auth.RateLimiter
	auth    func(http.Handler) http.Handler
	cors    web.CORS
	maxBody int64
	graph   graph.HandlerOptions
	close   func()
	// authn checks WebSocket connections' credentials like requests' (limiter limits both).
	authn *auth.Authenticator
}

// setup stores the bootstrap key, loads the JWT keys and documents, and builds the middleware.
func (s *securityConfig) setup(ctx context.Context, bdb *db.DB, now func() time.Time, introspection bool, log hclog.Logger) (*security, error) {
	store := auth.NewStore(bdb, now)
	store.CacheKeys(s.apiKeyCacheTTL)
	out := &security{store: store, maxBody: s.maxBodyBytes, close: func() {}}
	if s.bootstrapAdminKey != "" {
		k, created, err := store.EnsureKey(ctx, s.bootstrapAdminKey, "bootstrap", []auth.Role{auth.RoleAdmin})
		if err != nil {
			return nil, fmt.Errorf("--bootstrap-admin-key: %w", err)
		}
		switch {
		case k.RevokedAt != nil:
			log.Warn("the bootstrap admin key is revoked; it authenticates nothing", "key", auth.KeyPrefix+k.Prefix)
		case created:
			log.Info("bootstrap admin key stored", "key", auth.KeyPrefix+k.Prefix, "id", k.ID)
		}
	}
	anon, err := auth.ParseRoles(s.anonymousRoles, auth.KeyRoles)
	if err != nil {
		return nil, fmt.Errorf("--anonymous-roles: %w", err)
	}
	if len(anon) > 0 {
		log.Warn("requests without credentials get roles", "roles", s.anonymousRoles)
	}
	authn := &auth.Authenticator{Keys: store, AnonymousRoles: anon, Log: log}
	jc := auth.JWTConfig{Issuer: s.jwtIssuer, Audience: s.jwtAudience, JWKSURL: s.jwtJWKSURL,
		KeysFile: s.jwtKeysFile, MemberClaim: s.jwtMemberClaim, Log: log.Named("jwt")}
	if jc.Enabled() {
		v, err := auth.NewJWTVerifier(ctx, jc)
		if err != nil {
			return nil, err
		}
		authn.JWT, out.close = v, v.Close
	}
	out.authn, out.limiter = authn, auth.NewRateLimiter(float64(s.rateLimit), s.rateBurst)
	out.auth = web.Authenticate(authn, out.limiter, log)
	for o := range strings.SplitSeq(s.corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out.cors.AllowedOrigins = append(out.cors.AllowedOrigins, o)
		}
	}
	if err := out.cors.Validate(); err != nil {
		return nil, fmt.Errorf("--cors-origins: %w", err)
	}
	limit := func(v int) int {
		if v == 0 {
			return -1 // 0 on the command line switches the limit off
		}
		return v
	}
	out.graph = graph.HandlerOptions{Introspection: introspection, AllowListOnly: s.allowListOnly, Limits: graph.Limits{
		MaxDepth: limit(s.maxDepth), MaxAliases: limit(s.maxAliases), MaxComplexity: limit(s.maxComplexity), MaxTokens: limit(s.maxTokens),
		MaxErrors: limit(s.maxErrors),
	}}
	if s.documents != "" {
		if out.graph.Documents, err = graph.LoadDocuments(s.documents); err != nil {
			return nil, fmt.Errorf("--documents: %w", err)
		}
		log.Info("registered documents loaded", "count", len(out.graph.Documents), "allowListOnly", s.allowListOnly)
	} else if s.allowListOnly {
		return nil, errors.New("--allow-list-only needs --documents")
	}
	return out, nil
}

// runAPIKey is `promogate apikey <create|list|revoke|generate>`.
func runAPIKey(args []string) error {
	usage := errors.New(`usage:
  promogate apikey create --name NAME --role ROLE [--role ROLE...]   store a key, print it once on stdout
  promogate apikey list [--all]                                       list keys (--all: revoked ones too)
  promogate apikey revoke ID                                          revoke a key for good
  promogate apikey generate                                           print a fresh key without storing it
                                                                      (for --bootstrap-admin-key)
roles: frontend, ingest, marketing, admin; the database comes from --database-url or DATABASE_URL`)
	if len(args) == 0 {
		return usage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, usage)
		return nil
	case "generate":
		fmt.Println(auth.GenerateKey())
		return nil
	}
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	dbURL := fs.String("database-url", env("DATABASE_URL", ""), "PostgreSQL URL (env DATABASE_URL)")
	name := fs.String("name", "", "what the key is for, e.g. ci")
	var roles []string
	fs.Func("role", "a role of the key (repeatable, or comma-separated)", func(v string) error {
		roles = append(roles, v)
		return nil
	})
	all := fs.Bool("all", false, "list revoked keys too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("no database: set DATABASE_URL or --database-url")
	}
	ctx := context.Background()
	bdb, err := db.Open(ctx, *dbURL, db.Options{MaxOpenConns: 2, ApplicationName: "promogate-apikey"})
	if err != nil {
		return err
	}
	defer bdb.Close()
	store := auth.NewStore(bdb, time.Now)
	switch sub {
	case "create":
		rs, err := auth.ParseRoles(strings.Join(roles, ","), auth.KeyRoles)
		if err != nil {
			return err
		}
		key, k, err := store.CreateKey(ctx, *name, rs, "cli:"+currentUser())
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "created API key %d (%s) with roles %s; it is shown only now:\n", k.ID, k.Name, strings.Join(k.Roles, ","))
		fmt.Println(key)
		return nil
	case "list":
		after := int64(0)
		for {
			keys, more, err := store.ListKeys(ctx, *all, after, 100)
			if err != nil {
				return err
			}
			for _, k := range keys {
				state := "active"
				if k.RevokedAt != nil {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				}
				fmt.Printf("%d\t%s\t%s%s_…\t%s\t%s\n", k.ID, k.Name, auth.KeyPrefix, k.Prefix, strings.Join(k.Roles, ","), state)
				after = k.ID
			}
			if !more {
				return nil
			}
		}
	case "revoke":
		if fs.NArg() != 1 {
			return usage
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("revoke: %q is not a key id (see `promogate apikey list`)", fs.Arg(0))
		}
		k, err := store.RevokeKey(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "API key %d (%s) revoked at %s; running servers refuse it within their --api-key-cache-ttl\n",
			k.ID, k.Name, k.RevokedAt.Format(time.RFC3339))
		return nil
	default:
		return usage
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Getuid())
}
