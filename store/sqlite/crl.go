package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"github.com/pkid/pkid/store"
)

// keepCRLs is how many CRLs of each kind (full, delta) are kept per CA:
// the latest is served; a few older ones help when debugging a client that
// cached one.
const keepCRLs = 3

// NextCRLNumber atomically allocates the next CRL number for a CA (starting
// at 1, or after the number set by SetCRLNumber). Full and delta CRLs share
// the sequence (RFC 5280 §5.2.3). ErrNotFound for an unknown CA.
func (s *Store) NextCRLNumber(ctx context.Context, caID string) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := caExists(ctx, tx, caID); err != nil {
			return fmt.Errorf("allocate CRL number: %w", err)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO crl_numbers (ca_id, last) VALUES (?, 1)
			ON CONFLICT (ca_id) DO UPDATE SET last = last + 1 RETURNING last`, caID).Scan(&n)
		if err != nil {
			return fmt.Errorf("allocate CRL number for CA %q: %w", caID, err)
		}
		return nil
	})
	return n, err
}

// SetCRLNumber raises the CA's CRL counter so the next number is greater
// than n. It never lowers it. ErrNotFound for an unknown CA.
func (s *Store) SetCRLNumber(ctx context.Context, caID string, n int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := caExists(ctx, tx, caID); err != nil {
			return fmt.Errorf("set CRL number: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO crl_numbers (ca_id, last) VALUES (?, ?)
			ON CONFLICT (ca_id) DO UPDATE SET last = max(last, excluded.last)`, caID, n)
		if err != nil {
			return fmt.Errorf("set CRL number of CA %q: %w", caID, err)
		}
		return nil
	})
}

// PutCRL stores a signed CRL and appends a "crl" change. A CRL whose
// number is not greater than the latest stored CRL of the same kind is
// ignored (nil error): two servers racing to publish cannot roll the CRL
// back. Only the latest few CRLs of each kind are kept. ErrNotFound for an
// unknown CA.
func (s *Store) PutCRL(ctx context.Context, crl *store.CRL) error {
	if crl.Number <= 0 {
		return fmt.Errorf("store CRL of CA %q: CRL number %d is not positive", crl.CAID, crl.Number)
	}
	if len(crl.DER) == 0 {
		return fmt.Errorf("store CRL %d of CA %q: empty DER", crl.Number, crl.CAID)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := caExists(ctx, tx, crl.CAID); err != nil {
			return fmt.Errorf("store CRL: %w", err)
		}
		var latest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(number) FROM crls WHERE ca_id = ? AND delta = ?`,
			crl.CAID, boolInt(crl.Delta)).Scan(&latest); err != nil {
			return fmt.Errorf("store CRL %d of CA %q: %w", crl.Number, crl.CAID, err)
		}
		if latest.Valid && latest.Int64 >= crl.Number {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO crls (ca_id, delta, number, base_number, this_update, next_update, revision, der)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, crl.CAID, boolInt(crl.Delta), crl.Number, crl.BaseNumber,
			micros(crl.ThisUpdate), micros(crl.NextUpdate), crl.Revision, crl.DER); err != nil {
			return fmt.Errorf("store CRL %d of CA %q: %w", crl.Number, crl.CAID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM crls WHERE ca_id = ? AND delta = ? AND number NOT IN
			(SELECT number FROM crls WHERE ca_id = ? AND delta = ? ORDER BY number DESC LIMIT ?)`,
			crl.CAID, boolInt(crl.Delta), crl.CAID, boolInt(crl.Delta), keepCRLs); err != nil {
			return fmt.Errorf("prune old CRLs of CA %q: %w", crl.CAID, err)
		}
		_, err := appendChange(ctx, tx, store.ChangeCRL, crl.CAID, "", time.Now())
		return err
	})
}

// LatestCRL returns the CRL with the highest number of that kind;
// ErrNotFound if none is stored.
func (s *Store) LatestCRL(ctx context.Context, caID string, delta bool) (*store.CRL, error) {
	crl := store.CRL{CAID: caID, Delta: delta}
	var thisUpdate, nextUpdate sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT number, base_number, this_update, next_update, revision, der FROM crls
		WHERE ca_id = ? AND delta = ? ORDER BY number DESC LIMIT 1`, caID, boolInt(delta)).
		Scan(&crl.Number, &crl.BaseNumber, &thisUpdate, &nextUpdate, &crl.Revision, &crl.DER)
	kind := "CRL"
	if delta {
		kind = "delta CRL"
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s of CA %q: %w", kind, caID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of CA %q: %w", kind, caID, err)
	}
	crl.ThisUpdate, crl.NextUpdate = fromMicros(thisUpdate), fromMicros(nextUpdate)
	return &crl, nil
}
