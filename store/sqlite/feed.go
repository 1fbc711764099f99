package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
)

// appendChange adds one change-feed record in tx and returns its revision.
func appendChange(ctx context.Context, tx *sql.Tx, kind store.ChangeKind, caID, serial string, at time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, ca_id, serial, at) VALUES (?, ?, ?, ?)`,
		string(kind), caID, serial, at.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("append %s change: %w", kind, err)
	}
	return res.LastInsertId()
}

// queryRevision is Revision's query.
func (s *Store) queryRevision(ctx context.Context) (int64, error) {
	s.wal.queries.Add(1)
	// Prepared once: parsing the SQL each time was most of what an idle
	// server spent before the fast path.
	st, err := s.prepared(ctx, `SELECT max(revision) FROM changes`)
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	var rev sql.NullInt64
	if err := st.QueryRowContext(ctx).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return rev.Int64, nil
}

// Changes returns up to limit changes with Revision > after, oldest first
// (limit <= 0: all of them).
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT revision, kind, ca_id, serial, at FROM changes WHERE revision > ? ORDER BY revision LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		var kind string
		var at sql.NullInt64
		if err := rows.Scan(&c.Revision, &kind, &c.CAID, &c.Serial, &at); err != nil {
			return nil, fmt.Errorf("read changes after %d: %w", after, err)
		}
		c.Kind = store.ChangeKind(kind)
		c.At = fromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	return out, nil
}

// Meta reads a small named setting ("" and ErrNotFound if absent).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read setting %q: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a small named setting, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return fmt.Errorf("write setting %q: %w", key, err)
		}
		return nil
	})
}
