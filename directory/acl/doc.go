// Package acl is the directory's access-control engine in the style of
// z/OS LDAP (IBM Tivoli Directory Server): it parses and formats the
// aclEntry, aclPropagate, entryOwner and ownerPropagate attributes, sorts
// attribute types into access classes (normal, sensitive, critical,
// restricted, system), and decides whether a caller may read, write,
// search or compare an attribute, add a child below an entry or delete it.
// Access is denied unless an ACL grants it.
//
// The engine does not read entries itself: the directory hands it a
// Lookup function (the access-control attributes stored at one DN) and a
// Members function (the member and uniqueMember values of a group), and
// calls Engine.Invalidate after any change to those attributes, to group
// membership, or to the shape of the tree (delete, rename). Decisions are
// cached per (caller, entry) until then.
//
// The semantics follow IBM's documentation (z/OS "Using access control":
// access determination, propagating ACLs, pseudo DNs); where that
// documentation is silent the engine takes the reading that grants less,
// and the doc comment of the rule says so.
//
// Standards: values of aclPropagate/ownerPropagate are LDAP Booleans (RFC
// 4517 §3.3.3); subject DNs are RFC 4514 strings; filter items on
// attributes the caller may not search evaluate to Undefined (RFC 4511
// §4.5.1.7, see Engine.CanSearch); noSuchObject's matchedDN (RFC 4511
// §4.1.9) is trimmed to what the caller may discover (Engine.MatchedDN).
// README.md shows how the directory and the server wire the engine in.
//
// It imports only the standard library and package dn; package directory
// imports it (to check aclEntry syntax and to decide access), so it must
// not import directory or ldap.
package acl
