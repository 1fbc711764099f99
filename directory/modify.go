package directory

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Modify applies changes to one entry atomically (RFC 4511 §4.6; increment
// from RFC 4525). Failures: noSuchObject, undefinedAttributeType,
// invalidAttributeSyntax, attributeOrValueExists (adding a present value),
// noSuchAttribute (deleting an absent value or attribute, incrementing an
// absent one), constraintViolation (single-valued, NO-USER-MODIFICATION),
// objectClassViolation (the result breaks the schema), namingViolation (removing an RDN value, as slapd
// answers), objectClassModsProhibited (changing the structural
// class), insufficientAccessRights.
func (t *Tree) Modify(ctx context.Context, id Identity, dnStr string, changes []ldap.Change) error {
	return t.modify(ctx, id, dnStr, changes, true)
}

func (t *Tree) modify(ctx context.Context, id Identity, dnStr string, changes []ldap.Change, checkAccess bool) error {
	d, norm, err := t.parseDN(dnStr)
	if err != nil {
		return err
	}
	if d.IsRoot() || norm == t.subschemaNorm() {
		return ldap.Errorf(ldap.ResultUnwillingToPerform, "the root DSE and the subschema entry are not modifiable")
	}
	if err := t.refuseProvided(ctx, norm); err != nil {
		return err
	}
	for _, c := range changes {
		if err := t.refuseNoUserMod(c.Modification.Type); err != nil {
			return err
		}
		ad, _, _ := t.schema.parseAttrDesc(c.Modification.Type)
		if checkAccess && !t.allowed(ctx, id, RightWrite, norm, ad.at) {
			return t.refuse(ctx, id, d, norm, fmt.Sprintf("no write access to %s of %q", c.Modification.Type, dnStr))
		}
	}
	_, err = t.update(ctx, func(tx store.DirTx) error {
		se, err := tx.Entry(norm)
		if errors.Is(err, store.ErrNotFound) {
			return t.noSuchObject(ctx, tx.Entry, d, "entry")
		}
		if err != nil {
			return err
		}
		e, err := decode(se)
		if err != nil {
			return err
		}
		oldStructural := e.GetString("structuralObjectClass")
		attrs := e.Attributes
		for _, c := range changes {
			if c.Operation == ldap.ModifyAdd || c.Operation == ldap.ModifyReplace {
				// Hash new clear-text passwords; stored values stay as they are.
				hashed, err := t.hashPasswords([]Attribute{{Type: c.Modification.Type, Values: c.Modification.Values}})
				if err != nil {
					return err
				}
				c.Modification.Values = hashed[0].Values
			}
			if attrs, err = t.applyChange(attrs, c); err != nil {
				return err
			}
		}
		// The RDN's values must survive (RFC 4511 §4.6).
		if err := t.checkRDNKept(d, attrs); err != nil {
			return err
		}
		if old := t.schema.Class(oldStructural); old != nil {
			if now := t.structuralOf(attrs); now != nil && now != old {
				return ldap.Errorf(ldap.ResultObjectClassModsProhibited, "structural object class modification from '%s' to '%s' not allowed", old.Name(), now.Name())
			}
		}
		checked, _, err := t.checkEntry(d, attrs)
		if err != nil {
			return err
		}
		checked = setAttr(checked, t.schema, "modifiersName", id.DN)
		checked = setAttr(checked, t.schema, "modifyTimestamp", generalizedTime(t.now()))
		se.Data = encodeAttributes(checked)
		se.Index = t.indexKeys(checked)
		return tx.Put(se)
	})
	if err == nil {
		names := make([]string, 0, len(changes))
		for _, c := range changes {
			names = append(names, c.Modification.Type)
		}
		t.changed(norm, names)
	}
	return storeErr(err)
}

// structuralOf returns the most specific structural class among the
// objectClass values of attrs, or nil if there is none or no single one.
func (t *Tree) structuralOf(attrs []Attribute) *ObjectClass {
	var best *ObjectClass
	for _, a := range attrs {
		d, _, err := t.schema.parseAttrDesc(a.Type)
		if err != nil || d.at == nil || d.at.OID != oidObjectClass {
			continue
		}
		for _, v := range a.Values {
			c := t.schema.Class(string(v))
			if c == nil || c.Kind != Structural {
				continue
			}
			if best == nil || c.isA(best) {
				best = c
			}
		}
	}
	return best
}

func (t *Tree) checkRDNKept(d DN, attrs []Attribute) error {
	e := &Entry{DN: d.String(), Attributes: attrs}
	v := t.newView(e)
	for _, ava := range d[0] {
		at := t.schema.Attribute(ava.Type)
		if at == nil || ava.Hex {
			continue
		}
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: ava.Type, Value: []byte(ava.Value)}
		if at.Equality != nil && t.eval(&f, v, nil) != True {
			// slapd answers namingViolation here, and clients see slapd's code.
			return ldap.Errorf(ldap.ResultNamingViolation, "%s: cannot remove the value the entry is named by", ava.Type)
		}
	}
	return nil
}

// applyChange applies one modification to attrs (not yet schema-checked).
func (t *Tree) applyChange(attrs []Attribute, c ldap.Change) ([]Attribute, error) {
	desc, name, err := t.schema.parseAttrDesc(c.Modification.Type)
	if err != nil || desc.at == nil {
		return nil, ldap.Errorf(ldap.ResultUndefinedAttributeType, "%s: attribute type undefined", c.Modification.Type)
	}
	at := desc.at
	idx := -1
	for i, a := range attrs {
		if d, _, err := t.schema.parseAttrDesc(a.Type); err == nil && d.at == at && d.opts == desc.opts {
			idx = i
			break
		}
	}
	norm := func(v []byte) string {
		if at.Equality != nil && at.Equality.impl != nil {
			if n, ok := at.Equality.impl.norm(t.schema, v); ok {
				return n
			}
		}
		return string(v)
	}
	for i, v := range c.Modification.Values {
		if err := ValidateValue(at, v); err != nil && c.Operation != ldap.ModifyDelete {
			return nil, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "%s: value #%d invalid per syntax: %v", name, i, err)
		}
	}
	switch c.Operation {
	case ldap.ModifyAdd:
		if len(c.Modification.Values) == 0 {
			return nil, ldap.Errorf(ldap.ResultProtocolError, "%s: modify/add with no values", name)
		}
		if idx < 0 {
			attrs = append(attrs, Attribute{Type: name + desc.opts})
			idx = len(attrs) - 1
		}
		have := map[string]bool{}
		for _, v := range attrs[idx].Values {
			have[norm(v)] = true
		}
		for i, v := range c.Modification.Values {
			n := norm(v)
			if have[n] {
				return nil, ldap.Errorf(ldap.ResultAttributeOrValueExists, "modify/add: %s: value #%d already exists", name, i)
			}
			have[n] = true
			attrs[idx].Values = append(attrs[idx].Values, v)
		}
	case ldap.ModifyDelete:
		if idx < 0 {
			return nil, ldap.Errorf(ldap.ResultNoSuchAttribute, "modify/delete: %s: no such attribute", name)
		}
		if len(c.Modification.Values) == 0 {
			return append(attrs[:idx:idx], attrs[idx+1:]...), nil
		}
		keep := attrs[idx].Values
		for i, v := range c.Modification.Values {
			n := norm(v)
			found := false
			for j, x := range keep {
				if norm(x) == n {
					keep = append(keep[:j:j], keep[j+1:]...)
					found = true
					break
				}
			}
			if !found {
				return nil, ldap.Errorf(ldap.ResultNoSuchAttribute, "modify/delete: %s: value #%d not found", name, i)
			}
		}
		if len(keep) == 0 {
			return append(attrs[:idx:idx], attrs[idx+1:]...), nil
		}
		attrs[idx].Values = keep
	case ldap.ModifyReplace:
		if len(c.Modification.Values) == 0 {
			if idx >= 0 {
				return append(attrs[:idx:idx], attrs[idx+1:]...), nil
			}
			return attrs, nil
		}
		seen := map[string]bool{}
		for i, v := range c.Modification.Values {
			if seen[norm(v)] {
				return nil, ldap.Errorf(ldap.ResultAttributeOrValueExists, "modify/replace: %s: value #%d provided more than once", name, i)
			}
			seen[norm(v)] = true
		}
		if idx < 0 {
			attrs = append(attrs, Attribute{Type: name + desc.opts})
			idx = len(attrs) - 1
		}
		attrs[idx].Values = c.Modification.Values
	case ldap.ModifyIncrement:
		if at.Equality == nil || at.Equality.Name() != "integerMatch" {
			return nil, ldap.Errorf(ldap.ResultConstraintViolation, "modify/increment: %s: not an integer attribute", name)
		}
		if len(c.Modification.Values) != 1 {
			return nil, ldap.Errorf(ldap.ResultProtocolError, "modify/increment: %s: exactly one value required", name)
		}
		by, ok := new(big.Int).SetString(string(c.Modification.Values[0]), 10)
		if !ok {
			return nil, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "modify/increment: %s: %q is not an integer", name, c.Modification.Values[0])
		}
		if idx < 0 {
			return nil, ldap.Errorf(ldap.ResultNoSuchAttribute, "modify/increment: %s: no such attribute", name)
		}
		nv := make([][]byte, len(attrs[idx].Values))
		for i, v := range attrs[idx].Values {
			x, ok := new(big.Int).SetString(string(v), 10)
			if !ok {
				return nil, ldap.Errorf(ldap.ResultConstraintViolation, "modify/increment: %s: stored value %q is not an integer", name, v)
			}
			nv[i] = []byte(x.Add(x, by).String())
		}
		attrs[idx].Values = nv
	default:
		return nil, ldap.Errorf(ldap.ResultProtocolError, "unknown modify operation %d", c.Operation)
	}
	return attrs, nil
}
