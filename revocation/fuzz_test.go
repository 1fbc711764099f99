package revocation

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzCheckCRL seeds")

// fuzzPKI has fixed keys, so the committed seed CRLs and OCSP responses
// carry valid signatures and reach the deep checks.
func fuzzPKI(t testing.TB) (ca *keyCert, leaf *x509.Certificate) {
	t.Helper()
	caKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), append(make([]byte, 31), 7))
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fuzz CA"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(der)
	leafKey := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1A2B), Subject: pkix.Name{CommonName: "fuzz leaf"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		CRLDistributionPoints: []string{"http://crl.test/ca.crl"},
		ExtraExtensions:       []pkix.Extension{freshestExt(t, "http://crl.test/delta.crl")},
	}
	der, err = x509.CreateCertificate(rand.Reader, leafTmpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(der)
	return &keyCert{caCert, caKey}, leaf
}

func fuzzSeeds(t testing.TB, ca *keyCert) map[string][]byte {
	return map[string][]byte{
		"empty":       makeCRL(t, ca, crlOpts{number: 1}),
		"revokes":     makeCRL(t, ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), KeyCompromise}),
		"hold":        makeCRL(t, ca, crlOpts{number: 2}, revoked{big.NewInt(0x1A2B), CertificateHold}, revoked{big.NewInt(5), Superseded}),
		"delta":       makeCRL(t, ca, crlOpts{number: 3, base: 1}, revoked{big.NewInt(0x1A2B), RemoveFromCRL}),
		"stale":       makeCRL(t, ca, crlOpts{number: 1, thisUpdate: testNow.Add(-3 * time.Hour), nextUpdate: testNow.Add(-2 * time.Hour)}),
		"critical":    makeCRL(t, ca, crlOpts{number: 1, extra: []pkix.Extension{{Id: []int{1, 2, 3}, Critical: true, Value: []byte{5, 0}}}}),
		"idp":         makeCRL(t, ca, crlOpts{number: 1, extra: []pkix.Extension{{Id: oidIssuingDP, Critical: true, Value: []byte{0x30, 0x03, 0x81, 0x01, 0xff}}}}),
		"garbage":     []byte("not a CRL"),
		"pem":         []byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"),
		"empty-input": {},
	}
}

func ocspSeeds(t testing.TB, ca *keyCert, leaf *x509.Certificate) map[string][]byte {
	resp := func(tmpl ocsp.Response) []byte {
		tmpl.SerialNumber = leaf.SerialNumber
		tmpl.ThisUpdate, tmpl.NextUpdate = testNow.Add(-time.Hour), testNow.Add(time.Hour)
		der, err := ocsp.CreateResponse(ca.cert, ca.cert, tmpl, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	return map[string][]byte{
		"good":     resp(ocsp.Response{Status: ocsp.Good}),
		"revoked":  resp(ocsp.Response{Status: ocsp.Revoked, RevokedAt: testNow.Add(-time.Hour), RevocationReason: ocsp.KeyCompromise}),
		"unknown":  resp(ocsp.Response{Status: ocsp.Unknown}),
		"tryLater": ocsp.TryLaterErrorResponse,
		"garbage":  []byte("not OCSP"),
	}
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite the seed corpus")
	}
	ca, leaf := fuzzPKI(t)
	for target, seeds := range map[string]map[string][]byte{
		"FuzzCheckCRL":  fuzzSeeds(t, ca),
		"FuzzCheckOCSP": ocspSeeds(t, ca, leaf),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzCheckOCSP feeds arbitrary bytes as the stapled OCSP response of a
// fixed certificate (through x/crypto/ocsp and this package's CertID
// parser).
func FuzzCheckOCSP(f *testing.F) {
	ca, leaf := fuzzPKI(f)
	for _, b := range ocspSeeds(f, ca, leaf) {
		f.Add(b)
	}
	ck := New(Config{Time: func() time.Time { return testNow }, Order: []Method{MethodStaple}})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ck.ocspFromBytes(data, leaf, ca.cert, "the stapled OCSP response")
		if err != nil && st.State != Unknown {
			t.Fatalf("state %v with error %v", st.State, err)
		}
		if err == nil && st.State == Unknown {
			t.Fatal("unknown state without error")
		}
	})
}

// FuzzCheckCRL feeds arbitrary bytes as the CRL (and delta CRL) of a fixed
// certificate: the checker must not panic, and its verdicts must agree
// with its errors.
func FuzzCheckCRL(f *testing.F) {
	ca, leaf := fuzzPKI(f)
	for _, b := range fuzzSeeds(f, ca) {
		f.Add(b)
	}
	chain := []*x509.Certificate{leaf, ca.cert}
	f.Fuzz(func(t *testing.T, data []byte) {
		ck := New(Config{
			Time:      func() time.Time { return testNow },
			CacheSize: -1,
			Fetchers: map[string]Fetcher{"http": FetcherFunc(func(ctx context.Context, u string) ([]byte, error) {
				return data, nil
			})},
		})
		sts, err := ck.CheckChain(context.Background(), chain)
		if len(sts) != 1 {
			t.Fatalf("%d statuses", len(sts))
		}
		var re *RevokedError
		switch sts[0].State {
		case Good:
			if err != nil {
				t.Fatalf("good with error %v", err)
			}
		case Revoked:
			if !errors.As(err, &re) {
				t.Fatalf("revoked without RevokedError: %v", err)
			}
		case Unknown:
			if err == nil {
				t.Fatal("unknown without error under hard-fail")
			}
		}
	})
}

// TestFuzzOCSPSeeds keeps the OCSP seeds meaningful.
func TestFuzzOCSPSeeds(t *testing.T) {
	ca, leaf := fuzzPKI(t)
	ck := New(Config{Time: func() time.Time { return testNow }})
	for name, want := range map[string]State{"good": Good, "revoked": Revoked, "unknown": Unknown, "garbage": Unknown} {
		st, _ := ck.ocspFromBytes(ocspSeeds(t, ca, leaf)[name], leaf, ca.cert, "seed")
		if st.State != want {
			t.Errorf("seed %s: %v, want %v", name, st.State, want)
		}
	}
}

// TestFuzzSeeds keeps the seed corpus meaningful: signed by the fuzz CA,
// so the seeds reach the status lookup.
func TestFuzzSeeds(t *testing.T) {
	ca, leaf := fuzzPKI(t)
	seeds := fuzzSeeds(t, ca)
	for name, want := range map[string]State{"empty": Good, "revokes": Revoked, "hold": Revoked, "stale": Unknown, "critical": Unknown, "garbage": Unknown} {
		ck := New(Config{Time: func() time.Time { return testNow }, DisableDeltaCRLs: true,
			Fetchers: map[string]Fetcher{"http": FetcherFunc(func(ctx context.Context, u string) ([]byte, error) { return seeds[name], nil })}})
		st, _ := ck.Check(context.Background(), leaf, ca.cert)
		if st.State != want {
			t.Errorf("seed %s: state %v, want %v (%v)", name, st.State, want, st.Err)
		}
	}
}
