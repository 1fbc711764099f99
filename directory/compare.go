package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Compare tests an attribute value assertion against an entry (RFC 4511
// §4.10): (true, nil) is compareTrue, (false, nil) compareFalse. Failures:
// noSuchObject, undefinedAttributeType, noSuchAttribute (the entry lacks
// the attribute), inappropriateMatching (no equality rule),
// invalidAttributeSyntax (the value does not fit the rule),
// insufficientAccessRights.
func (t *Tree) Compare(ctx context.Context, id Identity, dnStr, attr string, value []byte) (bool, error) {
	d, norm, err := t.parseDN(dnStr)
	if err != nil {
		return false, err
	}
	desc, name, err := t.schema.parseAttrDesc(attr)
	if err != nil || desc.at == nil {
		return false, ldap.Errorf(ldap.ResultUndefinedAttributeType, "%s: attribute type undefined", attr)
	}
	at := desc.at
	if at.Equality == nil || at.Equality.impl == nil {
		return false, ldap.Errorf(ldap.ResultInappropriateMatching, "%s has no equality matching rule", name)
	}
	if _, ok := at.Equality.impl.norm(t.schema, value); !ok {
		return false, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "%s: assertion value invalid per syntax", name)
	}
	e, err := t.lookup(ctx, d, norm)
	if err != nil {
		return false, t.hideMissing(ctx, id, err)
	}
	if !t.allowed(ctx, id, RightCompare, norm, at) {
		return false, t.refuse(ctx, id, d, norm, fmt.Sprintf("no compare access to %s of %q", name, dnStr))
	}
	v := t.newView(e)
	present := false
	v.each(at, desc.opts, func([]byte) bool { present = true; return true })
	if !present {
		return false, ldap.Errorf(ldap.ResultNoSuchAttribute, "entry %q has no %s", e.DN, name)
	}
	f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: attr, Value: value}
	return t.eval(&f, v, nil) == True, nil
}

// Entry returns the stored entry named dn with all its stored attributes
// (the root DSE and the subschema entry included), without access checks:
// for the frontend's own needs (SASL EXTERNAL mapping, WhoAmI). Failures:
// invalidDNSyntax, noSuchObject with matchedDN.
func (t *Tree) Entry(ctx context.Context, dn string) (*Entry, error) {
	d, norm, err := t.parseDN(dn)
	if err != nil {
		return nil, err
	}
	return t.lookup(ctx, d, norm)
}

// EntryNormalized is Entry for a DN in the form NormalizeDN returns,
// sparing the parse when the entry exists: for access-control lookups,
// which run once per entry a search meets. Any other case takes Entry's
// path, so the results and failures are Entry's.
func (t *Tree) EntryNormalized(ctx context.Context, normDN string) (*Entry, error) {
	if normDN == "" || normDN == t.subschemaNorm() {
		return t.Entry(ctx, normDN)
	}
	if v, ok, err := t.virtualEntry(ctx, normDN); err == nil && ok {
		return v.entry, nil
	} else if err == nil {
		if x, err := t.getEntry(ctx, normDN); err == nil {
			return x.entry, nil
		}
	}
	return t.Entry(ctx, normDN)
}

// lookup reads one entry (the root DSE and subschema entry included), or
// noSuchObject with matchedDN.
func (t *Tree) lookup(ctx context.Context, d DN, norm string) (*Entry, error) {
	if d.IsRoot() {
		return t.RootDSE(ctx)
	}
	if norm == t.subschemaNorm() {
		return t.SubschemaEntry(), nil
	}
	if v, ok, err := t.virtualEntry(ctx, norm); err != nil {
		return nil, err
	} else if ok {
		return v.entry, nil
	}
	x, err := t.getEntry(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		return nil, t.noSuchObject(ctx, func(n string) (*store.DirEntry, error) { return t.st.DirEntry(ctx, n) }, d, "entry")
	}
	if err != nil {
		return nil, storeErr(err)
	}
	return x.entry, nil
}
