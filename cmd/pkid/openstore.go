package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/postgres"
	"github.com/pkid/pkid/store/sqlite"
)

// openStore opens the store the globals name and closes it when the command
// ends. create (pkid init, serve's first run) makes the data directory
// (0700) and, for SQLite, the database if missing; otherwise an SQLite
// database must exist. A PostgreSQL store (--store or PKID_STORE
// postgres://...) gets its schema on first use; the data directory still
// holds the files handed to clients (ca.pem, chain.pem, ...).
func (g *globals) openStore(ctx context.Context, create bool) (store.Store, error) {
	if isPostgresURL(g.storeURL) {
		if create {
			if err := os.MkdirAll(g.dir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		st, err := postgres.Open(ctx, g.storeURL)
		if err != nil {
			return nil, err
		}
		g.closers = append(g.closers, st)
		return st, nil
	}
	path, err := g.sqlitePath()
	if err != nil {
		return nil, err
	}
	if create {
		if err := os.MkdirAll(g.dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	} else if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if g.storeURL != "" {
			return nil, fmt.Errorf("no pkid store at %s; run `pkid init` with the same --store first", path)
		}
		return nil, fmt.Errorf("no pkid data directory at %s; run `pkid init` first (or pass --dir / set PKID_DIR)", g.dir)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, st)
	return st, nil
}

// isPostgresURL reports whether a --store value names a PostgreSQL store.
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// sqlitePath is the database file: DIR/pkid.db unless --store names one as
// sqlite:PATH, file:PATH or a plain path.
func (g *globals) sqlitePath() (string, error) {
	u := g.storeURL
	for _, prefix := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if strings.HasPrefix(u, prefix) {
			u = strings.TrimPrefix(u, prefix)
			break
		}
	}
	switch {
	case strings.Contains(u, "://"):
		return "", fmt.Errorf("unsupported store %q: use postgres://user@host/database for PostgreSQL, or a file path (default %s) for SQLite", postgres.RedactURL(g.storeURL), filepath.Join(g.dir, "pkid.db"))
	case u == "":
		return filepath.Join(g.dir, "pkid.db"), nil
	}
	return u, nil
}
