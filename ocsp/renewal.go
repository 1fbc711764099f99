package ocsp

import (
	"crypto/x509"
	"time"
)

// NeedsRenewal reports whether a delegated responder certificate should be
// replaced at now: when less than a third of its validity is left, or it
// is not valid at now. Responses never outlive their responder certificate
// (nextUpdate is cut at its NotAfter), so renewing early keeps full-length
// responses; the server issues the new one with the ocsp-signing profile
// and hands it to SetIssuer.
func NeedsRenewal(cert *x509.Certificate, now time.Time) bool {
	if cert == nil || now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
		return true
	}
	total := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotAfter.Sub(now) < total/3
}
