package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
)

// TryLock takes the named lock with pg_try_advisory_lock on a connection
// of its own (store.Locker): session-level, so it is held until unlock or
// until that connection or this process dies, and no pooled connection is
// tied up. Names map to 64-bit keys by FNV-1a of "pkid:"+name. It never
// waits: ok is false when another handle holds the lock.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	h := fnv.New64a()
	h.Write([]byte("pkid:" + name))
	key := int64(h.Sum64())
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, false, fmt.Errorf("lock %q on %s: %w", name, s.url, s.hint(err))
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close(context.Background())
		return nil, false, fmt.Errorf("lock %q on %s: %w", name, s.url, s.hint(err))
	}
	if !ok {
		conn.Close(context.Background())
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		// Closing the session releases its advisory locks.
		once.Do(func() { conn.Close(context.Background()) })
	}, true, nil
}
