package certmap

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

// TestChainCache: a repeat login with the same chain is not verified
// again, but the cached path serves only while every certificate of it
// is valid and only against the trust set it was verified with; a new
// CA in the store invalidates it. Revocation is read at every bind
// regardless.
func TestChainCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	issuing, _ := x509.ParseCertificate(f.ca.Init.CAs[len(f.ca.Init.CAs)-1].CertDER)
	// A leaf that outlives its issuing CA (pkid would not issue it): only
	// the cached path's own validity can refuse it after the CA expired.
	tmpl := clientTemplate(pkix.Name{CommonName: "Alice Smith", Organization: []string{"Example"}})
	tmpl.NotAfter = issuing.NotAfter.Add(48 * time.Hour)
	outliving := f.forge(t, tmpl, true)
	alice := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	other := newFixture(t)

	now := time.Now()
	m := f.mapper(t, Config{Now: func() time.Time { return now }})
	bind := func(chain []*x509.Certificate) error {
		_, err := m.Authenticate(ctx, chain, "")
		return err
	}
	steps := []struct {
		name       string
		chain      []*x509.Certificate
		at         time.Time
		before     func()
		wantErr    string // "" = success
		wantChecks int64  // path validations so far
	}{
		{"first bind verifies", alice, now, nil, "", 1},
		{"second bind hits the cache", alice, now.Add(time.Minute), nil, "", 1},
		{"the leaf as presented without its chain is another key", alice[:1], now.Add(time.Minute), nil, "", 2},
		{"untrusted chain is verified and refused", other.issue(t, "client", "CN=Alice Smith,O=Example", ""), now, nil, "was not issued by a trusted CA", 3},
		{"refused chains are not cached", other.issue(t, "client", "CN=Alice Smith,O=Example", ""), now, nil, "was not issued by a trusted CA", 4},
		{"leaf expired since cached", alice, alice[0].NotAfter.Add(time.Minute), nil, "has expired", 4},
		{"outliving leaf verified", outliving, now, nil, "", 5},
		{"outliving leaf cached", outliving, now.Add(time.Hour), nil, "", 5},
		{"issuing CA expired since cached", outliving, issuing.NotAfter.Add(time.Hour), nil, "has an issuing CA outside its validity period", 6},
		{"still cached while valid", alice, now.Add(2 * time.Hour), nil, "", 6},
		{"a new CA in the store invalidates", alice, now.Add(2*time.Hour + 2*caMaxAge), func() {
			root, _ := selfSigned(t, pkix.Name{CommonName: "Another Root"}, true)
			if err := f.ca.Store.CreateCA(ctx, &store.CA{ID: "another", Role: store.RoleRoot, Subject: "CN=Another Root", CertDER: root.Raw, KeyPEM: []byte("-")}); err != nil {
				t.Fatal(err)
			}
		}, "", 7},
		{"and the new set caches", alice, now.Add(2*time.Hour + 2*caMaxAge), nil, "", 7},
		{"revoked after caching", alice, now.Add(2*time.Hour + 2*caMaxAge), func() {
			if _, err := f.ca.Service.Revoke(ctx, ca.FormatSerial(alice[0].SerialNumber), 1, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}, "is revoked (keyCompromise", 7},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			now = s.at
			err := bind(s.chain)
			var ce *Error
			switch {
			case s.wantErr == "" && err != nil:
				t.Fatalf("bind: %v", err)
			case s.wantErr != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), s.wantErr)):
				t.Fatalf("bind: %v, want *Error with %q", err, s.wantErr)
			}
			if got := m.pathChecks.Load(); got != s.wantChecks {
				t.Errorf("%d path validations so far, want %d", got, s.wantChecks)
			}
		})
	}
}

// TestChainCacheBound: the cache keeps the chainCacheMax most recently
// used paths.
func TestChainCacheBound(t *testing.T) {
	cc := chainCache{max: 3}
	set := &trustSet{}
	leaf := &x509.Certificate{NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1e10, 0)}
	key := func(i byte) [32]byte { return [32]byte{i} }
	now := time.Unix(1e9, 0)
	for i := byte(1); i <= 3; i++ {
		cc.put(key(i), set, []*x509.Certificate{leaf})
	}
	cc.get(key(1), set, now) // 1 is now the most recently used
	cc.put(key(4), set, []*x509.Certificate{leaf})
	for i, want := range map[byte]bool{1: true, 2: false, 3: true, 4: true} {
		if got := cc.get(key(i), set, now) != nil; got != want {
			t.Errorf("entry %d cached = %v, want %v", i, got, want)
		}
	}
	if cc.len() != 3 {
		t.Errorf("len %d, want 3", cc.len())
	}
	if cc.get(key(1), &trustSet{}, now) != nil || cc.len() != 2 {
		t.Errorf("an entry served another trust set, or stayed after it could not")
	}
}
