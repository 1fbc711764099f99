// Package publish is pkid's publisher to external LDAP directories (an
// OpenLDAP or z/OS LDAP server pkid does not own, whose clients read CA
// certificates and CRLs from the CA's DN).
//
// It is level-triggered: the desired state of every target is "each
// selected CA's entry holds the CA certificate and the latest CRLs in the
// store". Each target runs in its own goroutine, woken by the store's
// change feed (records of kind "crl" and "ca") and by a periodic resync
// that re-reads the directory. A pass compares the desired state with the
// entry's attributes, writes what differs and reads it back, comparing
// bytes. What was published (CRL numbers and hashes per CA), the last
// success, the last error and the consecutive failures are kept in the
// store under Meta keys "publish/<target>/<ca>", so they survive restarts
// and `pkid publish status` can read them from another process; the list
// of target names is under "publish/targets". Failed passes are retried
// with exponential backoff and jitter per target. A dead or slow directory
// delays nothing but its own target: every network operation has a
// deadline, and issuance, revocation and CRL signing never wait for a
// publisher.
//
// Entries (RFC 4523 schema, as OpenLDAP's core.schema defines it): the CA
// entry gets the structural class cRLDistributionPoint (MUST cn) with the
// auxiliary classes certificationAuthority (MUST cACertificate,
// certificateRevocationList, authorityRevocationList) and pkiCA, plus
// deltaCRL when the CA issues delta CRLs. pkid signs one CRL per CA that
// covers every certificate the CA issued, CA certificates included, so the
// same CRL is published as certificateRevocationList and as
// authorityRevocationList (the ARL). When the entry's RDN is not a cn, it
// also gets extensibleObject so the naming attribute is allowed. Missing
// parent entries are created with the structural class their RDN implies:
// c → country, o → organization, ou → organizationalUnit, l → locality,
// dc → domain (cosine), cn → organizationalRole; any other RDN type is an
// error asking the administrator to create that entry. Existing entries
// are never deleted.
//
// A directory whose schema lacks the PKI classes fails with an error naming
// the missing class or attribute, read from the server's subschema.
//
// It implements the attribute usage of RFC 4523 §2 (the ;binary transfer
// option, RFC 4522) and drives the server through package ldap's client.
// It imports store, ldap, dn and the Prometheus client (for Collector);
// it must not import ca, the servers or a store implementation.
package publish
