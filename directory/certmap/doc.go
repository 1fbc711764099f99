// Package certmap turns the certificate chain a TLS client presented into a
// directory identity, for SASL EXTERNAL binds (RFC 4513 §5.2.1.2, §6.3.2).
//
// A Mapper does two things at every bind, checking the certificate's
// revocation state each time so a revocation applies to the next bind (the
// list of CAs is reread at most a second after the last read):
//
//   - Verify checks the chain (RFC 5280 §6 path validation with
//     crypto/x509) against the trust anchors: by default pkid's own CAs
//     from the store, plus Config.Roots for foreign CAs. It requires
//     clientAuth in extendedKeyUsage (or no EKU) and validity at Now. For
//     certificates issued by a pkid CA the revocation state is read from
//     the store (store.Certificate); a serial the store does not know is
//     refused. The store's good answers are cached (revcache.go) and
//     trusted only while the store's change-feed revision, read at every
//     bind (one indexed lookup), stands still. Other chains are checked with package revocation (CRLs and
//     OCSP, RFC 5280 §6.3, RFC 6960). The path validation itself is
//     cached per presented chain (chaincache.go): an entry serves only
//     while every certificate of its path is valid and the store lists
//     the same CAs; revocation is never part of that cache.
//   - Map tries the configured rules in order; the first that yields
//     exactly one existing entry wins. Kinds: "subject" (the subject DN is
//     an entry's DN), "regexp" (OpenLDAP olcAuthzRegexp), "dnfilter"
//     (RACF RACDCERT MAP SDNFILTER/IDNFILTER) and "certificate" (the DER
//     equals a userCertificate;binary value, certificateExactMatch of
//     RFC 4523 compared as DER bytes).
//
// Failures a client caused are *Error values whose message names the
// certificate's serial and subject and the reason; the LDAP frontend
// returns them as invalidCredentials. Authenticate runs both steps and
// the authorization identity policy (RFC 4513 §5.2.1.8); LogBind writes
// the one log line per bind.
//
// This package imports directory, dn, store, revocation and ca (for serial
// and reason names); it must not import the ldap frontend's server code.
package certmap
