package directory

import (
	"context"
	"errors"
	"fmt"
	"io"

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
	var pending []*LDIFRecord
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		// Entry IDs stay valid across batches, but a change record run
		// between batches may move or delete a parent: start afresh.
		parents := map[string]parentRef{}
		_, err := t.update(ctx, func(tx store.DirTx) error {
			for _, rec := range pending {
				if err := t.importEntry(ctx, tx, rec.Entry, opts.Identity, parents); err != nil {
					return fmt.Errorf("LDIF line %d (dn: %s): %w", rec.Line, rec.DN, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		st.Added += len(pending)
		pending = pending[:0]
		return nil
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return st, flush()
		}
		if err != nil {
			return st, err
		}
		if rec.ChangeType == "" || rec.ChangeType == ChangeAdd {
			pending = append(pending, rec)
			if len(pending) >= batch {
				if err := flush(); err != nil {
					return st, err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return st, err
		}
		id := opts.Identity
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

func (t *Tree) importEntry(ctx context.Context, tx store.DirTx, e *Entry, id Identity, parents map[string]parentRef) error {
	d, norm, err := t.parseDN(e.DN)
	if err != nil {
		return err
	}
	if d.IsRoot() {
		return ldap.Errorf(ldap.ResultUnwillingToPerform, "cannot import the root DSE")
	}
	attrs, structural, err := t.checkEntry(d, e.Attributes, checkImport)
	if err != nil {
		return err
	}
	if attrs, err = t.hashPasswords(attrs); err != nil {
		return err
	}
	now := generalizedTime(t.now())
	have := map[*AttributeType]bool{}
	for _, a := range attrs {
		if at := t.schema.Attribute(attrName(a.Type)); at != nil {
			have[at] = true
		}
	}
	for _, def := range []struct{ name, value string }{
		{"structuralObjectClass", structural.Name()},
		{"entryUUID", ""},
		{"creatorsName", id.DN},
		{"createTimestamp", now},
		{"modifiersName", id.DN},
		{"modifyTimestamp", now},
	} {
		if have[t.schema.Attribute(def.name)] {
			continue
		}
		v := def.value
		if def.name == "entryUUID" {
			v = t.newUUID()
		}
		attrs = append(attrs, Attribute{Type: def.name, Values: [][]byte{[]byte(v)}})
	}
	return t.put(ctx, tx, d, norm, attrs, true, parents)
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
