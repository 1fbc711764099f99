package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TryLock takes the named lock with pg_try_advisory_lock (store.Locker):
// session-level, on a pooled connection that stays checked out until
// unlock, so it is held until unlock or until that connection or this
// process dies. Pooled rather than a connection of its own: opening one
// starts a PostgreSQL backend process, which on a busy machine took
// longer than the CRL signing the lock guards, on every poll of a node
// waiting for it. Names map to 64-bit keys by FNV-1a of "pkid:"+name. It
// never waits: ok is false when another handle holds the lock.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	h := fnv.New64a()
	h.Write([]byte("pkid:" + name))
	key := int64(h.Sum64())
	var conn *pgxpool.Conn
	err = s.retry(ctx, func() error {
		if conn != nil {
			conn.Release()
		}
		var err error
		if conn, err = s.pool.Acquire(ctx); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok)
	})
	if err != nil {
		if conn != nil {
			conn.Release()
		}
		return nil, false, fmt.Errorf("lock %q on %s: %w", name, s.url, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			var released bool
			if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released); err != nil || !released {
				// In doubt: closing the session releases every advisory
				// lock it holds, and the pool then drops the connection.
				conn.Conn().Close(ctx)
			}
			conn.Release()
		})
	}, true, nil
}

// unlockTimeout bounds how long unlock waits for the database; after it
// the connection is closed, which releases the lock too.
const unlockTimeout = 5 * time.Second
