package ca

import (
	"crypto/x509"
	"time"
)

// SetLintForTest replaces the issuance lint hook until restore is called.
// Exported only to this package's tests.
func SetLintForTest(f func(der []byte, issuer *x509.Certificate, now time.Time) error) (restore func()) {
	old := lintCertificate
	lintCertificate = f
	return func() { lintCertificate = old }
}
