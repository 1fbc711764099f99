package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Identity performs change records and is the creatorsName of entries
	// that do not carry one.
	Identity Identity
	// Workers is how many goroutines check, hash and encode records ahead
	// of the writer; 0 means GOMAXPROCS.
	Workers int
}

// ImportStats counts what Import did.
type ImportStats struct {
	Added, Modified, Deleted, Renamed int
}

// Import loads LDIF in one transaction: either every record is applied or,
// on the first error (which names the record's line), nothing is. Content
// records and add records are schema-checked and stored keeping their
// operational attributes (entryUUID, createTimestamp, creatorsName, ...
// from a slapcat dump) and creating missing ones; an entry whose parent
// does not exist becomes a naming context, as with slapadd. Parents must
// come before their children (slapcat's order). Other change records run
// as operations inside the same transaction, in file order.
//
// Clear-text userPassword values are hashed with argon2id (HashPassword);
// values naming a scheme ({SSHA}, {CRYPT}, {ARGON2}, ...) are kept as
// they are. Checking and hashing run on Workers goroutines ahead of the
// single writer, so a file of clear-text passwords costs one hash per
// entry spread over every core, not one after another.
func (t *Tree) Import(ctx context.Context, r *LDIFReader, opts ImportOptions) (ImportStats, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// The reader hands jobs to the workers and, in file order, to the
	// writer, which waits for each job's done; both channels are bounded,
	// so memory stays flat whatever the file's size.
	work := make(chan *importJob, 2*workers)
	order := make(chan *importJob, 2*workers+2)
	// The reader is not waited for: it may be blocked reading a terminal
	// or pipe after an error, and stops at its next record.
	go t.readImport(ctx, r, work, order)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case j, ok := <-work:
					if !ok {
						return
					}
					t.prepareJob(ctx, j, opts.Identity)
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	var st ImportStats
	var sub *Tree // runs change records inside the import's transaction
	_, err := t.bulkUpdate(ctx, func(tx store.DirTx) error {
		st = ImportStats{}
		parents := &parentCache{}
		for {
			var j *importJob
			select {
			case j = <-order:
			case <-ctx.Done():
				return ctx.Err()
			}
			if j == nil { // the reader is done
				break
			}
			select {
			case <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			for _, p := range j.prep {
				if err := t.put(ctx, tx, p.enc, true, parents); err != nil {
					return fmt.Errorf("LDIF line %d (dn: %s): %w", p.rec.Line, p.rec.DN, err)
				}
			}
			st.Added += len(j.prep)
			if j.err != nil {
				return j.err
			}
			if j.change == nil {
				continue
			}
			if sub == nil {
				var err error
				if sub, err = t.inTx(tx); err != nil {
					return err
				}
			}
			if err := sub.runChange(ctx, j.change, opts.Identity, &st); err != nil {
				return err
			}
			// The change may have moved or deleted an entry the cache
			// holds as a parent.
			parents = &parentCache{}
		}
		return ctx.Err()
	})
	if err != nil {
		return ImportStats{}, err
	}
	if st != (ImportStats{}) {
		// Entries appeared or changed under whatever the caller cached.
		t.changed("", nil)
	}
	return st, nil
}

// bulkUpdate is update through the store's bulk path when it has one.
func (t *Tree) bulkUpdate(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	b, ok := t.st.(store.DirBulkUpdater)
	if !ok {
		return t.update(ctx, fn)
	}
	rev, err := b.DirBulkUpdate(ctx, fn)
	t.cache.flush(rev)
	return rev, err
}

// importJob is a run of content (or add) records, or one other change
// record, on its way from the reader through a worker to the writer.
type importJob struct {
	recs   []*LDIFRecord // content and add records to prepare
	prep   []*prepared   // recs prepared, up to the first that failed
	change *LDIFRecord   // or one change record, run by the writer
	err    error         // a parse or check error, after prep
	done   chan struct{} // closed when prep and err are final
}

// importChunk is how many records the reader hands a worker at a time:
// enough to make the hand-over cheap, few enough that memory stays flat.
const importChunk = 256

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// readImport parses records in file order into jobs for the workers
// (content and add records) and for the writer (every job, in order).
// It closes both channels when the file ends, on a parse error (sent as
// the last job) or when ctx is cancelled.
func (t *Tree) readImport(ctx context.Context, r *LDIFReader, work, order chan<- *importJob) {
	defer close(order)
	defer close(work)
	send := func(c chan<- *importJob, j *importJob) bool {
		select {
		case c <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var recs []*LDIFRecord
	flush := func() bool {
		if len(recs) == 0 {
			return true
		}
		j := &importJob{recs: recs, done: make(chan struct{})}
		recs = nil
		return send(work, j) && send(order, j)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			flush()
			return
		}
		if err != nil {
			if flush() {
				send(order, &importJob{err: err, done: closedDone})
			}
			return
		}
		if rec.ChangeType == "" || rec.ChangeType == ChangeAdd {
			recs = append(recs, rec)
			if len(recs) >= importChunk && !flush() {
				return
			}
			continue
		}
		if !flush() || !send(order, &importJob{change: rec, done: closedDone}) {
			return
		}
	}
}

// prepareJob prepares the records of j until the first that fails.
func (t *Tree) prepareJob(ctx context.Context, j *importJob, id Identity) {
	defer close(j.done)
	j.prep = make([]*prepared, 0, len(j.recs))
	for _, rec := range j.recs {
		if ctx.Err() != nil {
			j.err = ctx.Err()
			return
		}
		p, err := t.prepareImport(rec, id)
		if err != nil {
			j.err = err
			return
		}
		j.prep = append(j.prep, p)
	}
	j.recs = nil
}

// runChange runs one change record other than add.
func (t *Tree) runChange(ctx context.Context, rec *LDIFRecord, id Identity, st *ImportStats) error {
	var err error
	switch rec.ChangeType {
	case ChangeDelete:
		err = t.Delete(ctx, id, rec.DN)
		st.Deleted++
	case ChangeModify:
		err = t.Modify(ctx, id, rec.DN, rec.Changes)
		st.Modified++
	case ChangeModRDN:
		err = t.ModifyDN(ctx, id, rec.DN, rec.NewRDN, rec.DeleteOldRDN, rec.NewSuperior)
		st.Renamed++
	default:
		err = fmt.Errorf("unknown changetype %q", rec.ChangeType)
	}
	if err != nil {
		return fmt.Errorf("LDIF line %d (dn: %s, %s): %w", rec.Line, rec.DN, rec.ChangeType, err)
	}
	return nil
}

// inTx returns a Tree like t whose operations run inside tx (its own
// writes visible, nothing committed until tx is) and which caches nothing.
func (t *Tree) inTx(tx store.DirTx) (*Tree, error) {
	cfg := t.cfg
	cfg.Store = &txStore{Store: t.cfg.Store, tx: tx}
	cfg.CacheEntries = -1
	cfg.Changed = nil // Import reports the change once, after the commit
	return New(cfg)
}

// txStore is a store whose directory reads and writes go to one open
// transaction; DirUpdate runs its function in that transaction, so an
// error rolls back the whole import. Searches read committed data (no
// operation an import runs searches).
type txStore struct {
	store.Store
	tx store.DirTx
}

func (s *txStore) DirEntry(_ context.Context, normDN string) (*store.DirEntry, error) {
	return s.tx.Entry(normDN)
}

func (s *txStore) DirChildren(_ context.Context, id int64) (int, error) { return s.tx.Children(id) }

func (s *txStore) DirUpdate(_ context.Context, fn func(tx store.DirTx) error) (int64, error) {
	return 0, fn(s.tx)
}

// DirSearch is the store's own, which reads committed data only.
func (s *txStore) DirSearch(ctx context.Context, q store.DirQuery, fn func(*store.DirEntry) error) error {
	ds, ok := s.Store.(store.DirectoryStore)
	if !ok {
		return fmt.Errorf("store %T has no directory", s.Store)
	}
	return ds.DirSearch(ctx, q, fn)
}

// prepared is a content record checked and completed for storing.
type prepared struct {
	rec *LDIFRecord
	enc *encoded
}

// prepareImport checks one imported entry and completes its operational
// attributes; it touches no store, so it runs ahead of the writer.
func (t *Tree) prepareImport(rec *LDIFRecord, id Identity) (*prepared, error) {
	wrap := func(err error) error { return fmt.Errorf("LDIF line %d (dn: %s): %w", rec.Line, rec.DN, err) }
	e := rec.Entry
	d, norm, err := t.parseDN(e.DN)
	if err != nil {
		return nil, wrap(err)
	}
	if d.IsRoot() {
		return nil, wrap(ldap.Errorf(ldap.ResultUnwillingToPerform, "cannot import the root DSE"))
	}
	attrs, structural, err := t.checkEntry(d, e.Attributes)
	if err != nil {
		return nil, wrap(err)
	}
	if attrs, err = t.hashPasswords(attrs); err != nil {
		return nil, wrap(err)
	}
	// A slice, not a map: an entry has a handful of attributes, and this
	// runs once per imported entry.
	var haveBuf [16]*AttributeType
	have := haveBuf[:0]
	for _, a := range attrs {
		if at := t.schema.Attribute(attrName(a.Type)); at != nil {
			have = append(have, at)
		}
	}
	now := generalizedTime(t.now())
	defs := [...]struct{ name, value string }{
		{"structuralObjectClass", structural.Name()},
		{"entryUUID", ""},
		{"creatorsName", id.DN},
		{"createTimestamp", now},
		{"modifiersName", id.DN},
		{"modifyTimestamp", now},
	}
	// The missing ones' values share two allocations: one for the slice
	// headers, one for the bytes.
	size := 0
	for i := range defs {
		if slices.Contains(have, t.schema.Attribute(defs[i].name)) {
			defs[i].name = ""
			continue
		}
		if defs[i].name == "entryUUID" {
			defs[i].value = t.newUUID()
		}
		size += len(defs[i].value)
	}
	vals := make([][]byte, len(defs))
	buf := make([]byte, 0, size)
	for i, def := range defs {
		if def.name == "" {
			continue
		}
		start := len(buf)
		buf = append(buf, def.value...)
		vals[i] = buf[start:len(buf):len(buf)]
		attrs = append(attrs, Attribute{Type: def.name, Values: vals[i : i+1 : i+1]})
	}
	return &prepared{rec: rec, enc: t.encode(d, norm, attrs)}, nil
}

// Export writes the entries at and below base ("" for every naming
// context) as LDIF content records, parents before children, with their
// stored operational attributes, so Import (or slapadd) can load them.
func (t *Tree) Export(ctx context.Context, base string, w *LDIFWriter) (int, error) {
	d, norm, err := t.parseDN(base)
	if err != nil {
		return 0, err
	}
	var q store.DirQuery
	q.Scope = store.DirSub
	if !d.IsRoot() {
		se, err := t.st.DirEntry(ctx, norm)
		if errors.Is(err, store.ErrNotFound) {
			return 0, t.noSuchObject(ctx, func(n string) (*store.DirEntry, error) { return t.st.DirEntry(ctx, n) }, d, "base")
		}
		if err != nil {
			return 0, storeErr(err)
		}
		q.Base = se.ID
	}
	n := 0
	err = t.st.DirSearch(ctx, q, func(se *store.DirEntry) error {
		e, err := decode(se)
		if err != nil {
			return err
		}
		for i, a := range e.Attributes {
			if at := t.schema.Attribute(attrName(a.Type)); at != nil && at.Syntax != nil && at.Syntax.Binary {
				e.Attributes[i].Type += ";binary"
			}
		}
		n++
		return w.WriteEntry(e)
	})
	if err != nil {
		return n, err
	}
	return n, w.Flush()
}

func attrName(desc string) string {
	for i := 0; i < len(desc); i++ {
		if desc[i] == ';' {
			return desc[:i]
		}
	}
	return desc
}
