//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sync"
	"syscall"

	"github.com/pkid/pkid/store"
)

var _ store.Locker = (*Store)(nil)

// TryLock takes the named lock (store.Locker) with flock(2) on a file
// beside the database, PATH-lock-HASH (mode 0600), so that of the
// processes sharing the file (pkid serve and a CLI command), one at a time
// does the named job. The lock is released by unlock or when the process
// dies. It never waits: ok is false while another handle holds it.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	path := fmt.Sprintf("%s-lock-%016x", s.path, h.Sum64())
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("lock %q: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %q (%s): %w", name, path, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, true, nil // closing releases the flock
}
