package ocsp

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxCached is the default bound on pre-signed responses kept in
// memory (about 1 KB each with an ECDSA delegated responder certificate).
const DefaultMaxCached = 100_000

// entry is one pre-signed response for a nonce-less request about one
// CertID, with the HTTP headers RFC 5019 §6.2 asks for, formatted once.
type entry struct {
	key        string // the CertID DER as the client sent it
	iss        *issuer
	status     Status
	der        []byte
	thisUpdate time.Time
	nextUpdate time.Time
	refreshAt  time.Time // re-sign in the background from here on

	hdrLength, hdrETag, hdrLastModified, hdrExpires []string
	cacheControl                                    atomic.Pointer[cacheControl]

	ref        atomic.Bool // CLOCK reference bit
	refreshing atomic.Bool // a background re-sign is under way
	slot       int         // index in cache.ring; guarded by cache.mu
}

type cacheControl struct {
	unix  int64
	value []string
}

func newEntry(key string, iss *issuer, st Status, der []byte, thisUpdate, nextUpdate time.Time) *entry {
	sum := sha256.Sum256(der)
	e := &entry{
		key: key, iss: iss, status: st, der: der,
		thisUpdate: thisUpdate, nextUpdate: nextUpdate,
		refreshAt:       refreshTime(thisUpdate, nextUpdate),
		hdrLength:       []string{strconv.Itoa(len(der))},
		hdrETag:         []string{`"` + hex.EncodeToString(sum[:16]) + `"`},
		hdrLastModified: []string{thisUpdate.UTC().Format(http.TimeFormat)},
		hdrExpires:      []string{nextUpdate.UTC().Format(http.TimeFormat)},
	}
	return e
}

// refreshTime is when a pre-signed response is re-signed: after half its
// validity, plus a random quarter, so that responses signed together (by
// Prepare at start) are not all re-signed in the same second.
func refreshTime(thisUpdate, nextUpdate time.Time) time.Time {
	v := nextUpdate.Sub(thisUpdate)
	return thisUpdate.Add(v/2 + time.Duration(rand.Int64N(int64(v/4)+1)))
}

// cacheControlAt returns the RFC 5019 §6.2 Cache-Control value at now,
// formatted at most once a second: max-age is the time to nextUpdate,
// capped at maxAge when that is positive.
func (e *entry) cacheControlAt(now time.Time, maxAge time.Duration) []string {
	sec := now.Unix()
	if cc := e.cacheControl.Load(); cc != nil && cc.unix == sec {
		return cc.value
	}
	cc := &cacheControl{unix: sec, value: []string{string(appendCacheControl(nil, e.nextUpdate, now, maxAge))}}
	e.cacheControl.Store(cc)
	return cc.value
}

// appendCacheControl appends the Cache-Control value of RFC 5019 §6.2
// for a response valid until nextUpdate, at now: max-age is the time left
// in whole seconds, capped at maxAge when that is positive.
func appendCacheControl(b []byte, nextUpdate, now time.Time, maxAge time.Duration) []byte {
	left := nextUpdate.Sub(now)
	if maxAge > 0 && left > maxAge {
		left = maxAge
	}
	b = append(b, "max-age="...)
	b = strconv.AppendInt(b, int64(max(0, left/time.Second)), 10)
	return append(b, ", public, no-transform, must-revalidate"...)
}

// cache holds pre-signed responses keyed by the CertID DER, bounded by max
// entries with CLOCK (second-chance) eviction: a hit only sets a bit, so
// lookups share a read lock.
type cache struct {
	mu   sync.RWMutex
	m    map[string]*entry
	ring []*entry
	hand int
	max  int
}

func newCache(max int) *cache {
	return &cache{m: make(map[string]*entry), max: max}
}

func (c *cache) get(key []byte) *entry {
	c.mu.RLock()
	e := c.m[string(key)]
	c.mu.RUnlock()
	if e != nil && !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// put adds or replaces e, evicting an entry not used since the clock hand
// last passed when the cache is full.
func (c *cache) put(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[e.key]; ok {
		e.slot = old.slot
		c.ring[e.slot] = e
		c.m[e.key] = e
		return
	}
	if len(c.ring) < c.max {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
		c.m[e.key] = e
		return
	}
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		v := c.ring[c.hand]
		if v.ref.Swap(false) {
			c.hand++
			continue
		}
		delete(c.m, v.key)
		e.slot = c.hand
		c.ring[c.hand] = e
		c.m[e.key] = e
		c.hand++
		return
	}
}

// remove drops the entry for key, reporting whether there was one.
func (c *cache) remove(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if ok {
		c.removeLocked(e)
	}
	return ok
}

func (c *cache) removeLocked(e *entry) {
	delete(c.m, e.key)
	last := len(c.ring) - 1
	moved := c.ring[last]
	moved.slot = e.slot
	c.ring[e.slot] = moved
	c.ring[last] = nil
	c.ring = c.ring[:last]
}

// removeIf drops every entry for which drop returns true.
func (c *cache) removeIf(drop func(*entry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(c.ring); {
		if e := c.ring[i]; drop(e) {
			c.removeLocked(e) // moves the last entry into slot i
			continue
		}
		i++
	}
}

// due returns the entries whose refresh time has come.
func (c *cache) due(now time.Time) []*entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*entry
	for _, e := range c.ring {
		if !now.Before(e.refreshAt) && !e.refreshing.Load() {
			out = append(out, e)
		}
	}
	return out
}
