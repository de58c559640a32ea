package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
)

// Errors returned by the key store and the authenticator.
var (
	// ErrInvalid is a malformed name or role list.
	ErrInvalid = errors.New("auth: invalid input")
	// ErrKeyNotFound means no API key has the id.
	ErrKeyNotFound = db.NotFound("auth: no such API key")
	// ErrUnauthenticated means the presented credentials are malformed, unknown, revoked or
	// expired. Its message never says which, so it reveals nothing to a guesser.
	ErrUnauthenticated = errors.New("auth: invalid credentials")
)

// KeyPrefix starts every API key, so keys are recognisable (and found by secret scanners).
const KeyPrefix = "pgk_"

const (
	prefixBytes = 8  // 16 hex characters, unique per key, stored in clear for look-up
	secretBytes = 32 // 43 base64url characters, only its SHA-256 is stored
)

// GenerateKey returns a fresh random API key "pgk_<16 hex>_<43 base64url>".
func GenerateKey() string {
	p := make([]byte, prefixBytes)
	s := make([]byte, secretBytes)
	rand.Read(p)
	rand.Read(s)
	return KeyPrefix + hex.EncodeToString(p) + "_" + base64.RawURLEncoding.EncodeToString(s)
}

// splitKey returns the public prefix and the secret of a well-formed key.
func splitKey(key string) (prefix, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix)
	if !found {
		return "", "", false
	}
	prefix, secret, found = strings.Cut(rest, "_")
	if !found || len(prefix) != 2*prefixBytes || len(secret) < 20 || len(secret) > 200 {
		return "", "", false
	}
	if _, err := hex.DecodeString(prefix); err != nil || strings.ToLower(prefix) != prefix {
		return "", "", false
	}
	return prefix, secret, true
}

// LooksLikeKey reports whether a bearer credential is an API key rather than a JWT.
func LooksLikeKey(s string) bool { return strings.HasPrefix(s, KeyPrefix) }

// ValidKey reports whether key is a well-formed API key (as GenerateKey makes them).
func ValidKey(key string) bool {
	_, _, ok := splitKey(key)
	return ok
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// APIKey is a stored API key: never its secret, only the secret's SHA-256.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Name       string     `bun:"name"`
	Prefix     string     `bun:"prefix"`
	Hash       []byte     `bun:"hash"`
	Roles      []string   `bun:"roles,array"`
	CreatedAt  time.Time  `bun:"created_at"`
	CreatedBy  string     `bun:"created_by"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
}

// RoleList returns the key's roles.
func (k *APIKey) RoleList() []Role {
	out := make([]Role, len(k.Roles))
	for i, r := range k.Roles {
		out[i] = Role(r)
	}
	return out
}

// Principal returns the principal of a request authenticated with the key.
func (k *APIKey) Principal() *Principal {
	return &Principal{Kind: KindAPIKey, Roles: k.RoleList(), KeyID: k.ID, KeyName: k.Name,
		RateKey: fmt.Sprintf("key:%d", k.ID)}
}

// Store keeps API keys and the audit log in PostgreSQL. It is safe for concurrent use.
type Store struct {
	db  bun.IDB
	now func() time.Time

	keys *keyCache // verified keys; nil: every Authenticate reads the database

	mu       sync.Mutex
	lastUsed map[int64]time.Time // when last_used_at was last written, to write it once a minute
}

// NewStore returns a store over idb with the clock now.
func NewStore(idb bun.IDB, now func() time.Time) *Store {
	return &Store{db: idb, now: now, lastUsed: map[int64]time.Time{}}
}

// CacheKeys makes Authenticate remember, for ttl (real time), up to KeyCacheSize keys it
// verified against the database, so that a request with a key seen recently needs no database
// look-up. The cache holds what the database holds (the SHA-256 of each secret, never a key);
// a presented key is still hashed and compared in constant time, and failed attempts are
// never remembered. A key revoked through this store (RevokeKey) is forgotten at once; one
// revoked elsewhere (another replica, the CLI) keeps authenticating here for up to ttl. A ttl
// of 0 or less leaves the cache off, the default. Call it before the store is used.
func (s *Store) CacheKeys(ttl time.Duration) {
	s.keys = nil
	if ttl > 0 {
		s.keys = newKeyCache(ttl, KeyCacheSize)
	}
}

func validName(name string) error {
	if n := len(strings.TrimSpace(name)); n == 0 || len(name) > 100 {
		return fmt.Errorf("%w: name must be 1 to 100 characters", ErrInvalid)
	}
	return nil
}

func validKeyRoles(roles []Role) ([]Role, error) {
	roles = normalizeRoles(roles)
	if len(roles) == 0 {
		return nil, fmt.Errorf("%w: a key needs at least one of the roles %s", ErrInvalid, joinRoles(KeyRoles))
	}
	for _, r := range roles {
		if r == RoleMember {
			return nil, fmt.Errorf("%w: the member role comes only from a member token", ErrInvalid)
		}
	}
	return roles, nil
}

func roleStrings(roles []Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// CreateKey stores a new API key and returns its secret form (to be shown once) and the stored
// record. Errors: ErrInvalid for an empty name or a bad role list.
func (s *Store) CreateKey(ctx context.Context, name string, roles []Role, createdBy string) (string, *APIKey, error) {
	if err := validName(name); err != nil {
		return "", nil, err
	}
	roles, err := validKeyRoles(roles)
	if err != nil {
		return "", nil, err
	}
	key := GenerateKey()
	k, err := s.insertKey(ctx, key, name, roles, createdBy)
	if err != nil {
		return "", nil, err
	}
	return key, k, nil
}

func (s *Store) insertKey(ctx context.Context, key, name string, roles []Role, createdBy string) (*APIKey, error) {
	prefix, secret, ok := splitKey(key)
	if !ok {
		return nil, fmt.Errorf("%w: not an API key of the form %s<16 hex>_<secret>", ErrInvalid, KeyPrefix)
	}
	k := &APIKey{Name: name, Prefix: prefix, Hash: hashSecret(secret), Roles: roleStrings(roles),
		CreatedAt: s.now(), CreatedBy: createdBy}
	if _, err := s.db.NewInsert().Model(k).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("auth: store key: %w", err)
	}
	return k, nil
}

// EnsureKey makes sure the given key exists with name and roles (the bootstrap admin key): it
// is stored when its prefix is unknown and otherwise left as it is, revoked or not. It returns
// the stored key and whether it was created now. Errors: ErrInvalid for a malformed key, and
// an error when another secret is stored under the key's prefix.
func (s *Store) EnsureKey(ctx context.Context, key, name string, roles []Role) (*APIKey, bool, error) {
	prefix, secret, ok := splitKey(key)
	if !ok {
		return nil, false, fmt.Errorf("%w: not an API key of the form %s<16 hex>_<secret> (make one with `promogate apikey generate`)", ErrInvalid, KeyPrefix)
	}
	roles, err := validKeyRoles(roles)
	if err != nil {
		return nil, false, err
	}
	existing := new(APIKey)
	err = s.db.NewSelect().Model(existing).Where("prefix = ?", prefix).Scan(ctx)
	switch {
	case err == nil:
		if subtle.ConstantTimeCompare(existing.Hash, hashSecret(secret)) != 1 {
			return nil, false, errors.New("auth: another key is stored under the bootstrap key's prefix")
		}
		return existing, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, err
	}
	k, err := s.insertKey(ctx, key, name, roles, "bootstrap")
	if db.Constraint(err) == "api_keys_prefix_key" {
		// Another replica stored it at the same moment.
		return s.EnsureKey(ctx, key, name, roles)
	}
	return k, err == nil, err
}

// Authenticate returns the live key matching the presented API key. The stored hash is compared
// in constant time. With CacheKeys, a key verified within the cache's time is not read from the
// database again. Errors: ErrUnauthenticated for a malformed, unknown or revoked key.
func (s *Store) Authenticate(ctx context.Context, presented string) (*APIKey, error) {
	prefix, secret, ok := splitKey(presented)
	if !ok {
		return nil, ErrUnauthenticated
	}
	hash := hashSecret(secret)
	var epoch uint64
	if s.keys != nil {
		if k, ok := s.keys.get(prefix); ok {
			if !matches(&k, hash) {
				return nil, ErrUnauthenticated
			}
			s.touch(ctx, &k)
			return &k, nil
		}
		epoch = s.keys.epoch()
	}
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).Where("prefix = ?", prefix).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same work as a match so timing does not tell unknown prefixes apart.
		subtle.ConstantTimeCompare(hash, make([]byte, sha256.Size))
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up key: %w", err)
	}
	if !matches(k, hash) || k.RevokedAt != nil {
		return nil, ErrUnauthenticated
	}
	if s.keys != nil {
		s.keys.put(k, epoch)
	}
	s.touch(ctx, k)
	return k, nil
}

// touch records when a key was last used, at most once a minute per key.
func (s *Store) touch(ctx context.Context, k *APIKey) {
	now := s.now()
	s.mu.Lock()
	last, seen := s.lastUsed[k.ID]
	if seen && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.lastUsed[k.ID] = now
	s.mu.Unlock()
	// Best effort: a key that authenticated is not refused because its last use was not stored.
	_, _ = s.db.NewUpdate().Model((*APIKey)(nil)).Set("last_used_at = ?", now).Where("id = ?", k.ID).Exec(ctx)
}

// Key returns the key with the id. Errors: ErrKeyNotFound.
func (s *Store) Key(ctx context.Context, id int64) (*APIKey, error) {
	k := new(APIKey)
	if err := s.db.NewSelect().Model(k).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Resolve(err, ErrKeyNotFound)
	}
	return k, nil
}

// RevokeKey revokes the key with the id: from then on it authenticates nothing (through this
// store at once; see CacheKeys for other stores). Revoking a revoked key keeps its first
// revocation time. Errors: ErrKeyNotFound.
func (s *Store) RevokeKey(ctx context.Context, id int64) (*APIKey, error) {
	k := new(APIKey)
	err := s.db.NewUpdate().Model(k).Set("revoked_at = coalesce(revoked_at, ?)", s.now()).
		Where("id = ?", id).Returning("*").Scan(ctx)
	if s.keys != nil {
		s.keys.forget(id)
	}
	if err != nil {
		return nil, db.Resolve(err, ErrKeyNotFound)
	}
	return k, nil
}

// ListKeys returns up to limit keys with ids above afterID in id order, whether more follow.
// Revoked keys are included only when includeRevoked.
func (s *Store) ListKeys(ctx context.Context, includeRevoked bool, afterID int64, limit int) ([]APIKey, bool, error) {
	var keys []APIKey
	q := s.db.NewSelect().Model(&keys).Where("id > ?", afterID).Order("id").Limit(limit + 1)
	if !includeRevoked {
		q = q.Where("revoked_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, err
	}
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	return keys, more, nil
}
