package certmap

import (
	"container/list"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// chainCache remembers the paths that x509 path validation built for the
// client chains of recent binds, so that a client logging in again with
// the same certificate (every connection of a service presents the same
// chain) pays no path building and no signature checks.
//
// A cached path cannot go stale: it depends only on the certificates
// presented (the key), the trust anchors it was built against (the entry
// names its trustSet and serves only binds that see the same set; a
// change of the store's CAs or of Config.Roots makes a new set) and the
// time (an entry serves only while every certificate of its path is
// valid). Revocation is never cached here: verify checks the store (through
// revCache), or asks package revocation, at every bind. Failures are not
// cached.
//
// The cache holds at most chainCacheMax entries and drops the least
// recently used one beyond.
type chainCache struct {
	mu    sync.Mutex
	max   int
	items map[[32]byte]*list.Element
	lru   list.List // of *cachedChain, most recently used first
}

// cachedChain is a verified path, the trust set it was verified against
// and the period in which every certificate of it is valid.
type cachedChain struct {
	key                 [32]byte
	path                []*x509.Certificate
	set                 *trustSet
	notBefore, notAfter time.Time
}

// chainCacheMax bounds the cache: a few hundred bytes per entry besides
// the certificates, which the TLS layer has already parsed.
const chainCacheMax = 4096

// chainKey is SHA-256 over the presented certificates (leaf first, then
// the intermediates the client sent), each prefixed with its length.
func chainKey(presented []*x509.Certificate) [32]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range presented {
		binary.BigEndian.PutUint32(n[:], uint32(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the path cached under key if it was verified against set
// and every certificate of it is valid at now; an entry that no longer
// qualifies is dropped.
func (cc *chainCache) get(key [32]byte, set *trustSet, now time.Time) []*x509.Certificate {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	el := cc.items[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*cachedChain)
	if e.set != set || now.Before(e.notBefore) || now.After(e.notAfter) {
		cc.lru.Remove(el)
		delete(cc.items, key)
		return nil
	}
	cc.lru.MoveToFront(el)
	return e.path
}

// put remembers path, verified against set, under key.
func (cc *chainCache) put(key [32]byte, set *trustSet, path []*x509.Certificate) {
	e := &cachedChain{key: key, path: path, set: set}
	for i, c := range path {
		if i == 0 || c.NotBefore.After(e.notBefore) {
			e.notBefore = c.NotBefore
		}
		if i == 0 || c.NotAfter.Before(e.notAfter) {
			e.notAfter = c.NotAfter
		}
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.items == nil {
		cc.items = make(map[[32]byte]*list.Element)
	}
	if el := cc.items[key]; el != nil {
		el.Value = e
		cc.lru.MoveToFront(el)
		return
	}
	cc.items[key] = cc.lru.PushFront(e)
	max := cc.max
	if max <= 0 {
		max = chainCacheMax
	}
	for cc.lru.Len() > max {
		old := cc.lru.Back()
		cc.lru.Remove(old)
		delete(cc.items, old.Value.(*cachedChain).key)
	}
}

// len is the number of cached paths.
func (cc *chainCache) len() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.lru.Len()
}
