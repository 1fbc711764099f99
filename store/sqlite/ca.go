package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
	sqlite3 "modernc.org/sqlite/lib"
)

const caColumns = `id, parent_id, role, subject, cert_der, key_pem, encrypted, url, ldap_url, delta_crl, is_default, created_at`

// CreateCA stores a new CA. ErrExists if the ID is taken. A CA created with
// Default set becomes the only default CA.
func (s *Store) CreateCA(ctx context.Context, ca *store.CA) error {
	return s.CreateCAs(ctx, []*store.CA{ca}, nil)
}

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
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, ca := range cas {
			if err := createCA(ctx, tx, ca); err != nil {
				return err
			}
		}
		checked := map[string]bool{}
		for _, c := range issued {
			if !checked[c.CAID] {
				if err := caExists(ctx, tx, c.CAID); err != nil {
					return fmt.Errorf("add certificates: %w", err)
				}
				checked[c.CAID] = true
			}
		}
		// Row by row: a hierarchy's few certificates gain nothing from
		// the prepared multi-row INSERTs of AddCertificates.
		return addRows(ctx, tx, issued, serials, revs, now, now.UnixMicro())
	})
	if err != nil {
		return err
	}
	store.FinishNewCertificates(issued, serials, revs, now)
	return nil
}

// createCA inserts ca and its change inside tx; a Default CA takes the
// default from any other.
func createCA(ctx context.Context, tx *sql.Tx, ca *store.CA) error {
	if ca.Default {
		if _, err := tx.ExecContext(ctx, `UPDATE cas SET is_default = 0 WHERE is_default = 1`); err != nil {
			return fmt.Errorf("create CA %s: %w", ca.ID, err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO cas (`+caColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ca.ID, ca.ParentID, ca.Role, ca.Subject, ca.CertDER, ca.KeyPEM, boolInt(ca.Encrypted),
		ca.URL, ca.LDAPURL, boolInt(ca.DeltaCRL), boolInt(ca.Default), micros(ca.CreatedAt))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return fmt.Errorf("create CA %s: %w", ca.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create CA %s: %w", ca.ID, err)
	}
	_, err = appendChange(ctx, tx, store.ChangeCA, ca.ID, "", ca.CreatedAt)
	return err
}

// UpdateCA replaces the mutable fields of a CA (KeyPEM, Encrypted, URL,
// LDAPURL, DeltaCRL, Default). ErrNotFound if absent. Setting Default
// clears it on every other CA.
func (s *Store) UpdateCA(ctx context.Context, ca *store.CA) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if ca.Default {
			if _, err := tx.ExecContext(ctx, `UPDATE cas SET is_default = 0 WHERE is_default = 1 AND id <> ?`, ca.ID); err != nil {
				return fmt.Errorf("update CA %s: %w", ca.ID, err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE cas SET key_pem = ?, encrypted = ?, url = ?, ldap_url = ?, delta_crl = ?, is_default = ? WHERE id = ?`,
			ca.KeyPEM, boolInt(ca.Encrypted), ca.URL, ca.LDAPURL, boolInt(ca.DeltaCRL), boolInt(ca.Default), ca.ID)
		if err != nil {
			return fmt.Errorf("update CA %s: %w", ca.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update CA %s: %w", ca.ID, store.ErrNotFound)
		}
		_, err = appendChange(ctx, tx, store.ChangeCA, ca.ID, "", time.Now())
		return err
	})
}

// CA returns one CA by ID.
func (s *Store) CA(ctx context.Context, id string) (*store.CA, error) {
	ca, err := scanCA(s.db.QueryRowContext(ctx, `SELECT `+caColumns+` FROM cas WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("CA %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read CA %q: %w", id, err)
	}
	return ca, nil
}

// CAs returns every CA, in creation order.
func (s *Store) CAs(ctx context.Context) ([]*store.CA, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+caColumns+` FROM cas ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list CAs: %w", err)
	}
	defer rows.Close()
	var cas []*store.CA
	for rows.Next() {
		ca, err := scanCA(rows)
		if err != nil {
			return nil, fmt.Errorf("list CAs: %w", err)
		}
		cas = append(cas, ca)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list CAs: %w", err)
	}
	return cas, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanCA(r scanner) (*store.CA, error) {
	var ca store.CA
	var created sql.NullInt64
	if err := r.Scan(&ca.ID, &ca.ParentID, &ca.Role, &ca.Subject, &ca.CertDER, &ca.KeyPEM, &ca.Encrypted,
		&ca.URL, &ca.LDAPURL, &ca.DeltaCRL, &ca.Default, &created); err != nil {
		return nil, err
	}
	ca.CreatedAt = fromMicros(created)
	return &ca, nil
}

// caExistsSQL looks a CA up by ID.
const caExistsSQL = `SELECT 1 FROM cas WHERE id = ?`

// caExists reports ErrNotFound, naming the CA, unless it is stored.
func caExists(ctx context.Context, tx *sql.Tx, id string) error {
	return caExistsWith(ctx, tx.QueryRowContext(ctx, caExistsSQL, id), id)
}

// caExistsWith is caExists with the query's row given (a prepared
// statement's, on the hot path).
func caExistsWith(ctx context.Context, row *sql.Row, id string) error {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("CA %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up CA %q: %w", id, err)
	}
	return nil
}
