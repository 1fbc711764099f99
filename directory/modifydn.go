package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// ModifyDN renames an entry and moves it, with its subtree, under
// newSuperior when that is not nil (RFC 4511 §4.9). The new RDN's values
// are added to the entry; deleteOldRDN removes the old RDN's values.
// Failures: noSuchObject (entry or new superior, with matchedDN),
// entryAlreadyExists, invalidDNSyntax, unwillingToPerform (moving an entry
// below itself, renaming the root DSE), namingViolation/
// objectClassViolation/constraintViolation (the renamed entry breaks the
// schema), insufficientAccessRights. Access: RightRename on the entry;
// moving it to another parent also needs RightDelete on the entry and
// RightAdd for the new DN (add below the new superior).
func (t *Tree) ModifyDN(ctx context.Context, id Identity, dnStr, newRDN string, deleteOldRDN bool, newSuperior *string) error {
	d, norm, err := t.parseDN(dnStr)
	if err != nil {
		return err
	}
	if d.IsRoot() || norm == t.subschemaNorm() {
		return ldap.Errorf(ldap.ResultUnwillingToPerform, "the root DSE and the subschema entry cannot be renamed")
	}
	rdnDN, _, err := t.parseDN(newRDN)
	if err != nil {
		return err
	}
	if len(rdnDN) != 1 {
		return ldap.Errorf(ldap.ResultInvalidDNSyntax, "new RDN %q is not a single RDN", newRDN)
	}
	parent := d.Parent()
	if newSuperior != nil {
		if parent, _, err = t.parseDN(*newSuperior); err != nil {
			return err
		}
	}
	target := append(DN{rdnDN[0]}, parent...)
	targetNorm := target.Normalize(t.schema)
	for _, n := range []string{norm, targetNorm, parent.Normalize(t.schema)} {
		if err := t.refuseProvided(ctx, n); err != nil {
			return err
		}
	}
	if !t.allowed(ctx, id, RightRename, norm, nil) {
		return t.refuse(ctx, id, d, norm, fmt.Sprintf("no rename access to %q", dnStr))
	}
	// Moving an entry takes it from one parent and puts it below another,
	// so it needs what Delete needs at the old place and what Add needs at
	// the new one (z/OS LDAP: object d on the entry, object a on the new
	// superior). Renaming in place needs neither.
	if parentNorm := parent.Normalize(t.schema); newSuperior != nil && parentNorm != d.Parent().Normalize(t.schema) {
		if !t.allowed(ctx, id, RightDelete, norm, nil) {
			return t.refuse(ctx, id, d, norm, fmt.Sprintf("no delete access to %q, which moving it needs", dnStr))
		}
		if !t.allowed(ctx, id, RightAdd, targetNorm, nil) {
			return t.refuse(ctx, id, parent, parentNorm, fmt.Sprintf("no add access below the new superior %q", *newSuperior))
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
		newParentID := se.ParentID
		parentDN := ""
		if !parent.IsRoot() {
			pn := parent.Normalize(t.schema)
			if pn == norm || strings.HasSuffix(pn, ","+norm) {
				return ldap.Errorf(ldap.ResultUnwillingToPerform, "cannot move %q below itself", se.DN)
			}
			pe, err := tx.Entry(pn)
			if errors.Is(err, store.ErrNotFound) {
				if newSuperior != nil {
					return t.noSuchObject(ctx, tx.Entry, append(DN{nil}, parent...), "new superior")
				}
				// A naming context renamed in place keeps no parent.
				parentDN = parent.String()
				newParentID = 0
			} else if err != nil {
				return err
			} else {
				newParentID, parentDN = pe.ID, pe.DN
			}
		}
		if targetNorm != norm {
			if _, err := tx.Entry(targetNorm); err == nil {
				return ldap.Errorf(ldap.ResultEntryAlreadyExists, "entry %q already exists", target.String())
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		e, err := decode(se)
		if err != nil {
			return err
		}
		attrs := e.Attributes
		if deleteOldRDN {
			for _, ava := range d[0] {
				if ava.Hex || rdnHas(t, rdnDN[0], ava) {
					continue
				}
				attrs, err = t.applyChange(attrs, ldap.Change{Operation: ldap.ModifyDelete, Modification: ldap.Attribute{Type: ava.Type, Values: [][]byte{[]byte(ava.Value)}}})
				if err != nil && !isCode(err, ldap.ResultNoSuchAttribute) {
					return err
				}
			}
		}
		for _, ava := range rdnDN[0] {
			if ava.Hex {
				return ldap.Errorf(ldap.ResultNamingViolation, "new RDN value of %s in #hex form is not supported", ava.Type)
			}
			if t.schema.Attribute(ava.Type).NoUserModification {
				return ldap.Errorf(ldap.ResultConstraintViolation, "%s: no user modification allowed", ava.Type)
			}
			next, err := t.applyChange(attrs, ldap.Change{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: ava.Type, Values: [][]byte{[]byte(ava.Value)}}})
			if err != nil && !isCode(err, ldap.ResultAttributeOrValueExists) {
				return err
			}
			if err == nil {
				attrs = next
			}
		}
		checked, _, err := t.checkEntry(target, attrs)
		if err != nil {
			return err
		}
		checked = setAttr(checked, t.schema, "modifiersName", id.DN)
		checked = setAttr(checked, t.schema, "modifyTimestamp", generalizedTime(t.now()))
		oldDN, oldNorm := se.DN, se.NormDN
		newDN := RDN(rdnDN[0]).String()
		if parentDN != "" {
			newDN += "," + parentDN
		}
		se.ParentID, se.DN, se.NormDN = newParentID, newDN, targetNorm
		se.Data, se.Index = encodeAttributes(checked), t.indexKeys(checked)
		if err := tx.Put(se); err != nil {
			if errors.Is(err, store.ErrExists) {
				return ldap.Errorf(ldap.ResultEntryAlreadyExists, "entry %q already exists", target.String())
			}
			return err
		}
		if oldNorm == targetNorm {
			return nil
		}
		return tx.Descendants(se.ID, func(c *store.DirEntry) error {
			if !strings.HasSuffix(c.NormDN, ","+oldNorm) || !strings.HasSuffix(c.DN, ","+oldDN) {
				return ldap.Errorf(ldap.ResultOther, "subtree of %q is inconsistent at %q", oldDN, c.DN)
			}
			return tx.Rename(c.ID, c.DN[:len(c.DN)-len(oldDN)]+newDN, c.NormDN[:len(c.NormDN)-len(oldNorm)]+targetNorm)
		})
	})
	if err == nil {
		t.changed(norm, nil)
	}
	return storeErr(err)
}

func rdnHas(t *Tree, r RDN, ava AVA) bool {
	at := t.schema.Attribute(ava.Type)
	for _, x := range r {
		if t.schema.Attribute(x.Type) != at {
			continue
		}
		if at.Equality != nil && at.Equality.impl != nil {
			a, _ := at.Equality.impl.norm(t.schema, []byte(x.Value))
			b, _ := at.Equality.impl.norm(t.schema, []byte(ava.Value))
			if a == b {
				return true
			}
		} else if x.Value == ava.Value {
			return true
		}
	}
	return false
}

func isCode(err error, code ldap.ResultCode) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.Code == code
}
