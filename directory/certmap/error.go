package certmap

import (
	"crypto/x509"
	"fmt"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/dn"
)

// Error is a bind refused because of the client's certificate: it fails
// verification, is revoked, or maps to no entry, or the requested
// authorization identity is not allowed. The frontend answers it with
// invalidCredentials and Error() as the diagnostic message (Backend does);
// Authz tells a refused authorization identity apart.
type Error struct {
	// Serial is the certificate's serial (ca.FormatSerial form); Subject its
	// RFC 4514 subject ("" when empty).
	Serial  string
	Subject string
	// Reason completes the sentence "certificate serial S (SUBJECT) ...",
	// e.g. "is revoked (keyCompromise since 2026-11-24T03:00:00Z)".
	Reason string
	// Authz is true when the certificate mapped but the requested
	// authorization identity was refused.
	Authz bool
	// Err is the underlying cause, if any (x509 or revocation error).
	Err error
}

// Error returns "certificate serial S (SUBJECT) REASON".
func (e *Error) Error() string {
	return fmt.Sprintf("certificate serial %s (%s) %s", e.Serial, subjectText(e.Subject), e.Reason)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func subjectText(s string) string {
	if s == "" {
		return "no subject"
	}
	return s
}

// certSubject is the RFC 4514 string of a certificate's subject, from its
// DER so multi-valued RDNs and string types are kept as issued.
func certSubject(c *x509.Certificate) string {
	rdns, err := dn.FromDER(c.RawSubject)
	if err != nil {
		return c.Subject.String()
	}
	return dn.String(rdns)
}

func certIssuer(c *x509.Certificate) string {
	rdns, err := dn.FromDER(c.RawIssuer)
	if err != nil {
		return c.Issuer.String()
	}
	return dn.String(rdns)
}

func newError(c *x509.Certificate, cause error, format string, args ...any) *Error {
	return &Error{Serial: ca.FormatSerial(c.SerialNumber), Subject: certSubject(c), Reason: fmt.Sprintf(format, args...), Err: cause}
}
