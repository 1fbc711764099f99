package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ store.DirectoryStore = (*Store)(nil)

const dirEntryColumns = `id, parent_id, dn, norm_dn, data`

func scanDirEntry(sc interface{ Scan(...any) error }) (*store.DirEntry, error) {
	e := new(store.DirEntry)
	if err := sc.Scan(&e.ID, &e.ParentID, &e.DN, &e.NormDN, &e.Data); err != nil {
		return nil, err
	}
	return e, nil
}

// DirEntry returns the entry with that normalised DN.
func (s *Store) DirEntry(ctx context.Context, normDN string) (*store.DirEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One seek on a unique index: not worth the driver's per-statement
	// interrupt goroutine, which a cancellable context would start.
	e, err := scanDirEntry(s.db.QueryRowContext(context.WithoutCancel(ctx), `SELECT `+dirEntryColumns+` FROM dir_entries WHERE norm_dn = ?`, normDN))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("entry %q: %w", normDN, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry %q: %w", normDN, err)
	}
	return e, nil
}

// Queries of DirSearch; TestDirQueryPlans checks they use the indexes.
const (
	dirBaseQuery    = `SELECT ` + dirEntryColumns + ` FROM dir_entries WHERE id = ?`
	dirOneQuery     = `SELECT ` + dirEntryColumns + ` FROM dir_entries WHERE parent_id = ?`
	dirSubQuery     = `WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL SELECT e.id FROM dir_entries e JOIN sub ON e.parent_id = sub.id) SELECT e.id, e.parent_id, e.dn, e.norm_dn, e.data FROM sub JOIN dir_entries e ON e.id = sub.id`
	dirIndexedQuery = `SELECT e.id, e.parent_id, e.dn, e.norm_dn, e.data FROM dir_index i JOIN dir_entries e ON e.id = i.entry_id WHERE i.attr = ? AND i.value = ?`
)

// DirSearch streams the entries q selects. An indexed query reads the
// index rows of the key and checks each entry's scope by its NormDN (cheap
// for the few entries an equality index returns). Base 0 is the root above
// the naming contexts.
func (s *Store) DirSearch(ctx context.Context, q store.DirQuery, fn func(*store.DirEntry) error) error {
	var query string
	args := []any{q.Base}
	switch {
	case q.Index != nil:
		query, args = dirIndexedQuery, []any{q.Index.Attr, q.Index.Value}
	case q.Scope == store.DirBase:
		query = dirBaseQuery
	case q.Scope == store.DirOne:
		query = dirOneQuery
	case q.Scope == store.DirSub:
		query = dirSubQuery
	default:
		return fmt.Errorf("search directory: unknown scope %d", q.Scope)
	}
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return fmt.Errorf("search directory: %w", err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("search directory: %w", err)
	}
	defer rows.Close()
	var base *store.DirEntry
	for rows.Next() {
		e, err := scanDirEntry(rows)
		if err != nil {
			return fmt.Errorf("search directory: %w", err)
		}
		if q.Index != nil {
			if base == nil && q.Base == 0 {
				base = &store.DirEntry{}
			} else if base == nil && q.BaseDN != "" {
				base = &store.DirEntry{ID: q.Base, NormDN: q.BaseDN}
			} else if base == nil {
				if base, err = s.dirEntryByID(ctx, q.Base); err != nil {
					return err
				}
			}
			if !store.InScope(e.NormDN, e.ParentID, base.ID, base.NormDN, q.Scope) {
				continue
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search directory: %w", err)
	}
	return nil
}

func (s *Store) dirEntryByID(ctx context.Context, id int64) (*store.DirEntry, error) {
	e, err := scanDirEntry(s.db.QueryRowContext(ctx, dirBaseQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry #%d: %w", id, err)
	}
	return e, nil
}

// DirChildren counts the immediate children of an entry.
func (s *Store) DirChildren(ctx context.Context, id int64) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM dir_entries WHERE parent_id = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count children of entry #%d: %w", id, err)
	}
	return n, nil
}

// DirUpdate runs fn in one write transaction.
func (s *Store) DirUpdate(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.dirUpdateOn(ctx, s.db, false, fn)
}

// DirBulkUpdate is DirUpdate for one large transaction (pkid ldif
// import). When no other connection has the database open, it runs the
// transaction on one connection switched from the WAL to a rollback
// journal for its duration: the new pages are then written once, into the
// database file, instead of into the WAL and again by the checkpoint that
// follows the commit, which halves the I/O and removes a serial copy of
// the whole import after its last entry. The commit is as atomic and
// durable as in WAL mode (synchronous=FULL); a crash leaves a hot journal
// that the next open rolls back. While it runs, other processes cannot
// open the database (they wait up to the busy timeout); when one already
// has it open, the transaction runs in WAL mode as DirUpdate's does.
func (s *Store) DirBulkUpdate(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Revision's pinned connection keeps the database open (walindex.go):
	// let it go until the update is done.
	defer s.wal.hold()()
	// This process's idle connections keep the database open too.
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(maxIdleConns)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("open a connection to %s: %w%s", s.path, err, hint(err, s.path))
	}
	defer conn.Close()
	rollback := s.rollbackJournal(ctx, conn)
	if rollback {
		// Back to WAL for the readers and writers to come. Should this
		// fail, every connection pkid opens sets WAL again (Open).
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA journal_mode = WAL")
	}
	return s.dirUpdateOn(ctx, conn, rollback, fn)
}

// rollbackJournal switches conn from the WAL to a rollback journal if no
// other connection has the database open, without waiting for one.
func (s *Store) rollbackJournal(ctx context.Context, conn *sql.Conn) bool {
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return false
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	var mode string
	err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode)
	return err == nil && mode == "delete"
}

// dirUpdateOn is DirUpdate on a given pool or connection, rollback when
// it has a rollback journal; the caller holds wmu.
func (s *Store) dirUpdateOn(ctx context.Context, b txBeginner, rollback bool, fn func(tx store.DirTx) error) (int64, error) {
	var rev int64
	err := s.writeOn(ctx, b, func(tx *sql.Tx) error {
		// Statements run without cancellation (the driver would start a
		// goroutine per statement to interrupt it); ctx is checked between
		// writes instead, and cancelling it rolls the transaction back.
		dt := &dirTx{ctx: context.WithoutCancel(ctx), outer: ctx, tx: tx, rollback: rollback}
		defer dt.close()
		if err := fn(dt); err != nil {
			return err
		}
		if err := dt.flushIndex(); err != nil {
			return err
		}
		if !dt.changed {
			return nil
		}
		var err error
		rev, err = appendChange(ctx, tx, store.ChangeEntry, "", "", time.Now())
		return err
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// dirTx implements store.DirTx with statements prepared once per
// transaction, which is what makes a 100,000-entry import fast.
type dirTx struct {
	ctx     context.Context
	outer   context.Context
	tx      *sql.Tx
	changed bool
	stmts   map[string]*sql.Stmt
	// indexStmts are the index inserts among stmts, by attribute and size.
	indexStmts map[indexStmtKey]*sql.Stmt
	// known holds IDs this transaction has read or written, so Put need
	// not look its parent up again (an import's parents are always known);
	// the entries it inserted one after another (an import's, whose IDs
	// SQLite assigns in turn) are the run of IDs [runLo, runHi] instead, a
	// map insert less per entry. Forgetting is always safe: it only costs
	// a query.
	known        map[int64]bool
	runLo, runHi int64 // runLo 0: no run
	// index holds the index rows not yet written (addIndex).
	index indexQueue
	// puts counts the entries written; at bulkPuts a transaction in WAL
	// mode gets a bigger page cache (growCache).
	puts int
	// rollback: the transaction runs with a rollback journal
	// (DirBulkUpdate), which writes spilled pages to the database file
	// for good, so a bigger cache would buy nothing.
	rollback bool
}

// bulkPuts is how many entries one transaction writes before it is
// treated as a bulk load (pkid ldif import): below it, the writers'
// 16 MiB page cache holds everything a transaction touches.
const bulkPuts = 4096

// bulkCacheKiB is the page cache of a bulk load in WAL mode. A
// 100,000-entry import (about 80 MiB of pages) then writes each page to
// the WAL once, at commit, instead of spilling dirty pages to the WAL
// mid-transaction and reading them back (a quarter of the import's
// pwrite and half its pread calls). Larger imports spill beyond it, so
// memory stays bounded. The next write transaction on the connection sets
// the cache back (Store.writeOn).
const bulkCacheKiB = 131072

// growCache raises the connection's page cache for a large transaction.
func (t *dirTx) growCache() error {
	if _, err := t.tx.ExecContext(t.ctx, fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB)); err != nil {
		return fmt.Errorf("raise the page cache for a bulk load: %w", err)
	}
	return nil
}

// isKnown reports whether entry id is known to exist (known).
func (t *dirTx) isKnown(id int64) bool {
	return t.runLo != 0 && t.runLo <= id && id <= t.runHi || t.known[id]
}

// rememberNew remembers an entry this transaction inserted.
func (t *dirTx) rememberNew(id int64) {
	switch {
	case t.runLo == 0:
		t.runLo, t.runHi = id, id
	case id == t.runHi+1:
		t.runHi = id
	default:
		t.remember(id)
	}
}

// forget drops entry id (deleted or renamed) from what is known, with the
// part of the run before it.
func (t *dirTx) forget(id int64) {
	delete(t.known, id)
	if t.runLo != 0 && t.runLo <= id && id <= t.runHi {
		if id == t.runHi {
			t.runHi--
		} else {
			t.runLo = id + 1
		}
		if t.runLo > t.runHi {
			t.runLo, t.runHi = 0, 0
		}
	}
}

func (t *dirTx) remember(id int64) {
	if t.known == nil {
		t.known = map[int64]bool{}
	}
	if len(t.known) > 100000 {
		clear(t.known)
	}
	t.known[id] = true
}

func (t *dirTx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(t.ctx, q)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

func (t *dirTx) close() {
	for _, st := range t.stmts {
		st.Close()
	}
}

func (t *dirTx) Entry(normDN string) (*store.DirEntry, error) {
	st, err := t.stmt(`SELECT ` + dirEntryColumns + ` FROM dir_entries WHERE norm_dn = ?`)
	if err != nil {
		return nil, fmt.Errorf("read entry %q: %w", normDN, err)
	}
	e, err := scanDirEntry(st.QueryRowContext(t.ctx, normDN))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("entry %q: %w", normDN, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry %q: %w", normDN, err)
	}
	t.remember(e.ID)
	return e, nil
}

func (t *dirTx) Children(id int64) (int, error) {
	st, err := t.stmt(`SELECT count(*) FROM dir_entries WHERE parent_id = ?`)
	if err != nil {
		return 0, err
	}
	var n int
	if err := st.QueryRowContext(t.ctx, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count children of entry #%d: %w", id, err)
	}
	return n, nil
}

func (t *dirTx) Put(e *store.DirEntry) error {
	if err := t.outer.Err(); err != nil {
		return err
	}
	if e.ParentID != 0 && !t.isKnown(e.ParentID) {
		st, err := t.stmt(`SELECT 1 FROM dir_entries WHERE id = ?`)
		if err != nil {
			return err
		}
		var one int
		if err := st.QueryRowContext(t.ctx, e.ParentID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("parent of %q: %w", e.DN, store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store entry %q: %w", e.DN, err)
		}
		// Its children will not need the query again (known forgets all
		// at 100,000 entries, and an import's parent has more children).
		t.remember(e.ParentID)
	}
	ikeys := encodeIndexKeys(e.Index)
	isNew := e.ID == 0
	if isNew {
		st, err := t.stmt(`INSERT INTO dir_entries (parent_id, norm_dn, dn, data, ikeys) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(t.ctx, e.ParentID, e.NormDN, e.DN, e.Data, ikeys)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return fmt.Errorf("entry %q: %w", e.DN, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("store entry %q: %w", e.DN, err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	} else {
		if err := t.deleteIndex(e.ID); err != nil {
			return err
		}
		st, err := t.stmt(`UPDATE dir_entries SET parent_id = ?, norm_dn = ?, dn = ?, data = ?, ikeys = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(t.ctx, e.ParentID, e.NormDN, e.DN, e.Data, ikeys, e.ID)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return fmt.Errorf("entry %q: %w", e.DN, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("store entry %q: %w", e.DN, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("entry #%d %q: %w", e.ID, e.DN, store.ErrNotFound)
		}
	}
	if err := t.addIndex(e.ID, e.Index); err != nil {
		return fmt.Errorf("index entry %q: %w", e.DN, err)
	}
	if isNew {
		t.rememberNew(e.ID)
	} else {
		t.remember(e.ID)
	}
	t.changed = true
	if t.puts++; t.puts == bulkPuts && !t.rollback {
		return t.growCache()
	}
	return nil
}

func (t *dirTx) Delete(id int64) error {
	if err := t.outer.Err(); err != nil {
		return err
	}
	if err := t.deleteIndex(id); err != nil {
		return err
	}
	st, err := t.stmt(`DELETE FROM dir_entries WHERE id = ?`)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(t.ctx, id)
	if err != nil {
		return fmt.Errorf("delete entry #%d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	// A later Put in this transaction must not take the deleted entry
	// for an existing parent.
	t.forget(id)
	t.changed = true
	return nil
}

// deleteIndex removes the index rows of entry id, listed in its ikeys.
func (t *dirTx) deleteIndex(id int64) error {
	if err := t.flushIndex(); err != nil {
		return err
	}
	st, err := t.stmt(`SELECT ikeys FROM dir_entries WHERE id = ?`)
	if err != nil {
		return err
	}
	var ikeys []byte
	if err := st.QueryRowContext(t.ctx, id).Scan(&ikeys); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read index rows of entry #%d: %w", id, err)
	}
	del, err := t.stmt(`DELETE FROM dir_index WHERE attr = ? AND value = ? AND entry_id = ?`)
	if err != nil {
		return err
	}
	for _, k := range decodeIndexKeys(ikeys) {
		if _, err := del.ExecContext(t.ctx, k.Attr, k.Value, id); err != nil {
			return fmt.Errorf("delete index rows of entry #%d: %w", id, err)
		}
	}
	return nil
}

// encodeIndexKeys lists index rows as attr NUL value NUL ... (normalised
// values never hold NUL: RFC 4518 preparation drops controls, and other
// rules produce printable forms).
func encodeIndexKeys(keys []store.DirIndexKey) []byte {
	n := 0
	for _, k := range keys {
		n += len(k.Attr) + len(k.Value) + 2
	}
	b := make([]byte, 0, n)
	for _, k := range keys {
		b = append(b, k.Attr...)
		b = append(b, 0)
		b = append(b, k.Value...)
		b = append(b, 0)
	}
	return b
}

func decodeIndexKeys(b []byte) []store.DirIndexKey {
	var keys []store.DirIndexKey
	parts := bytes.Split(b, []byte{0})
	for i := 0; i+1 < len(parts); i += 2 {
		keys = append(keys, store.DirIndexKey{Attr: string(parts[i]), Value: string(parts[i+1])})
	}
	return keys
}

// Descendants reads the whole subtree first, so fn may write (a subtree
// move renames each descendant) without disturbing an open cursor.
func (t *dirTx) Descendants(id int64, fn func(*store.DirEntry) error) error {
	rows, err := t.tx.QueryContext(t.ctx, dirSubQuery, id)
	if err != nil {
		return fmt.Errorf("read subtree of entry #%d: %w", id, err)
	}
	var all []*store.DirEntry
	for rows.Next() {
		e, err := scanDirEntry(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("read subtree of entry #%d: %w", id, err)
		}
		if e.ID != id {
			all = append(all, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read subtree of entry #%d: %w", id, err)
	}
	for _, e := range all {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (t *dirTx) Rename(id int64, dn, normDN string) error {
	if err := t.outer.Err(); err != nil {
		return err
	}
	st, err := t.stmt(`UPDATE dir_entries SET dn = ?, norm_dn = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(t.ctx, dn, normDN, id)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return fmt.Errorf("entry %q: %w", dn, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("rename entry #%d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	// A later Put in this transaction must not take the deleted entry
	// for an existing parent.
	t.forget(id)
	t.changed = true
	return nil
}
