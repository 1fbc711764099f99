package ldap

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// chainCache remembers the client certificate chains that verified at a
// SASL EXTERNAL bind, by a hash of the certificates the client presented,
// so that a client logging in again with the same certificate (the common
// case: every connection of a service presents the same chain) does not
// pay for the path building and signature checks at every bind.
//
// What is cached cannot go stale: a verified path depends on the
// certificates (the key), the trust anchors (a pool only grows, and a
// cached success stays a success when anchors are added) and the time,
// which every lookup checks against the validity periods of the whole
// path. Revocation is not cached here: the ExternalBackend checks it at
// every bind. Entries are dropped after chainCacheTTL anyway, and the
// whole cache when it holds chainCacheMax entries.
type chainCache struct {
	mu sync.Mutex
	m  map[[32]byte]*verifiedChain
}

// verifiedChain is a verified path and the period in which every
// certificate of it is valid.
type verifiedChain struct {
	path                []*x509.Certificate
	notBefore, notAfter time.Time
	added               time.Time
}

const (
	chainCacheMax = 4096
	chainCacheTTL = time.Hour
)

func chainKey(peer []*x509.Certificate) [32]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range peer {
		binary.BigEndian.PutUint32(n[:], uint32(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the cached path for peer if it is valid at now.
func (cc *chainCache) get(key [32]byte, now time.Time) []*x509.Certificate {
	cc.mu.Lock()
	v := cc.m[key]
	cc.mu.Unlock()
	if v == nil || now.Before(v.notBefore) || now.After(v.notAfter) || now.Sub(v.added) >= chainCacheTTL || now.Before(v.added) {
		return nil
	}
	return v.path
}

// put remembers a path that verified at now for clientAuth.
func (cc *chainCache) put(key [32]byte, path []*x509.Certificate, now time.Time) {
	v := &verifiedChain{path: path, added: now}
	for i, c := range path {
		if i == 0 || c.NotBefore.After(v.notBefore) {
			v.notBefore = c.NotBefore
		}
		if i == 0 || c.NotAfter.Before(v.notAfter) {
			v.notAfter = c.NotAfter
		}
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= chainCacheMax {
		cc.m = make(map[[32]byte]*verifiedChain)
	}
	cc.m[key] = v
	cc.mu.Unlock()
}
