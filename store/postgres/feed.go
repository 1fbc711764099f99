package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pkid/pkid/store"
)

// Reading the feed in commit order.
//
// Writers draw revisions from the feed_revision sequence without any lock,
// so a transaction that drew revision 10 may commit after one that drew
// 11. A reader that reported 11 and moved on would never look at 10 again
// (store.Change promises: once r is seen, every lower revision is
// visible). So a Store reports a revision only once every smaller one is
// resolved: its row is committed, or it is a gap that no transaction can
// commit any more.
//
// Each Store keeps its horizon in memory: done (every revision <= done is
// resolved) and last (the newest real change <= done, what Revision
// returns). advance reads the rows above done in order. While they follow
// on without a hole, done moves up. At a hole below a committed row —
// revisions drawn by a transaction still running, or by one that rolled
// back, or lost with the sequence's cache in a crash — it inserts 'gap'
// tombstone rows for the hole with ON CONFLICT DO NOTHING:
//
//   - a hole revision a running transaction has already inserted: the
//     insert waits for that transaction (the unique index makes it), then
//     finds its row committed (nothing inserted) or rolled back (the
//     tombstone goes in);
//   - a hole revision nobody has inserted yet: the tombstone goes in and is
//     committed (synchronously, durable) before done passes it. A writer
//     that drew it and inserts it later conflicts with the tombstone: its
//     single-row appends get no row back and draw again (appendQuery);
//     AddCertificates' statement fails on changes_pkey and runs again.
//
// Either way, once the tombstone statement returns, no transaction can
// ever commit a change at those revisions, and every one committed there
// is visible to later statements: PostgreSQL releases a transaction's
// locks only after its commit is visible. Tombstones are never returned by
// Changes. Writers draw and insert a revision in one statement, so the
// window in which a tombstone can beat the writer is tiny, and a hole is
// usually a transaction about to commit, whose flush the reader waits for.
//
// The feed_watermark row holds a watermark, every revision up to it
// resolved, that a new Store starts from; advance raises it now and then (persistEvery).

// scanBatch bounds the rows advance reads per query.
const scanBatch = 1000

// persistEvery is how far the horizon moves before a Store raises the
// watermark in feed_watermark.
const persistEvery = 1000

// horizon is a Store's view of the resolved part of the feed.
type horizon struct {
	mu        sync.Mutex
	started   bool
	done      int64 // every revision <= done is resolved
	last      int64 // newest real change <= done
	persisted int64 // the watermark last read or written
}

// advance moves the horizon as far as the committed rows allow, resolving
// holes on the way, and returns it.
func (s *Store) advance(ctx context.Context) (done, last int64, err error) {
	h := &s.horizon
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		var mark, seqLast int64
		var revs []int64
		var gaps []bool
		err := s.retry(ctx, func() error {
			revs, gaps = revs[:0], gaps[:0]
			rows, err := s.pool.Query(ctx, `SELECT f.resolved, q.last_value, c.revision, c.kind = 'gap'
				FROM feed_watermark f CROSS JOIN feed_revision q LEFT JOIN LATERAL (
					SELECT revision, kind FROM changes WHERE revision > greatest($1::bigint, f.resolved)
					ORDER BY revision LIMIT $2) c ON true
				ORDER BY c.revision`, h.done, scanBatch)
			if err != nil {
				return err
			}
			var rev *int64
			var gap *bool
			_, err = pgx.ForEachRow(rows, []any{&mark, &seqLast, &rev, &gap}, func() error {
				if rev != nil {
					revs, gaps = append(revs, *rev), append(gaps, *gap)
				}
				return nil
			})
			return err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("read the change feed: %w", err)
		}
		switch {
		case h.started && seqLast < h.done:
			// The database went back in time (restored from a backup):
			// start again from its watermark (store.Watch follows a
			// revision that goes back).
			h.done = min(mark, seqLast)
			h.last, h.persisted = h.done, h.done
			continue
		case !h.started || mark > h.done && mark <= seqLast:
			// First use, or another Store has resolved further: start from
			// the watermark, a real revision (see persist). The rows were
			// read from above it.
			h.started, h.done, h.last, h.persisted = true, mark, mark, mark
		}
		hole := false
		for i, rev := range revs {
			if rev != h.done+1 {
				if err := s.fillGaps(ctx, h.done+1, rev-1); err != nil {
					return 0, 0, err
				}
				hole = true
				break
			}
			h.done = rev
			if !gaps[i] {
				h.last = rev
			}
		}
		if hole || len(revs) == scanBatch {
			continue // read on from the new horizon
		}
		if h.last-h.persisted >= persistEvery {
			s.persist(ctx, h.last)
			h.persisted = h.last
		}
		return h.done, h.last, nil
	}
}

// fillGaps resolves the revisions from..to, all below a committed row:
// it waits for any transaction that inserted one of them and declares the
// rest gaps, durably.
func (s *Store) fillGaps(ctx context.Context, from, to int64) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO changes (revision, kind, at)
			SELECT g, 'gap', now() FROM generate_series($1::bigint, $2::bigint) AS g
			ON CONFLICT (revision) DO NOTHING`, from, to)
		return err
	})
	if err != nil {
		return fmt.Errorf("resolve change feed revisions %d to %d: %w", from, to, err)
	}
	return nil
}

// persist raises the watermark to rev, a real change every revision up to
// which is resolved. A failure only means a later Store scans a little
// more, so it is not reported.
func (s *Store) persist(ctx context.Context, rev int64) {
	s.pool.Exec(ctx, `UPDATE feed_watermark SET resolved = $1 WHERE resolved < $1`, rev)
}

// Revision returns the newest change-feed revision (0 when empty): the
// newest change every revision below which is resolved (see above).
func (s *Store) Revision(ctx context.Context) (int64, error) {
	_, last, err := s.advance(ctx)
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return last, nil
}

// Changes returns up to limit changes with Revision > after, oldest first
// (limit <= 0: all of them), up to the resolved horizon.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	done, _, err := s.advance(ctx)
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	var out []store.Change
	err = s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT revision, kind, ca_id, serial, at FROM changes
			WHERE revision > $1 AND revision <= $2 AND kind <> 'gap' ORDER BY revision LIMIT $3`, after, done, lim)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Change, error) {
			var c store.Change
			var kind string
			var at pgtype.Timestamptz
			err := r.Scan(&c.Revision, &kind, &c.CAID, &c.Serial, &at)
			c.Kind, c.At = store.ChangeKind(kind), fromTS(at)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	return out, nil
}

// Meta reads a small named setting ("" and ErrNotFound if absent).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read setting %q: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a small named setting, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("write setting %q: %w", key, err)
	}
	return nil
}
