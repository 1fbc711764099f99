package lint

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

// testNow is the clock every test lints against.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func testOpts() Options { return Options{Now: func() time.Time { return testNow }} }

// pair is a certificate with its key.
type pair struct {
	cert *x509.Certificate
	der  []byte
	key  crypto.Signer
}

func serial(t testing.TB) *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] &= 0x7f
	b[0] |= 0x10
	return new(big.Int).SetBytes(b)
}

func ski(t testing.TB, pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var spki struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum(spki.Key.Bytes)
	return h[:]
}

// caTemplate is what a correct CA certificate looks like: the defaults the
// CA must produce.
func caTemplate(t testing.TB, cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"pkid test"}},
		NotBefore:             testNow.Add(-24 * time.Hour),
		NotAfter:              testNow.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

// serverTemplate is a correct server leaf.
func serverTemplate(t testing.TB, key crypto.Signer) *x509.Certificate {
	ku := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		ku |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "web.example"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(90 * 24 * time.Hour),
		KeyUsage:     ku,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"web.example"},
		SubjectKeyId: ski(t, key.Public()),
	}
}

// sign issues tmpl for key, signed by issuer (self-signed when nil).
func sign(t testing.TB, tmpl *x509.Certificate, key crypto.Signer, issuer *pair) *pair {
	t.Helper()
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pair{cert: c, der: der, key: key}
}

func newCA(t testing.TB) *pair {
	return sign(t, caTemplate(t, "pkid Test Root CA"), testkey.New(t, "p256"), nil)
}

// rawCert mirrors the certificate structure so tests can produce what
// crypto/x509 refuses to (no SKI on a CA, non-critical basicConstraints,
// SHA-1 signatures).
type rawCert struct {
	TBS    tbsCert
	SigAlg pkix.AlgorithmIdentifier
	Sig    asn1.BitString
}

type tbsCert struct {
	Raw        asn1.RawContent
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     *big.Int
	SigAlg     pkix.AlgorithmIdentifier
	Issuer     asn1.RawValue
	Validity   asn1.RawValue
	Subject    asn1.RawValue
	PublicKey  asn1.RawValue
	Extensions []pkix.Extension `asn1:"optional,explicit,tag:3"`
}

var (
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
)

// resign edits the TBS of der with edit and signs it again with key (an
// ECDSA key) using hash (SHA-256 or SHA-1).
func resign(t testing.TB, der []byte, key crypto.Signer, hash crypto.Hash, edit func(*tbsCert)) []byte {
	t.Helper()
	var c rawCert
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		t.Fatal(err)
	}
	c.TBS.Raw = nil
	alg := pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	if hash == crypto.SHA1 {
		alg.Algorithm = oidECDSAWithSHA1
	}
	c.TBS.SigAlg, c.SigAlg = alg, alg
	if edit != nil {
		edit(&c.TBS)
	}
	tbs, err := asn1.Marshal(c.TBS)
	if err != nil {
		t.Fatal(err)
	}
	h := hash.New()
	h.Write(tbs)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		t.Fatal(err)
	}
	c.TBS.Raw = tbs
	c.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	out, err := asn1.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dropExt(oid asn1.ObjectIdentifier) func(*tbsCert) {
	return func(tb *tbsCert) {
		var keep []pkix.Extension
		for _, e := range tb.Extensions {
			if !e.Id.Equal(oid) {
				keep = append(keep, e)
			}
		}
		tb.Extensions = keep
	}
}

// makeCRL builds a CRL by hand (crypto/x509 insists on a CRL number and
// AKI). version 0 means v1; exts are the CRL extensions.
func makeCRL(t testing.TB, issuer *pair, version int, exts []pkix.Extension, thisUpdate, nextUpdate time.Time, hash crypto.Hash) []byte {
	t.Helper()
	alg := pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	if hash == crypto.SHA1 {
		alg.Algorithm = oidECDSAWithSHA1
	}
	var issuerName pkix.RDNSequence
	if _, err := asn1.Unmarshal(issuer.cert.RawSubject, &issuerName); err != nil {
		t.Fatal(err)
	}
	tbs := pkix.TBSCertificateList{
		Version:    version,
		Signature:  alg,
		Issuer:     issuerName,
		ThisUpdate: thisUpdate.UTC().Truncate(time.Second),
		NextUpdate: nextUpdate.UTC().Truncate(time.Second),
		RevokedCertificates: []pkix.RevokedCertificate{{
			SerialNumber:   big.NewInt(4242),
			RevocationTime: thisUpdate.Add(-time.Hour).UTC().Truncate(time.Second),
		}},
		Extensions: exts,
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	h := hash.New()
	h.Write(tbsDER)
	sig, err := issuer.key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		t.Fatal(err)
	}
	tbs.Raw = tbsDER
	out, err := asn1.Marshal(pkix.CertificateList{
		TBSCertList:        tbs,
		SignatureAlgorithm: alg,
		SignatureValue:     asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func crlNumberExt(t testing.TB, n int64) pkix.Extension {
	v, err := asn1.Marshal(big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 20}, Value: v}
}

func crlAKIExt(t testing.TB, keyID []byte) pkix.Extension {
	v, err := asn1.Marshal(struct {
		ID []byte `asn1:"optional,tag:0"`
	}{keyID})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 35}, Value: v}
}

// goodCRL is what pkid crl must produce: v2 with number and AKI, made by
// crypto/x509.
func goodCRL(t testing.TB, ca *pair) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(7),
		ThisUpdate: testNow.Add(-time.Hour),
		NextUpdate: testNow.Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{
			SerialNumber:   big.NewInt(4242),
			RevocationTime: testNow.Add(-2 * time.Hour),
			ReasonCode:     1,
		}},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
