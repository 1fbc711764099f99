package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
)

// CreateCAs stores new CAs, in order, and then certificates they issued,
// in one transaction: all or none. Each CA is created as CreateCA does
// (ErrExists if its ID is taken or repeated), each certificate as
// AddCertificates does (ErrExists for a stored or repeated serial,
// ErrNotFound for a CA neither stored nor in cas), with the same
// change-feed records. A CA's zero CreatedAt becomes the current time.
func (s *Store) CreateCAs(ctx context.Context, cas []*store.CA, issued []*store.Certificate) error {
	now := time.Now()
	if err := store.PrepareNewCAs(cas, now); err != nil {
		return err
	}
	serials, err := store.CheckNewCertificates(issued)
	if err != nil {
		return err
	}
	revs := make([]int64, len(issued))
	err = s.writeFeed(ctx, func(f *feed) error {
		if len(cas) > 0 {
			if err := lockCAs(ctx, f.tx); err != nil {
				return err
			}
		}
		for _, ca := range cas {
			if err := insertCA(ctx, f, ca); err != nil {
				return err
			}
		}
		// Row by row: a hierarchy has a certificate or two, not the
		// batches addQuery and COPY are built for.
		for i, c := range issued {
			if err := insertIssued(ctx, f, c, serials[i], now, &revs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	store.FinishNewCertificates(issued, serials, revs, now)
	return nil
}

// insertCA stores ca and its change in f's transaction (which holds
// lockCAs, so that clearing the other CAs' default cannot race).
func insertCA(ctx context.Context, f *feed, ca *store.CA) error {
	if ca.Default {
		if _, err := f.tx.Exec(ctx, `UPDATE cas SET is_default = false WHERE is_default`); err != nil {
			return fmt.Errorf("create CA %s: %w", ca.ID, err)
		}
	}
	_, err := f.tx.Exec(ctx, `INSERT INTO cas (`+caColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		ca.ID, ca.ParentID, ca.Role, ca.Subject, ca.CertDER, ca.KeyPEM, ca.Encrypted,
		ca.URL, ca.LDAPURL, ca.DeltaCRL, ca.Default, ts(ca.CreatedAt))
	if code, constraint, _ := pgCode(err); code == uniqueViolation && constraint == "cas_id_key" {
		return fmt.Errorf("create CA %s: %w", ca.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create CA %s: %w", ca.ID, err)
	}
	_, err = f.append(ctx, store.ChangeCA, ca.ID, "", ca.CreatedAt)
	return err
}

// insertIssued stores one issued certificate and its "issue" change in f's
// transaction, as AddCertificates does, and sets *rev to its revision.
func insertIssued(ctx context.Context, f *feed, c *store.Certificate, serial string, now time.Time, rev *int64) error {
	status, issuedAt := c.Status, c.IssuedAt
	if status == "" {
		status = store.StatusValid
	}
	if issuedAt.IsZero() {
		issuedAt = now
	}
	var revokedAt, invalidity time.Time
	reason := 0
	if status == store.StatusRevoked {
		revokedAt, reason, invalidity = c.RevokedAt, c.Reason, c.InvalidityDate
		if revokedAt.IsZero() {
			revokedAt = now
		}
	}
	r, err := f.append(ctx, store.ChangeIssue, c.CAID, serial, now)
	if err != nil {
		return fmt.Errorf("add certificate %s: %w", serial, err)
	}
	_, err = f.tx.Exec(ctx, `INSERT INTO certificates (`+certColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		serial, c.CAID, c.Subject, c.Profile, ts(c.NotBefore), ts(c.NotAfter), c.DER, ts(issuedAt),
		string(status), ts(revokedAt), reason, ts(invalidity), r)
	switch code, constraint, _ := pgCode(err); {
	case code == uniqueViolation && constraint == "certificates_pkey":
		return fmt.Errorf("add certificate %s: serial number %w", serial, store.ErrExists)
	case code == foreignKeyViolation:
		return fmt.Errorf("add certificates: CA %q: %w", c.CAID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("add certificate %s: %w", serial, err)
	}
	*rev = r
	return nil
}
