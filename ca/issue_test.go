package ca_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/store"
)

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

func TestInitHierarchy(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{URL: "http://pki.example:8080/", LDAPURL: "ldap://127.0.0.1:1389"})
	if len(c.Init.CAs) != 2 || c.Init.CAs[0].ID != "root" || c.Init.CAs[1].ID != "issuing" || !c.Init.CAs[1].Default || c.Init.CAs[0].Default {
		t.Fatalf("CAs: %+v", c.Init.CAs)
	}
	root, _ := x509.ParseCertificate(c.Init.CAs[0].CertDER)
	iss, _ := x509.ParseCertificate(c.Init.CAs[1].CertDER)
	for _, cert := range []*x509.Certificate{root, iss} {
		if !cert.IsCA || !cert.BasicConstraintsValid {
			t.Errorf("%s: not a CA", cert.Subject)
		}
		if cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature {
			t.Errorf("%s: keyUsage %b", cert.Subject, cert.KeyUsage)
		}
		if len(cert.SubjectKeyId) != 20 || len(cert.AuthorityKeyId) != 20 {
			t.Errorf("%s: SKI %x AKI %x", cert.Subject, cert.SubjectKeyId, cert.AuthorityKeyId)
		}
		for _, ext := range cert.Extensions {
			if (ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) || ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 15})) && !ext.Critical {
				t.Errorf("%s: %v not critical", cert.Subject, ext.Id)
			}
		}
		if cert.SerialNumber.Sign() <= 0 || len(cert.SerialNumber.Bytes()) != 16 {
			t.Errorf("%s: serial %x", cert.Subject, cert.SerialNumber)
		}
	}
	if root.Subject.String() != "CN=pkid Root CA,O=pkid" || iss.Subject.String() != "CN=pkid Issuing CA,O=pkid" {
		t.Errorf("names %q %q", root.Subject, iss.Subject)
	}
	if !bytes.Equal(iss.AuthorityKeyId, root.SubjectKeyId) || !bytes.Equal(root.AuthorityKeyId, root.SubjectKeyId) {
		t.Error("AKI does not match the issuer's SKI")
	}
	if !iss.MaxPathLenZero || iss.MaxPathLen != 0 || root.MaxPathLen != 1 {
		t.Errorf("pathLen root %d issuing %d/%v", root.MaxPathLen, iss.MaxPathLen, iss.MaxPathLenZero)
	}
	if iss.NotAfter.After(root.NotAfter) || iss.NotBefore.Before(root.NotBefore) {
		t.Error("issuing CA validity not nested in the root's")
	}
	if iss.NotAfter.Sub(iss.NotBefore) < 9*365*24*time.Hour || root.NotAfter.Sub(root.NotBefore) < 19*365*24*time.Hour {
		t.Error("CA lifetimes too short")
	}
	// The issuing CA points to the root's CRL and certificate.
	if len(iss.CRLDistributionPoints) != 2 || iss.CRLDistributionPoints[0] != "http://pki.example:8080/crl/root.crl" ||
		iss.CRLDistributionPoints[1] != "ldap://127.0.0.1:1389/CN=pkid%20Root%20CA,O=pkid?certificateRevocationList;binary" {
		t.Errorf("issuing CRL DPs %q", iss.CRLDistributionPoints)
	}
	if len(iss.IssuingCertificateURL) != 1 || iss.IssuingCertificateURL[0] != "http://pki.example:8080/ca/root.der" || iss.OCSPServer[0] != "http://pki.example:8080/ocsp" {
		t.Errorf("issuing AIA %q %q", iss.IssuingCertificateURL, iss.OCSPServer)
	}
	// The issuing CA certificate is listed as issued by the root.
	got, err := c.Store.Certificate(context.Background(), ca.FormatSerial(iss.SerialNumber))
	if err != nil || got.CAID != "root" {
		t.Fatalf("issuing CA as a certificate: %+v, %v", got, err)
	}
	// A second init is refused and changes nothing.
	rev, _ := c.Store.Revision(context.Background())
	_, err = ca.Init(context.Background(), c.Store, ca.InitOptions{})
	if !errors.Is(err, ca.ErrInitialized) || !strings.Contains(err.Error(), "once per data directory") {
		t.Fatalf("second init: %v", err)
	}
	if rev2, _ := c.Store.Revision(context.Background()); rev2 != rev {
		t.Fatal("second init changed the store")
	}
}

func TestInitNamesAndSingle(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{Name: "CN=Acme Issuing CA,OU=PKI,O=Acme,C=GB", KeyType: ca.KeyECDSAP384})
	root, _ := x509.ParseCertificate(c.Init.CAs[0].CertDER)
	if root.Subject.String() != "CN=Acme Root CA,OU=PKI,O=Acme,C=GB" || c.Init.CAs[0].Subject != "CN=Acme Root CA,OU=PKI,O=Acme,C=GB" {
		t.Fatalf("derived root name %q", root.Subject)
	}
	if root.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Fatalf("P-384 root signed with %v", root.SignatureAlgorithm)
	}
	s := pkitest.NewCA(t, pkitest.Options{Single: true, Name: "CN=Lab CA"})
	if len(s.Init.CAs) != 1 || s.Init.CAs[0].ID != "ca" || s.Init.CAs[0].Role != store.RoleSingle || !s.Init.CAs[0].Default {
		t.Fatalf("single: %+v", s.Init.CAs)
	}
	iss := s.Issue(t, ca.Request{Profile: "server", Subject: "CN=lab.example"})
	if iss.CAID != "ca" || iss.Certificate.DNSNames[0] != "lab.example" {
		t.Fatalf("issued by %s, SANs %v", iss.CAID, iss.Certificate.DNSNames)
	}
}

func TestInitBadInput(t *testing.T) {
	tests := []struct {
		name, want string
		o          ca.InitOptions
	}{
		{"bad name", "unknown attribute type", ca.InitOptions{Name: "XX=1"}},
		{"name without CN", "no CN", ca.InitOptions{Name: "O=Acme"}},
		{"bad key type", "unknown key type", ca.InitOptions{KeyType: "dsa"}},
		{"bad url", "scheme", ca.InitOptions{URL: "ftp://x"}},
		{"ldap url with path", "host:port", ca.InitOptions{LDAPURL: "ldap://h:389/o=x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := emptyStore(t)
			_, err := ca.Init(context.Background(), st, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Init: %v, want %q", err, tc.want)
			}
			if cas, _ := st.CAs(context.Background()); len(cas) != 0 {
				t.Fatal("failed init stored a CA")
			}
		})
	}
}

func TestIssueProfiles(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{URL: "https://pki.example", LDAPURL: "ldap://ldap.example:389"})
	tests := []struct {
		profile string
		kt      ca.KeyType
		ku      x509.KeyUsage
		eku     []x509.ExtKeyUsage
	}{
		{"server", ca.KeyECDSAP256, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"server", ca.KeyRSA2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"server", ca.KeyEd25519, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"client", ca.KeyRSA2048, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{"client-server", ca.KeyECDSAP384, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"ocsp-signing", ca.KeyECDSAP256, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}},
		{"sub-ca", ca.KeyECDSAP256, x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, nil},
	}
	for _, tc := range tests {
		t.Run(tc.profile+"-"+string(tc.kt), func(t *testing.T) {
			iss := c.Issue(t, ca.Request{Profile: tc.profile, Subject: "CN=host.example.org", KeyType: tc.kt})
			cert := iss.Certificate
			if cert.KeyUsage != tc.ku {
				t.Errorf("keyUsage %b, want %b", cert.KeyUsage, tc.ku)
			}
			if len(cert.ExtKeyUsage) != len(tc.eku) {
				t.Errorf("EKU %v, want %v", cert.ExtKeyUsage, tc.eku)
			}
			issuer := iss.Chain[0]
			if !bytes.Equal(cert.AuthorityKeyId, issuer.SubjectKeyId) || len(cert.SubjectKeyId) != 20 {
				t.Errorf("AKI %x vs issuer SKI %x, SKI %x", cert.AuthorityKeyId, issuer.SubjectKeyId, cert.SubjectKeyId)
			}
			if len(iss.Serial) != 32 || iss.Serial != ca.FormatSerial(cert.SerialNumber) {
				t.Errorf("serial %s", iss.Serial)
			}
			if cert.NotAfter.After(issuer.NotAfter) {
				t.Error("validity beyond the issuer's")
			}
			hasNoCheck := false
			for _, e := range cert.Extensions {
				hasNoCheck = hasNoCheck || e.Id.Equal(oidOCSPNoCheck)
			}
			if hasNoCheck != (tc.profile == "ocsp-signing") {
				t.Errorf("ocsp-nocheck present = %v", hasNoCheck)
			}
			switch tc.profile {
			case "sub-ca":
				if !cert.IsCA || !cert.MaxPathLenZero || iss.CAID != "root" || len(cert.DNSNames) != 0 {
					t.Errorf("sub-ca: CA %v pathLen0 %v issuer %s", cert.IsCA, cert.MaxPathLenZero, iss.CAID)
				}
				if cert.CRLDistributionPoints[0] != "https://pki.example/crl/root.crl" {
					t.Errorf("sub-ca CDP %q", cert.CRLDistributionPoints)
				}
			default:
				if cert.IsCA || iss.CAID != "issuing" {
					t.Errorf("leaf: IsCA %v issuer %s", cert.IsCA, iss.CAID)
				}
				if tc.profile == "server" || tc.profile == "client-server" {
					if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "host.example.org" {
						t.Errorf("CN not copied to SAN: %v", cert.DNSNames)
					}
				}
				want := []string{"https://pki.example/crl/issuing.crl", "ldap://ldap.example:389/CN=pkid%20Issuing%20CA,O=pkid?certificateRevocationList;binary"}
				if strings.Join(cert.CRLDistributionPoints, " ") != strings.Join(want, " ") {
					t.Errorf("CDP %q", cert.CRLDistributionPoints)
				}
				if cert.IssuingCertificateURL[0] != "https://pki.example/ca/issuing.der" || cert.OCSPServer[0] != "https://pki.example/ocsp" {
					t.Errorf("AIA %q %q", cert.IssuingCertificateURL, cert.OCSPServer)
				}
			}
			stored, err := c.Store.Certificate(context.Background(), iss.Serial)
			if err != nil || !bytes.Equal(stored.DER, iss.DER) || stored.Profile != tc.profile || stored.Status != store.StatusValid {
				t.Fatalf("stored: %+v, %v", stored, err)
			}
		})
	}
}

func newCSR(t *testing.T, key any, subject string, dns ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: subject}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestIssueFromCSR(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := newCSR(t, key, "csr.example.org", "csr.example.org", "alt.example.org")
	iss := c.Issue(t, ca.Request{Profile: "server", CSR: csr})
	if iss.Key != nil || iss.Certificate.Subject.CommonName != "csr.example.org" || len(iss.Certificate.DNSNames) != 2 {
		t.Fatalf("from CSR: key %v subject %q SANs %v", iss.Key != nil, iss.Certificate.Subject, iss.Certificate.DNSNames)
	}
	if !key.PublicKey.Equal(iss.Certificate.PublicKey) {
		t.Fatal("certificate is not for the CSR's key")
	}
	// --subject and --san override the CSR's.
	iss = c.Issue(t, ca.Request{Profile: "server", CSR: csr, Subject: "CN=other", SANs: "DNS:other.example.org"})
	if iss.Certificate.Subject.CommonName != "other" || iss.Certificate.DNSNames[0] != "other.example.org" || len(iss.Certificate.DNSNames) != 1 {
		t.Fatalf("override: %q %v", iss.Certificate.Subject, iss.Certificate.DNSNames)
	}
	// DER works too.
	b, _ := pem.Decode(csr)
	c.Issue(t, ca.Request{Profile: "client", CSR: b.Bytes})
}

// TestIssueBadInput: each bad request fails with a clear error and leaves
// the store unchanged.
func TestIssueBadInput(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	ctx := context.Background()
	goodKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	goodCSR := newCSR(t, goodKey, "x.example.org", "x.example.org")
	// Wrongly signed: flip a bit in the signature.
	b, _ := pem.Decode(goodCSR)
	tampered := bytes.Clone(b.Bytes)
	tampered[len(tampered)-5] ^= 0x40
	weakRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	_ = edKey
	rootNotAfter := c.Init.CAs[1].CertDER // issuing CA
	issCert, _ := x509.ParseCertificate(rootNotAfter)

	tests := []struct {
		name string
		req  ca.Request
		want string
	}{
		{"unknown profile", ca.Request{Profile: "web", Subject: "CN=a"}, `unknown profile "web"`},
		{"no profile", ca.Request{Subject: "CN=a"}, "no profile"},
		{"unknown key type", ca.Request{Profile: "client", Subject: "CN=a", KeyType: "rsa1024"}, `unknown key type "rsa1024"`},
		{"subject syntax", ca.Request{Profile: "client", Subject: "CN=a,,O=b"}, "subject"},
		{"subject unknown type", ca.Request{Profile: "client", Subject: "XY=a"}, "XY"},
		{"subject CN too long", ca.Request{Profile: "client", Subject: "CN=" + strings.Repeat("x", 65)}, "more than the 64"},
		{"no subject", ca.Request{Profile: "client"}, "no subject"},
		{"san syntax", ca.Request{Profile: "server", Subject: "CN=a", SANs: "DNS:a.org,IPaddr:1.2.3.4"}, `unknown type "ipaddr"`},
		{"san bad ip", ca.Request{Profile: "server", Subject: "CN=a", SANs: "IP:1.2.3"}, "IPv4"},
		{"server without san", ca.Request{Profile: "server", Subject: "CN=My Server"}, "needs a subject alternative name"},
		{"malformed csr", ca.Request{Profile: "client", CSR: []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")}, "malformed CSR"},
		{"not a csr", ca.Request{Profile: "client", CSR: []byte("hello")}, "not a CSR"},
		{"wrongly signed csr", ca.Request{Profile: "client", CSR: tampered}, "signature does not verify"},
		{"weak rsa csr", ca.Request{Profile: "client", CSR: newCSR(t, weakRSA, "w")}, "1024 bits refused"},
		{"p224 csr", ca.Request{Profile: "client", CSR: newCSR(t, p224, "w")}, "P-224 refused"},
		{"csr and key type", ca.Request{Profile: "client", CSR: goodCSR, KeyType: ca.KeyRSA2048}, "not both"},
		{"not-after beyond issuer", ca.Request{Profile: "client", Subject: "CN=a", NotAfter: issCert.NotAfter.Add(24 * time.Hour)}, "beyond the expiry of CA \"issuing\""},
		{"days beyond issuer", ca.Request{Profile: "client", Subject: "CN=a", Days: 365 * 11}, "beyond the expiry"},
		{"not-after in the past", ca.Request{Profile: "client", Subject: "CN=a", NotAfter: time.Now().Add(-time.Hour)}, "not in the future"},
		{"days and not-after", ca.Request{Profile: "client", Subject: "CN=a", Days: 3, NotAfter: time.Now().Add(48 * time.Hour)}, "not both"},
		{"negative days", ca.Request{Profile: "client", Subject: "CN=a", Days: -1}, "positive"},
		{"unknown CA", ca.Request{Profile: "client", Subject: "CN=a", CAID: "nope"}, `no CA "nope"`},
		{"sub-ca from pathLen 0 CA", ca.Request{Profile: "sub-ca", Subject: "CN=Sub", CAID: "issuing"}, "pathLen 0"},
		{"sub-ca with SAN", ca.Request{Profile: "sub-ca", Subject: "CN=Sub", SANs: "DNS:a.org"}, "no SANs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c.Store)
			_, err := c.Service.Issue(ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Issue: %v, want an error mentioning %q", err, tc.want)
			}
			if after := snapshot(t, c.Store); after != before {
				t.Fatalf("store changed: %s -> %s", before, after)
			}
		})
	}
}

func TestIssueLimitsDefaultToIssuer(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	iss := c.Issue(t, ca.Request{Profile: "sub-ca", Subject: "CN=Sub CA"})
	// 5 years default, inside the root's 20.
	if d := iss.Certificate.NotAfter.Sub(iss.Certificate.NotBefore); d < 4*365*24*time.Hour {
		t.Fatalf("sub-ca lifetime %v", d)
	}
	leaf := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=a", Days: 10})
	if d := leaf.Certificate.NotAfter.Sub(leaf.Certificate.NotBefore); d < 10*24*time.Hour || d > 10*24*time.Hour+2*time.Minute {
		t.Fatalf("10 days gave %v", d)
	}
}

// TestWrongPassphrase: a wrong passphrase is one clear error and nothing
// is stored; the right one works.
func TestWrongPassphrase(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{Passphrase: "right"})
	before := snapshot(t, c.Store)
	svc := ca.New(c.Store, ca.Options{Where: c.Dir, Passphrase: func() ([]byte, error) { return []byte("wrong"), nil }})
	defer svc.Close()
	_, err := svc.Issue(context.Background(), ca.Request{Profile: "client", Subject: "CN=a"})
	if !errors.Is(err, ca.ErrWrongPassphrase) || !strings.HasPrefix(err.Error(), `wrong passphrase for the key of CA "issuing" in `+c.Dir) {
		t.Fatalf("err = %v", err)
	}
	if after := snapshot(t, c.Store); after != before {
		t.Fatal("store changed")
	}
	noPass := ca.New(c.Store, ca.Options{Passphrase: func() ([]byte, error) {
		return nil, errors.New("the CA key is encrypted: give --passphrase-file")
	}})
	defer noPass.Close()
	if _, err := noPass.Issue(context.Background(), ca.Request{Profile: "client", Subject: "CN=a"}); err == nil || !strings.Contains(err.Error(), "--passphrase-file") {
		t.Fatalf("no passphrase: %v", err)
	}
	c.Issue(t, ca.Request{Profile: "client", Subject: "CN=a"})
}

// TestConcurrentIssue: many goroutines through one Service; every
// certificate is stored once, serials unique, batches shared.
func TestConcurrentIssue(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	const workers, each = 16, 20
	var mu sync.Mutex
	serials := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				iss, err := c.Service.Issue(context.Background(), ca.Request{Profile: "client", Subject: "CN=c"})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				serials[iss.Serial] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(serials) != workers*each {
		t.Fatalf("%d unique serials, want %d", len(serials), workers*each)
	}
	list, err := c.Store.Certificates(context.Background(), store.Query{CAID: "issuing"})
	if err != nil || len(list) != workers*each {
		t.Fatalf("stored %d, %v", len(list), err)
	}
	// IssueBatch stores all or nothing.
	before := snapshot(t, c.Store)
	_, err = c.Service.IssueBatch(context.Background(), []ca.Request{{Profile: "client", Subject: "CN=ok"}, {Profile: "client", Subject: "CN="}})
	if err == nil || !strings.Contains(err.Error(), "request 2") {
		t.Fatalf("bad batch: %v", err)
	}
	if snapshot(t, c.Store) != before {
		t.Fatal("failed batch stored something")
	}
	out, err := c.Service.IssueBatch(context.Background(), []ca.Request{{Profile: "client", Subject: "CN=1"}, {Profile: "server", Subject: "CN=2.example"}})
	if err != nil || len(out) != 2 {
		t.Fatalf("batch: %v", err)
	}
}

// TestLintRefusal: an error finding refuses issuance with its message and
// stores nothing.
func TestLintRefusal(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	restore := ca.SetLintForTest(func(der []byte, issuer *x509.Certificate, now time.Time) error {
		cert, err := x509.ParseCertificate(der)
		if err != nil || issuer == nil || !bytes.Equal(cert.AuthorityKeyId, issuer.SubjectKeyId) {
			return fmt.Errorf("hook got a bad certificate or issuer: %v", err)
		}
		return errors.New("pkid_test_finding: the test says no. Fix: nothing.")
	})
	defer restore()
	before := snapshot(t, c.Store)
	_, err := c.Service.Issue(context.Background(), ca.Request{Profile: "client", Subject: "CN=a"})
	if err == nil || !strings.Contains(err.Error(), "lint found errors: pkid_test_finding: the test says no") {
		t.Fatalf("err = %v", err)
	}
	if snapshot(t, c.Store) != before {
		t.Fatal("store changed")
	}
}

// TestCAKeyTypes: a hierarchy of every key type issues certificates that
// Go's verifier accepts, signed with the algorithm matching the key.
func TestCAKeyTypes(t *testing.T) {
	want := map[ca.KeyType]x509.SignatureAlgorithm{
		ca.KeyECDSAP256: x509.ECDSAWithSHA256, ca.KeyECDSAP384: x509.ECDSAWithSHA384, ca.KeyECDSAP521: x509.ECDSAWithSHA512,
		ca.KeyRSA2048: x509.SHA256WithRSA, ca.KeyRSA3072: x509.SHA256WithRSA, ca.KeyRSA4096: x509.SHA256WithRSA, ca.KeyEd25519: x509.PureEd25519,
	}
	for _, kt := range ca.KeyTypes {
		if testing.Short() && (kt == ca.KeyRSA4096 || kt == ca.KeyRSA3072) {
			continue
		}
		t.Run(string(kt), func(t *testing.T) {
			c := pkitest.NewCA(t, pkitest.Options{KeyType: kt})
			iss := c.Issue(t, ca.Request{Profile: "server", Subject: "CN=x.example.org"})
			if iss.Certificate.SignatureAlgorithm != want[kt] {
				t.Fatalf("signed with %v, want %v", iss.Certificate.SignatureAlgorithm, want[kt])
			}
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(iss.Chain[1])
			inter.AddCert(iss.Chain[0])
			if _, err := iss.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: "x.example.org"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
