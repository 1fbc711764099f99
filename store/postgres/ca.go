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

const caColumns = `id, parent_id, role, subject, cert_der, key_pem, encrypted, url, ldap_url, delta_crl, is_default, created_at`

// CreateCA stores a new CA. ErrExists if the ID is taken. A CA created with
// Default set becomes the only default CA.
func (s *Store) CreateCA(ctx context.Context, ca *store.CA) error {
	if ca.ID == "" {
		return errors.New("create CA: empty ID")
	}
	if ca.CreatedAt.IsZero() {
		ca.CreatedAt = time.Now()
	}
	return s.writeFeed(ctx, func(f *feed) error {
		if err := lockCAs(ctx, f.tx); err != nil {
			return err
		}
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
	})
}

// UpdateCA replaces the mutable fields of a CA (KeyPEM, Encrypted, URL,
// LDAPURL, DeltaCRL, Default). ErrNotFound if absent. Setting Default
// clears it on every other CA.
func (s *Store) UpdateCA(ctx context.Context, ca *store.CA) error {
	return s.writeFeed(ctx, func(f *feed) error {
		if err := lockCAs(ctx, f.tx); err != nil {
			return err
		}
		if ca.Default {
			if _, err := f.tx.Exec(ctx, `UPDATE cas SET is_default = false WHERE is_default AND id <> $1`, ca.ID); err != nil {
				return fmt.Errorf("update CA %s: %w", ca.ID, err)
			}
		}
		tag, err := f.tx.Exec(ctx, `UPDATE cas SET key_pem = $1, encrypted = $2, url = $3, ldap_url = $4, delta_crl = $5, is_default = $6 WHERE id = $7`,
			ca.KeyPEM, ca.Encrypted, ca.URL, ca.LDAPURL, ca.DeltaCRL, ca.Default, ca.ID)
		if err != nil {
			return fmt.Errorf("update CA %s: %w", ca.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("update CA %s: %w", ca.ID, store.ErrNotFound)
		}
		_, err = f.append(ctx, store.ChangeCA, ca.ID, "", time.Now())
		return err
	})
}

// CA returns one CA by ID.
func (s *Store) CA(ctx context.Context, id string) (*store.CA, error) {
	var ca *store.CA
	err := s.retry(ctx, func() (err error) {
		ca, err = scanCA(s.pool.QueryRow(ctx, `SELECT `+caColumns+` FROM cas WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("CA %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read CA %q: %w", id, err)
	}
	return ca, nil
}

// CAs returns every CA, in creation order.
func (s *Store) CAs(ctx context.Context) ([]*store.CA, error) {
	var cas []*store.CA
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+caColumns+` FROM cas ORDER BY seq`)
		if err != nil {
			return err
		}
		cas, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.CA, error) { return scanCA(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list CAs: %w", err)
	}
	return cas, nil
}

func scanCA(r pgx.Row) (*store.CA, error) {
	var ca store.CA
	var created pgtype.Timestamptz
	if err := r.Scan(&ca.ID, &ca.ParentID, &ca.Role, &ca.Subject, &ca.CertDER, &ca.KeyPEM, &ca.Encrypted,
		&ca.URL, &ca.LDAPURL, &ca.DeltaCRL, &ca.Default, &created); err != nil {
		return nil, err
	}
	ca.CreatedAt = fromTS(created)
	return &ca, nil
}

// casLockKey is the pg_advisory_xact_lock key that makes CA writes take
// turns, so two nodes setting a default CA at once cannot both clear the
// other's flag first and then trip over the one-default index.
const casLockKey int64 = 0x706b69642d636173 // "pkid-cas"

func lockCAs(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, casLockKey); err != nil {
		return fmt.Errorf("lock the CAs: %w", err)
	}
	return nil
}
