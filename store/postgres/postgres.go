package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pkid/pkid/store"
)

// connectTimeout bounds each connection attempt when the URL sets no
// connect_timeout, so an unreachable host fails Open in seconds rather than
// after the operating system's TCP timeout.
const connectTimeout = 10 * time.Second

// defaultMaxConns is the pool size unless the URL sets pool_max_conns:
// pgx's default (4 on a small machine) would let a few CRL streams whose
// callbacks also use the store (RevokedSince is reentrant) take every
// connection and wait for each other.
const defaultMaxConns = 16

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use by several goroutines, processes and nodes.
type Store struct {
	pool *pgxpool.Pool
	url  string // redacted, for messages

	// The LISTEN connection behind Notify, started on first use.
	listenMu   sync.Mutex
	subs       map[chan struct{}]struct{}
	listening  bool
	closed     bool
	stopListen context.CancelFunc
	listenDone chan struct{}
	// listenRetry is how long the listener waits before reconnecting after
	// losing its connection (tests lengthen it to prove the fallback poll).
	listenRetry time.Duration
	listenPID   func(pid uint32) // test hook: the listener's backend PID

	horizon horizon // how far this Store has read the change feed (feed.go)
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
	_ store.Locker   = (*Store)(nil)
)

// Open connects to the PostgreSQL database at rawURL (a postgres:// or
// postgresql:// URL, or a key=value connection string; "" means the
// PKID_STORE environment variable), checks that it is reachable and
// applies any pending schema migrations. Errors name the URL with its
// password removed. The URL may tune the pool (pool_max_conns, default
// 16) and sets connect_timeout (default 10 s) as libpq does.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	if rawURL == "" {
		rawURL = os.Getenv("PKID_STORE")
	}
	if rawURL == "" {
		return nil, errors.New("open store: no PostgreSQL URL (pass postgres://user@host/db or set PKID_STORE)")
	}
	shown := RedactURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", shown, scrub(err, rawURL))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if !strings.Contains(rawURL, "pool_max_conns") && cfg.MaxConns < defaultMaxConns {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", shown, scrub(err, rawURL))
	}
	s := &Store{pool: pool, url: shown, listenRetry: 200 * time.Millisecond}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: cannot connect: %w (is PostgreSQL running there, and may this user log in?)", shown, scrub(err, rawURL))
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", shown, scrub(err, rawURL))
	}
	return s, nil
}

// URL returns the store's URL without its password.
func (s *Store) URL() string { return s.url }

// Close stops the change listener and closes every connection. Every
// committed change is already durable.
func (s *Store) Close() error {
	s.listenMu.Lock()
	stop, done := s.stopListen, s.listenDone
	s.closed = true
	s.listenMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	s.pool.Close()
	return nil
}

var passwordParam = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// RedactURL returns a connection string fit for messages and logs: the
// password of user:password@ and any password parameter are replaced by
// "xxxxx".
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return passwordParam.ReplaceAllString(raw, "${1}xxxxx")
}

// scrub removes the password from an error's text should a driver message
// ever quote the connection string.
func scrub(err error, raw string) error {
	if err == nil {
		return nil
	}
	pw := ""
	if u, e := url.Parse(raw); e == nil && u.User != nil {
		pw, _ = u.User.Password()
	}
	if m := passwordParam.FindStringSubmatch(raw); pw == "" && m != nil {
		pw = strings.Trim(m[2], "'")
	}
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return scrubbed{err, strings.ReplaceAll(err.Error(), pw, "xxxxx")}
}

type scrubbed struct {
	err error
	msg string
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// hint adds what a user can do about a lost or refused connection.
func (s *Store) hint(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P: the server is shutting
		// down, restarting or not yet accepting connections.
		if !strings.HasPrefix(pe.Code, "08") && !strings.HasPrefix(pe.Code, "57P") {
			return err
		}
	} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *pgconn.ConnectError
	if pe != nil || errors.As(err, &ce) || pgconn.Timeout(err) || isConnLost(err) {
		return fmt.Errorf("%w (the database %s is unreachable or restarting; pkid reconnects on the next request)", err, s.url)
	}
	return err
}

func isConnLost(err error) bool {
	msg := err.Error()
	for _, s := range []string{"conn closed", "unexpected EOF", "connection reset", "broken pipe", "connection refused", "terminating connection", "the database system is"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retry runs fn and runs it once more when the first attempt failed
// without sending anything to the server (a pooled connection that died
// with a server restart), which is safe for writes too.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	err := fn()
	if err != nil && pgconn.SafeToRetry(err) && ctx.Err() == nil {
		err = fn()
	}
	return s.hint(err)
}

// tx runs fn in one transaction and commits it when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// feed is a feed-writing transaction. Its revisions come from the
// feed_revision sequence, so feed writers on every node run and commit
// concurrently (PostgreSQL flushes their commits together); readers keep
// the order (feed.go).
type feed struct {
	tx      pgx.Tx
	rev     int64 // the last revision this transaction appended
	changed bool
}

// writeFeed runs fn in a transaction; fn appends its changes with
// f.append. When any were appended, NOTIFY pkid_changes is sent, committed
// with fn's writes.
func (s *Store) writeFeed(ctx context.Context, fn func(f *feed) error) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		f := &feed{tx: tx}
		if err := fn(f); err != nil {
			return err
		}
		if !f.changed {
			return nil
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify('pkid_changes', $1::bigint::text)`, f.rev); err != nil {
			return fmt.Errorf("notify the change feed: %w", err)
		}
		return nil
	})
}

// appendQuery appends one change with a fresh revision. DO NOTHING: a
// reader has already declared that revision a gap (a tombstone row, see
// feed.go) between our nextval and our insert; no row comes back and
// append draws another. The revision is drawn and inserted in one
// statement, so that window is tiny.
const appendQuery = `INSERT INTO changes (revision, kind, ca_id, serial, at)
	VALUES (nextval('feed_revision'), $1, $2, $3, $4) ON CONFLICT (revision) DO NOTHING RETURNING revision`

// append adds one change-feed record and returns its revision.
func (f *feed) append(ctx context.Context, kind store.ChangeKind, caID, serial string, at time.Time) (int64, error) {
	for range maxAppendTries {
		var rev int64
		err := f.tx.QueryRow(ctx, appendQuery, string(kind), caID, serial, at).Scan(&rev)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("append %s change: %w", kind, err)
		}
		f.rev, f.changed = rev, true
		return rev, nil
	}
	return 0, fmt.Errorf("append %s change: %d revisions in a row were declared gaps by readers", kind, maxAppendTries)
}

// maxAppendTries bounds how often a writer draws a new revision after
// readers declared the one drawn a gap (each time needs a reader to scan
// between our nextval and insert: practically never twice).
const maxAppendTries = 10

// ts converts a time for storage: zero is NULL.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// fromTS converts a stored time back; NULL is the zero time.
func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// pgCode returns the SQLSTATE and constraint of a server error.
func pgCode(err error) (code, constraint, detail string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName, pe.Detail
	}
	return "", "", ""
}

const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)
