package chat

import (
	"sync"
	"time"
)

// Cache is a small concurrency-safe map with an optional time to live and a
// size bound; past the bound it starts afresh rather than track recency,
// which suits caches of immutable or short-lived facts. Forget bumps an
// epoch so that a value read from the store before an invalidation is not
// put back after it: read Epoch before the store, PutAt after.
type Cache[K comparable, V any] struct {
	ttl time.Duration // 0: entries never expire
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[K]cacheEntry[V]
	epoch   uint64
}

type cacheEntry[V any] struct {
	v  V
	at time.Time
}

// NewCache returns a cache of at most max entries that live ttl (0 for
// ever), timed by now.
func NewCache[K comparable, V any](max int, ttl time.Duration, now func() time.Time) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, now: now, entries: make(map[K]cacheEntry[V])}
}

// Get returns the live value of k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || (c.ttl > 0 && c.now().Sub(e.at) >= c.ttl) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Epoch returns the invalidation count, to pass to PutAt.
func (c *Cache[K, V]) Epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// Put stores v under k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	c.put(k, v)
	c.mu.Unlock()
}

// PutAt stores v under k unless a Forget happened since epoch was read:
// then v may predate the change that Forget announced.
func (c *Cache[K, V]) PutAt(epoch uint64, k K, v V) {
	c.mu.Lock()
	if c.epoch == epoch {
		c.put(k, v)
	}
	c.mu.Unlock()
}

func (c *Cache[K, V]) put(k K, v V) {
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[k] = cacheEntry[V]{v: v, at: c.now()}
}

// Forget drops k and bumps the epoch.
func (c *Cache[K, V]) Forget(k K) {
	c.mu.Lock()
	c.epoch++
	delete(c.entries, k)
	c.mu.Unlock()
}
