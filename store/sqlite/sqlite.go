package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pkid/pkid/store"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a writer waits for another process's write
// transaction before giving up. Writes are short (a batch of 1,000
// certificates commits in milliseconds), so this only runs out when another
// process holds the database locked for far longer than pkid ever does.
const busyTimeout = 30 * time.Second

// maxIdleConns is how many connections the pool keeps open between uses.
const maxIdleConns = 4

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use by several goroutines and, through SQLite's file locking,
// by several processes using the same file.
type Store struct {
	db   *sql.DB
	path string
	dsn  string // what db was opened with
	// wmu serialises this process's writers: SQLite admits one writer at a
	// time anyway, and queueing on a mutex is fairer and faster than
	// SQLite's sleeping busy handler. Other processes still queue through
	// busy_timeout.
	wmu sync.Mutex
	// stmts holds the prepared queries of hot paths (directory search,
	// certificate inserts): modernc's SQLite otherwise parses the SQL on
	// every call.
	stmts sync.Map // query text → *sql.Stmt
	// wal answers Revision from the WAL-index header while nothing has
	// committed (walindex.go).
	wal walIndex
}

var _ store.Store = (*Store)(nil)

// prepared returns the prepared statement for one of the store's constant
// queries, preparing it on first use.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Open opens the store database at path, creating the file (mode 0600) and
// its schema if missing and applying any pending schema migrations. The
// directory must exist. It fails with an error naming the path when the
// directory is missing or not writable, or when the database was written by
// a newer pkid.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := createFile(abs); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	// Readers keep SQLite's default page cache (2 MiB per connection): a
	// server holds several connections, and pkid serve's directory has its
	// own read cache. Writers raise theirs (write).
	q.Add("_pragma", "cache_size(-2048)")
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	db.SetMaxIdleConns(maxIdleConns)
	s := &Store{db: db, path: abs, dsn: dsn}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w%s", abs, err, hint(err, abs))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w%s", abs, err, hint(err, abs))
	}
	return s, nil
}

// createFile makes the database file with mode 0600 before SQLite sees it
// (SQLite would create it world-readable, and it holds CA keys); SQLite
// gives the -wal and -shm files the same mode.
func createFile(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open store %s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("open store %s: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("open store %s: %s is not a directory", path, dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("open store %s: %w (the database and its directory %s must be writable by this user)", path, err, dir)
	}
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	return f.Close()
}

// hint adds what a user can do about SQLite's terse open errors.
func hint(err error, path string) string {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return fmt.Sprintf(" (SQLite needs to create %s-wal and %s-shm: make %s writable by this user)", path, path, filepath.Dir(path))
	case sqlite3.SQLITE_NOTADB:
		return " (the file is not a pkid SQLite database)"
	case sqlite3.SQLITE_FULL:
		return fmt.Sprintf(" (the disk holding %s is full)", path)
	case sqlite3.SQLITE_IOERR:
		return fmt.Sprintf(" (I/O error on %s or the disk holding it)", path)
	case sqlite3.SQLITE_BUSY:
		return fmt.Sprintf(" (another process held the database locked for over %s)", busyTimeout)
	}
	return ""
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Every committed change is already durable.
func (s *Store) Close() error {
	s.wal.close()
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// write runs fn in one writing transaction (BEGIN IMMEDIATE) and commits it.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeOn(ctx, s.db, fn)
}

// txBeginner is the pool (*sql.DB) or one connection of it (*sql.Conn).
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// writeOn is write on a given pool or connection; the caller holds wmu.
func (s *Store) writeOn(ctx context.Context, b txBeginner, fn func(tx *sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w%s", s.path, err, hint(err, s.path))
	}
	defer tx.Rollback() // no-op after Commit; undoes everything on error or panic
	// A 16 MiB page cache on the connections that write: a 100,000-entry
	// import keeps its b-trees' interiors cached (20% less CPU). The
	// setting stays with the connection, so it costs one statement per
	// write and the memory only on the few connections that wrote.
	if _, err := tx.ExecContext(ctx, "PRAGMA cache_size = -16384"); err != nil {
		return fmt.Errorf("set the page cache on %s: %w%s", s.path, err, hint(err, s.path))
	}
	if err := fn(tx); err != nil {
		if h := hint(err, s.path); h != "" {
			return fmt.Errorf("%w%s", err, h)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit to %s: %w%s", s.path, err, hint(err, s.path))
	}
	return nil
}

// isConstraint reports whether err is a SQLite constraint violation with
// the given extended code.
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

// micros converts a time for storage: zero is NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros converts a stored time back; NULL is the zero time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
