package certmap

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/store"
)

// fixture is a pkid CA and a directory on the same store, with users.
type fixture struct {
	ca   *pkitest.CA
	tree *directory.Tree
}

var admin = directory.Identity{DN: "cn=admin,o=Example", Mechanism: "EXTERNAL"}

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	t.Helper()
	c := pkitest.NewCA(t, pkitest.Options{})
	tr, err := directory.New(directory.Config{Store: c.Store, Suffixes: []string{"o=Example"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ca: c, tree: tr}
	f.add(t, "o=Example", "objectClass: organization", "o: Example")
	f.add(t, "ou=people,o=Example", "objectClass: organizationalUnit", "ou: people")
	f.add(t, "uid=alice,ou=people,o=Example", "objectClass: inetOrgPerson", "cn: alice", "sn: A", "uid: alice", "mail: alice@example.com")
	f.add(t, "uid=bob,ou=people,o=Example", "objectClass: inetOrgPerson", "cn: bob", "sn: B", "uid: bob", "mail: bob@example.com")
	f.add(t, "cn=sales,o=Example", "objectClass: organizationalRole", "cn: sales")
	f.add(t, "cn=Alice Smith,o=Example", "objectClass: person", "cn: Alice Smith", "sn: Smith")
	f.add(t, "cn=Carol+uid=carol,o=Example", "objectClass: inetOrgPerson", "cn: Carol", "sn: C", "uid: carol")
	f.add(t, `cn=Smith\, John,o=Example`, "objectClass: person", "cn: Smith, John", "sn: Smith")
	f.add(t, "cn=Zoë Ångström,o=Example", "objectClass: person", "cn: Zoë Ångström", "sn: Ångström")
	return f
}

// add stores an entry from "attr: value" lines.
func (f *fixture) add(t testing.TB, dn string, lines ...string) {
	t.Helper()
	e := &directory.Entry{DN: dn}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		e.Attributes = append(e.Attributes, directory.Attribute{Type: k, Values: [][]byte{[]byte(v)}})
	}
	if err := f.tree.Add(context.Background(), admin, e); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func (f *fixture) mapper(t *testing.T, cfg Config) *Mapper { return f.mapperTB(t, cfg) }

func (f *fixture) mapperTB(t testing.TB, cfg Config) *Mapper {
	t.Helper()
	if cfg.Store == nil { // a test's wrapper of the fixture's store
		cfg.Store = f.ca.Store
	}
	cfg.Tree = f.tree
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// issue issues a client certificate and returns the chain as a client
// presents it.
func (f *fixture) issueTB(t testing.TB, profile, subject string) []*x509.Certificate {
	return f.issue(t, profile, subject, "")
}

func (f *fixture) issue(t testing.TB, profile, subject, sans string) []*x509.Certificate {
	t.Helper()
	iss := f.ca.Issue(t, ca.Request{Profile: profile, Subject: subject, SANs: sans})
	return append([]*x509.Certificate{iss.Certificate}, iss.Chain...)
}

// forge signs tmpl with the issuing CA's key outside ca.Service (for
// certificates pkid would refuse to issue, such as one without subject);
// stored says whether to record it in the store.
func (f *fixture) forge(t *testing.T, tmpl *x509.Certificate, stored bool) []*x509.Certificate {
	t.Helper()
	ctx := context.Background()
	issuing := f.ca.Init.CAs[len(f.ca.Init.CAs)-1]
	signer, err := ca.ParsePrivateKey(issuing.KeyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := x509.ParseCertificate(issuing.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if stored {
		err := f.ca.Store.AddCertificates(ctx, []*store.Certificate{{Serial: ca.FormatSerial(cert.SerialNumber), CAID: issuing.ID,
			Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, DER: der}})
		if err != nil {
			t.Fatal(err)
		}
	}
	chain := []*x509.Certificate{cert}
	for i := len(f.ca.Init.CAs) - 1; i >= 0; i-- {
		c, _ := x509.ParseCertificate(f.ca.Init.CAs[i].CertDER)
		chain = append(chain, c)
	}
	return chain
}

func clientTemplate(subject pkix.Name) *x509.Certificate {
	sn, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return &x509.Certificate{SerialNumber: sn, Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}

// selfSigned makes a self-signed certificate (CA when isCA).
func selfSigned(t *testing.T, subject pkix.Name, isCA bool) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := clientTemplate(subject)
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}
