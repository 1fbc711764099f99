//go:build linux

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

// dirPut commits one directory entry through st and returns the commit's
// revision.
func dirPut(t testing.TB, st *Store, dn string) int64 {
	t.Helper()
	rev, err := st.DirUpdate(context.Background(), func(tx store.DirTx) error {
		return tx.Put(&store.DirEntry{DN: dn, NormDN: dn, Data: []byte{1}})
	})
	if err != nil {
		t.Fatalf("put %s: %v", dn, err)
	}
	return rev
}

// helperPut commits one directory entry per dn in another process and
// returns the last commit's revision.
func helperPut(t *testing.T, db string, dns ...string) int64 {
	t.Helper()
	out, err := helper(t, "dir-put", db, dns...).Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != len(dns) {
		t.Fatalf("helper printed %q, want %d revisions", out, len(dns))
	}
	rev, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q: %v", out, err)
	}
	return rev
}

// revision calls st.Revision and reports whether it ran its query.
func revision(t testing.TB, st *Store) (rev int64, queried bool) {
	t.Helper()
	before := st.wal.queries.Load()
	rev, err := st.Revision(context.Background())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev, st.wal.queries.Load() != before
}

// fastPath says Revision's fast path exists on this system.
const fastPath = true

// forgetRevision makes st's next Revision run its query.
func forgetRevision(st *Store) { st.wal.last.Store(nil) }

// fastPathOn reports whether st's WAL index is mapped.
func fastPathOn(st *Store) bool {
	st.wal.mu.RLock()
	defer st.wal.mu.RUnlock()
	return st.wal.mem != nil
}

// wantCached checks that Revision answers want without a query, twice.
func wantCached(t *testing.T, st *Store, want int64) {
	t.Helper()
	for range 2 {
		got, queried := revision(t, st)
		if got != want || queried {
			t.Fatalf("Revision = %d (queried %v), want %d from the WAL-index header", got, queried, want)
		}
	}
}

// TestRevisionSeesEveryCommit: Revision answers from memory while nothing
// commits, and a commit made through this Store, another Store of this
// process or another process, before or after a checkpoint that restarts
// the WAL, changes its next answer.
func TestRevisionSeesEveryCommit(t *testing.T) {
	type env struct {
		st, other *Store
		db        string
	}
	tests := []struct {
		name   string
		commit func(t *testing.T, e env) int64 // returns the commit's revision
	}{
		{"this store", func(t *testing.T, e env) int64 { return dirPut(t, e.st, "o=self") }},
		{"another store in this process", func(t *testing.T, e env) int64 { return dirPut(t, e.other, "o=other") }},
		{"another process", func(t *testing.T, e env) int64 { return helperPut(t, e.db, "o=process") }},
		{"another process, after a TRUNCATE checkpoint", func(t *testing.T, e env) int64 {
			checkpoint(t, e.other, "TRUNCATE")
			return helperPut(t, e.db, "o=a", "o=b")
		}},
		{"this store, after a RESTART checkpoint", func(t *testing.T, e env) int64 {
			checkpoint(t, e.other, "RESTART")
			return dirPut(t, e.st, "o=restart")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openTemp(t)
			defer st.Close()
			other := openAgain(t, st)
			before := dirPut(t, other, "o=before")
			if got, _ := revision(t, st); got != before {
				t.Fatalf("first Revision = %d, want %d", got, before)
			}
			if !fastPathOn(st) {
				t.Fatal("the fast path is off after the first Revision")
			}
			wantCached(t, st, before)

			want := tc.commit(t, env{st: st, other: other, db: st.Path()})
			if want <= before || want != feedEnd(t, st) {
				t.Fatalf("commit made revision %d (feed ends at %d), want one after %d", want, feedEnd(t, st), before)
			}
			got, queried := revision(t, st)
			if got != want || !queried {
				t.Fatalf("Revision after the commit = %d (queried %v), want %d from a query", got, queried, want)
			}
			wantCached(t, st, want)
		})
	}
}

// openAgain opens st's file as a second Store (another pool, as another
// part of the process would), closed when the test ends.
func openAgain(t *testing.T, st *Store) *Store {
	t.Helper()
	other, err := Open(t.Context(), st.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// checkpoint runs a WAL checkpoint in mode on st's pool and checks that it
// completed.
func checkpoint(t *testing.T, st *Store, mode string) {
	t.Helper()
	var busy, logFrames, done int
	if err := st.db.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Fatalf("wal_checkpoint(%s) was blocked", mode)
	}
}

// TestRevisionCheckpoint: checkpoints, which rewrite the header (a
// restart) without changing the data, never make Revision wrong, and a
// checkpoint from another connection is not blocked by the pin.
func TestRevisionCheckpoint(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	other := openAgain(t, st)
	for i := range 20 {
		want := dirPut(t, other, fmt.Sprintf("o=c%d", i))
		if got, _ := revision(t, st); got != want {
			t.Fatalf("round %d: Revision = %d, want %d", i, got, want)
		}
		checkpoint(t, other, []string{"PASSIVE", "FULL", "RESTART", "TRUNCATE"}[i%4])
		if got, _ := revision(t, st); got != want {
			t.Fatalf("round %d: Revision after the checkpoint = %d, want %d", i, got, want)
		}
		wantCached(t, st, want)
	}
	if fi, err := os.Stat(st.Path() + "-wal"); err != nil || fi.Size() != 0 {
		t.Errorf("the WAL after TRUNCATE: %v, %v; want it empty", fi, err)
	}
}

// TestRevisionShmRecreated: the -shm outlives other connections while
// Revision's pin holds it, and when it is deleted and created anew (the
// last connection closed; here by DirBulkUpdate, which releases the pin)
// Revision maps the new file, not the deleted one.
func TestRevisionShmRecreated(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	shm := st.Path() + "-shm"
	start, _ := revision(t, st)
	first := mappedFile(t, st, shm)

	// Only the pin keeps the file open in this process now; another
	// store opens, writes and closes, and it is not the last connection:
	// the -shm stays, and a commit from another process lands in it.
	st.db.SetMaxIdleConns(0)
	st.db.SetMaxIdleConns(maxIdleConns)
	other, err := Open(t.Context(), st.Path())
	if err != nil {
		t.Fatal(err)
	}
	dirPut(t, other, "o=other")
	other.Close()
	if fi, err := os.Stat(shm); err != nil || !os.SameFile(fi, first) {
		t.Fatalf("the -shm was deleted or replaced while pinned: %v", err)
	}
	want := helperPut(t, st.Path(), "o=process")
	if got, _ := revision(t, st); got != want || want <= start {
		t.Fatalf("Revision = %d after another process's commit %d", got, want)
	}

	// A bulk update alone: the -shm goes away with the WAL, and a new
	// one comes with the WAL's return.
	want, err = st.DirBulkUpdate(t.Context(), func(tx store.DirTx) error {
		if fastPathOn(st) {
			t.Error("fast path on during a bulk update")
		}
		if _, err := os.Stat(shm); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the -shm during a rollback-journal bulk update: %v, want it deleted", err)
		}
		if got := journalMode(t, tx); got != "delete" {
			t.Errorf("journal mode during the bulk update = %q, want delete", got)
		}
		return tx.Put(&store.DirEntry{DN: "o=bulk", NormDN: "o=bulk", Data: []byte{1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, queried := revision(t, st); got != want || !queried {
		t.Fatalf("Revision after the bulk update = %d (queried %v), want %d", got, queried, want)
	}
	mappedFile(t, st, shm)
	wantCached(t, st, want)
	want = helperPut(t, st.Path(), "o=after")
	if got, _ := revision(t, st); got != want || want == 0 {
		t.Fatalf("Revision = %d after another process's commit %d into the new -shm", got, want)
	}
}

// TestRevisionPinBlocksRollbackJournal: the pin alone keeps the database
// in WAL mode, so a bulk update by another store of this process or by
// another process, which would switch to a rollback journal and commit
// without touching the -shm if it were alone, runs in WAL mode, and
// Revision sees its commit.
func TestRevisionPinBlocksRollbackJournal(t *testing.T) {
	tests := []struct {
		name string
		bulk func(t *testing.T, db string) (mode string, rev int64)
	}{
		{"another store in this process", func(t *testing.T, db string) (string, int64) {
			other, err := Open(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var mode string
			rev, err := other.DirBulkUpdate(t.Context(), func(tx store.DirTx) error {
				mode = journalMode(t, tx)
				return tx.Put(&store.DirEntry{DN: "o=bulk", NormDN: "o=bulk", Data: []byte{1}})
			})
			if err != nil {
				t.Fatal(err)
			}
			return mode, rev
		}},
		{"another process", func(t *testing.T, db string) (string, int64) {
			out, err := helper(t, "bulk-put", db, "o=bulk").Output()
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			var mode string
			var rev int64
			if _, err := fmt.Sscan(string(out), &mode, &rev); err != nil {
				t.Fatalf("helper printed %q: %v", out, err)
			}
			return mode, rev
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openTemp(t)
			defer st.Close()
			start, _ := revision(t, st)
			// Only the pin holds the database open in this process.
			st.db.SetMaxIdleConns(0)
			st.db.SetMaxIdleConns(maxIdleConns)
			mode, want := tc.bulk(t, st.Path())
			if mode != "wal" {
				t.Errorf("the bulk update ran in journal mode %q beside the pin, want wal", mode)
			}
			if got, _ := revision(t, st); got != want || want <= start {
				t.Fatalf("Revision = %d after the bulk update's commit %d", got, want)
			}
		})
	}
}

// mappedFile checks that st has the file now at shm mapped and returns it.
func mappedFile(t *testing.T, st *Store, shm string) os.FileInfo {
	t.Helper()
	if !fastPathOn(st) {
		t.Fatal("fast path off")
	}
	fi, err := os.Stat(shm)
	if err != nil {
		t.Fatal(err)
	}
	st.wal.mu.RLock()
	ino := st.wal.ino
	st.wal.mu.RUnlock()
	if got := fi.Sys().(*syscall.Stat_t).Ino; uint64(got) != ino {
		t.Fatalf("mapped inode %d, %s is inode %d", ino, shm, got)
	}
	return fi
}

// TestRevisionHeldOff: while the fast path is held off (DirBulkUpdate),
// every Revision runs its query; after, the next one pins again.
func TestRevisionHeldOff(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	want := dirPut(t, st, "o=x")
	revision(t, st)
	release := st.wal.hold()
	for range 3 {
		if got, queried := revision(t, st); got != want || !queried || fastPathOn(st) {
			t.Fatalf("held off: Revision = %d (queried %v, fast path %v), want %d from a query", got, queried, fastPathOn(st), want)
		}
	}
	release()
	if got, _ := revision(t, st); got != want || !fastPathOn(st) {
		t.Fatalf("after release: Revision = %d (fast path %v), want %d with the fast path on", got, fastPathOn(st), want)
	}
	wantCached(t, st, want)
}

// TestRevisionNotWAL: a connection that reads the database with a
// rollback journal is not pinned (there is no -shm to trust), and a
// store whose pin fails answers by query.
func TestRevisionNotWAL(t *testing.T) {
	st := openTemp(t)
	path := st.Path()
	want := dirPut(t, st, "o=x")
	st.Close()
	q := url.Values{}
	q.Add("_pragma", "journal_mode(DELETE)")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := pinWALIndex(t.Context(), conn, path); err == nil || !strings.Contains(err.Error(), `journal mode "delete"`) {
		t.Fatalf("pinWALIndex on a rollback-journal connection: %v, want a journal mode error", err)
	}

	// A store that cannot pin (the pin cannot open its connection) still
	// answers, by query.
	conn.Close()
	db.Close()
	st, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.dsn = "file:" + filepath.Join(t.TempDir(), "missing", "x.db") // the pin cannot open
	for range 2 {
		if got, queried := revision(t, st); got != want || !queried || fastPathOn(st) {
			t.Fatalf("Revision = %d (queried %v, fast path %v), want %d from a query", got, queried, fastPathOn(st), want)
		}
	}
	// The second call did not try again (1 s had not passed); each
	// failure in a row doubles the wait, up to maxPinRetry.
	for _, wait := range []time.Duration{pinRetry, 2 * pinRetry, 4 * pinRetry} {
		if st.wal.retry != wait {
			t.Fatalf("wait before the next pin = %v, want %v", st.wal.retry, wait)
		}
		st.wal.nextPin.Store(0) // as if the wait were over
		revision(t, st)
	}
	st.wal.retry = maxPinRetry
	st.wal.nextPin.Store(0)
	revision(t, st)
	if st.wal.retry != maxPinRetry {
		t.Fatalf("wait before the next pin = %v, want at most %v", st.wal.retry, maxPinRetry)
	}
}

// TestReadHeader: only two equal, initialised copies of a known version
// are trusted.
func TestReadHeader(t *testing.T) {
	valid := func() []byte {
		b := make([]byte, walIndexMin)
		for _, off := range []int{0, 48} {
			binary.NativeEndian.PutUint32(b[off:], walIndexVersion)
			binary.NativeEndian.PutUint32(b[off+8:], 7) // iChange
			b[off+12] = 1                               // isInit
			binary.NativeEndian.PutUint16(b[off+14:], 4096)
			binary.NativeEndian.PutUint32(b[off+16:], 42) // mxFrame
		}
		return b
	}
	tests := []struct {
		name   string
		change func(b []byte)
		ok     bool
	}{
		{"valid", func([]byte) {}, true},
		{"copies differ (torn)", func(b []byte) { b[48+16]++ }, false},
		{"copy 0 half written", func(b []byte) { b[8]++ }, false},
		{"not initialised", func(b []byte) { b[12], b[48+12] = 0, 0 }, false},
		{"unknown version", func(b []byte) { b[0]++; b[48]++ }, false},
		{"all zero", func(b []byte) { clear(b) }, false},
		{"big-endian checksums (irrelevant)", func(b []byte) { b[13], b[48+13] = 1, 1 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.change(b)
			if _, ok := readHeader(b); ok != tc.ok {
				t.Errorf("readHeader ok = %v, want %v", ok, tc.ok)
			}
		})
	}
}

// TestRevisionClose: Close stops reading the mapping, and a Revision after Close fails
// instead of pinning again.
func TestRevisionClose(t *testing.T) {
	st := openTemp(t)
	revision(t, st)
	if !fastPathOn(st) {
		t.Fatal("fast path off after Revision")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fastPathOn(st) || st.wal.pin != nil {
		t.Fatal("Close left the WAL index in use or the pin open")
	}
	if _, err := st.Revision(t.Context()); err == nil {
		t.Error("Revision after Close succeeded")
	}
	if fastPathOn(st) {
		t.Error("Revision after Close pinned again")
	}
	if _, err := os.Stat(st.Path() + "-shm"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the -shm after the last Close: %v, want it deleted", err)
	}
}

// TestRevisionConcurrent (run with -race): readers calling Revision while
// another store commits and bulk updates hold the fast path off and on
// never see a revision go back, and a writer sees its own commit at once.
func TestRevisionConcurrent(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	other := openAgain(t, st)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Go(func() {
			var last int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := st.Revision(context.Background())
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				if got < last {
					t.Errorf("reader %d: Revision went back from %d to %d", r, last, got)
					return
				}
				last = got
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			st.wal.hold()()
		}
	})
	for i := range 100 {
		want := dirPut(t, other, fmt.Sprintf("o=w%d", i))
		if got, err := st.Revision(t.Context()); err != nil || got != want {
			t.Fatalf("Revision right after commit %d = %d, %v", want, got, err)
		}
	}
	close(stop)
	wg.Wait()
}
