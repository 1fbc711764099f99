package certmap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/store"
)

// revCache remembers which of pkid's own certificates the store last
// said were good (issued by the CA the path names, stored under the same
// DER, not revoked), so that a client logging in again with the same
// certificate costs no read of the certificate's row. Refusals are never
// cached: only checkStore's success puts an entry.
//
// It keeps the promise that a revocation applies to the next bind:
//
//   - A write through the Mapper's own Store handle (a revocation by this
//     process: pkid serve's API, ca.Service) empties the cache before the
//     next lookup, without a query: the handle counts its finished writes
//     (store.WriteCounter) and every lookup compares the count.
//   - A change by another process or node (pkid revoke on the same SQLite
//     file, another server on PostgreSQL) moves the store's change-feed
//     revision; the cache trusts itself at most maxAge
//     (revCacheMaxAge), then reads Revision and empties itself if it
//     moved. Such a revocation applies at most maxAge late.
//
// Every flush bumps the epoch; a bind that read the store before a flush
// puts nothing (its epoch is old), so an answer read before a change
// cannot survive the flush the change caused. A store that is not a
// WriteCounter gets no cache: every bind reads the store.
//
// The cache holds at most revCacheMax certificates and drops one at
// random (Go's map iteration order) when full; an entry serves only
// until its certificate's notAfter.
type revCache struct {
	mu       sync.Mutex
	max      int           // 0: revCacheMax
	maxAge   time.Duration // 0: revCacheMaxAge
	epoch    uint64        // bumped by every flush
	writes   uint64        // the store handle's write count when last compared
	rev      int64         // the store's revision when last read
	revKnown bool
	checked  time.Time // when rev was read
	checking bool      // a Revision read is in flight (outside mu)
	items    map[revKey]revEntry

	// Counters, for tests and benchmarks.
	hits, misses, flushes atomic.Int64
}

// revKey names one certificate exactly: a different certificate under the
// same serial (a forgery, or another CA's) has another DER hash.
type revKey struct {
	der          [32]byte // SHA-256 of the certificate
	serial, caID string
}

// revEntry is a certificate the store said was good, the epoch it was read
// in and the end of its validity.
type revEntry struct {
	epoch    uint64
	notAfter time.Time
}

// revCacheMax bounds the cache: about 150 bytes per certificate.
const revCacheMax = 10000

// revCacheMaxAge is how long the cache trusts itself before asking the
// store's change feed whether anything changed: the bound on how late a
// revocation by another process applies (the issue allows one second).
// Like directory.DefaultCacheMaxAge, it costs one indexed lookup per
// interval.
const revCacheMaxAge = 100 * time.Millisecond

// lookup reports whether key is cached as good at now, after making sure
// the cache reflects every write through wc and, at most maxAge late,
// every change in st. It returns the epoch a put after reading the store
// must quote. An error reading the revision empties the cache.
func (c *revCache) lookup(ctx context.Context, st store.Store, wc store.WriteCounter, key revKey, now time.Time) (epoch uint64, hit bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := wc.Writes(); w != c.writes {
		// This process wrote (perhaps a revocation): nothing cached is
		// known to hold.
		c.flushLocked()
		c.writes = w
	}
	maxAge := c.maxAge
	if maxAge <= 0 {
		maxAge = revCacheMaxAge
	}
	at := time.Now()
	if !c.checking && (!c.revKnown || at.Sub(c.checked) >= maxAge || at.Before(c.checked)) {
		c.checking = true
		c.mu.Unlock()
		rev, rerr := st.Revision(ctx)
		c.mu.Lock()
		c.checking = false
		if rerr != nil {
			c.flushLocked()
			c.revKnown = false
			return c.epoch, false, rerr
		}
		if !c.revKnown || rev != c.rev {
			c.flushLocked()
		}
		c.rev, c.revKnown, c.checked = rev, true, at
	}
	e, ok := c.items[key]
	switch {
	case !ok:
	case e.epoch != c.epoch || now.After(e.notAfter):
		delete(c.items, key)
	default:
		c.hits.Add(1)
		return c.epoch, true, nil
	}
	c.misses.Add(1)
	return c.epoch, false, nil
}

// put records key as good, read from the store in epoch; an answer from
// before a flush is dropped.
func (c *revCache) put(key revKey, epoch uint64, notAfter time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	max := c.max
	if max <= 0 {
		max = revCacheMax
	}
	if c.items == nil {
		c.items = make(map[revKey]revEntry)
	}
	if _, ok := c.items[key]; !ok && len(c.items) >= max {
		for k := range c.items {
			delete(c.items, k)
			break
		}
	}
	c.items[key] = revEntry{epoch: epoch, notAfter: notAfter}
}

// flushLocked empties the cache and starts a new epoch.
func (c *revCache) flushLocked() {
	c.epoch++
	clear(c.items)
	c.flushes.Add(1)
}

// len is the number of cached certificates.
func (c *revCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
