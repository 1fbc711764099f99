package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// testNow is the fixed clock of the unit tests.
var testNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

type keyCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl *x509.Certificate, parent *keyCert) *keyCert {
	t.Helper()
	key := newKey(t)
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = testNow.Add(-24*time.Hour), testNow.Add(365*24*time.Hour)
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyCert{c, key}
}

func newCA(t testing.TB, cn string, parent *keyCert) *keyCert {
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, parent)
}

// freshestExt builds a FreshestCRL extension naming one URI.
func freshestExt(t testing.TB, uri string) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
				})
			})
		})
	})
	v, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidFreshestCRL, Value: v}
}

type revoked struct {
	serial *big.Int
	reason Reason
}

type crlOpts struct {
	number     int64
	base       int64 // >0: a delta CRL for this base number
	thisUpdate time.Time
	nextUpdate time.Time
	extra      []pkix.Extension
}

func makeCRL(t testing.TB, ca *keyCert, o crlOpts, entries ...revoked) []byte {
	t.Helper()
	if o.thisUpdate.IsZero() {
		o.thisUpdate = testNow.Add(-time.Hour)
	}
	if o.nextUpdate.IsZero() {
		o.nextUpdate = testNow.Add(24 * time.Hour)
	}
	tmpl := &x509.RevocationList{
		ThisUpdate: o.thisUpdate, NextUpdate: o.nextUpdate, ExtraExtensions: o.extra,
		Number: big.NewInt(o.number),
	}
	if o.base > 0 {
		v, _ := asn1.Marshal(big.NewInt(o.base))
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: v})
	}
	for _, e := range entries {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: e.serial, RevocationTime: testNow.Add(-30 * time.Minute), ReasonCode: int(e.reason),
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// repo is an HTTP server publishing CRLs and answering OCSP for one CA,
// counting requests so tests can see the cache at work.
type repo struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	files    map[string][]byte
	hits     map[string]int
	ocspCA   *keyCert
	ocspKey  *keyCert // signer; nil means the CA itself
	idCA     *keyCert // CA named in the CertID; nil means ocspCA
	statuses map[string]ocsp.Response
	methods  []string
	delay    time.Duration
}

func newRepo(t testing.TB) *repo {
	r := &repo{t: t, files: map[string][]byte{}, hits: map[string]int{}, statuses: map[string]ocsp.Response{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *repo) url(p string) string { return r.srv.URL + p }

func (r *repo) set(p string, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[p] = b
}

func (r *repo) count(p string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[p]
}

func (r *repo) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	delay := r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if strings.HasPrefix(req.URL.Path, "/ocsp") {
		r.hits["/ocsp"]++
		r.methods = append(r.methods, req.Method)
		var raw []byte
		if req.Method == http.MethodGet {
			p := strings.TrimPrefix(req.URL.EscapedPath(), "/ocsp/")
			s, err := url.PathUnescape(p)
			if err == nil {
				raw, err = base64.StdEncoding.DecodeString(s)
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
		} else {
			raw, _ = io.ReadAll(req.Body)
		}
		oreq, err := ocsp.ParseRequest(raw)
		if err != nil {
			w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
		tmpl, ok := r.statuses[oreq.SerialNumber.String()]
		if !ok {
			tmpl = ocsp.Response{Status: ocsp.Unknown}
		}
		tmpl.SerialNumber = oreq.SerialNumber
		if tmpl.ThisUpdate.IsZero() {
			tmpl.ThisUpdate, tmpl.NextUpdate = testNow.Add(-time.Hour), testNow.Add(time.Hour)
		}
		signer := r.ocspCA
		if r.ocspKey != nil {
			signer = r.ocspKey
			tmpl.Certificate = r.ocspKey.cert
		}
		idCA := r.ocspCA
		if r.idCA != nil {
			idCA = r.idCA
		}
		der, err := ocsp.CreateResponse(idCA.cert, signer.cert, tmpl, signer.key)
		if err != nil {
			r.t.Errorf("create OCSP response: %v", err)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
		return
	}
	r.hits[req.URL.Path]++
	b, ok := r.files[req.URL.Path]
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Write(b)
}
