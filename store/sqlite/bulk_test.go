package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pkid/pkid/store"
)

// journalMode reads the journal mode through tx's connection.
func journalMode(t *testing.T, tx store.DirTx) string {
	t.Helper()
	var mode string
	if err := tx.(*dirTx).tx.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	return mode
}

// cacheSize reads the page cache setting of tx's connection.
func cacheSize(t *testing.T, tx store.DirTx) int {
	t.Helper()
	var n int
	if err := tx.(*dirTx).tx.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// putEntries writes n entries under a new naming context o=bulk.
func putEntries(t *testing.T, tx store.DirTx, n int) {
	t.Helper()
	top := &store.DirEntry{DN: "o=bulk", NormDN: "o=bulk", Data: []byte{1}}
	if err := tx.Put(top); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		dn := fmt.Sprintf("uid=u%d,o=bulk", i)
		e := &store.DirEntry{ParentID: top.ID, DN: dn, NormDN: dn, Data: []byte{1},
			Index: []store.DirIndexKey{{Attr: "uid", Value: fmt.Sprintf("u%d", i)}}}
		if err := tx.Put(e); err != nil {
			t.Fatal(err)
		}
	}
}

func countEntries(t *testing.T, st *Store) int {
	t.Helper()
	n := 0
	if err := st.DirSearch(t.Context(), store.DirQuery{Scope: store.DirSub}, func(*store.DirEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDirBulkUpdate: a bulk update alone on the database runs with a
// rollback journal and puts the WAL back after; with another process's
// connection open it runs in WAL mode without waiting, and a big one
// raises its page cache. Either way it commits everything or, on error,
// nothing, and other connections read the result.
func TestDirBulkUpdate(t *testing.T) {
	tests := []struct {
		name      string
		other     bool // a second Store holds the file open
		fail      bool // fn fails after writing
		pinned    bool // Revision's fast path pinned a connection before
		wantMode  string
		wantCache int // the page cache at the end of fn
	}{
		{"alone", false, false, false, "delete", -16384},
		{"alone, failing", false, true, false, "delete", -16384},
		{"alone, Revision pinned", false, false, true, "delete", -16384},
		{"shared", true, false, false, "wal", -bulkCacheKiB},
		{"shared, failing", true, true, false, "wal", -bulkCacheKiB},
		{"shared, Revision pinned", true, false, true, "wal", -bulkCacheKiB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.pinned && !fastPath {
				t.Skip("Revision's fast path (the pin) is Linux only")
			}
			st := openTemp(t)
			defer st.Close()
			var other *Store
			if tc.other {
				var err error
				if other, err = Open(t.Context(), st.Path()); err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				countEntries(t, other) // its connection is open
			}
			if tc.pinned {
				if _, err := st.Revision(t.Context()); err != nil || !fastPathOn(st) {
					t.Fatalf("Revision = %v, fast path %v; want it on", err, fastPathOn(st))
				}
			}
			boom := errors.New("boom")
			rev, err := st.DirBulkUpdate(t.Context(), func(tx store.DirTx) error {
				putEntries(t, tx, bulkPuts+10)
				if got := journalMode(t, tx); got != tc.wantMode {
					t.Errorf("journal mode during the update = %q, want %q", got, tc.wantMode)
				}
				if got := cacheSize(t, tx); got != tc.wantCache {
					t.Errorf("page cache = %d, want %d", got, tc.wantCache)
				}
				if tc.fail {
					return boom
				}
				return nil
			})
			want := bulkPuts + 11
			if tc.fail {
				want = 0
				if !errors.Is(err, boom) {
					t.Fatalf("DirBulkUpdate = %v, want boom", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Store{st, other} {
				if s == nil {
					continue
				}
				if got := countEntries(t, s); got != want {
					t.Errorf("%d entries stored, want %d", got, want)
				}
				if got, err := s.Revision(t.Context()); err != nil || got != feedEnd(t, s) || !tc.fail && got != rev {
					t.Errorf("Revision after = %d, %v; want %d (the update's %d)", got, err, feedEnd(t, s), rev)
				}
			}
			// Back in WAL mode, for this process and any other.
			var mode string
			if err := st.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal mode after = %q, %v; want wal", mode, err)
			}
			if _, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
				return tx.Put(&store.DirEntry{DN: "o=after", NormDN: "o=after", Data: []byte{1}})
			}); err != nil {
				t.Fatalf("DirUpdate after: %v", err)
			}
			checkIntegrity(t, st)
		})
	}
}

// TestDirBulkUpdateCrash: a process killed in the middle of a bulk update
// (rollback journal, pages already written to the database file) leaves
// nothing of it, and the database reopens intact and in WAL mode.
func TestDirBulkUpdateCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	db := filepath.Join(t.TempDir(), "pkid.db")
	st, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		return tx.Put(&store.DirEntry{DN: "o=before", NormDN: "o=before", Data: []byte{1}})
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	killAfter(t, helper(t, "crash-bulk", db), 40) // about 20,000 entries, 40 MB
	if fi, err := os.Stat(db + "-journal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no hot journal after the crash (%v): the update did not run with a rollback journal", err)
	}
	st, err = Open(t.Context(), db)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer st.Close()
	if got := countEntries(t, st); got != 1 {
		t.Errorf("%d entries after the crash, want only o=before", got)
	}
	var mode string
	if err := st.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode after reopening = %q, %v; want wal", mode, err)
	}
	checkIntegrity(t, st)
}

// TestIndexRuns: index rows are written per attribute, in runs longer and
// shorter than one statement, with the attribute as an SQL literal; every
// row is found again, including an attribute name that needs quoting.
func TestIndexRuns(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	attrs := []struct {
		name string
		n    int // entries holding it
	}{
		{"cn", indexBatch*2 + 3},
		{"mail", 1},
		{"o'x", indexBatch},
		{"uid", indexBatch + 1},
	}
	total := 0
	for _, a := range attrs {
		total = max(total, a.n)
	}
	if _, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		for i := range total {
			dn := fmt.Sprintf("o=e%d", i)
			e := &store.DirEntry{DN: dn, NormDN: dn, Data: []byte{1}}
			for _, a := range attrs {
				if i < a.n {
					e.Index = append(e.Index, store.DirIndexKey{Attr: a.name, Value: fmt.Sprint(i % 7)})
				}
			}
			if err := tx.Put(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		for v := range 7 {
			want := 0
			for i := range a.n {
				if i%7 == v {
					want++
				}
			}
			got := 0
			key := store.DirIndexKey{Attr: a.name, Value: fmt.Sprint(v)}
			if err := st.DirSearch(t.Context(), store.DirQuery{Scope: store.DirSub, Index: &key}, func(*store.DirEntry) error { got++; return nil }); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s=%d: %d entries, want %d", a.name, v, got, want)
			}
		}
	}
	var rows int
	if err := st.db.QueryRowContext(t.Context(), "SELECT count(*) FROM dir_index").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := attrs[0].n + attrs[1].n + attrs[2].n + attrs[3].n; rows != want {
		t.Errorf("%d index rows, want %d", rows, want)
	}
}

// TestIndexSortAhead: with chunks sorted on other goroutines while
// entries go on being stored, merged, and written whenever the queue is
// full, every index row is written once, and an entry replaced
// mid-transaction (which reads and deletes its rows) sees every row queued
// or being sorted before it.
func TestIndexSortAhead(t *testing.T) {
	defer func(n, c int) { pendingMax, indexChunkRows = n, c }(pendingMax, indexChunkRows)
	pendingMax, indexChunkRows = 40, 7
	st := openTemp(t)
	defer st.Close()
	const n = 100
	keys := func(i int, tag string) []store.DirIndexKey {
		return []store.DirIndexKey{
			{Attr: "cn", Value: fmt.Sprintf("%s%d", tag, i)},
			{Attr: "objectclass", Value: "person"},
			{Attr: "uid", Value: fmt.Sprintf("u%d", i)},
		}
	}
	if _, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		var ids []int64
		for i := range n {
			if i == n/2 {
				// Replace entry 5: its old rows must be gone, whether they
				// were written, queued or being sorted.
				e := &store.DirEntry{ID: ids[5], DN: "o=e5", NormDN: "o=e5", Data: []byte{2}, Index: keys(5, "new")}
				if err := tx.Put(e); err != nil {
					return err
				}
			}
			dn := fmt.Sprintf("o=e%d", i)
			e := &store.DirEntry{DN: dn, NormDN: dn, Data: []byte{1}, Index: keys(i, "old")}
			if err := tx.Put(e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	count := func(attr, value string) int {
		got := 0
		key := store.DirIndexKey{Attr: attr, Value: value}
		if err := st.DirSearch(t.Context(), store.DirQuery{Scope: store.DirSub, Index: &key}, func(*store.DirEntry) error { got++; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		attr, value string
		want        int
	}{
		{"objectclass", "person", n},
		{"cn", "old5", 0},
		{"cn", "new5", 1},
		{"cn", "old6", 1},
		{"cn", fmt.Sprintf("old%d", n-1), 1},
		{"uid", "u5", 1},
	} {
		if got := count(tc.attr, tc.value); got != tc.want {
			t.Errorf("%s=%s: %d entries, want %d", tc.attr, tc.value, got, tc.want)
		}
	}
	var rows int
	if err := st.db.QueryRowContext(t.Context(), "SELECT count(*) FROM dir_index").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 3*n {
		t.Errorf("%d index rows, want %d", rows, 3*n)
	}
}

// TestIndexQueueOrder: rows queued in any order, across several chunks
// sorted on other goroutines, drain in byte order, each exactly once.
func TestIndexQueueOrder(t *testing.T) {
	defer func(c int) { indexChunkRows = c }(indexChunkRows)
	for _, tc := range []struct {
		name      string
		chunkRows int
		rows      int
	}{
		{"one partial chunk", 100, 37},
		{"full chunks only", 10, 50},
		{"many chunks and a partial one", 7, 501},
		{"one row", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			indexChunkRows = tc.chunkRows
			var q indexQueue
			var want []string
			for i := range tc.rows {
				// Values shuffled by a multiplier; attributes interleaved.
				k := store.DirIndexKey{Attr: []string{"uid", "cn", "objectclass"}[i%3], Value: fmt.Sprint(i * 7919 % 1009)}
				id := int64(tc.rows - i)
				q.add(k, id)
				want = append(want, string(newRow(k, id)))
			}
			slices.Sort(want)
			var got []string
			if err := q.drain(func(row []byte) error { got = append(got, string(row)); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("drained %d rows out of order or incomplete, want %d", len(got), len(want))
			}
			if q.n != 0 || len(q.sorted) != 0 || len(q.cur.spans) != 0 {
				t.Errorf("queue not empty after drain: %d rows", q.n)
			}
		})
	}
}

// newRow is a row as indexQueue.add encodes it.
func newRow(k store.DirIndexKey, id int64) []byte {
	var q indexQueue
	q.add(k, id)
	return q.cur.row(0)
}

// TestKnownParents: entries inserted in turn are known parents without a
// query, and one deleted or renamed in the same transaction is not,
// wherever it lies in that run of IDs.
func TestKnownParents(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		ids := map[string]int64{}
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			e := &store.DirEntry{DN: "o=" + n, NormDN: "o=" + n, Data: []byte{1}}
			if err := tx.Put(e); err != nil {
				return err
			}
			ids[n] = e.ID
		}
		if err := tx.Delete(ids["c"]); err != nil { // inside the run
			return err
		}
		if err := tx.Delete(ids["e"]); err != nil { // its end
			return err
		}
		if err := tx.Rename(ids["a"], "o=a2", "o=a2"); err != nil { // its start
			return err
		}
		for _, tc := range []struct {
			parent string
			want   error
		}{
			// o=e first: SQLite gives the next new entry the highest ID
			// again once o=e, which had it, is gone.
			{"e", store.ErrNotFound},
			{"c", store.ErrNotFound},
			{"a", nil}, // renamed, still there: found by a query
			{"b", nil},
			{"d", nil},
		} {
			dn := "cn=x,o=" + tc.parent
			err := tx.Put(&store.DirEntry{ParentID: ids[tc.parent], DN: dn, NormDN: dn, Data: []byte{1}})
			if !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				return fmt.Errorf("child of o=%s: Put = %v, want %v", tc.parent, err, tc.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// feedEnd reads the newest revision with a query of its own, bypassing
// Revision and its counter.
func feedEnd(t testing.TB, st *Store) int64 {
	t.Helper()
	var rev sql.NullInt64
	if err := st.db.QueryRowContext(context.Background(), `SELECT max(revision) FROM changes`).Scan(&rev); err != nil {
		t.Fatal(err)
	}
	return rev.Int64
}
