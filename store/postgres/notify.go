package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the NOTIFY channel every feed-writing transaction signals,
// with the new revision as payload.
const channel = "pkid_changes"

// maxListenRetry bounds the listener's reconnection backoff while the
// database stays unreachable (Watch polls meanwhile).
const maxListenRetry = 5 * time.Second

// Notify returns a channel that receives a value soon after any node
// commits a change (store.Notifier). All subscribers of a Store share one
// LISTEN connection, started on first use; each time LISTEN takes effect
// (at first and after reconnecting when the connection was lost) the
// listener wakes every subscriber, because notifications sent before were
// delivered to nobody. Wake-ups are coalesced: a subscriber that has not
// yet taken the last one gets no second. The channel is closed when ctx is
// done or the Store is closed.
func (s *Store) Notify(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.listenMu.Lock()
	if s.closed {
		s.listenMu.Unlock()
		close(ch)
		return ch
	}
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	s.subs[ch] = struct{}{}
	if !s.listening {
		lctx, stop := context.WithCancel(context.Background())
		s.listening, s.stopListen, s.listenDone = true, stop, make(chan struct{})
		go s.listen(lctx, s.listenDone)
	}
	done := s.listenDone
	s.listenMu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		s.listenMu.Lock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
		s.listenMu.Unlock()
	}()
	return ch
}

// wakeAll signals every subscriber without blocking.
func (s *Store) wakeAll() {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// listen holds the LISTEN connection until ctx is done, reconnecting after
// listenRetry whenever it is lost.
func (s *Store) listen(ctx context.Context, done chan struct{}) {
	defer func() {
		s.listenMu.Lock()
		for ch := range s.subs {
			delete(s.subs, ch)
			close(ch)
		}
		s.listenMu.Unlock()
		close(done)
	}()
	delay := s.listenRetry
	for {
		began := time.Now()
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			delay = s.listenRetry // it was up for a while: a new outage
		}
		slog.Warn("store change listener lost its connection; polling until it is back", "store", s.url, "err", err, "retry", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, max(s.listenRetry, maxListenRetry))
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	if s.listenPID != nil {
		s.listenPID(conn.PgConn().PID())
	}
	// What was committed before LISTEN took effect (since the first
	// subscriber arrived, or while the connection was lost) was notified
	// to nobody: wake everyone to look.
	s.wakeAll()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.wakeAll()
	}
}
