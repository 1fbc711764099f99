package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/internal/testkey"
)

// parseFor parses and verifies a response with x/crypto/ocsp as an
// independent implementation, for the status of cert.
func parseFor(t testing.TB, der []byte, cert *x509.Certificate, ca *testCA) *xocsp.Response {
	t.Helper()
	resp, err := xocsp.ParseResponseForCert(der, cert, ca.cert)
	if err != nil {
		t.Fatalf("x/crypto/ocsp rejects the response: %v", err)
	}
	return resp
}

func request(t testing.TB, ca *testCA, h crypto.Hash, certs ...*x509.Certificate) []byte {
	t.Helper()
	var ids [][]byte
	for _, c := range certs {
		ids = append(ids, certIDOf(t, ca, h, c.SerialNumber))
	}
	return buildRequest(reqSpec{certIDs: ids})
}

func TestRespondStatuses(t *testing.T) {
	for _, kind := range []string{"p256", "p384", "p521", "rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind, nil)
			for _, tt := range []struct {
				name   string
				cert   *x509.Certificate
				want   int
				reason int
			}{
				{"good", f.good, xocsp.Good, 0},
				{"revoked", f.revoked, xocsp.Revoked, 1},
				{"unknown", f.unissued, xocsp.Unknown, 0},
			} {
				for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
					der, st := f.r.Respond(context.Background(), request(t, f.ca1, h, tt.cert))
					if st != Successful {
						t.Fatalf("%s %v: status %v", tt.name, h, st)
					}
					if kind == "ed25519" {
						checkEd25519(t, der, f.ca1)
						continue
					}
					resp := parseFor(t, der, tt.cert, f.ca1)
					if resp.Status != tt.want {
						t.Errorf("%s %v: status %d, want %d", tt.name, h, resp.Status, tt.want)
					}
					if tt.want == xocsp.Revoked && (!resp.RevokedAt.Equal(f.revokedAt) || resp.RevocationReason != tt.reason) {
						t.Errorf("revoked at %v reason %d, want %v %d", resp.RevokedAt, resp.RevocationReason, f.revokedAt, tt.reason)
					}
					if resp.NextUpdate.Sub(resp.ThisUpdate) != DefaultValidity {
						t.Errorf("validity %v", resp.NextUpdate.Sub(resp.ThisUpdate))
					}
					if resp.Certificate == nil || !resp.Certificate.Equal(f.ca1.responder) {
						t.Error("delegated responder certificate not in the response")
					}
					bits, _ := publicKeyBits(f.ca1.responder)
					if sum := sha1.Sum(bits); !bytes.Equal(resp.ResponderKeyHash, sum[:]) {
						t.Errorf("responderID byKey %x, want %x", resp.ResponderKeyHash, sum)
					}
				}
			}
		})
	}
}

type basicResponse struct {
	TBS   asn1.RawValue
	Alg   asn1.RawValue
	Sig   asn1.BitString
	Certs []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []asn1.RawValue
	Extensions  []pkix.Extension `asn1:"optional,explicit,tag:1"`
}

// basicOf decodes a successful OCSPResponse with encoding/asn1.
func basicOf(t testing.TB, der []byte) (*basicResponse, *responseData) {
	t.Helper()
	var outer struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) > 0 {
		t.Fatalf("OCSPResponse: %v", err)
	}
	var basic basicResponse
	if rest, err := asn1.Unmarshal(outer.Bytes.Response, &basic); err != nil || len(rest) > 0 {
		t.Fatalf("BasicOCSPResponse: %v", err)
	}
	var data responseData
	if rest, err := asn1.Unmarshal(basic.TBS.FullBytes, &data); err != nil || len(rest) > 0 {
		t.Fatalf("ResponseData: %v", err)
	}
	return &basic, &data
}

// responseNonce returns the nonce extension's extnValue, or nil;
// x/crypto/ocsp does not expose responseExtensions.
func responseNonce(t testing.TB, der []byte) []byte {
	_, data := basicOf(t, der)
	for _, e := range data.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}) {
			return e.Value
		}
	}
	return nil
}

// checkEd25519 verifies an Ed25519-signed response by hand: x/crypto/ocsp
// does not know the algorithm.
func checkEd25519(t testing.TB, der []byte, ca *testCA) {
	t.Helper()
	basic, _ := basicOf(t, der)
	if err := ca.responder.CheckSignature(x509.PureEd25519, basic.TBS.FullBytes, basic.Sig.Bytes); err != nil {
		t.Fatalf("Ed25519 signature: %v", err)
	}
}

func TestRespondCachesAndDoesNotSign(t *testing.T) {
	f := newFixture(t, "p256", nil)
	req := request(t, f.ca1, crypto.SHA1, f.good)
	first, _ := f.r.Respond(context.Background(), req)
	lookups, signs := f.db.lookups.Load(), f.metrics.signed.Load()
	if lookups != 1 || signs != 1 {
		t.Fatalf("first request: %d lookups, %d signatures", lookups, signs)
	}
	for range 10 {
		der, _ := f.r.Respond(context.Background(), req)
		if !bytes.Equal(der, first) {
			t.Fatal("cached response differs")
		}
	}
	if f.db.lookups.Load() != 1 || f.metrics.signed.Load() != 1 {
		t.Errorf("repeat requests looked up or signed again: %d lookups, %d signatures", f.db.lookups.Load(), f.metrics.signed.Load())
	}
	// Unknown serials are cached too.
	unk := request(t, f.ca1, crypto.SHA1, f.unissued)
	f.r.Respond(context.Background(), unk)
	f.r.Respond(context.Background(), unk)
	if f.metrics.signed.Load() != 2 {
		t.Errorf("unknown serial signed %d times", f.metrics.signed.Load()-1)
	}
}

func TestRespondUnauthorizedAndMixed(t *testing.T) {
	f := newFixture(t, "p256", nil)
	other := newRoot(t, "Stranger CA", "p256")
	other.responderKey = other.key
	stranger := other.leaf(t, "stranger")
	unknownHash := rawCertID([]byte{0x2a, 0x03, 0x04}, []byte{5, 0}, make([]byte, 20), make([]byte, 20), f.good.SerialNumber)

	if _, st := f.r.Respond(context.Background(), request(t, other, crypto.SHA1, stranger)); st != Unauthorized {
		t.Errorf("unknown issuer: %v, want unauthorized", st)
	}
	if _, st := f.r.Respond(context.Background(), buildRequest(reqSpec{certIDs: [][]byte{unknownHash}})); st != Unauthorized {
		t.Errorf("unknown hash algorithm alone: %v, want unauthorized", st)
	}
	// Mixed with a served CA: the stranger and the unknown hash are "unknown".
	der, st := f.r.Respond(context.Background(), buildRequest(reqSpec{certIDs: [][]byte{
		certIDOf(t, f.ca1, crypto.SHA1, f.revoked.SerialNumber),
		certIDOf(t, other, crypto.SHA1, stranger.SerialNumber),
		unknownHash,
	}}))
	if st != Successful {
		t.Fatalf("mixed: %v", st)
	}
	if resp := parseFor(t, der, f.revoked, f.ca1); resp.Status != xocsp.Revoked {
		t.Errorf("revoked cert: %d", resp.Status)
	}
	if resp := parseFor(t, der, stranger, f.ca1); resp.Status != xocsp.Unknown {
		t.Errorf("stranger: %d, want unknown", resp.Status)
	}
	if n := bytes.Count(der, unknownHash); n != 1 {
		t.Errorf("unknown-hash CertID echoed %d times", n)
	}
}

func TestRespondManyCertIDs(t *testing.T) {
	f := newFixture(t, "p256", nil)
	var certs []*x509.Certificate
	for range 60 {
		certs = append(certs, f.good)
	}
	der, st := f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA256, certs...))
	if st != Successful {
		t.Fatalf("60 CertIDs: %v", st)
	}
	parseFor(t, der, f.good, f.ca1)
	for range 300 {
		certs = append(certs, f.good)
	}
	if _, st := f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA256, certs...)); st != MalformedRequest {
		t.Errorf("360 CertIDs: %v, want malformedRequest", st)
	}
	before := f.r.Cached()
	w := httptest.NewRecorder()
	f.r.ServeHTTP(w, httptest.NewRequest("POST", "/ocsp", bytes.NewReader(request(t, f.ca1, crypto.SHA256, certs...))))
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), errorResponse(MalformedRequest)) || f.r.Cached() != before {
		t.Errorf("360 CertIDs over HTTP: %d %x, cache %d -> %d", w.Code, w.Body.Bytes(), before, f.r.Cached())
	}
}

func TestRespondNonce(t *testing.T) {
	f := newFixture(t, "p256", nil)
	id := certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber)
	for _, tt := range []struct {
		name      string
		extnValue []byte
	}{
		{"RFC 8954 encoding", octetString([]byte("0123456789abcdef"))},
		{"legacy raw encoding", []byte("0123456789abcdef")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := buildRequest(reqSpec{certIDs: [][]byte{id}, exts: [][]byte{extension(oidNonce, false, tt.extnValue)}})
			der1, st := f.r.Respond(context.Background(), req)
			if st != Successful {
				t.Fatal(st)
			}
			parseFor(t, der1, f.good, f.ca1)
			if got := responseNonce(t, der1); !bytes.Equal(got, tt.extnValue) {
				t.Errorf("nonce echoed %x, want %x", got, tt.extnValue)
			}
			der2, _ := f.r.Respond(context.Background(), req)
			if bytes.Equal(der1, der2) && f.metrics.signed.Load() < 2 {
				t.Error("nonce responses must be signed per request")
			}
		})
	}
	req := buildRequest(reqSpec{certIDs: [][]byte{id}, exts: [][]byte{extension(oidNonce, false, octetString(make([]byte, 33)))}})
	if _, st := f.r.Respond(context.Background(), req); st != MalformedRequest {
		t.Errorf("33-octet nonce: %v", st)
	}
}

func TestInvalidateAndRefresh(t *testing.T) {
	f := newFixture(t, "p256", nil)
	ctx := context.Background()
	leaf := f.ca1.leaf(t, "soon revoked")
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Good})
	req1 := request(t, f.ca1, crypto.SHA1, leaf)
	req256 := request(t, f.ca1, crypto.SHA256, leaf)
	status := func(req []byte) int {
		der, _ := f.r.Respond(ctx, req)
		return parseFor(t, der, leaf, f.ca1).Status
	}
	status(req1)
	status(req256)
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Revoked, RevokedAt: testStart, Reason: 4})
	if status(req1) != xocsp.Good {
		t.Fatal("cache did not serve the pre-signed response")
	}
	f.r.Invalidate(f.ca1.name, leaf.SerialNumber)
	if status(req1) != xocsp.Revoked || status(req256) != xocsp.Revoked {
		t.Fatal("Invalidate did not drop the pre-signed responses")
	}

	// Refresh re-signs both hash variants at once: no lookups afterwards.
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Good}) // released from hold, say
	if err := f.r.Refresh(ctx, f.ca1.name, leaf.SerialNumber); err != nil {
		t.Fatal(err)
	}
	n := f.db.lookups.Load()
	if status(req1) != xocsp.Good || status(req256) != xocsp.Good {
		t.Fatal("Refresh did not re-sign with the new status")
	}
	if f.db.lookups.Load() != n {
		t.Error("requests after Refresh were not served from the cache")
	}
	if err := f.r.Refresh(ctx, "no such CA", leaf.SerialNumber); err == nil {
		t.Error("Refresh of an unknown CA succeeded")
	}
}

// TestInvalidateDuringLookup: a lookup that started before a revocation
// must not leave its stale answer in the cache.
func TestInvalidateDuringLookup(t *testing.T) {
	f := newFixture(t, "p256", nil)
	leaf := f.ca1.leaf(t, "race")
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Good})
	req := request(t, f.ca1, crypto.SHA1, leaf)
	f.db.block = make(chan struct{})
	done := make(chan []byte)
	go func() {
		der, _ := f.r.Respond(context.Background(), req)
		done <- der
	}()
	for f.db.lookups.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The lookup has started; now the certificate is revoked.
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Revoked, RevokedAt: testStart, Reason: 1})
	f.r.Invalidate(f.ca1.name, leaf.SerialNumber)
	close(f.db.block)
	<-done
	f.db.block = nil
	der, _ := f.r.Respond(context.Background(), req)
	if parseFor(t, der, leaf, f.ca1).Status != xocsp.Revoked {
		t.Error("a stale lookup overwrote the revocation in the cache")
	}
}

func TestPrepare(t *testing.T) {
	f := newFixture(t, "p256", func(c *Config) { c.MaxCached = 20 })
	var sts []Status
	var leaves []*x509.Certificate
	for i := range 30 {
		l := f.ca1.leaf(t, "prepared")
		leaves = append(leaves, l)
		st := Status{Serial: l.SerialNumber, Status: Good}
		if i%3 == 0 {
			st = Status{Serial: l.SerialNumber, Status: Revoked, RevokedAt: testStart, Reason: 5}
		}
		sts = append(sts, st)
		f.db.set(f.ca1.name, l.SerialNumber, st)
	}
	if err := f.r.Prepare(context.Background(), f.ca1.name, func(context.Context) ([]Status, error) { return sts, nil }); err != nil {
		t.Fatal(err)
	}
	if n := f.r.Cached(); n != 20 {
		t.Errorf("cached %d responses, want the cache bound 20", n)
	}
	if f.db.lookups.Load() != 0 {
		t.Errorf("Prepare looked up %d statuses it was given", f.db.lookups.Load())
	}
	signs := f.metrics.signed.Load()
	der, _ := f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA1, leaves[3]))
	if parseFor(t, der, leaves[3], f.ca1).Status != xocsp.Revoked || f.metrics.signed.Load() != signs {
		t.Error("prepared response not served from the cache")
	}
	if err := f.r.Prepare(context.Background(), "nope", func(context.Context) ([]Status, error) { return sts, nil }); err == nil {
		t.Error("Prepare for an unknown CA succeeded")
	}
}

// TestPrepareRace: a revocation delivered while Prepare runs wins over the
// status load read before it.
func TestPrepareRace(t *testing.T) {
	f := newFixture(t, "p256", nil)
	leaf := f.ca1.leaf(t, "prepared then revoked")
	stale := []Status{{Serial: leaf.SerialNumber, Status: Good}}
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Revoked, RevokedAt: testStart, Reason: 1})
	err := f.r.Prepare(context.Background(), f.ca1.name, func(context.Context) ([]Status, error) {
		// The store changed after this read; the change feed says so.
		f.r.Invalidate(f.ca1.name, leaf.SerialNumber)
		return stale, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA1, leaf))
	if parseFor(t, der, leaf, f.ca1).Status != xocsp.Revoked {
		t.Error("Prepare cached a status invalidated while it ran")
	}
}

func TestCacheBound(t *testing.T) {
	f := newFixture(t, "p256", func(c *Config) { c.MaxCached = 10 })
	hot := request(t, f.ca1, crypto.SHA1, f.good)
	for i := range 50 {
		f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA1, f.ca1.leaf(t, "cold")))
		f.r.Respond(context.Background(), hot)
		if n := f.r.Cached(); n > 10 {
			t.Fatalf("after %d requests the cache holds %d > 10", i, n)
		}
	}
	// The hot entry survives eviction (its reference bit keeps it).
	signs := f.metrics.signed.Load()
	f.r.Respond(context.Background(), hot)
	if f.metrics.signed.Load() != signs {
		t.Error("the most used response was evicted")
	}
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestRefreshAhead(t *testing.T) {
	clk := &fakeClock{}
	clk.set(testStart)
	f := newFixture(t, "p256", func(c *Config) { c.Now = clk.now; c.Validity = time.Hour })
	req := request(t, f.ca1, crypto.SHA1, f.good)
	der, _ := f.r.Respond(context.Background(), req)
	first := parseFor(t, der, f.good, f.ca1)

	clk.advance(20 * time.Minute) // before half validity: same response
	der, _ = f.r.Respond(context.Background(), req)
	if !parseFor(t, der, f.good, f.ca1).ThisUpdate.Equal(first.ThisUpdate) {
		t.Fatal("re-signed before half validity")
	}

	clk.advance(26 * time.Minute) // past 3/4: served, and re-signed in the background
	der, _ = f.r.Respond(context.Background(), req)
	if !parseFor(t, der, f.good, f.ca1).ThisUpdate.Equal(first.ThisUpdate) {
		t.Fatal("the request waited for a re-signature")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		der, _ = f.r.Respond(context.Background(), req)
		if parseFor(t, der, f.good, f.ca1).ThisUpdate.After(first.ThisUpdate) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no background refresh after 3/4 of the validity")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Past nextUpdate with nobody refreshing: never serve an expired response.
	clk.advance(3 * time.Hour)
	der, _ = f.r.Respond(context.Background(), req)
	if resp := parseFor(t, der, f.good, f.ca1); !resp.NextUpdate.After(clk.now()) {
		t.Errorf("served a response with nextUpdate %v at %v", resp.NextUpdate, clk.now())
	}
}

func TestRunRefreshes(t *testing.T) {
	clk := &fakeClock{}
	clk.set(testStart)
	f := newFixture(t, "p256", func(c *Config) { c.Now = clk.now; c.Validity = 16 * time.Second })
	req := request(t, f.ca1, crypto.SHA1, f.good)
	f.r.Respond(context.Background(), req)
	signs := f.metrics.signed.Load()
	clk.advance(13 * time.Second) // past 3/4 of the validity
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.r.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.metrics.signed.Load() == signs {
		if time.Now().After(deadline) {
			t.Fatal("Run did not re-sign a response past 3/4 of its validity")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}

// slowSigner counts concurrent signatures.
type slowSigner struct {
	crypto.Signer
	cur, peak atomic.Int64
	delay     time.Duration
}

func (s *slowSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	n := s.cur.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(s.delay)
	defer s.cur.Add(-1)
	return s.Signer.Sign(r, d, o)
}

func TestNonceFloodBounded(t *testing.T) {
	f := newFixture(t, "p256", nil)
	slow := &slowSigner{Signer: f.ca1.responderKey, delay: 5 * time.Millisecond}
	iss := f.ca1.issuer()
	iss.Signer = slow
	r, err := New(Config{Issuers: []*Issuer{iss}, Lookup: f.db.lookup, MaxSigners: 2, SignWait: 50 * time.Millisecond, Metrics: f.metrics})
	if err != nil {
		t.Fatal(err)
	}
	id := certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber)
	other := certIDOf(t, f.ca1, crypto.SHA1, f.revoked.SerialNumber)
	// Warm the cache for id only: nonce requests for it can fall back.
	r.Respond(context.Background(), buildRequest(reqSpec{certIDs: [][]byte{id}}))
	var wg sync.WaitGroup
	var counts sync.Map
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := id
			if i%2 == 1 {
				target = other
			}
			nonce := octetString([]byte{byte(i), byte(i >> 8), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
			der, st := r.Respond(context.Background(), buildRequest(reqSpec{certIDs: [][]byte{target}, exts: [][]byte{extension(oidNonce, false, nonce)}}))
			key := st.String()
			if st == Successful && !bytes.Contains(der, nonce) {
				key = "nonce dropped"
			}
			v, _ := counts.LoadOrStore(key, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}()
	}
	wg.Wait()
	if p := slow.peak.Load(); p > 2 {
		t.Errorf("%d signatures ran at once, bound is 2", p)
	}
	got := map[string]int64{}
	counts.Range(func(k, v any) bool { got[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("outcomes of 200 concurrent nonce requests: %v", got)
	if got["tryLater"] == 0 || got["nonce dropped"] == 0 || got["successful"] == 0 {
		t.Errorf("want some signed, some served without nonce and some tryLater, got %v", got)
	}
}

func TestSetIssuer(t *testing.T) {
	f := newFixture(t, "p256", nil)
	ctx := context.Background()
	req := request(t, f.ca1, crypto.SHA1, f.good)
	f.r.Respond(ctx, req)

	// A renewed responder certificate replaces the old one and its responses.
	key := testkey.New(t, "p256")
	renewed := f.ca1.responderCert(t, key, testStart.Add(-time.Minute), testStart.Add(48*time.Hour))
	if err := f.r.SetIssuer(&Issuer{ID: f.ca1.name, Cert: f.ca1.cert, ResponderCert: renewed, Signer: key}); err != nil {
		t.Fatal(err)
	}
	der, _ := f.r.Respond(ctx, req)
	if resp := parseFor(t, der, f.good, f.ca1); !resp.Certificate.Equal(renewed) {
		t.Error("response not signed by the renewed responder")
	}

	// The CA's own key, without a delegated certificate.
	f.r.RemoveIssuer(f.ca2.name)
	if err := f.r.SetIssuer(&Issuer{ID: "direct", Cert: f.ca2.cert, Signer: f.ca2.key}); err != nil {
		t.Fatal(err)
	}
	der, _ = f.r.Respond(ctx, request(t, f.ca2, crypto.SHA1, f.good2))
	if resp := parseFor(t, der, f.good2, f.ca2); resp.Certificate != nil {
		t.Error("a CA-signed response carries a certificate")
	}

	noEKU := makeCert(t, &x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature}, f.ca1.cert, key.Public(), f.ca1.key)
	for _, tt := range []struct {
		name string
		iss  *Issuer
	}{
		{"no certificate", &Issuer{ID: "x", Signer: key}},
		{"no signer", &Issuer{ID: "x", Cert: f.ca1.cert}},
		{"responder without OCSPSigning", &Issuer{ID: "x", Cert: f.ca1.cert, ResponderCert: noEKU, Signer: key}},
		{"responder not issued by the CA", &Issuer{ID: "x", Cert: f.ca2.cert, ResponderCert: renewed, Signer: key}},
		{"key does not match", &Issuer{ID: "x", Cert: f.ca1.cert, ResponderCert: renewed, Signer: f.ca1.key}},
		{"expired responder", &Issuer{ID: "x", Cert: f.ca1.cert, ResponderCert: f.ca1.responderCert(t, key, testStart.Add(-48*time.Hour), testStart.Add(-time.Hour)), Signer: key}},
		{"CA served twice", &Issuer{ID: "again", Cert: f.ca1.cert, ResponderCert: renewed, Signer: key}},
	} {
		if err := f.r.SetIssuer(tt.iss); err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else {
			t.Logf("%s: %v", tt.name, err)
		}
	}
}

func TestResponseValidityCutAtResponderExpiry(t *testing.T) {
	f := newFixture(t, "p256", nil)
	key := testkey.New(t, "p256")
	short := f.ca1.responderCert(t, key, testStart.Add(-time.Hour), testStart.Add(2*time.Hour))
	if err := f.r.SetIssuer(&Issuer{ID: f.ca1.name, Cert: f.ca1.cert, ResponderCert: short, Signer: key}); err != nil {
		t.Fatal(err)
	}
	der, _ := f.r.Respond(context.Background(), request(t, f.ca1, crypto.SHA1, f.good))
	if resp := parseFor(t, der, f.good, f.ca1); resp.NextUpdate.After(short.NotAfter) {
		t.Errorf("nextUpdate %v after the responder certificate's NotAfter %v", resp.NextUpdate, short.NotAfter)
	}
}

func TestNeedsRenewal(t *testing.T) {
	c := &x509.Certificate{NotBefore: testStart, NotAfter: testStart.Add(90 * time.Hour)}
	for _, tt := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"fresh", testStart.Add(time.Hour), false},
		{"two thirds left", testStart.Add(30 * time.Hour), false},
		{"less than a third left", testStart.Add(61 * time.Hour), true},
		{"expired", testStart.Add(91 * time.Hour), true},
		{"not yet valid", testStart.Add(-time.Hour), true},
	} {
		if got := NeedsRenewal(c, tt.now); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
	if !NeedsRenewal(nil, testStart) {
		t.Error("nil certificate does not need renewal")
	}
}

func TestNewNeedsLookup(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without Lookup succeeded")
	}
}

// TestMissFloodBounded: requests for many distinct serials (each a cache
// miss that needs a lookup and a signature) never run more than MaxSigners
// lookups or signatures at once.
func TestMissFloodBounded(t *testing.T) {
	f := newFixture(t, "p256", nil)
	slow := &slowSigner{Signer: f.ca1.responderKey, delay: 2 * time.Millisecond}
	iss := f.ca1.issuer()
	iss.Signer = slow
	var cur, peak atomic.Int64
	lookup := func(ctx context.Context, is *Issuer, serial *big.Int) (Status, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond)
		return Status{Status: Unknown}, nil
	}
	r, err := New(Config{Issuers: []*Issuer{iss}, Lookup: lookup, MaxSigners: 3, SignWait: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var tryLater atomic.Int64
	for i := range 150 {
		req := buildRequest(reqSpec{certIDs: [][]byte{certIDOf(t, f.ca1, crypto.SHA1, big.NewInt(int64(1000+i)))}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, st := r.Respond(context.Background(), req)
			if st == TryLater {
				tryLater.Add(1)
			}
		}()
	}
	wg.Wait()
	if slow.peak.Load() > 3 || peak.Load() > 3 {
		t.Errorf("peak %d signatures, %d lookups at once; bound is 3", slow.peak.Load(), peak.Load())
	}
	t.Logf("150 concurrent misses: %d tryLater, %d cached", tryLater.Load(), r.Cached())
}
