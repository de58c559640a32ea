package auth_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promogate/promogate/db/dbtest"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/clock"
)

// TestKeyLifecycle: a created key authenticates with its roles, its secret is stored only as a
// SHA-256, a wrong secret under the same prefix fails, and a revoked key fails.
func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	clk := clock.NewManual(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	s := auth.NewStore(bdb, clk.Now)

	key, k, err := s.CreateKey(ctx, "ci", []auth.Role{auth.RoleIngest, auth.RoleAdmin, auth.RoleIngest}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.ValidKey(key) || !strings.HasPrefix(key, auth.KeyPrefix+k.Prefix+"_") {
		t.Fatalf("key %q does not have the form pgk_<prefix>_<secret> with prefix %q", key, k.Prefix)
	}
	if strings.Join(k.Roles, ",") != "ingest,admin" {
		t.Errorf("roles: expected ingest,admin (deduplicated, in order), got %v", k.Roles)
	}

	// Stored: the prefix and the SHA-256 of the secret; the secret appears in no column.
	secret := key[len(auth.KeyPrefix)+17:]
	var row struct {
		Hash []byte
		Text string
	}
	if err := bdb.NewRaw("SELECT hash, concat_ws('|', id, name, prefix, roles, created_by) AS text FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &row.Hash, &row.Text); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(secret))
	if string(row.Hash) != string(want[:]) {
		t.Errorf("stored hash is not the SHA-256 of the secret")
	}
	if strings.Contains(row.Text, secret) || strings.Contains(string(row.Hash), secret) {
		t.Errorf("the secret is stored in clear: %s", row.Text)
	}

	got, err := s.Authenticate(ctx, key)
	if err != nil || got.ID != k.ID {
		t.Fatalf("authenticate: expected key %d, got %v, %v", k.ID, got, err)
	}
	p := got.Principal()
	if p.Kind != auth.KindAPIKey || !p.Has(auth.RoleAdmin) || p.Has(auth.RoleMarketing) || p.Actor() != "apikey:"+itoa(k.ID)+":ci" {
		t.Errorf("principal: %+v (actor %s)", p, p.Actor())
	}
	var lastUsed *time.Time
	if err := bdb.NewRaw("SELECT last_used_at FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &lastUsed); err != nil {
		t.Fatal(err)
	}
	if lastUsed == nil || !lastUsed.Equal(clk.Now()) {
		t.Errorf("last_used_at: expected %s, got %v", clk.Now(), lastUsed)
	}

	for name, bad := range map[string]string{
		"wrong secret":  auth.KeyPrefix + k.Prefix + "_" + strings.Repeat("A", 43),
		"unknown":       auth.GenerateKey(),
		"malformed":     "pgk_nothex_abc",
		"empty":         "",
		"truncated":     key[:len(key)-1],
		"upper prefix":  auth.KeyPrefix + strings.ToUpper(k.Prefix) + key[len(auth.KeyPrefix)+16:],
		"extra segment": key + "_x",
	} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s key: expected ErrUnauthenticated, got %v", name, err)
		}
	}

	revoked, err := s.RevokeKey(ctx, k.ID)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %v %v", revoked, err)
	}
	clk.Advance(time.Hour)
	again, err := s.RevokeKey(ctx, k.ID)
	if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Errorf("revoking twice: expected the first time %s kept, got %v %v", revoked.RevokedAt, again.RevokedAt, err)
	}
	if _, err := s.Authenticate(ctx, key); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked key: expected ErrUnauthenticated, got %v", err)
	}
	if _, err := s.RevokeKey(ctx, 1<<40); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("revoking an unknown key: expected ErrKeyNotFound, got %v", err)
	}
	live, _, _ := s.ListKeys(ctx, false, 0, 100)
	all, _, _ := s.ListKeys(ctx, true, 0, 100)
	if containsKey(live, k.ID) || !containsKey(all, k.ID) {
		t.Errorf("list: a revoked key must be listed only with includeRevoked")
	}
}

// TestKeyCache: with CacheKeys, a key verified once is served without the database until the
// cache's time runs out (a revocation written straight to the database, as another replica or
// the CLI would, takes effect only then), a revocation through the store takes effect at once,
// a wrong secret under a cached prefix fails, and failures are not remembered.
func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	bdb := dbtest.DB(t)
	s := auth.NewStore(bdb, time.Now)
	const ttl = 5 * time.Second
	s.CacheKeys(ttl)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.SetKeyCacheClock(func() time.Time { return now })
	revokeInDB := func(id int64, revoked bool) {
		t.Helper()
		q := "UPDATE api_keys SET revoked_at = NULL WHERE id = ?"
		if revoked {
			q = "UPDATE api_keys SET revoked_at = now() WHERE id = ?"
		}
		if _, err := bdb.NewRaw(q, id).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	authenticates := func(key string) bool {
		t.Helper()
		_, err := s.Authenticate(ctx, key)
		if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatal(err)
		}
		return err == nil
	}

	key, k, err := s.CreateKey(ctx, "cached", []auth.Role{auth.RoleFrontend}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !authenticates(key) {
		t.Fatal("a new key does not authenticate")
	}
	// Revoked behind the store's back: the cached key is served without the database.
	revokeInDB(k.ID, true)
	now = now.Add(ttl - time.Millisecond)
	if !authenticates(key) {
		t.Errorf("within the cache time the key was read from the database again")
	}
	if authenticates(auth.KeyPrefix + k.Prefix + "_" + strings.Repeat("A", 43)) {
		t.Errorf("a wrong secret under a cached prefix authenticates")
	}
	now = now.Add(time.Millisecond)
	if authenticates(key) {
		t.Errorf("after the cache time a key revoked in the database still authenticates")
	}
	// The failure was not remembered: the database decides again.
	revokeInDB(k.ID, false)
	if !authenticates(key) {
		t.Errorf("a failed attempt was remembered")
	}

	// Revoked through the store: at once, although the key is cached.
	if _, err := s.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if authenticates(key) {
		t.Errorf("a key revoked through the store still authenticates from the cache")
	}

	// Without CacheKeys every attempt reads the database.
	plain := auth.NewStore(bdb, time.Now)
	key2, k2, err := plain.CreateKey(ctx, "plain", []auth.Role{auth.RoleFrontend}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Authenticate(ctx, key2); err != nil {
		t.Fatal(err)
	}
	revokeInDB(k2.ID, true)
	if _, err := plain.Authenticate(ctx, key2); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("without a cache, a key revoked in the database: expected ErrUnauthenticated, got %v", err)
	}
}

func containsKey(keys []auth.APIKey, id int64) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCreateKeyRejectsBadInput(t *testing.T) {
	s := auth.NewStore(dbtest.DB(t), time.Now)
	for name, c := range map[string]struct {
		name  string
		roles []auth.Role
	}{
		"no roles":    {"x", nil},
		"member role": {"x", []auth.Role{auth.RoleMember}},
		"empty name":  {" ", []auth.Role{auth.RoleAdmin}},
		"long name":   {strings.Repeat("n", 101), []auth.Role{auth.RoleAdmin}},
	} {
		if _, _, err := s.CreateKey(context.Background(), c.name, c.roles, "test"); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("%s: expected ErrInvalid, got %v", name, err)
		}
	}
	if _, err := auth.ParseRoles("admin, frontend,bogus", auth.KeyRoles); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("ParseRoles with an unknown role: expected ErrInvalid, got %v", err)
	}
	if rs, err := auth.ParseRoles(" Admin,frontend,,admin", auth.KeyRoles); err != nil || len(rs) != 2 || rs[0] != auth.RoleFrontend {
		t.Errorf("ParseRoles: expected [frontend admin], got %v %v", rs, err)
	}
}

// TestEnsureKey: the bootstrap key is stored once, found again on the next start (even by
// several replicas at once), and a different secret under its prefix is an error.
func TestEnsureKey(t *testing.T) {
	ctx := context.Background()
	s := auth.NewStore(dbtest.DB(t), time.Now)
	key := auth.GenerateKey()
	k, created, err := s.EnsureKey(ctx, key, "bootstrap", []auth.Role{auth.RoleAdmin})
	if err != nil || !created {
		t.Fatalf("first ensure: created=%v err=%v", created, err)
	}
	k2, created, err := s.EnsureKey(ctx, key, "bootstrap", []auth.Role{auth.RoleAdmin})
	if err != nil || created || k2.ID != k.ID {
		t.Fatalf("second ensure: expected the same key, got %v created=%v err=%v", k2, created, err)
	}
	other := key[:len(key)-3] + "xyz"
	if _, _, err := s.EnsureKey(ctx, other, "bootstrap", []auth.Role{auth.RoleAdmin}); err == nil {
		t.Errorf("another secret under the same prefix: expected an error")
	}
	if _, _, err := s.EnsureKey(ctx, "short", "bootstrap", []auth.Role{auth.RoleAdmin}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("malformed bootstrap key: expected ErrInvalid, got %v", err)
	}
	if got, err := s.Authenticate(ctx, key); err != nil || !got.Principal().Has(auth.RoleAdmin) {
		t.Errorf("bootstrap key does not authenticate as admin: %v %v", got, err)
	}
}

// TestAuthenticator: the Authorization header decides the principal.
func TestAuthenticator(t *testing.T) {
	ctx := context.Background()
	s := auth.NewStore(dbtest.DB(t), time.Now)
	key, _, err := s.CreateKey(ctx, "frontend", []auth.Role{auth.RoleFrontend}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Authenticator{Keys: s, AnonymousRoles: nil}
	for header, want := range map[string]string{
		"":                      "anonymous",
		"Bearer " + key:         "frontend",
		"bearer " + key:         "frontend",
		"Basic dXNlcjpwYXNz":    "unauthenticated",
		"Bearer":                "unauthenticated",
		"Bearer " + key + "x":   "unauthenticated",
		"Bearer eyJhbGciOi.x.y": "unauthenticated", // a JWT, but no verifier is configured
	} {
		r := httptest.NewRequest("POST", "/graphql", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		p, err := a.Authenticate(r)
		got := "unauthenticated"
		switch {
		case err != nil && !auth.IsUnauthenticated(err):
			t.Fatalf("%q: unexpected error %v", header, err)
		case err == nil && !p.Authenticated():
			got = "anonymous"
		case err == nil:
			got = string(p.Roles[0])
		}
		if got != want {
			t.Errorf("Authorization %q: expected %s, got %s (%v)", header, want, got, err)
		}
	}
}

func TestRateLimiter(t *testing.T) {
	l := auth.NewRateLimiter(1, 3)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Errorf("4th request at once: expected a refusal with a wait up to 1s, got %v %s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Errorf("another caller shares the first one's bucket")
	}
	if ok, _ := auth.NewRateLimiter(0, 0).Allow("a"); !ok {
		t.Errorf("a zero rate must not limit")
	}
}
