package ca

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pkid/pkid/store"
)

// Default CRL lifetimes (nextUpdate - thisUpdate). A delta CRL is meant to
// be fetched often, so it lives a day; the full CRL a week.
const (
	CRLFullValidity  = 7 * 24 * time.Hour
	CRLDeltaValidity = 24 * time.Hour
)

// CRLOptions tune Service.CRLWith; the zero value makes a full CRL with
// the default lifetime.
type CRLOptions struct {
	// Delta makes a delta CRL against the latest full CRL (RFC 5280 §5.2.4).
	Delta bool
	// Validity is nextUpdate - thisUpdate; 0 means CRLFullValidity or
	// CRLDeltaValidity.
	Validity time.Duration
}

// CRL makes, signs and stores a new CRL of the CA caID ("" = the default
// CA): a full CRL, or with delta a delta CRL against the latest full one.
// See CRLWith.
func (s *Service) CRL(ctx context.Context, caID string, delta bool) (*store.CRL, error) {
	return s.CRLWith(ctx, caID, CRLOptions{Delta: delta})
}

// CRLWith makes, signs and stores a new CRL. Its number comes from the
// store's counter (strictly increasing, never reused, even with several
// processes at once). A full CRL lists every revoked certificate of the CA
// and, when the CA issues delta CRLs, points to them with freshestCRL; a
// delta CRL lists what changed since the latest full CRL, with
// certificates released from hold as removeFromCRL. The revoked entries are
// streamed from the store into the encoder, never held as a list.
func (s *Service) CRLWith(ctx context.Context, caID string, o CRLOptions) (*store.CRL, error) {
	if caID == "" {
		id, err := s.DefaultCA(ctx)
		if err != nil {
			return nil, err
		}
		caID = id
	}
	a, err := s.Authority(ctx, caID)
	if err != nil {
		return nil, err
	}
	var after, base int64
	if o.Delta {
		full, err := s.st.LatestCRL(ctx, caID, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("CA %q has no full CRL for a delta CRL to refer to; make one first with `pkid crl --ca %s`", caID, caID)
		}
		if err != nil {
			return nil, fmt.Errorf("delta CRL of CA %q: %w", caID, err)
		}
		after, base = full.Revision, full.Number
	}
	// Every change up to rev is in the snapshot RevokedSince reads below,
	// so the stored CRL can promise to reflect it.
	rev, err := s.st.Revision(ctx)
	if err != nil {
		return nil, fmt.Errorf("CRL of CA %q: %w", caID, err)
	}
	number, err := s.st.NextCRLNumber(ctx, caID)
	if err != nil {
		return nil, fmt.Errorf("CRL of CA %q: allocate CRL number: %w", caID, err)
	}
	validity := o.Validity
	if validity <= 0 {
		validity = CRLFullValidity
		if o.Delta {
			validity = CRLDeltaValidity
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	t := CRLTemplate{
		Number:     number,
		ThisUpdate: now,
		NextUpdate: now.Add(validity),
		DeltaBase:  base,
		Rand:       s.opts.Rand,
	}
	if !o.Delta && a.CA.DeltaCRL {
		t.FreshestCRL = CRLDeltaURLs(a.CA)
	}
	var serial []byte
	entries := func(yield func(CRLEntry, error) bool) {
		errStop := errors.New("stop")
		err := s.st.RevokedSince(ctx, caID, after, func(r *store.RevokedEntry) error {
			var err error
			serial, err = hex.AppendDecode(serial[:0], []byte(r.Serial))
			if err != nil {
				return fmt.Errorf("stored serial %q is not hex: %w", r.Serial, err)
			}
			e := CRLEntry{Serial: serial, RevokedAt: r.RevokedAt, Reason: r.Reason, InvalidityDate: r.InvalidityDate}
			if r.Released {
				// RFC 5280 §5.3.1: a delta CRL lists a certificate taken
				// off hold with removeFromCRL.
				e = CRLEntry{Serial: serial, RevokedAt: now, Reason: ReasonRemoveFromCRL}
			}
			if !yield(e, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(CRLEntry{}, err)
		}
	}
	der, err := BuildCRL(a.Cert, a.Signer, t, entries)
	if err != nil {
		return nil, fmt.Errorf("CRL of CA %q: %w", caID, err)
	}
	crl := &store.CRL{
		CAID:       caID,
		Number:     number,
		Delta:      o.Delta,
		BaseNumber: base,
		ThisUpdate: t.ThisUpdate,
		NextUpdate: t.NextUpdate,
		Revision:   rev,
		DER:        der,
	}
	if err := s.st.PutCRL(ctx, crl); err != nil {
		return nil, fmt.Errorf("store CRL %d of CA %q: %w", number, caID, err)
	}
	return crl, nil
}

// CRLDeltaURL is the http location of a CA's delta CRL (DER), beside its
// full CRL at CRLURL.
func CRLDeltaURL(base, caID string) string {
	return strings.TrimSuffix(base, "/") + "/crl/" + caID + "-delta.crl"
}

// CRLDeltaURLs are the places a full CRL's freshestCRL extension points to
// (RFC 5280 §5.2.6): the http delta CRL under the CA's URL and the
// deltaRevocationList attribute (RFC 4523 §2.7) at the CA's LDAP entry.
func CRLDeltaURLs(c *store.CA) []string {
	var urls []string
	if c.URL != "" {
		urls = append(urls, CRLDeltaURL(c.URL, c.ID))
	}
	if c.LDAPURL != "" {
		full := LDAPCRLURL(c.LDAPURL, c.Subject)
		urls = append(urls, strings.TrimSuffix(full, "?certificateRevocationList;binary")+"?deltaRevocationList;binary")
	}
	return urls
}
