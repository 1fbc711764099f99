package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pkid/pkid/store"
)

// keepCRLs is how many CRLs of each kind (full, delta) are kept per CA.
const keepCRLs = 3

// NextCRLNumber atomically allocates the next CRL number for a CA (starting
// at 1, or after the number set by SetCRLNumber): one upsert that locks the
// CA's counter row, so numbers handed out to any node are strictly
// increasing and never repeat. Full and delta CRLs share the sequence.
// ErrNotFound for an unknown CA.
func (s *Store) NextCRLNumber(ctx context.Context, caID string) (int64, error) {
	var n int64
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `INSERT INTO crl_numbers (ca_id, last) VALUES ($1, 1)
			ON CONFLICT (ca_id) DO UPDATE SET last = crl_numbers.last + 1 RETURNING last`, caID).Scan(&n)
	})
	if code, _, _ := pgCode(err); code == foreignKeyViolation {
		return 0, fmt.Errorf("allocate CRL number: CA %q: %w", caID, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("allocate CRL number for CA %q: %w", caID, err)
	}
	return n, nil
}

// SetCRLNumber raises the CA's CRL counter so the next number is greater
// than n. It never lowers it. ErrNotFound for an unknown CA.
func (s *Store) SetCRLNumber(ctx context.Context, caID string, n int64) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO crl_numbers (ca_id, last) VALUES ($1, $2)
			ON CONFLICT (ca_id) DO UPDATE SET last = greatest(crl_numbers.last, excluded.last)`, caID, n)
		return err
	})
	if code, _, _ := pgCode(err); code == foreignKeyViolation {
		return fmt.Errorf("set CRL number: CA %q: %w", caID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set CRL number of CA %q: %w", caID, err)
	}
	return nil
}

// PutCRL stores a signed CRL and appends a "crl" change. A CRL whose
// number is not greater than the latest stored CRL of the same kind is
// ignored (nil error): the check runs with the CA's row locked, so two
// nodes racing to publish cannot roll the CRL back. Only the latest few CRLs of
// each kind are kept. ErrNotFound for an unknown CA.
func (s *Store) PutCRL(ctx context.Context, crl *store.CRL) error {
	if crl.Number <= 0 {
		return fmt.Errorf("store CRL of CA %q: CRL number %d is not positive", crl.CAID, crl.Number)
	}
	if len(crl.DER) == 0 {
		return fmt.Errorf("store CRL %d of CA %q: empty DER", crl.Number, crl.CAID)
	}
	return s.writeFeed(ctx, func(f *feed) error {
		// FOR NO KEY UPDATE: CRL writers of one CA take turns; issuance
		// (whose foreign key check takes KEY SHARE) is not held up.
		var one int
		err := f.tx.QueryRow(ctx, `SELECT 1 FROM cas WHERE id = $1 FOR NO KEY UPDATE`, crl.CAID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store CRL: CA %q: %w", crl.CAID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store CRL: lock CA %q: %w", crl.CAID, err)
		}
		var latest *int64
		if err := f.tx.QueryRow(ctx, `SELECT max(number) FROM crls WHERE ca_id = $1 AND delta = $2`,
			crl.CAID, crl.Delta).Scan(&latest); err != nil {
			return fmt.Errorf("store CRL %d of CA %q: %w", crl.Number, crl.CAID, err)
		}
		if latest != nil && *latest >= crl.Number {
			return nil
		}
		if _, err := f.tx.Exec(ctx, `INSERT INTO crls (ca_id, delta, number, base_number, this_update, next_update, revision, der)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, crl.CAID, crl.Delta, crl.Number, crl.BaseNumber,
			ts(crl.ThisUpdate), ts(crl.NextUpdate), crl.Revision, crl.DER); err != nil {
			return fmt.Errorf("store CRL %d of CA %q: %w", crl.Number, crl.CAID, err)
		}
		if _, err := f.tx.Exec(ctx, `DELETE FROM crls WHERE ca_id = $1 AND delta = $2 AND number NOT IN
			(SELECT number FROM crls WHERE ca_id = $1 AND delta = $2 ORDER BY number DESC LIMIT $3)`,
			crl.CAID, crl.Delta, keepCRLs); err != nil {
			return fmt.Errorf("prune old CRLs of CA %q: %w", crl.CAID, err)
		}
		_, err = f.append(ctx, store.ChangeCRL, crl.CAID, "", time.Now())
		return err
	})
}

// LatestCRL returns the CRL with the highest number of that kind;
// ErrNotFound if none is stored.
func (s *Store) LatestCRL(ctx context.Context, caID string, delta bool) (*store.CRL, error) {
	crl := store.CRL{CAID: caID, Delta: delta}
	var thisUpdate, nextUpdate pgtype.Timestamptz
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT number, base_number, this_update, next_update, revision, der FROM crls
			WHERE ca_id = $1 AND delta = $2 ORDER BY number DESC LIMIT 1`, caID, delta).
			Scan(&crl.Number, &crl.BaseNumber, &thisUpdate, &nextUpdate, &crl.Revision, &crl.DER)
	})
	kind := "CRL"
	if delta {
		kind = "delta CRL"
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s of CA %q: %w", kind, caID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of CA %q: %w", kind, caID, err)
	}
	crl.ThisUpdate, crl.NextUpdate = fromTS(thisUpdate), fromTS(nextUpdate)
	return &crl, nil
}
