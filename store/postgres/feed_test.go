package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store"
)

// drawn is a feed writer caught mid-transaction, as another node's might
// be: it has drawn revision rev from the sequence and, if inserted, holds
// its change row uncommitted.
type drawn struct {
	tx  pgx.Tx
	rev int64
}

func draw(t *testing.T, st *Store, insert bool) *drawn {
	t.Helper()
	ctx := t.Context()
	tx, err := st.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	d := &drawn{tx: tx}
	if insert {
		err = tx.QueryRow(ctx, appendQuery, string(store.ChangeCA), "a", "", time.Now()).Scan(&d.rev)
	} else {
		err = tx.QueryRow(ctx, `SELECT nextval('feed_revision')`).Scan(&d.rev)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func revisions(cs []store.Change) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.Revision)
	}
	return out
}

// TestFeedWaitsForEarlierRevision: a transaction that drew a revision
// commits after one that drew a later revision. A reader asking meanwhile
// must not report the later one without the earlier (it would never look
// below it again); it waits for the earlier transaction and then sees
// both, in order. Rolled back, the earlier revision becomes a gap that
// Changes never returns and that no one can commit any more.
func TestFeedWaitsForEarlierRevision(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			url := pgtest.Start(t)
			writer, reader := mustOpen(t, url), mustOpen(t, url)
			ctx := t.Context()
			if err := writer.CreateCA(ctx, &store.CA{ID: "a", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			before, err := reader.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			early := draw(t, writer, true)
			late := &store.Certificate{Serial: "01", CAID: "a"}
			if err := writer.AddCertificates(ctx, []*store.Certificate{late}); err != nil {
				t.Fatal(err)
			}
			if late.Revision <= early.rev {
				t.Fatalf("revisions drawn out of order: %d then %d", early.rev, late.Revision)
			}
			type result struct {
				changes []store.Change
				err     error
			}
			got := make(chan result, 1)
			go func() {
				cs, err := reader.Changes(ctx, before, 0)
				got <- result{cs, err}
			}()
			// Give the reader time to run into the uncommitted row; what
			// it returns must not depend on how long that takes.
			time.Sleep(200 * time.Millisecond)
			if commit {
				if err := early.tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				early.tx.Rollback(ctx)
			}
			r := <-got
			if r.err != nil {
				t.Fatal(r.err)
			}
			want := []int64{early.rev, late.Revision}
			if !commit {
				want = want[1:]
			}
			if revs := revisions(r.changes); !slices.Equal(revs, want) {
				t.Errorf("Changes after %d = %v; want %v", before, revs, want)
			}
			if rev, err := reader.Revision(ctx); err != nil || rev != late.Revision {
				t.Errorf("Revision = %d, %v; want %d", rev, err, late.Revision)
			}
			if !commit {
				// The gap is final: a writer that drew it cannot commit it.
				_, err := writer.pool.Exec(ctx, `INSERT INTO changes (revision, kind, at) VALUES ($1, 'ca', now())`, early.rev)
				if code, constraint, _ := pgCode(err); code != uniqueViolation || constraint != "changes_pkey" {
					t.Errorf("inserting the rolled-back revision %d: %v; want a changes_pkey violation", early.rev, err)
				}
			}
		})
	}
}

// TestFeedGapBeatsSlowWriter: a writer drew a revision but has not
// inserted it when a reader finds a later revision committed. The reader
// declares it a gap and moves on; the writer's append then draws a new
// revision (above the one reported), so nothing it commits is ever below
// what a reader has seen.
func TestFeedGapBeatsSlowWriter(t *testing.T) {
	url := pgtest.Start(t)
	writer, reader := mustOpen(t, url), mustOpen(t, url)
	ctx := t.Context()
	if err := writer.CreateCA(ctx, &store.CA{ID: "a", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	slow := draw(t, writer, false)
	late := &store.Certificate{Serial: "01", CAID: "a"}
	if err := writer.AddCertificates(ctx, []*store.Certificate{late}); err != nil {
		t.Fatal(err)
	}
	if rev, err := reader.Revision(ctx); err != nil || rev != late.Revision {
		t.Fatalf("Revision = %d, %v; want %d (the drawn %d declared a gap)", rev, err, late.Revision, slow.rev)
	}
	// The slow writer inserts the revision it drew: DO NOTHING, no row.
	var rev int64
	err := slow.tx.QueryRow(ctx, `INSERT INTO changes (revision, kind, at) VALUES ($1, 'ca', now())
		ON CONFLICT (revision) DO NOTHING RETURNING revision`, slow.rev).Scan(&rev)
	if err != pgx.ErrNoRows {
		t.Fatalf("insert of the gap revision %d: %d, %v; want no row", slow.rev, rev, err)
	}
	// Through the store, the same writer's append draws again.
	f := &feed{tx: slow.tx}
	rev, err = f.append(ctx, store.ChangeCA, "a", "", time.Now())
	if err != nil || rev <= late.Revision {
		t.Fatalf("append after the gap: %d, %v; want above %d", rev, err, late.Revision)
	}
	if err := slow.tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := reader.Changes(ctx, late.Revision, 0)
	if err != nil || !slices.Equal(revisions(cs), []int64{rev}) {
		t.Errorf("Changes after %d = %v, %v; want [%d]", late.Revision, revisions(cs), err, rev)
	}
}

// TestFeedConcurrentWriters: writers on two Store handles issue and revoke
// at once (nothing serialises them) while a third handle follows the feed
// with store.Watch. The watcher sees strictly increasing revisions, and
// every revision a writer was told about, each exactly once.
func TestFeedConcurrentWriters(t *testing.T) {
	url := pgtest.Start(t)
	nodes := []*Store{mustOpen(t, url), mustOpen(t, url)}
	watcher := mustOpen(t, url)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := nodes[0].CreateCA(ctx, &store.CA{ID: "a", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	start, err := watcher.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []int64
	watched := make(chan struct{})
	var want sync.Map // revisions acknowledged to writers
	go func() {
		defer close(watched)
		for cs := range store.Watch(ctx, watcher, start, 5*time.Millisecond) {
			mu.Lock()
			for _, c := range cs {
				seen = append(seen, c.Revision)
			}
			mu.Unlock()
		}
	}()
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		st := nodes[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				serial := fmt.Sprintf("%02X%04X", w+1, i)
				batch := []*store.Certificate{{Serial: serial, CAID: "a"}}
				if i%10 == 9 {
					// Now and then a batch big enough for COPY.
					for j := range copyThreshold {
						batch = append(batch, &store.Certificate{Serial: fmt.Sprintf("%02X%04XFF%02X", w+1, i, j), CAID: "a"})
					}
				}
				if err := st.AddCertificates(ctx, batch); err != nil {
					t.Error(err)
					return
				}
				for _, c := range batch {
					want.Store(c.Revision, true)
				}
				if i%2 == 1 {
					c, err := st.Revoke(ctx, serial, store.Revocation{Reason: 1})
					if err != nil {
						t.Error(err)
						return
					}
					want.Store(c.Revision, true)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var acked []int64
	want.Range(func(k, _ any) bool { acked = append(acked, k.(int64)); return true })
	slices.Sort(acked)
	// Wait until the watcher has as many as were acknowledged (or give up
	// after 30 s and report the difference).
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= len(acked) {
			break
		}
	}
	cancel()
	<-watched
	if !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
		t.Errorf("the watcher saw revisions out of order or twice")
	}
	if !slices.Equal(seen, acked) {
		t.Errorf("the watcher saw %d revisions, the writers were given %d; first difference at %d", len(seen), len(acked), firstDiff(seen, acked))
	}
	// The watcher raised the watermark on the way (every persistEvery); a
	// new handle starts from it and reaches the same revision.
	var mark int64
	if err := watcher.pool.QueryRow(t.Context(), `SELECT resolved FROM feed_watermark`).Scan(&mark); err != nil || mark < persistEvery {
		t.Errorf("watermark %d, %v; want at least %d after %d revisions", mark, err, persistEvery, len(acked))
	}
	if rev, err := mustOpen(t, url).Revision(t.Context()); err != nil || rev != acked[len(acked)-1] {
		t.Errorf("a new handle's Revision = %d, %v; want %d", rev, err, acked[len(acked)-1])
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
