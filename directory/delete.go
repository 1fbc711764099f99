package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Delete removes a leaf entry (RFC 4511 §4.8): noSuchObject (with
// matchedDN), notAllowedOnNonLeaf, insufficientAccessRights,
// unwillingToPerform for the root DSE and subschema entry.
func (t *Tree) Delete(ctx context.Context, id Identity, dnStr string) error {
	d, norm, err := t.parseDN(dnStr)
	if err != nil {
		return err
	}
	if d.IsRoot() || norm == t.subschemaNorm() {
		return ldap.Errorf(ldap.ResultUnwillingToPerform, "the root DSE and the subschema entry cannot be deleted")
	}
	if err := t.refuseProvided(ctx, norm); err != nil {
		return err
	}
	if !t.allowed(ctx, id, RightDelete, norm, nil) {
		return t.refuse(ctx, id, d, norm, fmt.Sprintf("no delete access to %q", dnStr))
	}
	_, err = t.update(ctx, func(tx store.DirTx) error {
		e, err := tx.Entry(norm)
		if errors.Is(err, store.ErrNotFound) {
			return t.noSuchObject(ctx, tx.Entry, d, "entry")
		}
		if err != nil {
			return err
		}
		n, err := tx.Children(e.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return ldap.Errorf(ldap.ResultNotAllowedOnNonLeaf, "entry %q has %d subordinate entries; delete them first", e.DN, n)
		}
		return tx.Delete(e.ID)
	})
	if err == nil {
		t.changed(norm, nil)
	}
	return storeErr(err)
}
