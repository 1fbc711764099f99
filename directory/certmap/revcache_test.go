package certmap

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// countingStore counts the reads of certificate rows.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) Certificate(ctx context.Context, serial string) (*store.Certificate, error) {
	s.reads.Add(1)
	return s.Store.Certificate(ctx, serial)
}

// pushingStore claims to push changes (store.Notifier), which turns
// revCache off.
type pushingStore struct{ store.Store }

func (pushingStore) Notify(ctx context.Context) <-chan struct{} { return make(chan struct{}) }

// TestRevCacheInProcessRevocation: a repeat bind is served from the cache
// (no read of the row), and a revocation through the same Store handle
// refuses the very next bind, with no wait.
func TestRevCacheInProcessRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cs := &countingStore{Store: f.ca.Store}
	m := f.mapper(t, Config{Store: cs})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	for i := range 3 {
		if _, err := m.Authenticate(ctx, chain, ""); err != nil {
			t.Fatalf("bind %d: %v", i, err)
		}
	}
	if got := cs.reads.Load(); got != 1 {
		t.Fatalf("3 binds read the certificate %d times, want 1 (the rest from the cache)", got)
	}
	serial := ca.FormatSerial(chain[0].SerialNumber)
	if _, err := f.ca.Service.Revoke(ctx, serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Authenticate(ctx, chain, "")
	if err == nil || !strings.Contains(err.Error(), serial+" (CN=Alice Smith,O=Example) is revoked (keyCompromise") {
		t.Fatalf("bind right after an in-process revocation: err = %v", err)
	}
}

// TestRevCacheOtherHandleRevocation: a revocation through another Store
// handle on the same database (as `pkid revoke` in another process)
// refuses the very next bind too.
func TestRevCacheOtherHandleRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.mapper(t, Config{})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	for range 2 {
		if _, err := m.Authenticate(ctx, chain, ""); err != nil {
			t.Fatal(err)
		}
	}
	if m.revs.hits.Load() != 1 {
		t.Fatalf("the repeat bind was not served from the cache (hits %d)", m.revs.hits.Load())
	}
	other, err := sqlite.Open(ctx, f.ca.Store.(*sqlite.Store).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	serial := ca.FormatSerial(chain[0].SerialNumber)
	if _, err := other.Revoke(ctx, serial, store.Revocation{Reason: ca.ReasonKeyCompromise}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, chain, ""); err == nil || !strings.Contains(err.Error(), "is revoked (keyCompromise") {
		t.Fatalf("bind right after a revocation through another handle: err = %v", err)
	}
}

// TestRevCacheRefusalsNotCached: a refused certificate is read from the
// store at every bind and never enters the cache, so a release from hold
// applies at once too.
func TestRevCacheRefusalsNotCached(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cs := &countingStore{Store: f.ca.Store}
	m := f.mapper(t, Config{Store: cs})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	serial := ca.FormatSerial(chain[0].SerialNumber)
	if _, err := f.ca.Service.Revoke(ctx, serial, ca.ReasonCertificateHold, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := m.Authenticate(ctx, chain, ""); err == nil || !strings.Contains(err.Error(), "is revoked (certificateHold") {
			t.Fatalf("bind %d on hold: err = %v", i, err)
		}
	}
	if got := cs.reads.Load(); got != 3 || m.revs.len() != 0 {
		t.Fatalf("3 refused binds: %d reads (want 3), %d cached (want 0)", got, m.revs.len())
	}
	if _, err := f.ca.Service.Release(ctx, serial); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, chain, ""); err != nil {
		t.Fatalf("bind right after the release: %v", err)
	}
}

// TestRevCacheOffForPushingStores: a store.Notifier (PostgreSQL) gets no
// cache: every bind reads the certificate.
func TestRevCacheOffForPushingStores(t *testing.T) {
	f := newFixture(t)
	cs := &countingStore{Store: f.ca.Store}
	m := f.mapper(t, Config{Store: pushingStore{cs}})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	for range 3 {
		if _, err := m.Authenticate(context.Background(), chain, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := cs.reads.Load(); got != 3 {
		t.Fatalf("3 binds read the certificate %d times, want 3", got)
	}
}

// failingRevision is a store whose Revision fails.
type failingRevision struct{ store.Store }

func (failingRevision) Revision(context.Context) (int64, error) {
	return 0, errors.New("database is locked")
}

// TestRevCache covers the cache's rules one by one.
func TestRevCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.ca.Store
	now := time.Now()
	key := func(der, serial, caID string) revKey {
		return revKey{der: sha256.Sum256([]byte(der)), serial: serial, caID: caID}
	}
	alice := key("alice", "01", "issuing")
	tests := []struct {
		name string
		run  func(t *testing.T, c *revCache) bool // false: another certificate hit
		hit  bool
	}{
		{"cached", func(t *testing.T, c *revCache) bool { return true }, true},
		{"other DER, same serial and CA", func(t *testing.T, c *revCache) bool {
			_, hit, _ := c.lookup(ctx, st, key("mallory", "01", "issuing"), now)
			return !hit
		}, true},
		{"other CA, same serial and DER", func(t *testing.T, c *revCache) bool {
			_, hit, _ := c.lookup(ctx, st, key("alice", "01", "other"), now)
			return !hit
		}, true},
		{"the revision moved", func(t *testing.T, c *revCache) bool {
			f.issue(t, "client", "CN=Bob,O=Example", "")
			return true
		}, false},
		{"a read from before a flush", func(t *testing.T, c *revCache) bool {
			c.mu.Lock()
			c.flushLocked()
			c.mu.Unlock()
			epoch, _, _ := c.lookup(ctx, st, alice, now)
			c.put(alice, epoch-1, now.Add(time.Hour))
			if c.len() != 0 {
				t.Fatal("an answer read before the flush was cached")
			}
			return true
		}, false},
		{"expired", func(t *testing.T, c *revCache) bool {
			c.mu.Lock()
			e := c.items[alice]
			e.notAfter = now.Add(-time.Second)
			c.items[alice] = e
			c.mu.Unlock()
			return true
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &revCache{}
			epoch, hit, err := c.lookup(ctx, st, alice, now)
			if err != nil || hit {
				t.Fatalf("first lookup: hit %v, err %v", hit, err)
			}
			c.put(alice, epoch, now.Add(time.Hour))
			if !tc.run(t, c) {
				t.Fatal("a lookup of another certificate hit")
			}
			if _, hit, _ := c.lookup(ctx, st, alice, now); hit != tc.hit {
				t.Fatalf("hit = %v, want %v", hit, tc.hit)
			}
		})
	}

	t.Run("bounded", func(t *testing.T) {
		c := &revCache{max: 100}
		for i := range 1000 {
			k := key(fmt.Sprint(i), fmt.Sprint(i), "issuing")
			epoch, _, _ := c.lookup(ctx, st, k, now)
			c.put(k, epoch, now.Add(time.Hour))
			if c.len() > 100 {
				t.Fatalf("%d entries after %d puts, bound 100", c.len(), i+1)
			}
		}
		if c.len() != 100 {
			t.Fatalf("%d entries, want 100", c.len())
		}
	})

	t.Run("revision unreadable", func(t *testing.T) {
		c := &revCache{}
		if _, _, err := c.lookup(ctx, failingRevision{st}, alice, now); err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Fatalf("err = %v", err)
		}
		if c.revKnown {
			t.Fatal("the revision counts as known after a failed read")
		}
	})
}

// TestRevCacheConcurrentRevocation: with binds of the same certificate
// running concurrently (filling and hitting the cache), every bind that
// starts after a revocation through another handle returns is refused.
func TestRevCacheConcurrentRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.mapper(t, Config{})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	other, err := sqlite.Open(ctx, f.ca.Store.(*sqlite.Store).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var revoked, stop atomic.Bool
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for !stop.Load() {
				after := revoked.Load()
				_, err := m.Authenticate(ctx, chain, "")
				if after && err == nil {
					errs <- errors.New("a bind that started after the revocation succeeded")
					return
				}
			}
			errs <- nil
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := other.Revoke(ctx, ca.FormatSerial(chain[0].SerialNumber), store.Revocation{Reason: ca.ReasonKeyCompromise}); err != nil {
		t.Fatal(err)
	}
	revoked.Store(true)
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if m.revs.hits.Load() == 0 {
		t.Fatal("no bind was served from the cache")
	}
}
