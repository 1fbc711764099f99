package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Add creates an entry (RFC 4511 §4.7). Failures, as *ldap.Error:
// invalidDNSyntax, entryAlreadyExists, noSuchObject (parent missing, with
// matchedDN), undefinedAttributeType, invalidAttributeSyntax,
// attributeOrValueExists (a value given twice), constraintViolation
// (single-valued, NO-USER-MODIFICATION), objectClassViolation,
// namingViolation (RDN value not in the entry), insufficientAccessRights.
// Clear-text userPassword values are stored hashed with argon2id.
func (t *Tree) Add(ctx context.Context, id Identity, e *Entry) error {
	d, norm, err := t.parseDN(e.DN)
	if err != nil {
		return err
	}
	if d.IsRoot() || norm == t.subschemaNorm() {
		return ldap.Errorf(ldap.ResultEntryAlreadyExists, "%q is the root DSE or the subschema entry", e.DN)
	}
	if err := t.refuseProvided(ctx, norm); err != nil {
		return err
	}
	if err := t.refuseProvided(ctx, d.Parent().Normalize(t.schema)); err != nil {
		return err
	}
	for _, a := range e.Attributes {
		if err := t.refuseNoUserMod(a.Type); err != nil {
			return err
		}
	}
	if !t.allowed(ctx, id, RightAdd, norm, nil) {
		return t.refuse(ctx, id, d.Parent(), d.Parent().Normalize(t.schema), fmt.Sprintf("no add access to %q", e.DN))
	}
	// Operational attributes a client may set (aclEntry, entryOwner, ...)
	// need write access to them on the new entry, as with Modify: add
	// access to the parent alone must not let a caller grant itself rights.
	for _, a := range e.Attributes {
		if ad, _, _ := t.schema.parseAttrDesc(a.Type); ad.at != nil && ad.at.Operational() && !t.allowed(ctx, id, RightWrite, norm, ad.at) {
			return ldap.Errorf(ldap.ResultInsufficientAccessRights, "no write access to %s of %q", a.Type, e.DN)
		}
	}
	// Like slapd, supply the RDN's values the entry lacks (RFC 4511 §4.7
	// lets a server refuse or add them; clients rely on slapd adding).
	attrs, structural, err := t.checkEntry(d, t.withRDNValues(d, e.Attributes))
	if err != nil {
		return err
	}
	if attrs, err = t.hashPasswords(attrs); err != nil {
		return err
	}
	now := generalizedTime(t.now())
	attrs = append(attrs,
		Attribute{Type: "structuralObjectClass", Values: [][]byte{[]byte(structural.Name())}},
		Attribute{Type: "entryUUID", Values: [][]byte{[]byte(t.newUUID())}},
		Attribute{Type: "creatorsName", Values: [][]byte{[]byte(id.DN)}},
		Attribute{Type: "createTimestamp", Values: [][]byte{[]byte(now)}},
		Attribute{Type: "modifiersName", Values: [][]byte{[]byte(id.DN)}},
		Attribute{Type: "modifyTimestamp", Values: [][]byte{[]byte(now)}},
	)
	_, err = t.update(ctx, func(tx store.DirTx) error {
		return t.put(ctx, tx, t.encode(d, norm, attrs), false, nil)
	})
	if err == nil {
		names := make([]string, 0, len(attrs))
		for _, a := range attrs {
			names = append(names, a.Type)
		}
		t.changed(norm, names)
	}
	return storeErr(err)
}

// put inserts a checked entry under its parent. autoSuffix makes a
// parentless entry a naming context (LDIF import); otherwise only
// configured suffixes may be.
// encoded is an entry ready for the store: everything put needs that does
// not depend on the transaction, computed ahead (by Import's reader).
type encoded struct {
	d          DN
	norm       string
	parentNorm string // "" for a one-RDN DN
	rdn        string // the RDN as written
	data       []byte
	index      []store.DirIndexKey
}

func (t *Tree) encode(d DN, norm string, attrs []Attribute) *encoded {
	x := &encoded{d: d, norm: norm, rdn: RDN(d[0]).String(), data: encodeAttributes(attrs), index: t.indexKeys(attrs)}
	if p := d.Parent(); !p.IsRoot() {
		// norm is the first RDN's normal form, a comma, and the parent's:
		// normalising the first RDN alone finds where the parent's starts.
		r := DN{d[0]}.Normalize(t.schema)
		if len(norm) > len(r) && norm[:len(r)] == r && norm[len(r)] == ',' {
			x.parentNorm = norm[len(r)+1:]
		} else {
			x.parentNorm = p.Normalize(t.schema)
		}
	}
	return x
}

func (t *Tree) put(ctx context.Context, tx store.DirTx, x *encoded, autoSuffix bool, parents *parentCache) error {
	var parentID int64
	d, norm := x.d, x.norm
	// A naming context's stored DN is the DN as written; an entry below
	// one gets its RDN plus the parent's stored DN (below).
	var dnStr string
	if p := d.Parent(); p.IsRoot() {
		if !t.suffixes[norm] && !autoSuffix {
			return &ldap.Error{Code: ldap.ResultNoSuchObject, Message: fmt.Sprintf("%q is not below a naming context of this server", d.String())}
		}
		dnStr = d.String()
	} else {
		pn := x.parentNorm
		var pe *store.DirEntry
		var err error
		if ref, ok := parents.get(pn); ok {
			pe = &store.DirEntry{ID: ref.id, DN: ref.dn}
		} else if pe, err = tx.Entry(pn); err == nil {
			parents.put(pn, parentRef{pe.ID, pe.DN})
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if !t.suffixes[norm] && !autoSuffix {
				return t.noSuchObject(ctx, tx.Entry, d, "parent of")
			}
			dnStr = d.String()
		case err != nil:
			return err
		default:
			parentID = pe.ID
			// The stored DN is the RDN as given plus the parent's stored
			// DN, so a subtree move can rewrite descendants by suffix.
			dnStr = x.rdn + "," + pe.DN
		}
	}
	se := &store.DirEntry{ParentID: parentID, DN: dnStr, NormDN: norm, Data: x.data, Index: x.index}
	err := tx.Put(se)
	if err == nil {
		parents.put(norm, parentRef{se.ID, se.DN})
	}
	if errors.Is(err, store.ErrExists) {
		return ldap.Errorf(ldap.ResultEntryAlreadyExists, "entry %q already exists", d.String())
	}
	return err
}

// parentRef caches a possible parent during an import: parents come just
// before their children, so most lookups hit.
type parentRef struct {
	id int64
	dn string
}

// parentCache remembers the entries an import wrote or looked up, in two
// generations of at most parentCacheSize each: a parent used by every
// child (ou=people above 100,000 users) is promoted on each hit and so is
// never evicted, while memory stays bounded. A nil cache holds nothing.
type parentCache struct {
	cur, old map[string]parentRef
}

const parentCacheSize = 8192

func (c *parentCache) get(norm string) (parentRef, bool) {
	if c == nil {
		return parentRef{}, false
	}
	if r, ok := c.cur[norm]; ok {
		return r, true
	}
	r, ok := c.old[norm]
	if ok {
		c.put(norm, r)
	}
	return r, ok
}

func (c *parentCache) put(norm string, r parentRef) {
	if c == nil {
		return
	}
	if c.cur == nil || len(c.cur) >= parentCacheSize {
		c.old, c.cur = c.cur, make(map[string]parentRef, parentCacheSize)
	}
	c.cur[norm] = r
}

func (t *Tree) subschemaNorm() string { return t.subNorm }

// withRDNValues returns attrs plus any value of d's RDN they lack.
func (t *Tree) withRDNValues(d DN, attrs []Attribute) []Attribute {
	if len(d) == 0 {
		return attrs
	}
	v := t.newView(&Entry{DN: d.String(), Attributes: attrs})
	var out []Attribute
	for _, ava := range d[0] {
		at := t.schema.Attribute(ava.Type)
		if at == nil || ava.Hex || at.Equality == nil {
			continue
		}
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: ava.Type, Value: []byte(ava.Value)}
		if t.eval(&f, v, nil) == True {
			continue
		}
		if out == nil {
			out = make([]Attribute, len(attrs))
			for i, a := range attrs {
				out[i] = Attribute{Type: a.Type, Values: append([][]byte(nil), a.Values...)}
			}
		}
		added := false
		for i, a := range out {
			if t.schema.Attribute(attrName(a.Type)) == at && !strings.Contains(a.Type, ";") {
				out[i].Values = append(out[i].Values, []byte(ava.Value))
				added = true
				break
			}
		}
		if !added {
			out = append(out, Attribute{Type: ava.Type, Values: [][]byte{[]byte(ava.Value)}})
		}
	}
	if out == nil {
		return attrs
	}
	return out
}
