package ocsp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

// Test PKI built with crypto/x509 only (pkid's ca package is a separate
// concern): a root, issuing CAs under it, delegated responders, leaves.

var testStart = time.Now().UTC().Truncate(time.Second)

var serialCounter atomic.Int64

func nextSerial() *big.Int {
	// Large, positive serials with the high bit set in the first octet
	// half the time, to exercise the DER INTEGER leading zero.
	n := new(big.Int).Lsh(big.NewInt(0x7f00+serialCounter.Add(1)), 100)
	return n.Add(n, big.NewInt(serialCounter.Add(1)))
}

func makeCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = nextSerial()
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = testStart.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = testStart.Add(30 * 24 * time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testCA struct {
	name         string
	cert         *x509.Certificate
	key          crypto.Signer
	responder    *x509.Certificate
	responderKey crypto.Signer
}

func newRoot(t testing.TB, name, kind string) *testCA {
	key := testkey.New(t, kind)
	cert := makeCert(t, &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"pkid test"}, CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, key.Public(), key)
	return &testCA{name: name, cert: cert, key: key}
}

// subCA makes an issuing CA under ca, with a delegated responder whose key
// is of kind.
func (ca *testCA) subCA(t testing.TB, name, kind string) *testCA {
	key := testkey.New(t, "p256")
	cert := makeCert(t, &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"pkid test"}, CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, ca.cert, key.Public(), ca.key)
	sub := &testCA{name: name, cert: cert, key: key}
	sub.responderKey = testkey.New(t, kind)
	sub.responder = sub.responderCert(t, sub.responderKey, testStart.Add(-time.Hour), testStart.Add(7*24*time.Hour))
	return sub
}

func (ca *testCA) responderCert(t testing.TB, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	return makeCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: ca.name + " OCSP responder"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		ExtraExtensions: []pkix.Extension{{
			Id:    []int{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, // id-pkix-ocsp-nocheck
			Value: []byte{0x05, 0x00},
		}},
	}, ca.cert, key.Public(), ca.key)
}

func (ca *testCA) leaf(t testing.TB, cn string) *x509.Certificate {
	return makeCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, ca.key.Public(), ca.key) // the leaf key does not matter
}

func (ca *testCA) issuer() *Issuer {
	return &Issuer{ID: ca.name, Cert: ca.cert, ResponderCert: ca.responder, Signer: ca.responderKey}
}

// statusDB is an in-memory status source that counts lookups.
type statusDB struct {
	mu      sync.Mutex
	m       map[string]Status // issuer ID + "/" + serial hex
	lookups atomic.Int64
	block   chan struct{} // when set, lookups wait on it
}

func newStatusDB() *statusDB { return &statusDB{m: map[string]Status{}} }

func (db *statusDB) set(caID string, serial *big.Int, st Status) {
	db.mu.Lock()
	defer db.mu.Unlock()
	st.Serial = serial
	db.m[caID+"/"+serial.Text(16)] = st
}

func (db *statusDB) lookup(ctx context.Context, iss *Issuer, serial *big.Int) (Status, error) {
	db.lookups.Add(1)
	if db.block != nil {
		<-db.block
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if st, ok := db.m[iss.ID+"/"+serial.Text(16)]; ok {
		return st, nil
	}
	return Status{Serial: serial, Status: Unknown}, nil
}

// countingMetrics records Metrics calls.
type countingMetrics struct {
	mu      sync.Mutex
	results map[Result]int
	signed  atomic.Int64
}

func (m *countingMetrics) Request(method string, r Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.results == nil {
		m.results = map[Result]int{}
	}
	m.results[r]++
}

func (m *countingMetrics) Signed(time.Duration) { m.signed.Add(1) }

func (m *countingMetrics) count(r Result) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[r]
}

func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is a responder serving two issuing CAs under one root, with a
// good, a revoked and an unissued leaf under the first.
type fixture struct {
	root, ca1, ca2                 *testCA
	good, revoked, unissued, good2 *x509.Certificate
	revokedAt                      time.Time
	db                             *statusDB
	metrics                        *countingMetrics
	r                              *Responder
}

func newFixture(t testing.TB, kind string, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{db: newStatusDB(), metrics: &countingMetrics{}}
	f.root = newRoot(t, "Test Root", "p256")
	f.ca1 = f.root.subCA(t, "Issuing CA 1", kind)
	f.ca2 = f.root.subCA(t, "Issuing CA 2", kind)
	f.good = f.ca1.leaf(t, "good")
	f.revoked = f.ca1.leaf(t, "revoked")
	f.unissued = f.ca1.leaf(t, "unissued")
	f.good2 = f.ca2.leaf(t, "good2")
	f.revokedAt = testStart.Add(-10 * time.Minute)
	f.db.set(f.ca1.name, f.good.SerialNumber, Status{Status: Good})
	f.db.set(f.ca1.name, f.revoked.SerialNumber, Status{Status: Revoked, RevokedAt: f.revokedAt, Reason: 1})
	f.db.set(f.ca2.name, f.good2.SerialNumber, Status{Status: Good})
	cfg := Config{
		Issuers: []*Issuer{f.ca1.issuer(), f.ca2.issuer()},
		Lookup:  f.db.lookup,
		Metrics: f.metrics,
		Prefix:  "/ocsp",
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	return f
}
