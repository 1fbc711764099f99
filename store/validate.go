package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReasonHold is RFC 5280's certificateHold, the one reversible reason.
const ReasonHold = 6

// NormalizeSerial returns serial in upper-case hex, the form every store
// keeps, or an error if it is empty or not hexadecimal.
func NormalizeSerial(serial string) (string, error) {
	if serial == "" {
		return "", errors.New("empty serial number")
	}
	for _, r := range serial {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return "", fmt.Errorf("serial number %q is not hexadecimal", serial)
		}
	}
	return strings.ToUpper(serial), nil
}

// CheckReason accepts the RFC 5280 §5.3.1 CRLReason codes a revocation may
// carry: 0-10 except 7 (unused) and 8 (removeFromCRL, which is Release).
func CheckReason(reason int) error {
	if reason < 0 || reason > 10 || reason == 7 || reason == 8 {
		return fmt.Errorf("invalid revocation reason code %d", reason)
	}
	return nil
}

// CheckRevocable applies the contract's revocation rule to a certificate
// whose current status and reason are given: a valid certificate may be
// revoked with any reason, one on hold may move to a final reason, and
// anything else is ErrAlreadyRevoked.
func CheckRevocable(status Status, reason, newReason int) error {
	if status == StatusRevoked && (reason != ReasonHold || newReason == ReasonHold) {
		return fmt.Errorf("%w (reason code %d)", ErrAlreadyRevoked, reason)
	}
	return nil
}

// PrepareNewCAs checks a batch of CAs before CreateCAs stores it (each
// needs an ID) and gives a zero CreatedAt the time now.
func PrepareNewCAs(cas []*CA, now time.Time) error {
	for _, ca := range cas {
		if ca.ID == "" {
			return errors.New("create CA: empty ID")
		}
	}
	for _, ca := range cas {
		if ca.CreatedAt.IsZero() {
			ca.CreatedAt = now
		}
	}
	return nil
}

// CheckNewCertificates validates a batch before it is added (the checks
// AddCertificates makes before touching the store) and returns the
// batch's serials in stored, upper-case form. Each certificate needs a hex
// serial, a CA, and an empty, valid or revoked Status; a revoked one a
// valid reason code.
func CheckNewCertificates(certs []*Certificate) ([]string, error) {
	serials := make([]string, len(certs))
	for i, c := range certs {
		serial, err := NormalizeSerial(c.Serial)
		if err != nil {
			return nil, fmt.Errorf("add certificate: %w", err)
		}
		serials[i] = serial
		switch c.Status {
		case "", StatusValid, StatusRevoked:
		default:
			return nil, fmt.Errorf("add certificate %s: unknown status %q", serial, c.Status)
		}
		if c.Status == StatusRevoked {
			if err := CheckReason(c.Reason); err != nil {
				return nil, fmt.Errorf("add certificate %s: %w", serial, err)
			}
		}
		if c.CAID == "" {
			return nil, fmt.Errorf("add certificate %s: no CA", serial)
		}
	}
	return serials, nil
}

// FinishNewCertificates fills in, after a batch was committed, what the
// store decided: the stored serials and feed revisions, StatusValid for an
// empty Status, now for a zero IssuedAt and, on a revoked certificate, for
// a zero RevokedAt.
func FinishNewCertificates(certs []*Certificate, serials []string, revs []int64, now time.Time) {
	for i, c := range certs {
		c.Serial, c.Revision = serials[i], revs[i]
		if c.Status == "" {
			c.Status = StatusValid
		}
		if c.IssuedAt.IsZero() {
			c.IssuedAt = now
		}
		if c.Status == StatusRevoked && c.RevokedAt.IsZero() {
			c.RevokedAt = now
		}
	}
}
