package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// DefaultImportBatch is how many entries one import transaction holds:
// large, because a commit (an fsync) per entry would make a 100,000-entry
// import take minutes.
const DefaultImportBatch = 20000

// ImportOptions tune Import.
type ImportOptions struct {
	// Batch is the number of content records per transaction; 0 means
	// DefaultImportBatch.
	Batch int
	// Identity performs change records and is the creatorsName of entries
	// that do not carry one.
	Identity Identity
}

// ImportStats counts what Import did.
type ImportStats struct {
	Added, Modified, Deleted, Renamed int
}

// Import loads LDIF: content records and add records are schema-checked
// and stored in large transactions, keeping operational attributes as
// given (entryUUID, createTimestamp, creatorsName, ... from a slapcat
// dump) and creating missing ones; an entry whose parent does not exist
// becomes a naming context, as with slapadd. Parents must come before
// their children (slapcat's order). Other change records run as
// operations. The first error stops the import and names the record's
// line; batches already committed stay.
func (t *Tree) Import(ctx context.Context, r *LDIFReader, opts ImportOptions) (ImportStats, error) {
	var st ImportStats
	batch := opts.Batch
	if batch <= 0 {
		batch = DefaultImportBatch
	}
	// A reader goroutine parses and schema-checks the next batch while
	// this one writes the current batch: on two cores the Go work and
	// SQLite's overlap.
	type item struct {
		entries []*prepared // a batch of content records, or
		change  *LDIFRecord // one change record
		err     error       // a parse or check error (after the items before it)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan item, 1)
	go func() {
		defer close(items)
		var pending []*prepared
		send := func(it item) bool {
			select {
			case items <- it:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if len(pending) > 0 {
					send(item{entries: pending})
				}
				return
			}
			if err != nil {
				if len(pending) > 0 && !send(item{entries: pending}) {
					return
				}
				send(item{err: err})
				return
			}
			if rec.ChangeType == "" || rec.ChangeType == ChangeAdd {
				p, err := t.prepareImport(rec, opts.Identity)
				if err != nil {
					if len(pending) > 0 && !send(item{entries: pending}) {
						return
					}
					send(item{err: err})
					return
				}
				pending = append(pending, p)
				if len(pending) >= importChunk {
					if !send(item{entries: pending}) {
						return
					}
					pending = nil
				}
				continue
			}
			if len(pending) > 0 {
				if !send(item{entries: pending}) {
					return
				}
				pending = nil
			}
			if !send(item{change: rec}) {
				return
			}
		}
	}()
	var held *item // an item received inside a transaction that ends it
	next := func() (item, bool) {
		if held != nil {
			it := *held
			held = nil
			return it, true
		}
		it, ok := <-items
		return it, ok
	}
	for {
		it, ok := next()
		if !ok {
			break
		}
		switch {
		case it.err != nil:
			return st, it.err
		case it.entries != nil:
			// One transaction takes chunks until it holds batch entries.
			// Entry IDs stay valid across transactions, but a change record
			// run between them may move or delete a parent: start afresh.
			parents := &parentCache{}
			n := 0
			_, err := t.update(ctx, func(tx store.DirTx) error {
				for cur := it; ; {
					for _, p := range cur.entries {
						if err := t.put(ctx, tx, p.enc, true, parents); err != nil {
							return fmt.Errorf("LDIF line %d (dn: %s): %w", p.rec.Line, p.rec.DN, err)
						}
					}
					n += len(cur.entries)
					if n >= batch {
						return nil
					}
					c, ok := <-items
					if !ok {
						return nil
					}
					if c.entries == nil {
						held = &c
						return nil
					}
					cur = c
				}
			})
			if err != nil {
				return st, err
			}
			st.Added += n
		default:
			rec, id := it.change, opts.Identity
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
			}
			if err != nil {
				return st, fmt.Errorf("LDIF line %d (dn: %s, %s): %w", rec.Line, rec.DN, rec.ChangeType, err)
			}
		}
	}
	return st, ctx.Err()
}

// importChunk is how many prepared entries the reader hands over at a
// time: small, so memory stays flat whatever the batch size.
const importChunk = 256

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
	for _, def := range []struct{ name, value string }{
		{"structuralObjectClass", structural.Name()},
		{"entryUUID", ""},
		{"creatorsName", id.DN},
		{"createTimestamp", now},
		{"modifiersName", id.DN},
		{"modifyTimestamp", now},
	} {
		if slices.Contains(have, t.schema.Attribute(def.name)) {
			continue
		}
		v := def.value
		if def.name == "entryUUID" {
			v = t.newUUID()
		}
		attrs = append(attrs, Attribute{Type: def.name, Values: [][]byte{[]byte(v)}})
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
