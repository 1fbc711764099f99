package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pkid/pkid/store"
)

// Revision returns the newest change-feed revision (0 when empty): the
// feed counter, one row read by primary key.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT revision FROM feed`).Scan(&rev)
	})
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return rev, nil
}

// Changes returns up to limit changes with Revision > after, oldest first
// (limit <= 0: all of them).
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	var out []store.Change
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT revision, kind, ca_id, serial, at FROM changes
			WHERE revision > $1 ORDER BY revision LIMIT $2`, after, lim)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Change, error) {
			var c store.Change
			var kind string
			var at pgtype.Timestamptz
			err := r.Scan(&c.Revision, &kind, &c.CAID, &c.Serial, &at)
			c.Kind, c.At = store.ChangeKind(kind), fromTS(at)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	return out, nil
}

// Meta reads a small named setting ("" and ErrNotFound if absent).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read setting %q: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a small named setting, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("write setting %q: %w", key, err)
	}
	return nil
}
