//go:build !unix

package sqlite

import (
	"context"
	"sync/atomic"
)

// walIndex is off where there is no mmap(2): Revision always queries.
type walIndex struct {
	// queries counts Revision's queries, as on unix.
	queries atomic.Int64
}

func (w *walIndex) hold() (release func()) { return func() {} }

func (w *walIndex) close() {}

// Revision returns the newest change-feed revision (0 when empty): one
// lookup at the end of the feed's primary-key index.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	return s.queryRevision(ctx)
}
