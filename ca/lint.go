package ca

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/pkid/pkid/lint"
)

// lintCertificate checks a signed certificate before it is stored; an
// error refuses issuance with the finding's message. issuer is nil for a
// self-signed certificate. A variable so tests can exercise refusal.
var lintCertificate = lintWithPkid

// lintWithPkid runs package lint (zlint plus pkid's own checks) and turns
// error-level findings into one error.
func lintWithPkid(der []byte, issuer *x509.Certificate, now time.Time) error {
	findings := lint.Certificate(der, lint.Options{Issuer: issuer, Now: func() time.Time { return now }})
	if !lint.HasErrors(findings) {
		return nil
	}
	var msgs []string
	for _, f := range findings {
		if f.Severity != lint.Error {
			continue
		}
		m := f.ID + ": " + f.Message
		if f.Fix != "" {
			m += " " + f.Fix
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}
