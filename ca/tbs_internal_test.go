package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/dn"
)

// testIssuer makes a CA certificate and key of kt, the way pkid init does
// (via the CreateCertificate path).
func testIssuer(t *testing.T, kt KeyType) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := GenerateKey(kt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := dn.Marshal(pkix.RDNSequence{{{Type: []int{2, 5, 4, 3}, Value: "Test CA " + string(kt)}}})
	now := time.Now().UTC().Truncate(time.Second)
	spec := &certSpec{subject: subj, pub: key.Public(), notBefore: now.Add(-time.Hour), notAfter: now.AddDate(30, 0, 0),
		isCA: true, keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	der, err := signStd(spec, big.NewInt(1), nil, key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestFastSignMatchesStdlib: the hand encoder produces exactly the
// TBSCertificate that x509.CreateCertificate produces for the same inputs,
// for every profile, issuer key type, subject key type and URL setting, and
// its signatures verify with the issuer's key.
func TestFastSignMatchesStdlib(t *testing.T) {
	issuerTypes := []KeyType{"ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa2048", "ed25519"}
	subjectTypes := []KeyType{"ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519"}
	subjectKeys := map[KeyType]crypto.Signer{}
	for _, kt := range subjectTypes {
		k, err := GenerateKey(kt, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		subjectKeys[kt] = k
	}
	urls := []struct{ name, url, ldap string }{
		{"no-urls", "", ""},
		{"http", "http://pki.example.org:8080/", ""},
		{"http+ldap", "http://pki.example.org", "ldap://127.0.0.1:1389"},
		{"ldap", "", "ldap://dir.example.org"},
	}
	sans, err := ParseSANs("DNS:www.example.org,DNS:*.example.org,email:ops@example.org,IP:192.0.2.7,IP:2001:db8::7,URI:spiffe://example.org/web")
	if err != nil {
		t.Fatal(err)
	}
	var long []string
	for i := range 40 {
		long = append(long, fmt.Sprintf("DNS:host-%02d.example.org", i))
	}
	longSANs, err := ParseSANs(strings.Join(long, ",") + ",IP:192.0.2.8,URI:https://example.org/" + strings.Repeat("p", 150))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := dn.Marshal(pkix.RDNSequence{{{Type: []int{2, 5, 4, 10}, Value: "Example"}}, {{Type: []int{2, 5, 4, 3}, Value: "www.example.org"}}})
	now := time.Now().UTC().Truncate(time.Second)
	serials := []*big.Int{big.NewInt(1), new(big.Int).Lsh(big.NewInt(0xff), 150), new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, 20)), big.NewInt(0), big.NewInt(0x80)}
	n := 0
	for _, it := range issuerTypes {
		issuer, signer := testIssuer(t, it)
		for _, st := range subjectTypes {
			for name, prof := range Profiles {
				for _, u := range urls {
					for _, maxPath := range []int{0, 1, -1, 200} {
						if !prof.IsCA && maxPath != 0 {
							continue
						}
						spec := &certSpec{subject: subj, pub: subjectKeys[st].Public(), now: now,
							notBefore: now.Add(-time.Minute), notAfter: now.AddDate(0, 0, 397),
							keyUsage: prof.keyUsage(st), extKeyUse: prof.ExtKeyUsage, isCA: prof.IsCA, maxPathLen: maxPath,
							ocspNoChk: prof.OCSPNoCheck, url: u.url, ldapURL: u.ldap, issuerID: "issuing", issuerDN: "CN=Test CA,O=Ex ample"}
						if !prof.IsCA {
							spec.sans = sans
							if n%5 == 0 {
								spec.sans = longSANs // lengths of two bytes
							}
						}
						if n%7 == 0 {
							spec.notAfter = time.Date(2051, 3, 4, 5, 6, 7, 0, time.UTC) // GeneralizedTime
						}
						serial := serials[n%len(serials)]
						n++
						p := partsFor(spec, issuer, signer)
						if p == nil {
							t.Fatalf("%s/%s/%s/%s: fast path refused a standard key", it, st, name, u.name)
						}
						spki, ski, err := spkiAndKeyID(spec.pub)
						if err != nil {
							t.Fatal(err)
						}
						fast, err := signFast(p, spec, serial, spki, ski, signer, rand.Reader)
						if err != nil {
							t.Fatalf("%s/%s/%s/%s: %v", it, st, name, u.name, err)
						}
						std, err := signStd(spec, serial, issuer, signer, rand.Reader)
						if err != nil {
							t.Fatal(err)
						}
						fc, err := x509.ParseCertificate(fast)
						if err != nil {
							t.Fatalf("%s/%s/%s/%s: fast certificate does not parse: %v", it, st, name, u.name, err)
						}
						sc, _ := x509.ParseCertificate(std)
						if !bytes.Equal(fc.RawTBSCertificate, sc.RawTBSCertificate) {
							t.Fatalf("%s/%s/%s/%s pathlen %d: TBSCertificate differs\nfast %s\nstd  %s", it, st, name, u.name, maxPath,
								hex.EncodeToString(fc.RawTBSCertificate), hex.EncodeToString(sc.RawTBSCertificate))
						}
						if fc.SignatureAlgorithm != sc.SignatureAlgorithm {
							t.Fatalf("signature algorithm %v, want %v", fc.SignatureAlgorithm, sc.SignatureAlgorithm)
						}
						if err := fc.CheckSignatureFrom(issuer); err != nil {
							t.Fatalf("%s/%s/%s/%s: fast certificate's signature: %v", it, st, name, u.name, err)
						}
						if it == "rsa2048" || it == "ed25519" {
							// Deterministic signatures: the whole DER is equal.
							if !bytes.Equal(fast, std) {
								t.Fatalf("%s/%s/%s/%s: DER differs", it, st, name, u.name)
							}
						}
					}
				}
			}
		}
	}
}

// TestFastSignRefusesForeignKey: a signer whose public key is not the
// issuer's takes the CreateCertificate path, which refuses it.
func TestFastSignRefusesForeignKey(t *testing.T) {
	issuer, _ := testIssuer(t, "ecdsa-p256")
	other, _ := GenerateKey("ecdsa-p256", rand.Reader)
	spec := &certSpec{subject: issuer.RawSubject, pub: other.Public(), notBefore: time.Now(), notAfter: time.Now().Add(time.Hour)}
	if p := partsFor(spec, issuer, other); p != nil {
		t.Fatal("fast path accepted a signer that is not the issuer's key")
	}
	if _, err := signFastOrStd(spec, big.NewInt(5), issuer, other, rand.Reader); err == nil {
		t.Fatal("signed with a key that is not the issuer's")
	}
}
