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
// certificate reads the store's change-feed revision (one indexed lookup,
// store.Store Revision) instead of the certificate's row with its DER.
// Refusals are never cached: only checkStore's success puts an entry.
//
// It keeps the promise that a revocation applies to the next bind, by
// whichever process it was made (pkid serve's API, `pkid revoke` on the
// same SQLite file): every revocation, release and issue moves the
// revision, and every bind reads the revision before it trusts the cache;
// when it differs from the one the cache was filled at, the cache is
// emptied. A bind that read the store before such a flush puts nothing
// (its epoch is old), so an answer read before a change cannot outlive
// the flush the change caused.
//
// Stores that push changes (store.Notifier: PostgreSQL) get no cache:
// their Revision resolves the feed's horizon and costs as much as the
// row it would save, so every bind reads the certificate there.
//
// The cache holds at most revCacheMax certificates and drops one at
// random (Go's map iteration order) when full; an entry serves only
// until its certificate's notAfter.
type revCache struct {
	mu       sync.Mutex
	max      int    // 0: revCacheMax
	epoch    uint64 // bumped by every flush
	rev      int64  // the revision the entries were read at or after
	revKnown bool
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

// cacheable reports whether revCache serves st (see revCache).
func cacheable(st store.Store) bool {
	_, pushes := st.(store.Notifier)
	return !pushes
}

// lookup reads st's revision, empties the cache if it moved, and reports
// whether key is cached as good at now. It returns the epoch a put after
// reading the store must quote. An error reading the revision empties the
// cache.
func (c *revCache) lookup(ctx context.Context, st store.Store, key revKey, now time.Time) (epoch uint64, hit bool, err error) {
	rev, rerr := st.Revision(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if rerr != nil {
		c.flushLocked()
		c.revKnown = false
		return c.epoch, false, rerr
	}
	if !c.revKnown || rev != c.rev {
		// Something changed since the entries were read (or, with
		// concurrent binds, an older read finished late: flushing
		// then is merely unneeded).
		c.flushLocked()
		c.rev, c.revKnown = rev, true
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
