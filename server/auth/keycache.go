package auth

import (
	"crypto/subtle"
	"sync"
	"time"
)

// KeyCacheSize is the most verified API keys a Store remembers (see Store.CacheKeys).
const KeyCacheSize = 10_000

// keyCache remembers API keys that were verified against the database, by prefix, for a short
// time, so that a request does not look its key up again. An entry holds the stored SHA-256 of
// the secret, never the key, and a presented key is still hashed and compared with it in
// constant time. Failures are never remembered. It is safe for concurrent use.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time // real time, not the programme clock (which --dev-clock can move)

	mu      sync.Mutex
	entries map[string]keyEntry
	// forgotten counts forget calls: a look-up that started before one is not remembered, so a
	// key revoked while it was being read from the database is not cached as live.
	forgotten uint64
}

type keyEntry struct {
	key     APIKey // as read from the database: live, its Hash the secret's SHA-256
	expires time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, max: max, now: time.Now, entries: map[string]keyEntry{}}
}

// get returns the remembered key with the prefix when it has not expired, and whether one
// was found. The caller compares the secret's hash with the key's.
func (c *keyCache) get(prefix string) (APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[prefix]
	if !ok {
		return APIKey{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, prefix)
		return APIKey{}, false
	}
	return e.key, true
}

// epoch returns what put needs to know that nothing was forgotten since the caller started
// reading a key from the database.
func (c *keyCache) epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgotten
}

// put remembers a key verified against the database by a look-up that started at epoch,
// unless a key was forgotten since. When the cache is full it makes room by dropping an
// expired entry among a few, or else an arbitrary one (map order), in constant time.
func (c *keyCache) put(k *APIKey, epoch uint64) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgotten != epoch {
		return
	}
	if _, ok := c.entries[k.Prefix]; !ok && len(c.entries) >= c.max {
		victim, probes := "", 0
		for p, e := range c.entries {
			if victim == "" || !now.Before(e.expires) {
				victim = p
			}
			if probes++; probes == 8 || !now.Before(e.expires) {
				break
			}
		}
		delete(c.entries, victim)
	}
	c.entries[k.Prefix] = keyEntry{key: *k, expires: now.Add(c.ttl)}
}

// forget drops the key with the id (it is being revoked).
func (c *keyCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, p)
		}
	}
	c.forgotten++
}

// matches reports whether hash is the key's stored hash, in constant time.
func matches(k *APIKey, hash []byte) bool {
	return subtle.ConstantTimeCompare(k.Hash, hash) == 1
}
