package store

import (
	"context"
	"time"
)

// Notifier is implemented by stores that can push a wake-up when any
// process or node commits a change (store/postgres: LISTEN/NOTIFY). Watch
// uses it to deliver changes at once and then polls only every
// NotifyFallbackInterval, to catch a notification lost with a dropped
// connection.
type Notifier interface {
	// Notify returns a channel that receives a value soon after a change
	// is committed through any Store handle on the same data. Wake-ups may
	// be coalesced or spurious (the receiver re-reads Revision), and the
	// implementation also sends one after reconnecting, since notifications
	// sent meanwhile are lost. The channel is closed when ctx is done.
	Notify(ctx context.Context) <-chan struct{}
}

// NotifyFallbackInterval is how often Watch polls a store that is a
// Notifier when given no interval: notifications carry the changes within
// milliseconds, so polling is only the safety net for a lost one, and it
// still recovers it within a second.
const NotifyFallbackInterval = time.Second

// Locker is implemented by stores that several nodes share, to elect one
// of them for a job such as signing the next CRL of a CA.
type Locker interface {
	// TryLock takes the named lock if no other Store handle (in any
	// process or node) holds it: ok reports whether it did, and unlock
	// releases it (safe to call more than once). It never waits. The lock
	// is also released when the holder's process or database connection
	// dies, so it is a way to avoid duplicate work, not a guarantee on its
	// own: the store still never reuses a CRL number and ignores a CRL not
	// newer than the stored one.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// TryLock takes the named lock through st's Locker. A store that is not a
// Locker (one in-process SQLite database) has no other node to exclude:
// TryLock then succeeds at once with a no-op unlock.
func TryLock(ctx context.Context, st Store, name string) (unlock func(), ok bool, err error) {
	if l, isLocker := st.(Locker); isLocker {
		return l.TryLock(ctx, name)
	}
	return func() {}, true, nil
}
