package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
)

// Revoke records the revocation of the certificate with that serial (any
// form ParseSerial accepts) with an RFC 5280 reason. Rules, checked before
// anything is written:
//   - reason must be one of RFC 5280's codes other than removeFromCRL
//     (that is not a revocation: use Release to take a certificate off
//     hold);
//   - cACompromise only for CA certificates (a leaf's key compromise is
//     keyCompromise);
//   - the invalidity date, when given, must not be in the future;
//   - a certificate revoked with a final reason cannot be revoked again; a
//     certificate on hold may be revoked with a final reason.
func (s *Service) Revoke(ctx context.Context, serial string, reason int, invalidity time.Time) (*store.Certificate, error) {
	sn, err := ParseSerial(serial)
	if err != nil {
		return nil, err
	}
	switch reason {
	case ReasonRemoveFromCRL:
		return nil, errors.New("removeFromCRL is not a revocation reason; to take a certificate off hold, release it (`pkid revoke SERIAL --release`)")
	case ReasonUnspecified, ReasonKeyCompromise, ReasonCACompromise, ReasonAffiliationChanged, ReasonSuperseded,
		ReasonCessationOfOperation, ReasonCertificateHold, ReasonPrivilegeWithdrawn, ReasonAACompromise:
	default:
		return nil, fmt.Errorf("%s is not an RFC 5280 revocation reason; use one of %s", ReasonName(reason), ReasonList())
	}
	now := s.now().UTC().Truncate(time.Second)
	if !invalidity.IsZero() && invalidity.After(now) {
		return nil, fmt.Errorf("invalidity date %s is in the future; it is when the key was (or is suspected to have been) compromised", invalidity.UTC().Format(time.RFC3339))
	}
	cur, err := s.lookup(ctx, sn)
	if err != nil {
		return nil, err
	}
	if reason == ReasonCACompromise {
		if c, err := x509.ParseCertificate(cur.DER); err == nil && !c.IsCA {
			return nil, fmt.Errorf("cACompromise applies to CA certificates and %s is not one; for a leaf whose key leaked use keyCompromise", sn)
		}
	}
	if cur.Status == store.StatusRevoked && (cur.Reason != ReasonCertificateHold || reason == ReasonCertificateHold) {
		return nil, alreadyRevoked(cur)
	}
	c, err := s.st.Revoke(ctx, sn, store.Revocation{At: now, Reason: reason, InvalidityDate: invalidity.UTC().Truncate(time.Second)})
	if errors.Is(err, store.ErrAlreadyRevoked) {
		if again, err2 := s.st.Certificate(ctx, sn); err2 == nil {
			return nil, alreadyRevoked(again)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("revoke %s: %w", sn, err)
	}
	return c, nil
}

// Release takes a certificate off hold (certificateHold); it is valid
// again, and the next delta CRL lists it with removeFromCRL.
func (s *Service) Release(ctx context.Context, serial string) (*store.Certificate, error) {
	sn, err := ParseSerial(serial)
	if err != nil {
		return nil, err
	}
	cur, err := s.lookup(ctx, sn)
	if err != nil {
		return nil, err
	}
	if cur.Status != store.StatusRevoked || cur.Reason != ReasonCertificateHold {
		return nil, fmt.Errorf("certificate %s is not on hold (certificateHold), so there is nothing to release: %w", sn, store.ErrNotRevoked)
	}
	c, err := s.st.Release(ctx, sn)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", sn, err)
	}
	return c, nil
}

func (s *Service) lookup(ctx context.Context, sn string) (*store.Certificate, error) {
	c, err := s.st.Certificate(ctx, sn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no certificate with serial %s in %s; `pkid list` shows the serials: %w", sn, s.opts.Where, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", sn, err)
	}
	return c, nil
}

func alreadyRevoked(c *store.Certificate) error {
	return fmt.Errorf("certificate %s is already revoked (%s, %s); a revocation cannot be changed except from certificateHold to a final reason: %w",
		c.Serial, ReasonName(c.Reason), c.RevokedAt.UTC().Format(time.RFC3339), store.ErrAlreadyRevoked)
}
