package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestKeyCacheBounded: the cache never holds more than its size; expired entries go first.
func TestKeyCacheBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := newKeyCache(time.Minute, 3)
	c.now = func() time.Time { return now }
	put := func(id int64) { c.put(&APIKey{ID: id, Prefix: fmt.Sprintf("%016x", id)}, c.epoch()) }
	put(1)
	now = now.Add(2 * time.Minute) // 1 expires
	put(2)
	put(3)
	put(4)
	if len(c.entries) != 3 {
		t.Fatalf("expected 3 entries, got %d", len(c.entries))
	}
	if _, ok := c.entries[fmt.Sprintf("%016x", 1)]; ok {
		t.Errorf("the expired entry was kept over live ones")
	}
	for id := int64(5); id < 50; id++ {
		put(id)
		if len(c.entries) > 3 {
			t.Fatalf("after %d puts: %d entries, more than the size 3", id, len(c.entries))
		}
	}
	if _, ok := c.get(fmt.Sprintf("%016x", 49)); !ok {
		t.Errorf("the newest key is not cached")
	}
}

// TestKeyCacheForgetDuringLookUp: a key read from the database while it was being revoked is
// not remembered.
func TestKeyCacheForgetDuringLookUp(t *testing.T) {
	c := newKeyCache(time.Minute, 10)
	k := &APIKey{ID: 7, Prefix: "0000000000000007"}
	epoch := c.epoch() // the look-up starts
	c.forget(7)        // the key is revoked meanwhile
	c.put(k, epoch)    // the look-up read it before the revocation
	if _, ok := c.get(k.Prefix); ok {
		t.Errorf("a key revoked during its look-up was cached")
	}
	c.put(k, c.epoch())
	c.forget(7)
	if _, ok := c.get(k.Prefix); ok {
		t.Errorf("a forgotten key is still cached")
	}
}

// TestKeyCacheConcurrent: look-ups, insertions and revocations from many goroutines (run with
// -race); the size bound holds throughout.
func TestKeyCacheConcurrent(t *testing.T) {
	c := newKeyCache(time.Minute, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := int64(g*1000 + i%20)
				k := &APIKey{ID: id, Prefix: fmt.Sprintf("%016x", id)}
				c.put(k, c.epoch())
				c.get(k.Prefix)
				if i%7 == 0 {
					c.forget(id)
				}
			}
		}()
	}
	wg.Wait()
	if len(c.entries) > 8 {
		t.Errorf("%d entries, more than the size 8", len(c.entries))
	}
}
