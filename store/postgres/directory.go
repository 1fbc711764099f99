package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pkid/pkid/store"
)

var _ store.DirectoryStore = (*Store)(nil)

const dirEntryColumns = `id, parent_id, dn, norm_dn, data`

// Queries of DirSearch and Descendants.
const (
	dirBaseQuery    = `SELECT ` + dirEntryColumns + ` FROM dir_entries WHERE id = $1`
	dirOneQuery     = `SELECT ` + dirEntryColumns + ` FROM dir_entries WHERE parent_id = $1`
	dirSubQuery     = `WITH RECURSIVE sub(id) AS (SELECT $1::bigint UNION ALL SELECT e.id FROM dir_entries e JOIN sub ON e.parent_id = sub.id) SELECT e.id, e.parent_id, e.dn, e.norm_dn, e.data FROM sub JOIN dir_entries e ON e.id = sub.id`
	dirIndexedQuery = `SELECT DISTINCT e.id, e.parent_id, e.dn, e.norm_dn, e.data FROM dir_index i JOIN dir_entries e ON e.id = i.entry_id WHERE i.attr = $1 AND i.value = $2`
)

func scanDirEntry(r pgx.Row) (*store.DirEntry, error) {
	e := new(store.DirEntry)
	if err := r.Scan(&e.ID, &e.ParentID, &e.DN, &e.NormDN, &e.Data); err != nil {
		return nil, err
	}
	return e, nil
}

// DirEntry returns the entry with that normalised DN.
func (s *Store) DirEntry(ctx context.Context, normDN string) (*store.DirEntry, error) {
	var e *store.DirEntry
	err := s.retry(ctx, func() (err error) {
		e, err = scanDirEntry(s.pool.QueryRow(ctx, `SELECT `+dirEntryColumns+` FROM dir_entries WHERE norm_dn = $1`, normDN))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("entry %q: %w", normDN, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry %q: %w", normDN, err)
	}
	return e, nil
}

// DirSearch streams the entries q selects. An indexed query reads the
// entries holding the index row and checks each one's scope by its NormDN.
// Base 0 is the root above the naming contexts.
func (s *Store) DirSearch(ctx context.Context, q store.DirQuery, fn func(*store.DirEntry) error) error {
	var query string
	var args []any
	switch {
	case q.Index != nil:
		query, args = dirIndexedQuery, []any{q.Index.Attr, q.Index.Value}
	case q.Scope == store.DirBase:
		query, args = dirBaseQuery, []any{q.Base}
	case q.Scope == store.DirOne:
		query, args = dirOneQuery, []any{q.Base}
	case q.Scope == store.DirSub:
		query, args = dirSubQuery, []any{q.Base}
	default:
		return fmt.Errorf("search directory: unknown scope %d", q.Scope)
	}
	var base *store.DirEntry
	if q.Index != nil {
		base = &store.DirEntry{}
		if q.Base != 0 && q.BaseDN != "" {
			base = &store.DirEntry{ID: q.Base, NormDN: q.BaseDN}
		} else if q.Base != 0 {
			var err error
			if base, err = s.dirEntryByID(ctx, q.Base); err != nil {
				return err
			}
		}
	}
	var rows pgx.Rows
	err := s.retry(ctx, func() (err error) {
		rows, err = s.pool.Query(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("search directory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanDirEntry(rows)
		if err != nil {
			return fmt.Errorf("search directory: %w", err)
		}
		if base != nil && !store.InScope(e.NormDN, e.ParentID, base.ID, base.NormDN, q.Scope) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search directory: %w", s.hint(err))
	}
	return nil
}

func (s *Store) dirEntryByID(ctx context.Context, id int64) (*store.DirEntry, error) {
	e, err := scanDirEntry(s.pool.QueryRow(ctx, dirBaseQuery, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry #%d: %w", id, s.hint(err))
	}
	return e, nil
}

// DirChildren counts the immediate children of an entry.
func (s *Store) DirChildren(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM dir_entries WHERE parent_id = $1`, id).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count children of entry #%d: %w", id, err)
	}
	return n, nil
}

// DirUpdate runs fn in one transaction and, when fn changed anything,
// appends one ChangeEntry record at the end, so its revision is drawn
// just before the commit and readers never wait long for a long LDIF
// import's revision to resolve (feed.go).
func (s *Store) DirUpdate(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	var rev int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		dt := &dirTx{ctx: ctx, tx: tx}
		if err := fn(dt); err != nil {
			return err
		}
		if err := dt.flushIndex(); err != nil {
			return err
		}
		if !dt.changed {
			return nil
		}
		f := &feed{tx: tx}
		var err error
		if rev, err = f.append(ctx, store.ChangeEntry, "", "", time.Now()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify('pkid_changes', $1::bigint::text)`, rev)
		return err
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// dirTx implements store.DirTx; pgx caches the prepared statements per
// connection.
type dirTx struct {
	ctx     context.Context
	tx      pgx.Tx
	changed bool
	// known holds IDs this transaction has read or written, so Put need
	// not look its parent up again (an import's parents are always known).
	known map[int64]bool
	// pending holds index rows not yet written (flushIndex).
	pending [][]any
}

func (t *dirTx) remember(id int64) {
	if t.known == nil || len(t.known) > 100000 {
		t.known = map[int64]bool{}
	}
	t.known[id] = true
}

func (t *dirTx) Entry(normDN string) (*store.DirEntry, error) {
	e, err := scanDirEntry(t.tx.QueryRow(t.ctx, `SELECT `+dirEntryColumns+` FROM dir_entries WHERE norm_dn = $1`, normDN))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("entry %q: %w", normDN, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read entry %q: %w", normDN, err)
	}
	t.remember(e.ID)
	return e, nil
}

func (t *dirTx) Children(id int64) (int, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM dir_entries WHERE parent_id = $1`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count children of entry #%d: %w", id, err)
	}
	return n, nil
}

func (t *dirTx) Put(e *store.DirEntry) error {
	if e.ParentID != 0 && !t.known[e.ParentID] {
		var one int
		if err := t.tx.QueryRow(t.ctx, `SELECT 1 FROM dir_entries WHERE id = $1`, e.ParentID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("parent of %q: %w", e.DN, store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store entry %q: %w", e.DN, err)
		}
	}
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	var err error
	if e.ID == 0 {
		err = t.tx.QueryRow(t.ctx, `INSERT INTO dir_entries (parent_id, norm_dn, dn, data) VALUES ($1, $2, $3, $4) RETURNING id`,
			e.ParentID, e.NormDN, e.DN, data).Scan(&e.ID)
	} else {
		if err := t.flushIndex(); err != nil {
			return err
		}
		if _, err := t.tx.Exec(t.ctx, `DELETE FROM dir_index WHERE entry_id = $1`, e.ID); err != nil {
			return fmt.Errorf("store entry %q: %w", e.DN, err)
		}
		var tag interface{ RowsAffected() int64 }
		tag, err = t.tx.Exec(t.ctx, `UPDATE dir_entries SET parent_id = $1, norm_dn = $2, dn = $3, data = $4 WHERE id = $5`,
			e.ParentID, e.NormDN, e.DN, data, e.ID)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("entry #%d %q: %w", e.ID, e.DN, store.ErrNotFound)
		}
	}
	if code, _, _ := pgCode(err); code == uniqueViolation {
		return fmt.Errorf("entry %q: %w", e.DN, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store entry %q: %w", e.DN, err)
	}
	// Index rows wait in pending and go in with COPY (flushIndex): one
	// round trip per entry instead of two, and COPY is the cheapest way
	// into PostgreSQL for the rows of a 100,000-entry import. Duplicates
	// are dropped (an attribute may normalise two values alike): by a
	// scan among a few keys, by a set among many (a large group's
	// members, where the scan would be quadratic).
	var seen map[store.DirIndexKey]bool
	if len(e.Index) > fewIndexKeys {
		seen = make(map[store.DirIndexKey]bool, len(e.Index))
	}
	for i, k := range e.Index {
		if seen != nil {
			if seen[k] {
				continue
			}
			seen[k] = true
		} else if slices.Contains(e.Index[:i], k) {
			continue
		}
		t.pending = append(t.pending, []any{k.Attr, k.Value, e.ID})
	}
	if len(t.pending) >= pendingMax {
		if err := t.flushIndex(); err != nil {
			return err
		}
	}
	t.remember(e.ID)
	t.changed = true
	return nil
}

// fewIndexKeys is how many index keys of one entry Put checks for
// duplicates by scanning before it uses a set.
const fewIndexKeys = 32

// pendingMax bounds the index rows a transaction holds back.
const pendingMax = 64 << 10

// flushIndex writes the queued index rows with COPY. It runs before
// anything in the transaction deletes index rows (Delete cascades, Put of
// an existing entry replaces them), when many are queued, and before
// commit; nothing in a transaction reads dir_index, and other readers see
// only committed rows, so the delay is invisible.
func (t *dirTx) flushIndex() error {
	if len(t.pending) == 0 {
		return nil
	}
	rows := t.pending
	t.pending = t.pending[:0]
	if _, err := t.tx.CopyFrom(t.ctx, pgx.Identifier{"dir_index"}, []string{"attr", "value", "entry_id"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("write index rows: %w", err)
	}
	return nil
}

func (t *dirTx) Delete(id int64) error {
	if err := t.flushIndex(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM dir_entries WHERE id = $1`, id) // index rows cascade
	if err != nil {
		return fmt.Errorf("delete entry #%d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	// A later Put in this transaction must not take the deleted entry
	// for an existing parent.
	delete(t.known, id)
	t.changed = true
	return nil
}

// Descendants reads the whole subtree first, so fn may write (a subtree
// move renames each descendant) while no query is open.
func (t *dirTx) Descendants(id int64, fn func(*store.DirEntry) error) error {
	rows, err := t.tx.Query(t.ctx, dirSubQuery, id)
	if err != nil {
		return fmt.Errorf("read subtree of entry #%d: %w", id, err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.DirEntry, error) { return scanDirEntry(r) })
	if err != nil {
		return fmt.Errorf("read subtree of entry #%d: %w", id, err)
	}
	for _, e := range all {
		if e.ID == id {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (t *dirTx) Rename(id int64, dn, normDN string) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE dir_entries SET dn = $1, norm_dn = $2 WHERE id = $3`, dn, normDN, id)
	if code, _, _ := pgCode(err); code == uniqueViolation {
		return fmt.Errorf("entry %q: %w", dn, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("rename entry #%d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("entry #%d: %w", id, store.ErrNotFound)
	}
	t.changed = true
	return nil
}
