package server_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store/sqlite"
)

// TestResponderRenewal: when two thirds of a responder certificate's
// life have passed, the renewal check issues a new one, writes it to
// Dir/ocsp and signs with it; a restart keeps it.
func TestResponderRenewal(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := start(t, "", func(c *server.Config) { c.Now = now })
	file := filepath.Join(f.dir, "ocsp", "issuing.pem")
	before, err := ca.ParseCertificate(must(os.ReadFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.CheckResponders(context.Background())
	if same, _ := ca.ParseCertificate(must(os.ReadFile(file))); !same.Equal(before) {
		t.Fatalf("renewed a responder certificate that was not due")
	}

	clock.Add(int64(before.NotAfter.Sub(before.NotBefore) * 3 / 4))
	f.srv.CheckResponders(context.Background())
	after, err := ca.ParseCertificate(must(os.ReadFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	if after.Equal(before) || !after.NotAfter.After(before.NotAfter) {
		t.Fatalf("responder certificate not renewed: was until %v, now until %v", before.NotAfter, after.NotAfter)
	}
	resp, err := f.ocspStatus(f.issuer.SerialNumber) // any serial: what matters is the signer
	if err != nil {
		t.Fatal(err)
	}
	if resp.Certificate == nil || !resp.Certificate.Equal(after) {
		t.Errorf("responses are not signed by the renewed certificate")
	}
}

// TestDeltaCRL: when a CA is switched to delta CRLs (from another store
// handle), the server publishes a delta CRL at ca.CRLDeltaURL, and a
// revocation reaches it.
func TestDeltaCRL(t *testing.T) {
	f := start(t, "")
	ctx := context.Background()
	other, err := sqlite.Open(ctx, filepath.Join(f.dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rec, err := other.CA(ctx, "issuing")
	if err != nil {
		t.Fatal(err)
	}
	rec.DeltaCRL = true
	if err := other.UpdateCA(ctx, rec); err != nil {
		t.Fatal(err)
	}
	path := "/crl/issuing-delta.crl"
	waitFor(t, 5*time.Second, func() bool { r, _ := f.get(path); return r.StatusCode == 200 })
	iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=delta"})
	svc := ca.New(other, ca.Options{})
	defer svc.Close()
	if _, err := svc.Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(iss.Certificate.SerialNumber, time.Now(), 5*time.Second)
	// The full CRL lists it; the delta against that full CRL is current.
	waitFor(t, 5*time.Second, func() bool {
		r, body := f.get(path)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != server.ContentTypeCRL {
			return false
		}
		d, err := x509ParseCRL(body)
		full, err2 := f.crl()
		return err == nil && err2 == nil && d.CheckSignatureFrom(f.issuer) == nil && deltaBase(d) == full.Number.Int64()
	})
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCRLBeforeNextUpdate: a CRL is re-signed once half its validity has
// passed, and not before (an idle server keeps its CRL number).
func TestCRLBeforeNextUpdate(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	f := start(t, "", func(c *server.Config) { c.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	first, err := f.crl()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f.srv.RefreshDueCRLs(ctx)
	if again, _ := f.crl(); again.Number.Cmp(first.Number) != 0 {
		t.Fatalf("re-signed a fresh CRL: number %v → %v", first.Number, again.Number)
	}
	clock.Add(int64(first.NextUpdate.Sub(first.ThisUpdate)/2 + time.Minute))
	f.srv.RefreshDueCRLs(ctx)
	next, err := f.crl()
	if err != nil {
		t.Fatal(err)
	}
	if next.Number.Cmp(first.Number) <= 0 || !next.NextUpdate.After(first.NextUpdate) {
		t.Errorf("CRL not re-signed at half its validity: number %v → %v, nextUpdate %v → %v", first.Number, next.Number, first.NextUpdate, next.NextUpdate)
	}
}

// TestNewCAWhileServing: a CA added to the store by another process (as
// `pkid import` does) is served within seconds: its certificate, a CRL
// signed by it, and OCSP answers signed by a new delegated responder.
func TestNewCAWhileServing(t *testing.T) {
	f := start(t, "")
	ctx := context.Background()
	// Make a one-CA hierarchy in a scratch store and copy its record over.
	scratch, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "scratch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	res, err := ca.Init(ctx, scratch, ca.InitOptions{Single: true, Name: "CN=Second CA,O=pkid"})
	if err != nil {
		t.Fatal(err)
	}
	rec := *res.CAs[0]
	rec.ID, rec.Default = "second", false
	other, err := sqlite.Open(ctx, filepath.Join(f.dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.CreateCA(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	second, err := x509.ParseCertificate(rec.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		r, body := f.get("/crl/second.crl")
		if r.StatusCode != 200 {
			return false
		}
		crl, err := x509.ParseRevocationList(body)
		return err == nil && crl.CheckSignatureFrom(second) == nil
	})
	if r, body := f.get("/ca/second.der"); r.StatusCode != 200 || string(body) != string(second.Raw) {
		t.Errorf("CA certificate: HTTP %d", r.StatusCode)
	}
	svc := ca.New(other, ca.Options{})
	defer svc.Close()
	iss, err := svc.Issue(ctx, ca.Request{Profile: "client", Subject: "CN=of the second CA", CAID: "second"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := xocsp.CreateRequest(iss.Certificate, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		r, der := f.do("POST", "/ocsp", req, "Content-Type", "application/ocsp-request")
		if r.StatusCode != 200 {
			return false
		}
		resp, err := xocsp.ParseResponseForCert(der, iss.Certificate, second)
		return err == nil && resp.Status == xocsp.Good && resp.Certificate != nil
	})
}
