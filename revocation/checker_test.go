package revocation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func fixedClock(t *time.Time) func() time.Time { return func() time.Time { return *t } }

// crlFixture is a root CA publishing its CRL (and a delta) on a repo, and a
// leaf that points at them.
type crlFixture struct {
	repo *repo
	ca   *keyCert
	leaf *keyCert
}

func newCRLFixture(t *testing.T, cdp string) *crlFixture {
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	if cdp == "" {
		cdp = r.url("/ca.crl")
	}
	leaf := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "www"}, SerialNumber: big.NewInt(0x1A2B),
		CRLDistributionPoints: []string{cdp},
		ExtraExtensions:       []pkix.Extension{freshestExt(t, r.url("/delta.crl"))},
	}, ca)
	return &crlFixture{repo: r, ca: ca, leaf: leaf}
}

func TestCRL(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *crlFixture)
		softFail bool
		state    State
		wantErr  string // substring; "" means no error
		unavail  int    // 1: errors.Is(err, ErrUnavailable) must hold; -1: must not
	}{
		{name: "good", state: Good, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(99), KeyCompromise}))
		}},
		{name: "revoked", state: Revoked, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), KeyCompromise}))
		}, wantErr: "certificate CN=www, serial 1A2B is revoked (keyCompromise at 2026-11-24 09:30 UTC) according to the CRL at http://"},
		{name: "certificateHold", state: Revoked, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), CertificateHold}))
		}, wantErr: "(certificateHold at"},
		{name: "delta revokes", state: Revoked, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}))
			f.repo.set("/delta.crl", makeCRL(t, f.ca, crlOpts{number: 2, base: 1}, revoked{big.NewInt(0x1A2B), Superseded}))
		}, wantErr: "(superseded at 2026-11-24 09:30 UTC) according to the CRL at http://127.0.0.1"},
		{name: "delta removes hold", state: Good, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), CertificateHold}))
			f.repo.set("/delta.crl", makeCRL(t, f.ca, crlOpts{number: 2, base: 1}, revoked{big.NewInt(0x1A2B), RemoveFromCRL}))
		}},
		{name: "delta for another base ignored", state: Revoked, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), CertificateHold}))
			f.repo.set("/delta.crl", makeCRL(t, f.ca, crlOpts{number: 5, base: 3}, revoked{big.NewInt(0x1A2B), RemoveFromCRL}))
		}, wantErr: "certificateHold"},
		{name: "stale CRL fresh delta", state: Good, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1, nextUpdate: testNow.Add(-time.Hour), thisUpdate: testNow.Add(-2 * time.Hour)}))
			f.repo.set("/delta.crl", makeCRL(t, f.ca, crlOpts{number: 2, base: 1}))
		}},
		{name: "stale", setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1, nextUpdate: testNow.Add(-time.Hour), thisUpdate: testNow.Add(-2 * time.Hour)}))
		}, wantErr: "it is stale: nextUpdate 2026-11-24 09:00:00 UTC has passed"},
		{name: "stale within skew", state: Good, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1, nextUpdate: testNow.Add(-time.Minute), thisUpdate: testNow.Add(-2 * time.Hour)}))
		}},
		{name: "thisUpdate in the future", setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1, thisUpdate: testNow.Add(time.Hour)}))
		}, wantErr: "is in the future"},
		{name: "unknown critical extension", setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1, extra: []pkix.Extension{{Id: []int{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}}))
		}, wantErr: "unknown critical extension 1.2.3.4"},
		{name: "signed by an impostor", setup: func(t *testing.T, f *crlFixture) {
			other := newCA(t, "Test Root", nil)
			f.repo.set("/ca.crl", makeCRL(t, other, crlOpts{number: 1}))
		}, wantErr: "no certificate of the CRL issuer CN=Test Root"},
		{name: "other issuer", setup: func(t *testing.T, f *crlFixture) {
			other := newCA(t, "Other Root", nil)
			f.repo.set("/ca.crl", makeCRL(t, other, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), KeyCompromise}))
		}, wantErr: "issued by CN=Other Root, not by the certificate's issuer CN=Test Root"},
		{name: "garbage", setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", []byte("not a CRL"))
		}, wantErr: "parse CRL", unavail: -1},
		{name: "garbage soft-fail still fails", softFail: true, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", []byte("not a CRL"))
		}, wantErr: "parse CRL"},
		{name: "unreachable hard-fail", setup: func(t *testing.T, f *crlFixture) {},
			wantErr: "the CRL at http://127.0.0.1", unavail: 1},
		{name: "unreachable soft-fail", softFail: true, setup: func(t *testing.T, f *crlFixture) {}},
		{name: "revoked soft-fail", softFail: true, state: Revoked, setup: func(t *testing.T, f *crlFixture) {
			f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), CessationOfOperation}))
		}, wantErr: "is revoked (cessationOfOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCRLFixture(t, "")
			tt.setup(t, f)
			now := testNow
			ck := New(Config{Time: fixedClock(&now), SoftFail: tt.softFail, Order: []Method{MethodCRL}})
			sts, err := ck.CheckChain(context.Background(), []*x509.Certificate{f.leaf.cert, f.ca.cert})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrUnavailable); tt.unavail != 0 && got != (tt.unavail > 0) {
				t.Errorf("errors.Is(err, ErrUnavailable) = %v, want %v", got, tt.unavail > 0)
			}
			if len(sts) != 1 || sts[0].State != tt.state {
				t.Fatalf("statuses %+v, want one with state %v", sts, tt.state)
			}
			if tt.state == Revoked {
				var re *RevokedError
				if !errors.As(err, &re) || re.Serial.Int64() != 0x1A2B || re.Source == "" {
					t.Errorf("want *RevokedError for serial 1A2B, got %#v", err)
				}
			}
			if tt.state == Good && !strings.HasPrefix(sts[0].Source, "the CRL at "+f.repo.url("/ca.crl")) {
				t.Errorf("source %q", sts[0].Source)
			}
		})
	}
}

func TestRevokedErrorSentence(t *testing.T) {
	f := newCRLFixture(t, "")
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), KeyCompromise}))
	now := testNow
	_, err := New(Config{Time: fixedClock(&now)}).Check(context.Background(), f.leaf.cert, f.ca.cert)
	want := fmt.Sprintf("certificate CN=www, serial 1A2B is revoked (keyCompromise at 2026-11-24 09:30 UTC) according to the CRL at %s", f.repo.url("/ca.crl"))
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	var re *RevokedError
	if !errors.As(err, &re) || re.Reason != KeyCompromise || !re.RevokedAt.Equal(testNow.Add(-30*time.Minute)) {
		t.Fatalf("RevokedError fields: %+v", re)
	}
}

func TestIntermediateRevoked(t *testing.T) {
	r := newRepo(t)
	root := newCA(t, "Root", nil)
	inter := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "Issuing CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SerialNumber: big.NewInt(7),
		CRLDistributionPoints: []string{r.url("/root.crl")},
	}, root)
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, CRLDistributionPoints: []string{r.url("/inter.crl")}}, inter)
	r.set("/inter.crl", makeCRL(t, inter, crlOpts{number: 1}))
	r.set("/root.crl", makeCRL(t, root, crlOpts{number: 1}, revoked{big.NewInt(7), CACompromise}))
	now := testNow
	sts, err := New(Config{Time: fixedClock(&now)}).CheckChain(context.Background(), []*x509.Certificate{leaf.cert, inter.cert, root.cert})
	if err == nil || !strings.Contains(err.Error(), "certificate CN=Issuing CA, serial 7 is revoked (CACompromise") {
		t.Fatalf("err = %v", err)
	}
	if len(sts) != 2 || sts[0].State != Good || sts[1].State != Revoked {
		t.Fatalf("statuses: %+v", sts)
	}
}

func TestLDAPDistributionPoint(t *testing.T) {
	const ldapURL = "ldap://127.0.0.1:1389/cn=Test%20Root?certificateRevocationList;binary"
	f := newCRLFixture(t, ldapURL)
	now := testNow
	// A nil Fetcher disables the built-in LDAPFetcher.
	off := map[string]Fetcher{"ldap": nil}
	_, err := New(Config{Time: fixedClock(&now), Fetchers: off}).Check(context.Background(), f.leaf.cert, f.ca.cert)
	if err == nil || !strings.Contains(err.Error(), "no ldap:// fetcher configured") {
		t.Fatalf("without fetcher: %v", err)
	}
	if _, err := New(Config{Time: fixedClock(&now), SoftFail: true, Fetchers: off}).Check(context.Background(), f.leaf.cert, f.ca.cert); err != nil {
		t.Fatalf("soft-fail treats an unusable ldap:// point as no source: %v", err)
	}
	var asked string
	crl := makeCRL(t, f.ca, crlOpts{number: 1}, revoked{big.NewInt(0x1A2B), AffiliationChanged})
	ck := New(Config{Time: fixedClock(&now), Fetchers: map[string]Fetcher{
		"ldap": FetcherFunc(func(ctx context.Context, u string) ([]byte, error) { asked = u; return crl, nil }),
	}})
	_, err = ck.Check(context.Background(), f.leaf.cert, f.ca.cert)
	if err == nil || !strings.Contains(err.Error(), "(affiliationChanged at 2026-11-24 09:30 UTC) according to the CRL at "+ldapURL) {
		t.Fatalf("with fetcher: %v", err)
	}
	if asked != ldapURL {
		t.Errorf("fetcher asked for %q", asked)
	}
}

func TestCRLCache(t *testing.T) {
	f := newCRLFixture(t, "")
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}))
	now := testNow
	ck := New(Config{Time: fixedClock(&now), DisableDeltaCRLs: true})
	chain := []*x509.Certificate{f.leaf.cert, f.ca.cert}
	for i := 0; i < 3; i++ {
		if _, err := ck.CheckChain(context.Background(), chain); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.repo.count("/ca.crl"); n != 1 {
		t.Fatalf("CRL fetched %d times, want 1 (cached until nextUpdate)", n)
	}
	// Past nextUpdate the cached CRL is dropped and the new one fetched.
	now = testNow.Add(25 * time.Hour)
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 2, thisUpdate: now.Add(-time.Minute), nextUpdate: now.Add(time.Hour)}, revoked{big.NewInt(0x1A2B), KeyCompromise}))
	var re *RevokedError
	if _, err := ck.CheckChain(context.Background(), chain); !errors.As(err, &re) {
		t.Fatalf("after nextUpdate: %v", err)
	}
	if n := f.repo.count("/ca.crl"); n != 2 {
		t.Fatalf("CRL fetched %d times, want 2", n)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(2)
	exp := testNow.Add(time.Hour)
	c.put("a", 1, exp)
	c.put("b", 2, exp)
	c.get("a", testNow)
	c.put("c", 3, exp)
	if _, ok := c.get("b", testNow); ok {
		t.Error("least recently used entry b survived")
	}
	if _, ok := c.get("a", testNow); !ok {
		t.Error("entry a evicted")
	}
	if _, ok := c.get("c", exp); ok {
		t.Error("entry c served at its expiry")
	}
	if c.len() > 2 {
		t.Errorf("cache holds %d entries, max 2", c.len())
	}
}

func TestFetchTimeout(t *testing.T) {
	f := newCRLFixture(t, "")
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}))
	f.repo.delay = 3 * time.Second
	now := testNow
	for _, soft := range []bool{false, true} {
		ck := New(Config{Time: fixedClock(&now), FetchTimeout: 50 * time.Millisecond, SoftFail: soft, DisableDeltaCRLs: true})
		_, err := ck.CheckChain(context.Background(), []*x509.Certificate{f.leaf.cert, f.ca.cert})
		if soft && err != nil {
			t.Errorf("soft-fail: %v", err)
		}
		if !soft && !errors.Is(err, ErrUnavailable) {
			t.Errorf("hard-fail: got %v, want an ErrUnavailable", err)
		}
	}
	// The caller's context bounds the whole check too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := New(Config{Time: fixedClock(&now)}).CheckChain(ctx, []*x509.Certificate{f.leaf.cert, f.ca.cert})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("context deadline: %v", err)
	}
}

// ocspFixture is a CA whose leaf names only an OCSP responder.
func newOCSPFixture(t *testing.T, ocspURL string) (*repo, *keyCert, *keyCert) {
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	r.ocspCA = ca
	if ocspURL == "" {
		ocspURL = r.url("/ocsp")
	}
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "www"}, SerialNumber: big.NewInt(0x1A2B), OCSPServer: []string{ocspURL}}, ca)
	return r, ca, leaf
}

func TestOCSP(t *testing.T) {
	long := "/ocsp/" + strings.Repeat("x", 200)
	tests := []struct {
		name    string
		path    string
		setup   func(t *testing.T, r *repo, ca *keyCert)
		state   State
		wantErr string
		method  string
	}{
		{name: "good by CA", state: Good, method: "GET", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}},
		{name: "good via POST for long URLs", path: long, state: Good, method: "POST", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}},
		{name: "revoked", state: Revoked, setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Revoked, RevokedAt: testNow.Add(-time.Hour), RevocationReason: ocsp.KeyCompromise}
		}, wantErr: "certificate CN=www, serial 1A2B is revoked (keyCompromise at 2026-11-24 09:00 UTC) according to the OCSP responder at http://"},
		{name: "unknown", setup: func(t *testing.T, r *repo, ca *keyCert) {}, wantErr: "does not know the certificate"},
		{name: "delegated responder", state: Good, setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.ocspKey = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "OCSP"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}, ca)
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}},
		{name: "delegated responder without OCSPSigning", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.ocspKey = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "OCSP"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca)
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}, wantErr: "lacks the OCSPSigning extended key usage"},
		{name: "responder from another CA", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.ocspKey = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "OCSP"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}, newCA(t, "Other", nil))
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}, wantErr: "is not issued by CN=Test Root"},
		{name: "CertID of another issuer", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.idCA = newCA(t, "Other", nil)
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
		}, wantErr: "about a certificate of another issuer"},
		{name: "stale response", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good, ThisUpdate: testNow.Add(-2 * time.Hour), NextUpdate: testNow.Add(-time.Hour)}
		}, wantErr: "OCSP response is stale"},
		{name: "response from the future", setup: func(t *testing.T, r *repo, ca *keyCert) {
			r.statuses["6699"] = ocsp.Response{Status: ocsp.Good, ThisUpdate: testNow.Add(time.Hour), NextUpdate: testNow.Add(2 * time.Hour)}
		}, wantErr: "is in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *repo
			var ca, leaf *keyCert
			if tt.path != "" {
				r0 := newRepo(t)
				r, ca, leaf = newOCSPFixture(t, r0.url(tt.path))
				r0.srv.Config.Handler = r.srv.Config.Handler
			} else {
				r, ca, leaf = newOCSPFixture(t, "")
			}
			tt.setup(t, r, ca)
			now := testNow
			st, err := New(Config{Time: fixedClock(&now)}).Check(context.Background(), leaf.cert, ca.cert)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if st.State != tt.state {
				t.Fatalf("state %v, want %v", st.State, tt.state)
			}
			if tt.state == Good && st.Method != MethodOCSP {
				t.Errorf("method %v", st.Method)
			}
			if tt.method != "" && (len(r.methods) != 1 || r.methods[0] != tt.method) {
				t.Errorf("HTTP methods used: %v, want [%s]", r.methods, tt.method)
			}
		})
	}
}

func TestOCSPCacheAndFallback(t *testing.T) {
	r, ca, leaf := newOCSPFixture(t, "")
	r.statuses["6699"] = ocsp.Response{Status: ocsp.Good}
	now := testNow
	ck := New(Config{Time: fixedClock(&now)})
	for i := 0; i < 3; i++ {
		if _, err := ck.Check(context.Background(), leaf.cert, ca.cert); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.count("/ocsp"); n != 1 {
		t.Fatalf("responder asked %d times, want 1", n)
	}
	// Responder gone: the cached answer still serves until nextUpdate…
	r.srv.Close()
	if _, err := ck.Check(context.Background(), leaf.cert, ca.cert); err != nil {
		t.Fatalf("cached: %v", err)
	}
	// …and after it the check is unknown: an error under hard-fail only.
	now = testNow.Add(2 * time.Hour)
	if _, err := ck.Check(context.Background(), leaf.cert, ca.cert); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("hard-fail: %v", err)
	}
	if _, err := New(Config{Time: fixedClock(&now), SoftFail: true}).Check(context.Background(), leaf.cert, ca.cert); err != nil {
		t.Fatalf("soft-fail: %v", err)
	}
}

func TestOrder(t *testing.T) {
	// OCSP says good, the CRL says revoked: the order decides.
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	r.ocspCA = ca
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "www"}, SerialNumber: big.NewInt(5),
		OCSPServer: []string{r.url("/ocsp")}, CRLDistributionPoints: []string{r.url("/ca.crl")}}, ca)
	r.statuses["5"] = ocsp.Response{Status: ocsp.Good}
	r.set("/ca.crl", makeCRL(t, ca, crlOpts{number: 1}, revoked{big.NewInt(5), KeyCompromise}))
	now := testNow
	for _, tt := range []struct {
		name  string
		order []Method
		want  State
	}{
		{"default prefers OCSP", nil, Good},
		{"CRL first", []Method{MethodCRL, MethodOCSP}, Revoked},
		{"CRL only", []Method{MethodCRL}, Revoked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := New(Config{Time: fixedClock(&now), Order: tt.order}).Check(context.Background(), leaf.cert, ca.cert)
			if st.State != tt.want {
				t.Fatalf("state %v (%s), want %v", st.State, st.Source, tt.want)
			}
		})
	}
}

func TestNoSource(t *testing.T) {
	ca := newCA(t, "Test Root", nil)
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "bare"}}, ca)
	now := testNow
	_, err := New(Config{Time: fixedClock(&now)}).Check(context.Background(), leaf.cert, ca.cert)
	if !errors.Is(err, ErrNoSource) || !strings.Contains(err.Error(), "revocation status of certificate CN=bare") {
		t.Fatalf("hard-fail: %v", err)
	}
	if _, err := New(Config{Time: fixedClock(&now), SoftFail: true}).Check(context.Background(), leaf.cert, ca.cert); err != nil {
		t.Fatalf("soft-fail: %v", err)
	}
	// A supplied CRL covers certificates without distribution points.
	rl, _ := x509.ParseRevocationList(makeCRL(t, ca, crlOpts{number: 3}))
	st, err := New(Config{Time: fixedClock(&now), CRLs: []*x509.RevocationList{rl}}).Check(context.Background(), leaf.cert, ca.cert)
	if err != nil || st.State != Good {
		t.Fatalf("supplied CRL: %v %v", st.State, err)
	}
}

// tlsPair makes a server certificate for 127.0.0.1 with the given
// revocation pointers.
func serverCert(t *testing.T, ca *keyCert, tmpl *x509.Certificate) tls.Certificate {
	tmpl.Subject = pkix.Name{CommonName: "www"}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	kc := issue(t, tmpl, ca)
	return tls.Certificate{Certificate: [][]byte{kc.cert.Raw}, PrivateKey: kc.key, Leaf: kc.cert}
}

func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		done <- tls.Server(c, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	clientErr = tls.Client(c, client).Handshake()
	c.Close()
	return clientErr, <-done
}

func TestVerifyConnection(t *testing.T) {
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	r.ocspCA = ca
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	good := serverCert(t, ca, &x509.Certificate{SerialNumber: big.NewInt(1), CRLDistributionPoints: []string{r.url("/ca.crl")}})
	bad := serverCert(t, ca, &x509.Certificate{SerialNumber: big.NewInt(2), CRLDistributionPoints: []string{r.url("/ca.crl")}})
	r.set("/ca.crl", makeCRL(t, ca, crlOpts{number: 1}, revoked{big.NewInt(2), KeyCompromise}))
	now := testNow
	ck := New(Config{Time: fixedClock(&now)})
	client := func(cert *tls.Certificate) *tls.Config {
		c := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", VerifyConnection: ck.VerifyConnection, Time: fixedClock(&now)}
		if cert != nil {
			c.Certificates = []tls.Certificate{*cert}
		}
		return c
	}
	server := func(cert tls.Certificate, staple []byte) *tls.Config {
		cert.OCSPStaple = staple
		return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven,
			VerifyConnection: ck.VerifyConnection, Time: fixedClock(&now)}
	}
	t.Run("client accepts a good server", func(t *testing.T) {
		if cerr, serr := handshake(t, server(good, nil), client(nil)); cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
	})
	t.Run("client refuses a revoked server", func(t *testing.T) {
		cerr, _ := handshake(t, server(bad, nil), client(nil))
		want := "certificate CN=www, serial 2 is revoked (keyCompromise at 2026-11-24 09:30 UTC) according to the CRL at " + r.url("/ca.crl")
		if cerr == nil || !strings.Contains(cerr.Error(), want) {
			t.Fatalf("client error %v, want %q", cerr, want)
		}
		var re *RevokedError
		if !errors.As(cerr, &re) {
			t.Errorf("no *RevokedError in %v", cerr)
		}
	})
	t.Run("server refuses a revoked client", func(t *testing.T) {
		_, serr := handshake(t, server(good, nil), client(&bad))
		if serr == nil || !strings.Contains(serr.Error(), "serial 2 is revoked (keyCompromise") {
			t.Fatalf("server error %v", serr)
		}
	})
	t.Run("stapled revoked response", func(t *testing.T) {
		staple, err := ocsp.CreateResponse(ca.cert, ca.cert, ocsp.Response{Status: ocsp.Revoked, SerialNumber: big.NewInt(1),
			RevokedAt: testNow.Add(-time.Hour), RevocationReason: ocsp.Superseded, ThisUpdate: testNow.Add(-time.Hour), NextUpdate: testNow.Add(time.Hour)}, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		cerr, _ := handshake(t, server(good, staple), client(nil))
		if cerr == nil || !strings.Contains(cerr.Error(), "serial 1 is revoked (superseded at 2026-11-24 09:00 UTC) according to the stapled OCSP response") {
			t.Fatalf("client error %v", cerr)
		}
	})
	t.Run("no verified chain", func(t *testing.T) {
		err := ck.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Leaf}})
		if err == nil || !strings.Contains(err.Error(), "InsecureSkipVerify") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestConcurrentChecksShareOneFetch(t *testing.T) {
	f := newCRLFixture(t, "")
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}))
	f.repo.delay = 100 * time.Millisecond
	now := testNow
	ck := New(Config{Time: fixedClock(&now), DisableDeltaCRLs: true})
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			_, err := ck.CheckChain(context.Background(), []*x509.Certificate{f.leaf.cert, f.ca.cert})
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := f.repo.count("/ca.crl"); n != 1 {
		t.Fatalf("20 concurrent checks fetched the CRL %d times, want 1", n)
	}
}

func TestLeafOnly(t *testing.T) {
	r := newRepo(t)
	root := newCA(t, "Root", nil)
	inter := newCA(t, "Issuing CA without CDP", root)
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, CRLDistributionPoints: []string{r.url("/inter.crl")}}, inter)
	r.set("/inter.crl", makeCRL(t, inter, crlOpts{number: 1}))
	now := testNow
	chain := []*x509.Certificate{leaf.cert, inter.cert, root.cert}
	if _, err := New(Config{Time: fixedClock(&now)}).CheckChain(context.Background(), chain); !errors.Is(err, ErrNoSource) {
		t.Fatalf("hard-fail on an intermediate without a source: %v", err)
	}
	sts, err := New(Config{Time: fixedClock(&now), LeafOnly: true}).CheckChain(context.Background(), chain)
	if err != nil || len(sts) != 1 || sts[0].State != Good {
		t.Fatalf("LeafOnly: %+v %v", sts, err)
	}
}

func TestCacheMaxAge(t *testing.T) {
	f := newCRLFixture(t, "")
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 1}))
	now := testNow
	ck := New(Config{Time: fixedClock(&now), DisableDeltaCRLs: true, CacheMaxAge: time.Minute})
	chain := []*x509.Certificate{f.leaf.cert, f.ca.cert}
	if _, err := ck.CheckChain(context.Background(), chain); err != nil {
		t.Fatal(err)
	}
	f.repo.set("/ca.crl", makeCRL(t, f.ca, crlOpts{number: 2}, revoked{big.NewInt(0x1A2B), KeyCompromise}))
	now = testNow.Add(30 * time.Second)
	if _, err := ck.CheckChain(context.Background(), chain); err != nil {
		t.Fatalf("within CacheMaxAge the cached CRL answers: %v", err)
	}
	now = testNow.Add(2 * time.Minute)
	var re *RevokedError
	if _, err := ck.CheckChain(context.Background(), chain); !errors.As(err, &re) {
		t.Fatalf("after CacheMaxAge the new CRL must be fetched: %v", err)
	}
}

func TestURLLimit(t *testing.T) {
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	var cdps []string
	for i := 0; i < 20; i++ {
		cdps = append(cdps, r.url(fmt.Sprintf("/missing%d.crl", i)))
	}
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "many"}, CRLDistributionPoints: cdps}, ca)
	now := testNow
	_, err := New(Config{Time: fixedClock(&now)}).Check(context.Background(), leaf.cert, ca.cert)
	if err == nil || !strings.Contains(err.Error(), "more than 8 CRL URLs") {
		t.Fatalf("err %v", err)
	}
	fetched := 0
	for i := 0; i < 20; i++ {
		fetched += r.count(fmt.Sprintf("/missing%d.crl", i))
	}
	if fetched != maxURLs {
		t.Fatalf("fetched %d URLs, want %d", fetched, maxURLs)
	}
}

func TestSecondDistributionPointNotFetched(t *testing.T) {
	r := newRepo(t)
	ca := newCA(t, "Test Root", nil)
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "two"},
		CRLDistributionPoints: []string{"ldap://127.0.0.1:1/cn=x", r.url("/a.crl"), r.url("/b.crl")}}, ca)
	r.set("/a.crl", makeCRL(t, ca, crlOpts{number: 1}))
	r.set("/b.crl", makeCRL(t, ca, crlOpts{number: 1}))
	now := testNow
	st, err := New(Config{Time: fixedClock(&now)}).Check(context.Background(), leaf.cert, ca.cert)
	if err != nil || st.State != Good || st.Source != "the CRL at "+r.url("/a.crl") {
		t.Fatalf("%v %q %v", st.State, st.Source, err)
	}
	if r.count("/b.crl") != 0 {
		t.Error("the second CRL was fetched although the first covered every reason")
	}
}
