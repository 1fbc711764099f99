package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema changes in order; migrations[i] takes the
// database from version i to i+1. Never edit a released migration: append
// a new one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE cas (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- creation order
	id         TEXT NOT NULL UNIQUE,
	parent_id  TEXT NOT NULL DEFAULT '',
	role       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	cert_der   BLOB NOT NULL,
	key_pem    BLOB,
	encrypted  INTEGER NOT NULL DEFAULT 0,
	url        TEXT NOT NULL DEFAULT '',
	ldap_url   TEXT NOT NULL DEFAULT '',
	delta_crl  INTEGER NOT NULL DEFAULT 0,
	is_default INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER
);

CREATE TABLE certificates (
	serial          TEXT PRIMARY KEY,
	ca_id           TEXT NOT NULL REFERENCES cas(id),
	subject         TEXT NOT NULL DEFAULT '',
	profile         TEXT NOT NULL DEFAULT '',
	not_before      INTEGER,
	not_after       INTEGER,
	der             BLOB,
	issued_at       INTEGER,
	status          TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
	revoked_at      INTEGER,
	reason          INTEGER NOT NULL DEFAULT 0,
	invalidity_date INTEGER,
	-- revision: change-feed revision of the last revocation-state change.
	revision        INTEGER NOT NULL,
	-- released: the last change (at revision) took it off hold; delta CRLs
	-- after an older revision list it with removeFromCRL.
	released        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX certificates_ca_status ON certificates (ca_id, status, issued_at);
CREATE INDEX certificates_not_after ON certificates (not_after);
-- Delta CRLs: what changed in one CA after a revision.
CREATE INDEX certificates_ca_revision ON certificates (ca_id, revision);
-- Covers full-CRL streaming (RevokedSince after 0) without touching the
-- table: only revoked rows, in serial order per CA.
CREATE INDEX certificates_revoked ON certificates
	(ca_id, serial, revoked_at, reason, invalidity_date, revision)
	WHERE status = 'revoked';

CREATE TABLE crl_numbers (
	ca_id TEXT PRIMARY KEY REFERENCES cas(id),
	last  INTEGER NOT NULL
);

CREATE TABLE crls (
	ca_id       TEXT NOT NULL REFERENCES cas(id),
	delta       INTEGER NOT NULL,
	number      INTEGER NOT NULL,
	base_number INTEGER NOT NULL DEFAULT 0,
	this_update INTEGER,
	next_update INTEGER,
	revision    INTEGER NOT NULL,
	der         BLOB NOT NULL,
	PRIMARY KEY (ca_id, delta, number)
);

-- AUTOINCREMENT: a revision is never reused, even after rows are deleted.
CREATE TABLE changes (
	revision INTEGER PRIMARY KEY AUTOINCREMENT,
	kind     TEXT NOT NULL,
	ca_id    TEXT NOT NULL DEFAULT '',
	serial   TEXT NOT NULL DEFAULT '',
	at       INTEGER NOT NULL
);
`,
	// 2: the LDAP directory information tree (store.DirectoryStore).
	`
CREATE TABLE dir_entries (
	id        INTEGER PRIMARY KEY,
	parent_id INTEGER NOT NULL DEFAULT 0, -- 0: a naming context
	norm_dn   TEXT NOT NULL UNIQUE,
	dn        TEXT NOT NULL,
	data      BLOB NOT NULL,
	-- ikeys: the entry's index rows (attr NUL value NUL ...), so they can
	-- be deleted without a second index on dir_index by entry.
	ikeys     BLOB NOT NULL DEFAULT ''
);
CREATE INDEX dir_entries_parent ON dir_entries (parent_id);

-- Equality index: (attribute, normalised value) -> entry. WITHOUT ROWID
-- keeps each row in the primary-key b-tree only.
CREATE TABLE dir_index (
	attr     TEXT NOT NULL,
	value    TEXT NOT NULL,
	entry_id INTEGER NOT NULL,
	PRIMARY KEY (attr, value, entry_id)
) WITHOUT ROWID;
`,
}

// latestVersion is the schema version this build of pkid writes.
var latestVersion = len(migrations)

// migrate brings the schema up to latestVersion, one migration per
// transaction, and refuses a database from a newer pkid. Several processes
// may open a new database at once: each migration re-reads the version
// inside its (immediate) transaction, so each is applied exactly once.
func (s *Store) migrate(ctx context.Context) error {
	v, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if v > latestVersion {
		return newerSchemaError(v)
	}
	for v < latestVersion {
		err := s.write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			cur, err := s.schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur > latestVersion {
				return newerSchemaError(cur)
			}
			v = cur
			if cur == latestVersion {
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[cur]); err != nil {
				return fmt.Errorf("apply schema migration %d: %w", cur+1, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				cur+1, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("record schema migration %d: %w", cur+1, err)
			}
			v = cur + 1
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

func newerSchemaError(v int) error {
	return fmt.Errorf("database schema version %d is newer than this pkid understands (%d); use the pkid release that wrote it or a newer one", v, latestVersion)
}
