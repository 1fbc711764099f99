package lint_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/pkid/pkid/lint"
)

// A CA certificate made without cRLSign, as many hand-written OpenSSL
// configurations do, is refused.
func ExampleCertificate() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Example CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign, // no cRLSign
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)

	findings := lint.Certificate(der, lint.Options{})
	for _, f := range findings {
		fmt.Println(f.Severity, f.ID)
	}
	fmt.Println("refuse:", lint.HasErrors(findings))
	// Output:
	// error pkid_ca_without_crlsign
	// refuse: true
}
