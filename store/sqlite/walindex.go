//go:build linux

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Revision's fast path reads the WAL-index header that SQLite keeps in
// PATH-shm (https://www.sqlite.org/walformat.html, "The WAL-Index
// Header"). Every write transaction that commits in WAL mode, by any
// connection of any process, rewrites that header with iChange one higher
// and a new mxFrame or new salts (sqlite3WalFrames, walIndexWriteHdr), and
// it does so at the moment the commit becomes visible to readers, who take
// mxFrame from it. So while the header holds the same 48 bytes, no commit
// has become visible, and the revision read after the header was last seen
// is still the newest: Revision returns it without asking SQLite.
//
// Where the header is read: in SQLite's own mapping of the -shm (region 0,
// which unixShmMap maps once per process and file and unmaps only in
// unixShmPurge, when the last connection of the process using the file
// closes), found in /proc/self/maps by the device and inode of PATH-shm
// (or, where the kernel prints other numbers than stat(2) gives, by its
// path: findMapping).
// pkid never opens the -shm itself: closing any descriptor of a file drops
// every POSIX lock the process holds on it, SQLite's included (SQLite's
// "How To Corrupt An SQLite Database File", section 2.2); a first version
// that mapped the file through a descriptor of its own made concurrent
// CLI processes fail their commits with SQLITE_IOERR.
//
// Why that mapping stays the file SQLite uses (no check per call): the fast
// path is on only while Store holds a connection of its own (the pin) that
// has read the database in WAL mode. Such a connection keeps the mapping in
// place, a SHARED lock on the database file and a shared lock on the
// -shm's dead-man-switch byte until it closes. SQLite deletes the -shm only
// when the connection closing it got an EXCLUSIVE lock on the database
// file (sqlite3WalClose, unixShmUnmap), truncates it only under an
// exclusive dead-man-switch lock (unixLockSharedMemory), and leaves WAL
// mode only under an EXCLUSIVE lock (sqlite3PagerCloseWal): none of these
// can happen, in this process or another, while the pin is open, so the
// file found when pinning (PATH-shm's inode then) is the current one for
// as long as the pin lives. Every connection of this process shares that
// one mapping, so even someone deleting the file behind SQLite's back
// would make the fast path no staler than SQLite's own reads.
//
// The pin is taken lazily, at the first Revision call, so a CLI command
// that never asks for the revision (pkid ldif import) does not hold an
// extra connection; DirBulkUpdate releases it for its duration, since a
// connection holding the file open is exactly what keeps an import from
// switching to a rollback journal.

// WAL-index header layout (walformat.html).
const (
	walHdrWords     = 12      // one 48-byte copy of WalIndexHdr, in 32-bit words
	walIndexMin     = 136     // both header copies and the checkpoint information
	walIndexVersion = 3007000 // iVersion, the only format SQLite writes
)

// pinRetry is how long Revision waits before trying to pin a connection
// again after a failed attempt (not in WAL mode, no -shm, no mapping
// found): the query answers meanwhile. Each failure in a row doubles the
// wait, up to maxPinRetry, so a store where the fast path cannot work
// (a file system whose mappings the kernel lists under other numbers and
// another path) does not open a connection every second for good.
const (
	pinRetry    = time.Second
	maxPinRetry = 5 * time.Minute
)

// walHeader is one copy of the WAL-index header, in native byte order.
type walHeader [walHdrWords]uint32

// revSnap is a revision read by a query that started after the header
// was hdr, in mapping generation gen.
type revSnap struct {
	gen uint64
	hdr walHeader
	rev int64
}

// walIndex is Revision's fast path (see the comment above).
type walIndex struct {
	pinMu   sync.Mutex // serialises pin, unpin, hold and close
	pinDB   *sql.DB    // the pin's own pool, so the store's pool limits and idle closes never touch it
	pin     *sql.Conn  // nil: fast path off
	holds   int        // DirBulkUpdate calls running: do not pin
	closed  bool
	nextPin atomic.Int64  // UnixNano before which no pin is attempted
	retry   time.Duration // the wait after the next failure; guarded by pinMu

	mu  sync.RWMutex // read: using mem and gen; write: changing them
	mem []byte       // SQLite's mapping of the -shm's first bytes; nil: off
	gen uint64       // bumped by every pin and unpin
	ino uint64       // the mapped file's inode, for tests

	last atomic.Pointer[revSnap]

	// queries counts Revision's queries (the slow path), for tests.
	queries atomic.Int64
}

// header reads the mapped WAL-index header. ok is false when the fast
// path is off (mapped false too) or the header is not to be trusted.
func (w *walIndex) header() (hdr walHeader, gen uint64, mapped, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mem == nil {
		return hdr, 0, false, false
	}
	hdr, ok = readHeader(w.mem)
	return hdr, w.gen, true, ok
}

// readHeader reads the header the way SQLite's readers do
// (walIndexTryHdr): copy 0, then copy 1, with 32-bit atomic loads (Go's
// are sequentially consistent, which is SQLite's memory barrier), and
// trusts them only if both are equal, isInit is set and the version is
// the one documented. A writer writes copy 1, a barrier, then copy 0, so
// equal copies are one header, not a mix of two. len(mem) must be at
// least 96.
func readHeader(mem []byte) (walHeader, bool) {
	p := (*[2 * walHdrWords]uint32)(unsafe.Pointer(unsafe.SliceData(mem)))
	var h0, h1 walHeader
	for i := range h0 {
		h0[i] = atomic.LoadUint32(&p[i])
	}
	for i := range h1 {
		h1[i] = atomic.LoadUint32(&p[walHdrWords+i])
	}
	if h0 != h1 || h0[0] != walIndexVersion {
		return h0, false
	}
	// Word 3 holds isInit (byte 12), bigEndCksum and szPage.
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], h0[3])
	return h0, b[0] == 1
}

// Revision returns the newest change-feed revision (0 when empty). While
// no transaction has committed since the last query (the WAL-index header
// is unchanged), it returns that query's answer without touching SQLite;
// otherwise it runs one lookup at the end of the feed's primary-key index.
// Servers poll it ten times a second and every repeated certificate login
// calls it.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	w := &s.wal
	hdr, gen, mapped, ok := w.header()
	if ok {
		if snap := w.last.Load(); snap != nil && snap.gen == gen && snap.hdr == hdr {
			return snap.rev, nil
		}
	} else if !mapped && s.pinWAL(ctx) {
		hdr, gen, _, ok = w.header()
	}
	// The header was read before the query, so the answer is never older
	// than the header it is remembered with.
	rev, err := s.queryRevision(ctx)
	if err != nil {
		return 0, err
	}
	if ok {
		w.last.Store(&revSnap{gen: gen, hdr: hdr, rev: rev})
	}
	return rev, nil
}

// pinWAL turns the fast path on, unless it is held off, the store is
// closed or an attempt failed less than pinRetry ago. It reports whether
// the fast path is on.
func (s *Store) pinWAL(ctx context.Context) bool {
	w := &s.wal
	if time.Now().UnixNano() < w.nextPin.Load() {
		return false
	}
	w.pinMu.Lock()
	defer w.pinMu.Unlock()
	if w.pin != nil {
		return true
	}
	if w.closed || w.holds > 0 {
		return false
	}
	if err := s.pinLocked(ctx); err != nil {
		w.retry = min(max(2*w.retry, pinRetry), maxPinRetry)
		w.nextPin.Store(time.Now().Add(w.retry).UnixNano())
		return false
	}
	w.retry = 0
	return true
}

// pinLocked opens a connection of its own, makes sure it reads the
// database in WAL mode (which keeps the -shm in place while it is open)
// and maps the -shm. The caller holds pinMu.
//
// The connection comes from a pool of one outside the store's: taken from
// the store's pool it would hold one of its connections for good (a pool
// limited to one connection would then block every other call) and be
// subject to its idle closing.
func (s *Store) pinLocked(ctx context.Context) error {
	db, err := sql.Open("sqlite", s.dsn)
	if err != nil {
		return fmt.Errorf("pin a connection to %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("pin a connection to %s: %w", s.path, err)
	}
	mem, ino, err := pinWALIndex(ctx, conn, s.path)
	if err != nil {
		conn.Close()
		db.Close()
		return err
	}
	w := &s.wal
	w.mu.Lock()
	w.mem, w.ino = mem, ino
	w.gen++
	w.mu.Unlock()
	w.pinDB, w.pin = db, conn
	return nil
}

// pinWALIndex checks that conn has the database open in WAL mode and
// returns SQLite's own mapping of the first bytes of its -shm file.
func pinWALIndex(ctx context.Context, conn *sql.Conn, path string) ([]byte, uint64, error) {
	// A read opens the WAL and the -shm. Only then does journal_mode say
	// whether they are in use: a connection set to WAL that finds no WAL
	// file reads in rollback mode and says "delete".
	var rev sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT max(revision) FROM changes`).Scan(&rev); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, 0, fmt.Errorf("read the journal mode of %s: %w", path, err)
	}
	if mode != "wal" {
		return nil, 0, fmt.Errorf("%s is in journal mode %q, not WAL", path, mode)
	}
	shm := path + "-shm"
	fi, err := os.Stat(shm)
	if err != nil {
		return nil, 0, fmt.Errorf("find the WAL index: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, 0, errors.New("find the WAL index: no inode number on this system")
	}
	mem, err := sqliteMapping(shm, uint64(st.Dev), uint64(st.Ino))
	if err != nil {
		return nil, 0, fmt.Errorf("find the WAL index %s: %w", shm, err)
	}
	return mem, uint64(st.Ino), nil
}

// unpinLocked turns the fast path off: it stops reading SQLite's mapping
// of the -shm, then lets the pinned connection go (in that order: the pin
// is what keeps the mapping in place). The caller holds pinMu.
func (w *walIndex) unpinLocked() {
	w.mu.Lock()
	w.mem = nil
	w.gen++
	w.mu.Unlock()
	w.last.Store(nil)
	if w.pin != nil {
		w.pin.Close()
		w.pinDB.Close()
		w.pin, w.pinDB = nil, nil
	}
}

// hold turns the fast path off until release is called (DirBulkUpdate).
func (w *walIndex) hold() (release func()) {
	w.pinMu.Lock()
	defer w.pinMu.Unlock()
	w.holds++
	w.unpinLocked()
	return func() {
		w.pinMu.Lock()
		defer w.pinMu.Unlock()
		w.holds--
	}
}

// close turns the fast path off for good (Store.Close).
func (w *walIndex) close() {
	w.pinMu.Lock()
	defer w.pinMu.Unlock()
	w.closed = true
	w.unpinLocked()
}
