package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/directory/acl"
	"github.com/pkid/pkid/ldap"
)

// mechanismInternal marks the server's own writes (bootstrap entries):
// the ACL adapter allows them. Clients cannot bind with it; the LDAP
// frontend only sets SIMPLE or EXTERNAL.
const mechanismInternal = "pkid-internal"

// aclAccess implements directory.AccessControl with the z/OS-style
// aclEntry engine (package directory/acl): default deny; the root DSE,
// the subschema entry and CA/CRL entries are public.
type aclAccess struct {
	eng  *acl.Engine
	tree *directory.Tree // set once the tree exists
}

// newACLTree builds the directory tree with aclEntry access control:
// cfg.Access, cfg.CheckValue and cfg.Changed are set here.
func newACLTree(cfg directory.Config) (*directory.Tree, error) {
	t, _, err := buildACLTree(cfg)
	return t, err
}

// buildACLTree is newACLTree that also returns the access control.
func buildACLTree(cfg directory.Config) (*directory.Tree, *aclAccess, error) {
	a := &aclAccess{}
	schema := cfg.Schema
	if schema == nil {
		schema = directory.DefaultSchema()
	}
	eng, err := acl.New(acl.Config{
		Lookup:    a.lookup,
		Members:   a.members,
		Normalize: func(s string) (string, error) { return directory.NormalizeDN(schema, s) },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("access control: %w", err)
	}
	a.eng = eng
	cfg.Access = a
	cfg.CheckValue = func(attr string, v []byte) error { return eng.CheckValue(attr, string(v)) }
	cfg.Changed = a.changed
	t, err := directory.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	a.tree = t
	return t, a, nil
}

func isNoSuchObject(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.Code == ldap.ResultNoSuchObject
}

func strs(vals ...[][]byte) []string {
	var out []string
	for _, vs := range vals {
		for _, v := range vs {
			out = append(out, string(v))
		}
	}
	return out
}

// lookup reads the entry's access-control attributes and whether it is
// public, in one read of the entry.
func (a *aclAccess) lookup(ctx context.Context, normDN string) (acl.Attributes, error) {
	if normDN == "" {
		return acl.Attributes{Public: true}, nil
	}
	e, err := a.tree.EntryNormalized(ctx, normDN)
	if isNoSuchObject(err) {
		return acl.Attributes{}, nil
	}
	if err != nil {
		return acl.Attributes{}, err
	}
	return attributesOf(e, normDN), nil
}

// attributesOf is the access-control attributes entry e (normalised DN
// normDN) carries, and whether it is public.
func attributesOf(e *directory.Entry, normDN string) acl.Attributes {
	return acl.Attributes{
		ACLEntry: strs(e.Get("aclEntry")), ACLPropagate: e.GetString("aclPropagate"),
		EntryOwner: strs(e.Get("entryOwner")), OwnerPropagate: e.GetString("ownerPropagate"),
		Public: normDN == "cn=subschema" || isPublic(e),
	}
}

func (a *aclAccess) members(ctx context.Context, groupDN string) ([]string, error) {
	e, err := a.tree.EntryNormalized(ctx, groupDN)
	if isNoSuchObject(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strs(e.Get("member"), e.Get("uniqueMember"), e.Get("roleOccupant")), nil
}

// isPublic reports whether everyone may read entry e: the entries of CAs
// and their CRLs (objectClass pkiCA, certificationAuthority or
// cRLDistributionPoint). The root DSE and the subschema entry are public
// too (lookup).
func isPublic(e *directory.Entry) bool {
	for _, oc := range e.Get("objectClass") {
		for _, p := range [...]string{"pkiCA", "certificationAuthority", "certificationAuthority-V2", "cRLDistributionPoint"} {
			if strings.EqualFold(string(oc), p) {
				return true
			}
		}
	}
	return false
}

// changed drops cached decisions after writes that can change them.
func (a *aclAccess) changed(_ string, attrs []string) {
	if attrs == nil {
		a.eng.Invalidate()
		return
	}
	for _, at := range attrs {
		if acl.AffectsAccess(at) {
			a.eng.Invalidate()
			return
		}
	}
}

func (a *aclAccess) request(id directory.Identity, right directory.Right, dn string, at *directory.AttributeType) acl.Request {
	req := acl.Request{Caller: acl.Caller{DN: id.DN}, EntryDN: dn}
	if at != nil {
		req.Attribute = at.Name()
	}
	switch right {
	case directory.RightRead:
		req.Op = acl.OpRead
	case directory.RightSearch:
		req.Op = acl.OpSearch
	case directory.RightCompare:
		req.Op = acl.OpCompare
	case directory.RightWrite:
		req.Op = acl.OpWrite
	case directory.RightAdd:
		req.Op, req.EntryDN = acl.OpAddChild, acl.Parent(dn)
	default: // RightDelete, RightRename: d on the entry
		req.Op = acl.OpDelete
	}
	return req
}

// Allowed implements directory.AccessControl; entryDN is normalised.
func (a *aclAccess) Allowed(ctx context.Context, id directory.Identity, right directory.Right, entryDN string, at *directory.AttributeType) bool {
	if id.Mechanism == mechanismInternal {
		return true
	}
	return a.eng.Decide(ctx, a.request(id, right, entryDN, at)).Allowed
}

// AllowedEntry implements directory.EntryAccessControl: Allowed for an
// entry a search has just read, whose access-control attributes need not
// be read again. RightAdd is about the parent, so it takes Allowed's path.
func (a *aclAccess) AllowedEntry(ctx context.Context, id directory.Identity, right directory.Right, e *directory.Entry, entryDN string, at *directory.AttributeType) bool {
	if id.Mechanism == mechanismInternal {
		return true
	}
	if right == directory.RightAdd || entryDN == "" {
		return a.Allowed(ctx, id, right, entryDN, at)
	}
	return a.eng.DecideEntry(ctx, a.request(id, right, entryDN, at), attributesOf(e, entryDN)).Allowed
}

// Conceal implements directory.Concealer: a refused operation on an entry
// the caller may not discover answers noSuchObject, with the nearest
// entry it may discover as matchedDN.
func (a *aclAccess) Conceal(ctx context.Context, id directory.Identity, entryDN, matched string) (bool, string) {
	c := acl.Caller{DN: id.DN}
	if id.Mechanism == mechanismInternal {
		return false, matched
	}
	if a.eng.Refuse(ctx, c, entryDN) == acl.RefuseNoSuchObject {
		return true, a.eng.MatchedDN(ctx, c, matched)
	}
	return false, a.eng.MatchedDN(ctx, c, matched)
}

// Sources implements directory.SourceReporter (aclSource, ownerSource).
func (a *aclAccess) Sources(ctx context.Context, entryDN string) (string, string, error) {
	return a.eng.Sources(ctx, entryDN)
}

// ensureSuffixOwner gives the suffix entry dn "entryOwner:
// access-id:<admin>" and "ownerPropagate: TRUE" when it has no owner yet
// (first run, or a data directory from before aclEntry access control).
func ensureSuffixOwner(ctx context.Context, tree *directory.Tree, dn, admin string) error {
	e, err := tree.Entry(ctx, dn)
	if err != nil {
		return fmt.Errorf("read the suffix %s to set its owner: %w", dn, err)
	}
	if len(e.Get("entryOwner")) > 0 {
		return nil
	}
	changes := []ldap.Change{
		{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "entryOwner", Values: [][]byte{[]byte("access-id:" + admin)}}},
	}
	if e.GetString("ownerPropagate") == "" {
		changes = append(changes, ldap.Change{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "ownerPropagate", Values: [][]byte{[]byte("TRUE")}}})
	}
	if err := tree.Modify(ctx, directory.Identity{DN: admin, Mechanism: mechanismInternal}, dn, changes); err != nil {
		return fmt.Errorf("make %s the owner of the suffix %s: %w", admin, dn, err)
	}
	return nil
}
