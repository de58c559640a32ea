package auth

import "time"

// SetKeyCacheClock replaces the real clock of the store's key cache (see CacheKeys).
func (s *Store) SetKeyCacheClock(now func() time.Time) { s.keys.now = now }
