//go:build !linux

package sqlite

import (
	"context"
	"sync/atomic"
)

// walIndex is off outside Linux, where no file lists a process's
// mappings (/proc/self/maps): Revision always queries.
type walIndex struct {
	// queries counts Revision's queries, as on Linux.
	queries atomic.Int64
}

func (w *walIndex) hold() (release func()) { return func() {} }

func (w *walIndex) close() {}

// Revision returns the newest change-feed revision (0 when empty): one
// lookup at the end of the feed's primary-key index.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	return s.queryRevision(ctx)
}
