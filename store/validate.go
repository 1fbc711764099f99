package store

import (
	"errors"
	"fmt"
	"strings"
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
