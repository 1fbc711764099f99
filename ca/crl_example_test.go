package ca_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"iter"
	"math/big"
	"time"

	"github.com/pkid/pkid/ca"
)

// ExampleBuildCRL signs a CRL whose entries come from an iterator, as
// they would stream from a store.
func ExampleBuildCRL() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	issuer, _ := x509.ParseCertificate(der)

	revoked := iter.Seq2[ca.CRLEntry, error](func(yield func(ca.CRLEntry, error) bool) {
		for i := byte(1); i <= 3; i++ {
			if !yield(ca.CRLEntry{Serial: []byte{0x10, i}, RevokedAt: now.Add(-time.Minute), Reason: ca.ReasonKeyCompromise}, nil) {
				return
			}
		}
	})
	crlDER, err := ca.BuildCRL(issuer, key, ca.CRLTemplate{Number: 7, ThisUpdate: now, NextUpdate: now.Add(ca.CRLFullValidity)}, revoked)
	if err != nil {
		fmt.Println(err)
		return
	}
	crl, _ := x509.ParseRevocationList(crlDER)
	fmt.Println("CRL number", crl.Number, "with", len(crl.RevokedCertificateEntries), "entries, signature ok:", crl.CheckSignatureFrom(issuer) == nil)
	// Output: CRL number 7 with 3 entries, signature ok: true
}
