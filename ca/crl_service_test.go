package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/lint"
	"github.com/pkid/pkid/store/sqlite"
)

// crlTestStore opens a fresh SQLite store; path is its file, for opening a
// second handle as another process would.
func crlTestStore(t testing.TB) (st *sqlite.Store, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "pkid.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// crlTestPKI is a two-tier hierarchy made by Init, with a Service.
func crlTestPKI(t testing.TB) (*Service, *sqlite.Store, string) {
	t.Helper()
	st, path := crlTestStore(t)
	if _, err := Init(context.Background(), st, InitOptions{URL: "http://127.0.0.1:8080", LDAPURL: "ldap://127.0.0.1:1389"}); err != nil {
		t.Fatal(err)
	}
	svc := New(st, Options{})
	t.Cleanup(func() { svc.Close() })
	return svc, st, path
}

func crlTestLeaf(t testing.TB, svc *Service, cn string) *Issued {
	t.Helper()
	is, err := svc.Issue(context.Background(), Request{Profile: "client", Subject: "CN=" + cn + ",O=pkid test"})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// crlTestReasons maps the serials of a DER CRL to their reason codes
// (0 when the entry has no reasonCode).
func crlTestReasons(t testing.TB, der []byte) (map[string]int, *x509.RevocationList) {
	t.Helper()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, e := range crl.RevokedCertificateEntries {
		m[FormatSerial(e.SerialNumber)] = e.ReasonCode
	}
	return m, crl
}

// TestServiceCRLOpenSSL is the chain check of the issue: openssl verify
// with the root's and the issuing CA's CRLs accepts a fresh leaf and
// rejects a revoked one; revoking the issuing CA puts it on the root's CRL.
func TestServiceCRLOpenSSL(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	ctx := context.Background()
	svc, st, _ := crlTestPKI(t)
	good := crlTestLeaf(t, svc, "good")
	bad := crlTestLeaf(t, svc, "bad")
	if _, err := svc.Revoke(ctx, bad.Serial, ReasonKeyCompromise, good.Certificate.NotBefore); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	issuing, _ := st.CA(ctx, "issuing")
	root, _ := st.CA(ctx, "root")
	crlTestWritePEM(t, p("root.pem"), "CERTIFICATE", root.CertDER)
	crlTestWritePEM(t, p("issuing.pem"), "CERTIFICATE", issuing.CertDER)
	crlTestWritePEM(t, p("good.pem"), "CERTIFICATE", good.DER)
	crlTestWritePEM(t, p("bad.pem"), "CERTIFICATE", bad.DER)

	makeCRLs := func() {
		t.Helper()
		rc, err := svc.CRL(ctx, "root", false)
		if err != nil {
			t.Fatal(err)
		}
		ic, err := svc.CRL(ctx, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if ic.CAID != "issuing" {
			t.Fatalf("default CA's CRL is of %q", ic.CAID)
		}
		crlTestWritePEM(t, p("crl.pem"), "X509 CRL", rc.DER, ic.DER)
	}
	verify := func(leaf string) (string, error) {
		return crlTestOpenSSL(t, openssl, "verify", "-CAfile", p("root.pem"), "-untrusted", p("issuing.pem"),
			"-crl_check_all", "-CRLfile", p("crl.pem"), p(leaf))
	}
	makeCRLs()
	if out, err := verify("good.pem"); err != nil {
		t.Errorf("openssl verify rejects a fresh leaf: %v\n%s", err, out)
	}
	if out, err := verify("bad.pem"); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify of a revoked leaf: %v\n%s", err, out)
	}

	// The root's CRL covers the issuing CA.
	issCert, _ := x509.ParseCertificate(issuing.CertDER)
	if _, err := svc.Revoke(ctx, FormatSerial(issCert.SerialNumber), ReasonCACompromise, issCert.NotBefore); err != nil {
		t.Fatal(err)
	}
	makeCRLs()
	rootCRL, err := st.LatestCRL(ctx, "root", false)
	if err != nil {
		t.Fatal(err)
	}
	reasons, _ := crlTestReasons(t, rootCRL.DER)
	if r, ok := reasons[FormatSerial(issCert.SerialNumber)]; !ok || r != ReasonCACompromise {
		t.Errorf("root CRL lists %v, want the issuing CA with cACompromise", reasons)
	}
	if out, err := verify("good.pem"); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify with the issuing CA revoked: %v\n%s", err, out)
	}
}

func TestServiceDeltaCRL(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := crlTestPKI(t)
	if _, err := svc.CRL(ctx, "issuing", true); err == nil || !strings.Contains(err.Error(), "no full CRL") {
		t.Fatalf("delta CRL without a full one: %v", err)
	}
	iss, _ := st.CA(ctx, "issuing")
	iss.DeltaCRL = true
	if err := st.UpdateCA(ctx, iss); err != nil {
		t.Fatal(err)
	}
	svc = New(st, Options{}) // the Service caches CA records
	defer svc.Close()
	a, b, c := crlTestLeaf(t, svc, "a"), crlTestLeaf(t, svc, "b"), crlTestLeaf(t, svc, "c")
	mustRevoke := func(serial string, reason int) {
		t.Helper()
		if _, err := svc.Revoke(ctx, serial, reason, a.Certificate.NotBefore); err != nil {
			t.Fatal(err)
		}
	}
	mustRevoke(a.Serial, ReasonKeyCompromise)
	mustRevoke(b.Serial, ReasonCertificateHold)
	full, err := svc.CRL(ctx, "issuing", false)
	if err != nil {
		t.Fatal(err)
	}
	fullReasons, fullCRL := crlTestReasons(t, full.DER)
	if len(fullReasons) != 2 || fullReasons[a.Serial] != ReasonKeyCompromise || fullReasons[b.Serial] != ReasonCertificateHold {
		t.Errorf("full CRL lists %v", fullReasons)
	}
	var freshest string
	for _, x := range fullCRL.Extensions {
		if x.Id.Equal(oidFreshestCRL) {
			freshest = string(x.Value)
		}
	}
	if !strings.Contains(freshest, "http://127.0.0.1:8080/crl/issuing-delta.crl") || !strings.Contains(freshest, "?deltaRevocationList;binary") {
		t.Errorf("freshestCRL %q lacks the delta CRL URLs", freshest)
	}

	mustRevoke(c.Serial, ReasonSuperseded)
	if _, err := svc.Release(ctx, b.Serial); err != nil {
		t.Fatal(err)
	}
	delta, err := svc.CRL(ctx, "issuing", true)
	if err != nil {
		t.Fatal(err)
	}
	if !delta.Delta || delta.BaseNumber != full.Number || delta.Number <= full.Number {
		t.Errorf("delta CRL %d (base %d, delta %v); full was %d", delta.Number, delta.BaseNumber, delta.Delta, full.Number)
	}
	deltaReasons, deltaCRL := crlTestReasons(t, delta.DER)
	want := map[string]int{b.Serial: ReasonRemoveFromCRL, c.Serial: ReasonSuperseded}
	if len(deltaReasons) != len(want) || deltaReasons[b.Serial] != want[b.Serial] || deltaReasons[c.Serial] != want[c.Serial] {
		t.Errorf("delta CRL lists %v, want %v", deltaReasons, want)
	}
	var indicator bool
	for _, x := range deltaCRL.Extensions {
		if x.Id.Equal(oidDeltaCRLIndicator) {
			indicator = x.Critical
		}
		if x.Id.Equal(oidFreshestCRL) {
			t.Error("a delta CRL carries freshestCRL")
		}
	}
	if !indicator {
		t.Error("delta CRL lacks a critical deltaCRLIndicator")
	}
	if gap := deltaCRL.NextUpdate.Sub(deltaCRL.ThisUpdate); gap != CRLDeltaValidity {
		t.Errorf("delta CRL lives %v, want %v", gap, CRLDeltaValidity)
	}
	if gap := fullCRL.NextUpdate.Sub(fullCRL.ThisUpdate); gap != CRLFullValidity {
		t.Errorf("full CRL lives %v, want %v", gap, CRLFullValidity)
	}

	// pkid's own linter (zlint + pkid's CRL checks) finds nothing to
	// warn about in either CRL.
	issCert, _ := x509.ParseCertificate(iss.CertDER)
	for _, der := range [][]byte{full.DER, delta.DER} {
		for _, f := range lint.CRL(der, lint.Options{Issuer: issCert}) {
			t.Logf("lint: %s %s", f.Severity, f.ID)
			if f.Severity == lint.Error || f.Severity == lint.Warning {
				t.Errorf("lint: %s %s: %s", f.Severity, f.ID, f.Message)
			}
		}
	}

	t.Run("openssl", func(t *testing.T) {
		openssl := peer.Need(t, "openssl", "openssl")
		path := filepath.Join(t.TempDir(), "delta.pem")
		crlTestWritePEM(t, path, "X509 CRL", delta.DER)
		out, err := crlTestOpenSSL(t, openssl, "crl", "-in", path, "-noout", "-text")
		if err != nil || !strings.Contains(out, "X509v3 Delta CRL Indicator: critical") || !strings.Contains(out, "Remove From CRL") {
			t.Errorf("openssl crl on the delta CRL: %v\n%s", err, out)
		}

		// openssl verify -use_deltas: c, revoked after the full CRL, is
		// revoked only according to the delta CRL.
		dir := t.TempDir()
		p := func(n string) string { return filepath.Join(dir, n) }
		root, _ := st.CA(ctx, "root")
		crlTestWritePEM(t, p("root.pem"), "CERTIFICATE", root.CertDER)
		crlTestWritePEM(t, p("issuing.pem"), "CERTIFICATE", iss.CertDER)
		crlTestWritePEM(t, p("c.pem"), "CERTIFICATE", c.DER)
		crlTestWritePEM(t, p("full.pem"), "X509 CRL", full.DER)
		crlTestWritePEM(t, p("both.pem"), "X509 CRL", full.DER, delta.DER)
		crlTestWritePEM(t, p("b.pem"), "CERTIFICATE", b.DER)
		verifyLeaf := func(leaf, crls string, extra ...string) (string, error) {
			args := append([]string{"verify", "-CAfile", p("root.pem"), "-untrusted", p("issuing.pem"), "-crl_check", "-CRLfile", p(crls)}, extra...)
			return crlTestOpenSSL(t, openssl, append(args, p(leaf))...)
		}
		verify := func(crls string, extra ...string) (string, error) { return verifyLeaf("c.pem", crls, extra...) }
		// b, on hold in the full CRL and released since, is valid again
		// once the delta CRL's removeFromCRL is taken into account.
		if out, err := verifyLeaf("b.pem", "full.pem"); err == nil || !strings.Contains(out, "certificate revoked") {
			t.Errorf("openssl verify of the held certificate with the full CRL: %v\n%s", err, out)
		}
		if out, err := verifyLeaf("b.pem", "both.pem", "-use_deltas"); err != nil {
			t.Errorf("openssl verify -use_deltas of the released certificate: %v\n%s", err, out)
		}
		if out, err := verify("full.pem"); err != nil {
			t.Errorf("openssl verify with the full CRL alone rejects c: %v\n%s", err, out)
		}
		if out, err := verify("both.pem", "-use_deltas"); err == nil || !strings.Contains(out, "certificate revoked") {
			t.Errorf("openssl verify -use_deltas with the delta CRL: %v\n%s", err, out)
		}
	})
}

// TestCRLNumbersConcurrent makes CRLs from two store handles (as two
// processes would) at once: numbers never repeat and increase per caller.
func TestCRLNumbersConcurrent(t *testing.T) {
	ctx := context.Background()
	svc1, _, path := crlTestPKI(t)
	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	svc2 := New(st2, Options{})
	defer svc2.Close()
	const each = 15
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  []int64
		errs []error
	)
	for _, svc := range []*Service{svc1, svc2} {
		wg.Go(func() {
			var last int64
			for range each {
				crl, err := svc.CRL(ctx, "issuing", false)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				parsed, err := x509.ParseRevocationList(crl.DER)
				if err != nil || parsed.Number.Int64() != crl.Number {
					mu.Lock()
					errs = append(errs, errors.New("DER number differs from the stored one"))
					mu.Unlock()
				}
				if crl.Number <= last {
					mu.Lock()
					errs = append(errs, errors.New("CRL number went backwards"))
					mu.Unlock()
				}
				last = crl.Number
				mu.Lock()
				all = append(all, crl.Number)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != 2*each {
		t.Fatalf("CRL numbers repeat: %v", all)
	}
	latest, err := st2.LatestCRL(ctx, "issuing", false)
	if err != nil || latest.Number != all[len(all)-1] {
		t.Errorf("latest CRL %v (%v), want number %d", latest, err, all[len(all)-1])
	}
}

func TestServiceCRLErrors(t *testing.T) {
	ctx := context.Background()
	st, _ := crlTestStore(t)
	svc := New(st, Options{})
	defer svc.Close()
	if _, err := svc.CRL(ctx, "", false); err == nil || !strings.Contains(err.Error(), "pkid init") {
		t.Errorf("CRL of an empty store: %v", err)
	}
	if _, err := Init(ctx, st, InitOptions{Single: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CRL(ctx, "nosuch", false); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("CRL of an unknown CA: %v", err)
	}
}
