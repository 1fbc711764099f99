package revocation

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Method is a way of learning a certificate's revocation status.
type Method int

const (
	// MethodStaple is the OCSP response the server stapled in the TLS
	// handshake (RFC 6066 status_request); it applies to the leaf only.
	MethodStaple Method = iota + 1
	// MethodOCSP asks the OCSP responder named in the certificate's
	// Authority Information Access extension (RFC 6960).
	MethodOCSP
	// MethodCRL reads the CRLs named in the certificate's CRL Distribution
	// Points, and any CRLs supplied in Config.CRLs (RFC 5280 §6.3).
	MethodCRL
)

// String returns "staple", "OCSP" or "CRL".
func (m Method) String() string {
	switch m {
	case MethodStaple:
		return "staple"
	case MethodOCSP:
		return "OCSP"
	case MethodCRL:
		return "CRL"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// State is the outcome of a revocation check.
type State int

const (
	// Unknown means no source gave a trustworthy answer.
	Unknown State = iota
	// Good means a valid, fresh response or CRL covers the certificate
	// and does not list it.
	Good
	// Revoked means a valid response or CRL says the certificate is revoked.
	Revoked
)

// String returns "good", "revoked" or "unknown".
func (s State) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	}
	return "unknown"
}

// Reason is an RFC 5280 §5.3.1 CRLReason code.
type Reason int

// RFC 5280 §5.3.1 reason codes.
const (
	Unspecified          Reason = 0
	KeyCompromise        Reason = 1
	CACompromise         Reason = 2
	AffiliationChanged   Reason = 3
	Superseded           Reason = 4
	CessationOfOperation Reason = 5
	CertificateHold      Reason = 6
	RemoveFromCRL        Reason = 8
	PrivilegeWithdrawn   Reason = 9
	AACompromise         Reason = 10
)

var reasonNames = map[Reason]string{
	Unspecified:          "unspecified",
	KeyCompromise:        "keyCompromise",
	CACompromise:         "CACompromise",
	AffiliationChanged:   "affiliationChanged",
	Superseded:           "superseded",
	CessationOfOperation: "cessationOfOperation",
	CertificateHold:      "certificateHold",
	RemoveFromCRL:        "removeFromCRL",
	PrivilegeWithdrawn:   "privilegeWithdrawn",
	AACompromise:         "aACompromise",
}

// String returns the reason as OpenSSL spells it.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// flag returns the ReasonFlags bit that scopes this reason (RFC 5280
// §4.2.1.13); unspecified and unknown codes count as every reason.
func (r Reason) flag() reasonMask {
	switch {
	case r >= KeyCompromise && r <= CertificateHold:
		return 1 << r
	case r == PrivilegeWithdrawn:
		return 1 << 7
	case r == AACompromise:
		return 1 << 8
	}
	return allReasons
}

// Status is the revocation status of one certificate of a chain.
type Status struct {
	// Certificate is the certificate the status is about.
	Certificate *x509.Certificate
	// State is good, revoked or unknown.
	State State
	// Method is the method that decided the state (zero when unknown).
	Method Method
	// Source names where the answer came from, e.g. "the CRL at
	// http://ca.example/ca.crl" or "the OCSP responder at http://...".
	Source string
	// Reason and RevokedAt are set when State is Revoked.
	Reason    Reason
	RevokedAt time.Time
	// ThisUpdate and NextUpdate are those of the response or CRL used.
	ThisUpdate, NextUpdate time.Time
	// Err explains an Unknown state: every source tried and why it failed.
	Err error
}

// certName renders a certificate for messages: subject and serial in hex.
func certName(c *x509.Certificate) string {
	subj := c.Subject.String()
	if subj == "" {
		subj = "with empty subject"
	}
	return fmt.Sprintf("%s, serial %s", subj, serialHex(c.SerialNumber))
}

func serialHex(n *big.Int) string {
	if n == nil {
		return "?"
	}
	if n.Sign() < 0 {
		return "-" + strings.ToUpper(new(big.Int).Neg(n).Text(16))
	}
	return strings.ToUpper(n.Text(16))
}

// RevokedError reports a revoked certificate. VerifyConnection and
// CheckChain return it (possibly wrapped) so callers can branch with
// errors.As.
type RevokedError struct {
	Certificate *x509.Certificate
	Serial      *big.Int
	Reason      Reason
	RevokedAt   time.Time
	// Source names the staple, OCSP responder URL or CRL URL that said so.
	Source string
}

// Error says which certificate is revoked, why, since when, and who says so.
func (e *RevokedError) Error() string {
	return fmt.Sprintf("certificate %s is revoked (%s at %s) according to %s",
		certName(e.Certificate), e.Reason, e.RevokedAt.UTC().Format("2006-01-02 15:04 MST"), e.Source)
}

// ErrUnavailable marks failures to reach a revocation source: network
// errors, timeouts, HTTP errors, an OCSP "tryLater". Only these (and a
// certificate that names no source at all) are tolerated by Config.SoftFail.
var ErrUnavailable = errors.New("revocation source unavailable")

// ErrNoSource reports a certificate that names no OCSP responder and no CRL
// distribution point, with no applicable CRL in Config.CRLs either.
var ErrNoSource = errors.New("the certificate names no OCSP responder or CRL distribution point, and no supplied CRL covers it")

// UnknownError reports a certificate whose revocation status could not be
// established. Errs has one entry per source tried.
type UnknownError struct {
	Certificate *x509.Certificate
	Errs        []error
}

// Error names the certificate and every source that failed, with why.
func (e *UnknownError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "revocation status of certificate %s is unknown", certName(e.Certificate))
	for i, err := range e.Errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the per-source errors, so errors.Is(err, ErrUnavailable)
// works.
func (e *UnknownError) Unwrap() []error { return e.Errs }

// onlyUnavailable reports whether every error is an availability failure.
func onlyUnavailable(errs []error) bool {
	if len(errs) == 0 {
		return false
	}
	for _, err := range errs {
		if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrNoSource) {
			return false
		}
	}
	return true
}

// SourceError is why one source (a staple, an OCSP responder URL, a CRL
// URL or supplied CRL) gave no answer; UnknownError.Errs holds them.
type SourceError struct {
	// Source names it, e.g. "the CRL at http://ca.example/ca.crl".
	Source string
	Err    error
}

// Error returns "SOURCE: cause".
func (e *SourceError) Error() string { return e.Source + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *SourceError) Unwrap() error { return e.Err }

// unavailable wraps err as an availability failure.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{e.err, ErrUnavailable}
}

func unavailable(err error) error { return &unavailableError{err} }
