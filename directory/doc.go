// Package directory is pkid's LDAP directory information tree: schema,
// entries, matching, filters, the operations' semantics and result codes,
// the root DSE and subschema entry, passwords and LDIF. The LDAP frontend
// (package ldap's server side) decodes requests and calls a Tree; the
// Tree reads and writes entries through store.DirectoryStore, the single
// source of truth, one transaction per operation.
//
// It implements:
//   - RFC 4512: schema descriptions (§4.1) parsed from schema-file text and
//     served verbatim in the subschema entry (§4.2); object class rules
//     (§2.4: one structural chain, MUST/MAY, extensibleObject); the root DSE
//     (§5.1); operational attributes (createTimestamp, modifyTimestamp,
//     creatorsName, modifiersName, structuralObjectClass, subschemaSubentry,
//     hasSubordinates, entryDN, entryUUID from RFC 4530).
//   - RFC 4511 §4.5–§4.10: Search (base/one/sub/children scopes, size and
//     time limits, attribute selection with *, +, 1.1, @class), filters
//     with three-valued logic (§4.5.1.7, including extensible match and
//     :dn:), Add, Delete, Modify (with increment, RFC 4525), ModifyDN with
//     subtree moves, Compare, and their result codes; simple Bind (RFC 4513
//     §5.1) and Password Modify (RFC 3062).
//   - RFC 4514 DN strings, normalised per the attribute types' equality
//     rules; RFC 4517 syntaxes and matching rules; RFC 4518 string
//     preparation (NFKC, case folding, insignificant spaces).
//   - RFC 4519, 4524, 2798, 2307 and 4523/2256 schemas (files under
//     schema/), with ;binary transfer (RFC 4522) for certificate syntaxes.
//   - RFC 2849 LDIF: reader (folding, base64, file:// URLs when allowed,
//     change records, controls) and writer; Import of slapcat dumps.
//   - Passwords: {ARGON2} (argon2id, new passwords), {SSHA}, {SHA},
//     {SSHA256/512}, {SHA256/512}, {CRYPT} ($1$, $5$, $6$).
//
// Equality indexes (Config.Indexed) hold one store row per normalised
// value; an objectClass value's row names the class as listed, not its
// superclasses, so a search on a class looks up the rows of the class and
// of each of its subclasses and sends every entry found once (stores
// written before this held superclass rows too, which the union also
// reads). Import writes them through the store's bulk path.
//
// Approximate match (~=) compares the equality rule's canonical forms with
// all white space removed and case folded.
//
// Access control is a seam (AccessControl), with optional Concealer
// (noSuchObject rather than insufficientAccessRights where an entry's
// existence is secret) and SourceReporter (computed aclSource and
// ownerSource); Config.CheckValue vets written values (aclEntry syntax)
// and Config.Changed reports committed writes. Package server implements
// them with the z/OS-style aclEntry engine of package directory/acl, whose
// attribute types are in schema/acl.schema.
//
// Virtual entries come from Providers (Config.Providers): read-only
// entries computed from the store and merged into searches, compares and
// reads, with their missing ancestors shown as virtual parents; writes to
// them are unwillingToPerform. PKI (pki.go) is the one pkid has: every CA
// at its subject DN with cACertificate and its current CRLs (RFC 4523
// §2.2, §2.4, §2.5, §3.2, §3.3; RFC 2256 certificationAuthority and
// cRLDistributionPoint), and the CA database view (one pkidCertificate
// entry per issued certificate, schema/pkid.schema, OIDs under a
// UUID-derived 2.25 arc, X.667).
//
// This package must not import the ldap frontend's server code nor any
// listener: it imports only package ldap's message types (Filter,
// ResultCode, Error, Change, SearchRequest), store, ca (for revocation
// reason names) and the standard library.
package directory
