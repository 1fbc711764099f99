package ldap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testCert makes a certificate valid from nb to na, signed by parent
// (self-signed when parent is nil).
func testCert(t *testing.T, cn string, isCA bool, nb, na time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: nb, NotAfter: na, BasicConstraintsValid: true, IsCA: isCA}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// TestClientChainCache: a chain verified at one bind is reused at the
// next, but never beyond the validity of any certificate in it, after the
// clock went back, or after chainCacheTTL; a chain that does not verify is
// never cached; another chain is not served from the cache.
func TestClientChainCache(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	root, rootKey := testCert(t, "root", true, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), nil, nil)
	leaf, _ := testCert(t, "alice", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), root, rootKey)
	other, otherKey := testCert(t, "other root", true, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), nil, nil)
	stranger, _ := testCert(t, "mallory", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), other, otherKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	now := t0
	s := &Server{cfg: ServerConfig{ClientCAs: pool, Now: func() time.Time { return now }}}
	alice := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	mallory := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{stranger}}

	cases := []struct {
		name   string
		at     time.Time
		st     *tls.ConnectionState
		ok     bool
		cached bool // the cache holds a usable path afterwards
	}{
		{"first bind verifies and caches", t0, alice, true, true},
		{"second bind hits the cache", t0.Add(time.Minute), alice, true, true},
		{"untrusted chain refused, not cached", t0, mallory, false, false},
		{"clock went back before the cache entry", t0.Add(-time.Minute), alice, true, true},
		{"after the TTL it verifies again", t0.Add(chainCacheTTL + 2*time.Minute), alice, true, true},
		{"leaf expired: refused though cached", t0.Add(25 * time.Hour), alice, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now = c.at
			before := s.chains.get(chainKey(c.st.PeerCertificates), now)
			path, err := s.verifyClientChain(c.st)
			if (err == nil) != c.ok {
				t.Fatalf("verifyClientChain: %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if code := err.(*Error).Code; code != ResultInvalidCredentials {
					t.Errorf("code %v, want invalidCredentials", code)
				}
			} else if len(path) != 2 || path[0] != leaf || !path[1].Equal(root) {
				t.Errorf("path %v, want leaf and root", path)
			}
			after := s.chains.get(chainKey(c.st.PeerCertificates), now)
			if (after != nil) != c.cached {
				t.Errorf("cached afterwards = %v, want %v (before: %v)", after != nil, c.cached, before != nil)
			}
		})
	}
}

// TestClientChainFromHandshake: the chain the TLS handshake verified with
// the same trust anchors is reused at the bind, but only while valid.
func TestClientChainFromHandshake(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	root, rootKey := testCert(t, "root", true, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), nil, nil)
	leaf, _ := testCert(t, "alice", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), root, rootKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	now := t0
	tc := &tls.Config{ClientCAs: pool}
	s := &Server{cfg: ServerConfig{TLS: tc, ClientCAs: pool, Now: func() time.Time { return now }}}
	handshake := []*x509.Certificate{leaf, root}
	st := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{handshake}}
	path, err := s.verifyClientChain(st)
	if err != nil || &path[0] != &handshake[0] {
		t.Fatalf("got %v, %v; want the handshake's chain", path, err)
	}
	now = t0.Add(48 * time.Hour) // the bind comes after the leaf expired
	s.chains = chainCache{}
	if _, err := s.verifyClientChain(st); err == nil {
		t.Fatal("an expired handshake chain was accepted")
	}
}

// TestClientChainRefusals: with the chain verified at the bind (as with
// tls.RequestClientCert), each refusal is invalidCredentials naming the
// certificate's serial, its subject and the reason in words.
func TestClientChainRefusals(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	root, rootKey := testCert(t, "root", true, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), nil, nil)
	leaf, _ := testCert(t, "alice", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), root, rootKey)
	server, _ := testCert(t, "svc", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), root, rootKey)
	server.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} // checkLeaf reads the parsed field
	other, otherKey := testCert(t, "other root", true, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), nil, nil)
	stranger, _ := testCert(t, "mallory", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), other, otherKey)
	self, _ := testCert(t, "eve", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), nil, nil)
	inter, interKey := testCert(t, "short-lived CA", true, t0.Add(-time.Hour), t0.Add(2*time.Hour), root, rootKey)
	bob, _ := testCert(t, "bob", false, t0.Add(-time.Hour), t0.Add(24*time.Hour), inter, interKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	tests := []struct {
		name  string
		leaf  *x509.Certificate
		inter []*x509.Certificate // sent after the leaf
		at    time.Time
		want  string
	}{
		{"expired", leaf, nil, t0.Add(25 * time.Hour), "(CN=alice) has expired (notAfter 2026-06-02T00:00:00Z)"},
		{"not yet valid", leaf, nil, t0.Add(-2 * time.Hour), "(CN=alice) is not yet valid (notBefore 2026-05-31T23:00:00Z)"},
		{"serverAuth only", server, nil, t0, "(CN=svc) lacks clientAuth in extendedKeyUsage"},
		{"untrusted CA", stranger, nil, t0, "(CN=mallory) was not issued by a trusted CA (issuer CN=other root)"},
		{"self-signed", self, nil, t0, "(CN=eve) is a self-signed certificate, not issued by a trusted CA"},
		{"issuing CA expired", bob, []*x509.Certificate{inter}, t0.Add(3 * time.Hour),
			"(CN=bob) has an issuing CA outside its validity period: CN=short-lived CA (notBefore 2026-05-31T23:00:00Z, notAfter 2026-06-01T02:00:00Z)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{cfg: ServerConfig{ClientCAs: pool, Now: func() time.Time { return tc.at }}}
			_, err := s.verifyClientChain(&tls.ConnectionState{PeerCertificates: append([]*x509.Certificate{tc.leaf}, tc.inter...)})
			le, ok := err.(*Error)
			want := "certificate serial " + certSerial(tc.leaf) + " " + tc.want
			if !ok || le.Code != ResultInvalidCredentials || !strings.Contains(le.Message, want) {
				t.Fatalf("err = %v, want invalidCredentials containing %q", err, want)
			}
		})
	}
}
