package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"iter"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/testkey"
)

// crlTestCA is a CA made for these tests only, independent of Init.
type crlTestCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// crlTestIssue signs a certificate for pub; parent nil means self-signed.
func crlTestIssue(t testing.TB, parent *crlTestCA, key crypto.Signer, cn string, isCA bool, serial int64) *x509.Certificate {
	t.Helper()
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var spki struct {
		A asn1.RawValue
		K asn1.BitString
	}
	if _, err := asn1.Unmarshal(pubDER, &spki); err != nil {
		t.Fatal(err)
	}
	ski := sha1.Sum(spki.K.Bytes)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Organization: []string{"pkid test"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		SubjectKeyId: ski[:],
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	issuerCert, issuerKey := tmpl, key
	if parent != nil {
		issuerCert, issuerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, key.Public(), issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func crlTestRoot(t testing.TB, kind string) *crlTestCA {
	k := testkey.New(t, kind)
	return &crlTestCA{cert: crlTestIssue(t, nil, k, "Test Root "+kind, true, 1), key: k}
}

// crlTestSeq yields the given entries.
func crlTestSeq(entries ...CRLEntry) iter.Seq2[CRLEntry, error] {
	return func(yield func(CRLEntry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func crlTestTemplate(number int64) CRLTemplate {
	now := time.Now().Truncate(time.Second)
	return CRLTemplate{Number: number, ThisUpdate: now, NextUpdate: now.Add(7 * 24 * time.Hour)}
}

var (
	oidInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
)

func TestBuildCRLKeyTypes(t *testing.T) {
	rev := time.Date(2026, 11, 1, 12, 30, 45, 0, time.UTC)
	inv := time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC)
	entries := []CRLEntry{
		{Serial: []byte{0x01}, RevokedAt: rev, Reason: ReasonKeyCompromise, InvalidityDate: inv},
		{Serial: []byte{0x00, 0x7f}, RevokedAt: rev, Reason: ReasonUnspecified},
		{Serial: []byte{0x80}, RevokedAt: rev, Reason: ReasonCertificateHold},
		{Serial: bytes.Repeat([]byte{0xff}, 20), RevokedAt: time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC), Reason: ReasonSuperseded},
	}
	for _, kind := range []string{"p256", "p384", "p521", "rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			ca := crlTestRoot(t, kind)
			der, err := BuildCRL(ca.cert, ca.key, crlTestTemplate(42), crlTestSeq(entries...))
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatalf("crypto/x509 rejects the CRL: %v", err)
			}
			if err := crl.CheckSignatureFrom(ca.cert); err != nil {
				t.Fatalf("signature: %v", err)
			}
			if crl.Number.Int64() != 42 {
				t.Errorf("CRL number %v, want 42", crl.Number)
			}
			if !bytes.Equal(crl.AuthorityKeyId, ca.cert.SubjectKeyId) {
				t.Errorf("AKI %X, want the issuer's SKI %X", crl.AuthorityKeyId, ca.cert.SubjectKeyId)
			}
			if !bytes.Equal(crl.RawIssuer, ca.cert.RawSubject) {
				t.Errorf("issuer differs from the CA's subject")
			}
			got := crl.RevokedCertificateEntries
			if len(got) != len(entries) {
				t.Fatalf("%d entries, want %d", len(got), len(entries))
			}
			wantSerials := []string{"1", "7f", "80", strings.Repeat("ff", 20)}
			wantReasons := []int{1, 0, 6, 4}
			for i, e := range got {
				if e.SerialNumber.Text(16) != wantSerials[i] {
					t.Errorf("entry %d: serial %s, want %s", i, e.SerialNumber.Text(16), wantSerials[i])
				}
				if e.ReasonCode != wantReasons[i] {
					t.Errorf("entry %d: reason %d, want %d", i, e.ReasonCode, wantReasons[i])
				}
				var hasReason, hasInvalidity bool
				for _, x := range e.Extensions {
					hasReason = hasReason || x.Id.Equal(oidReasonCode)
					if x.Id.Equal(oidInvalidityDate) {
						hasInvalidity = true
						var gt time.Time
						if _, err := asn1.UnmarshalWithParams(x.Value, &gt, "generalized"); err != nil || !gt.Equal(inv) {
							t.Errorf("entry %d: invalidityDate %v (%v), want %v", i, gt, err, inv)
						}
					}
				}
				if hasReason != (wantReasons[i] != 0) {
					t.Errorf("entry %d: reasonCode extension present=%v; RFC 5280 §5.3.1 wants it absent only for unspecified", i, hasReason)
				}
				if hasInvalidity != (i == 0) {
					t.Errorf("entry %d: invalidityDate present=%v", i, hasInvalidity)
				}
			}
			if !got[3].RevocationTime.Equal(entries[3].RevokedAt) {
				t.Errorf("2051 revocation date read back as %v", got[3].RevocationTime)
			}
		})
	}
}

// TestBuildCRLMatchesCryptoX509 compares the hand-written DER byte for byte
// with crypto/x509's encoder (Ed25519 signatures are deterministic).
func TestBuildCRLMatchesCryptoX509(t *testing.T) {
	ca := crlTestRoot(t, "ed25519")
	tmpl := crlTestTemplate(300)
	rev := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	inv := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	invDER, _ := asn1.MarshalWithParams(inv, "generalized")
	var ours []CRLEntry
	var theirs []x509.RevocationListEntry
	for i := range 300 {
		serial := binary.BigEndian.AppendUint64([]byte{0x7a, byte(i >> 8)}, uint64(i)*0x9e3779b97f4a7c15)
		e := CRLEntry{Serial: serial, RevokedAt: rev.Add(time.Duration(i) * time.Minute), Reason: i % 6}
		x := x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(serial), RevocationTime: e.RevokedAt, ReasonCode: e.Reason}
		// crypto/x509 writes extra entry extensions before reasonCode,
		// BuildCRL (like OpenSSL) after it; compare invalidityDate alone.
		if i%6 == 0 && i%4 == 0 {
			e.InvalidityDate = inv
			x.ExtraExtensions = []pkix.Extension{{Id: oidInvalidityDate, Value: invDER}}
		}
		ours = append(ours, e)
		theirs = append(theirs, x)
	}
	// BuildCRL sorts by serial; crypto/x509 keeps the order given.
	slices.SortFunc(theirs, func(a, b x509.RevocationListEntry) int { return a.SerialNumber.Cmp(b.SerialNumber) })
	got, err := BuildCRL(ca.cert, ca.key, tmpl, crlTestSeq(ours...))
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(300), ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate,
		RevokedCertificateEntries: theirs,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("DER differs from crypto/x509's encoding (%d vs %d bytes) at offset %d: % X vs % X", len(got), len(want), i, got[max(0, i-8):i+16], want[max(0, i-8):i+16])
	}
}

func TestBuildCRLOrder(t *testing.T) {
	ca := crlTestRoot(t, "p256")
	rev := time.Now().Add(-time.Hour)
	e := func(s ...byte) CRLEntry { return CRLEntry{Serial: s, RevokedAt: rev, Reason: 1} }
	cases := []struct {
		name    string
		in      []CRLEntry
		want    []string // hex serials in CRL order
		wantErr string
	}{
		{"sorted", []CRLEntry{e(1), e(2), e(1, 0)}, []string{"1", "2", "100"}, ""},
		{"unsorted", []CRLEntry{e(0xff, 0xff), e(3), e(0x80), e(0, 2)}, []string{"2", "3", "80", "ffff"}, ""},
		{"duplicate in order", []CRLEntry{e(1), e(0, 1)}, nil, "listed twice"},
		{"duplicate out of order", []CRLEntry{e(5), e(1), e(5)}, nil, "listed twice"},
		{"too long", []CRLEntry{e(bytes.Repeat([]byte{1}, 21)...)}, nil, "longer than 20 octets"},
		{"bad reason", []CRLEntry{{Serial: []byte{1}, RevokedAt: rev, Reason: 7}}, nil, "not an RFC 5280 reason"},
		{"no date", []CRLEntry{{Serial: []byte{1}, Reason: 1}}, nil, "no revocation date"},
		{"empty", nil, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der, err := BuildCRL(ca.cert, ca.key, crlTestTemplate(1), crlTestSeq(tc.in...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range crl.RevokedCertificateEntries {
				got = append(got, r.SerialNumber.Text(16))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("serials %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuildCRLRefuses(t *testing.T) {
	ca := crlTestRoot(t, "p256")
	other := testkey.New(t, "p256")
	noCRLSign := crlTestIssue(t, ca, testkey.New(t, "p256"), "leaf", false, 9)
	errBoom := errors.New("disk on fire")
	boom := func(yield func(CRLEntry, error) bool) { yield(CRLEntry{}, errBoom) }
	tm := crlTestTemplate(5)
	cases := []struct {
		name    string
		issuer  *x509.Certificate
		key     crypto.Signer
		tmpl    func(CRLTemplate) CRLTemplate
		entries iter.Seq2[CRLEntry, error]
		wantErr string
	}{
		{"key mismatch", ca.cert, other, nil, nil, "does not belong"},
		{"no cRLSign", noCRLSign, ca.key, nil, nil, "lacks cRLSign"},
		{"zero number", ca.cert, ca.key, func(t CRLTemplate) CRLTemplate { t.Number = 0; return t }, nil, "must be positive"},
		{"next before this", ca.cert, ca.key, func(t CRLTemplate) CRLTemplate { t.NextUpdate = t.ThisUpdate.Add(-1); return t }, nil, "not after"},
		{"delta base not below", ca.cert, ca.key, func(t CRLTemplate) CRLTemplate { t.DeltaBase = 5; return t }, nil, "below the CRL number"},
		{"entries fail", ca.cert, ca.key, nil, boom, "disk on fire"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := tm
			if tc.tmpl != nil {
				tt = tc.tmpl(tt)
			}
			_, err := BuildCRL(tc.issuer, tc.key, tt, tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := BuildCRL(ca.cert, ca.key, tm, boom); !errors.Is(err, errBoom) {
		t.Errorf("entry error is not wrapped: %v", err)
	}
}

func crlTestWritePEM(t testing.TB, path, typ string, ders ...[]byte) {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func crlTestOpenSSL(t testing.TB, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// TestBuildCRLOpenSSL checks the CRLs with the real `openssl crl` and
// `openssl verify -crl_check_all` over a root → issuing → leaf chain.
func TestBuildCRLOpenSSL(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	root := crlTestRoot(t, "p384")
	ik := testkey.New(t, "p256")
	issuing := &crlTestCA{cert: crlTestIssue(t, root, ik, "Test Issuing", true, 2), key: ik}
	good := crlTestIssue(t, issuing, testkey.New(t, "ed25519"), "good leaf", false, 0x1001)
	bad := crlTestIssue(t, issuing, testkey.New(t, "rsa"), "revoked leaf", false, 0x1002)

	rev := time.Now().Add(-time.Minute).Truncate(time.Second)
	rootCRL, err := BuildCRL(root.cert, root.key, crlTestTemplate(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	full := crlTestTemplate(7)
	full.FreshestCRL = []string{"http://127.0.0.1:8080/crl/issuing-delta.crl", "ldap://127.0.0.1:1389/cn=Test%20Issuing?deltaRevocationList;binary"}
	issCRL, err := BuildCRL(issuing.cert, issuing.key, full, crlTestSeq(
		CRLEntry{Serial: bad.SerialNumber.Bytes(), RevokedAt: rev, Reason: ReasonKeyCompromise, InvalidityDate: rev.Add(-time.Hour)},
		CRLEntry{Serial: []byte{0x20, 0x00}, RevokedAt: rev, Reason: ReasonCessationOfOperation},
	))
	if err != nil {
		t.Fatal(err)
	}
	delta := crlTestTemplate(8)
	delta.DeltaBase = 7
	deltaCRL, err := BuildCRL(issuing.cert, issuing.key, delta, crlTestSeq(
		CRLEntry{Serial: []byte{0x30, 0x00}, RevokedAt: rev, Reason: ReasonRemoveFromCRL},
	))
	if err != nil {
		t.Fatal(err)
	}

	p := func(n string) string { return filepath.Join(dir, n) }
	crlTestWritePEM(t, p("root.pem"), "CERTIFICATE", root.cert.Raw)
	crlTestWritePEM(t, p("issuing.pem"), "CERTIFICATE", issuing.cert.Raw)
	crlTestWritePEM(t, p("good.pem"), "CERTIFICATE", good.Raw)
	crlTestWritePEM(t, p("bad.pem"), "CERTIFICATE", bad.Raw)
	crlTestWritePEM(t, p("crl.pem"), "X509 CRL", rootCRL, issCRL)
	crlTestWritePEM(t, p("issuing-crl.pem"), "X509 CRL", issCRL)
	crlTestWritePEM(t, p("delta.pem"), "X509 CRL", deltaCRL)

	text, err := crlTestOpenSSL(t, openssl, "crl", "-in", p("issuing-crl.pem"), "-text", "-noout")
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, text)
	}
	for _, want := range []string{"Version 2 (0x1)", "X509v3 CRL Number", "7", "X509v3 Authority Key Identifier",
		"Key Compromise", "Cessation Of Operation", "Invalidity Date", "Serial Number: 2000",
		"Freshest CRL", "URI:http://127.0.0.1:8080/crl/issuing-delta.crl"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl crl -text lacks %q:\n%s", want, text)
		}
	}
	text, err = crlTestOpenSSL(t, openssl, "crl", "-in", p("delta.pem"), "-text", "-noout")
	if err != nil {
		t.Fatalf("openssl crl (delta): %v\n%s", err, text)
	}
	for _, want := range []string{"X509v3 Delta CRL Indicator: critical", "Remove From CRL"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl crl -text of the delta CRL lacks %q:\n%s", want, text)
		}
	}

	verify := func(leaf string) (string, error) {
		return crlTestOpenSSL(t, openssl, "verify", "-CAfile", p("root.pem"), "-untrusted", p("issuing.pem"),
			"-crl_check_all", "-CRLfile", p("crl.pem"), p(leaf))
	}
	if out, err := verify("good.pem"); err != nil {
		t.Errorf("openssl verify rejects a good leaf: %v\n%s", err, out)
	}
	if out, err := verify("bad.pem"); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify of a revoked leaf: %v\n%s", err, out)
	}
}

// crlBenchEntries yields n sorted entries with 16-byte serials, as pkid
// issues them, all keyCompromise.
func crlBenchEntries(n int) iter.Seq2[CRLEntry, error] {
	return func(yield func(CRLEntry, error) bool) {
		serial := make([]byte, 16)
		serial[0] = 0x5a
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			binary.BigEndian.PutUint64(serial[8:], uint64(i)*0x9e37)
			if !yield(CRLEntry{Serial: serial, RevokedAt: at.Add(time.Duration(i) * time.Second), Reason: ReasonKeyCompromise}, nil) {
				return
			}
		}
	}
}

func BenchmarkBuildCRL(b *testing.B) {
	ca := crlTestRoot(b, "p256")
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var size int
			for b.Loop() {
				der, err := BuildCRL(ca.cert, ca.key, crlTestTemplate(1), crlBenchEntries(n))
				if err != nil {
					b.Fatal(err)
				}
				size = len(der)
			}
			b.ReportMetric(float64(size)/float64(n), "DERbytes/entry")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}

func TestCRLEntryCount(t *testing.T) {
	ca := crlTestRoot(t, "p256")
	for _, n := range []int{0, 1, 1000} {
		der, err := BuildCRL(ca.cert, ca.key, crlTestTemplate(1), crlBenchEntries(n))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := CRLEntryCount(der); err != nil || got != n {
			t.Errorf("CRLEntryCount = %d, %v; want %d", got, err, n)
		}
	}
	if _, err := CRLEntryCount([]byte{0x30, 0x85, 1}); err == nil {
		t.Error("want an error for garbage")
	}
}
