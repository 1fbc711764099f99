package store

import (
	"context"
	"time"
)

// DefaultWatchInterval is how often Watch polls when given no interval:
// often enough that a revocation made by another process reaches servers
// well within a second, and cheap, since Revision is one indexed lookup.
const DefaultWatchInterval = 100 * time.Millisecond

// watchBatch bounds how many changes Watch reads per query, so catching up
// after a bulk import never loads the whole feed at once.
const watchBatch = 1000

// Watch tells a server about changes made through any Store handle,
// including ones in other processes. It polls st.Revision every interval
// (DefaultWatchInterval if interval <= 0) and, whenever the revision has
// moved past the last one delivered, sends the new changes (Revision >
// after, oldest first, in batches of at most 1,000) on the returned channel.
// The channel is unbuffered: a slow receiver delays polling, never loses
// changes. It is closed when ctx is done and Watch has stopped reading the
// store: drain it before closing st, or a read still in flight may reopen
// or touch the database after Close returned.
//
// If the store's revision falls below the last one delivered (a database
// restored from a backup), Watch continues from the store's revision.
//
// A store that is a Notifier (PostgreSQL) wakes Watch as soon as a change
// is committed anywhere; Watch then polls only every interval as the
// fallback for a lost notification (NotifyFallbackInterval if interval <=
// 0).
//
// Errors from the store (a locked or briefly unreadable database) are
// retried at the next tick; callers that must notice an unusable store
// should also check it themselves.
func Watch(ctx context.Context, st Store, after int64, interval time.Duration) <-chan []Change {
	var wake <-chan struct{} // nil: never fires
	if n, ok := st.(Notifier); ok {
		wake = n.Notify(ctx)
		if interval <= 0 {
			interval = NotifyFallbackInterval
		}
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	ch := make(chan []Change)
	go func() {
		defer close(ch)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			after = deliver(ctx, st, after, ch)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case _, ok := <-wake:
				if !ok {
					wake = nil
				}
			}
		}
	}()
	return ch
}

// deliver sends every change after after and returns the last revision sent.
func deliver(ctx context.Context, st Store, after int64, ch chan<- []Change) int64 {
	rev, err := st.Revision(ctx)
	if err != nil {
		return after
	}
	if rev < after {
		// The store went back in time (restored from a backup): follow it,
		// or nothing would be delivered until it passed the old revision.
		return rev
	}
	for after < rev {
		changes, err := st.Changes(ctx, after, watchBatch)
		if err != nil || len(changes) == 0 {
			return after
		}
		select {
		case ch <- changes:
		case <-ctx.Done():
			return after
		}
		after = changes[len(changes)-1].Revision
	}
	return after
}
