package ocsp

import (
	"math/big"
	"strconv"
	"time"
)

// ResponseStatus is the OCSPResponseStatus of RFC 6960 §4.2.1.
type ResponseStatus int

// The OCSPResponseStatus values (4 is not used).
const (
	Successful       ResponseStatus = 0 // response has valid confirmations
	MalformedRequest ResponseStatus = 1 // illegal confirmation request
	InternalError    ResponseStatus = 2 // internal error in issuer
	TryLater         ResponseStatus = 3 // try again later
	SigRequired      ResponseStatus = 5 // must sign the request
	Unauthorized     ResponseStatus = 6 // request unauthorized
)

// String returns the RFC 6960 name of the status.
func (s ResponseStatus) String() string {
	switch s {
	case Successful:
		return "successful"
	case MalformedRequest:
		return "malformedRequest"
	case InternalError:
		return "internalError"
	case TryLater:
		return "tryLater"
	case SigRequired:
		return "sigRequired"
	case Unauthorized:
		return "unauthorized"
	}
	return "responseStatus(" + strconv.Itoa(int(s)) + ")"
}

// ResponseError is an error that the responder answers with an unsuccessful
// OCSPResponseStatus (malformedRequest for every parse error).
type ResponseError struct {
	Status ResponseStatus
	Reason string // what was wrong, for logs
}

// Error names the status and what was wrong.
func (e *ResponseError) Error() string {
	return "ocsp " + e.Status.String() + ": " + e.Reason
}

func malformed(reason string) error {
	return &ResponseError{Status: MalformedRequest, Reason: reason}
}

// CertStatus is the CertStatus CHOICE of RFC 6960 §4.2.1.
type CertStatus int

// The three certificate states of RFC 6960 §2.2.
const (
	Good    CertStatus = iota // not revoked (RFC 6960 §2.2: at least not known to be revoked)
	Revoked                   // revoked, permanently or on hold
	Unknown                   // the responder does not know the certificate
)

// String returns the RFC 6960 name of the state.
func (s CertStatus) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case Unknown:
		return "unknown"
	}
	return "certStatus(" + strconv.Itoa(int(s)) + ")"
}

// Status is what the responder asserts about one certificate.
type Status struct {
	Serial *big.Int
	Status CertStatus
	// RevokedAt is the revocationTime; meaningful when Status is Revoked.
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason code; meaningful when Status is
	// Revoked. Reason 0 (unspecified) is sent as an absent
	// revocationReason, as RFC 5280 §5.3.1 asks.
	Reason int
}
