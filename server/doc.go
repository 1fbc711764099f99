// Package server is `pkid serve`: it owns the configuration, the first-run
// bootstrap of a data directory, the HTTP listener, the lifecycle
// (graceful shutdown), metrics and logging. It wires the other packages
// together and adds no protocol of its own:
//
//   - ocsp answers OCSP (RFC 6960, RFC 5019) at the URL ca writes into
//     certificates' authorityInfoAccess; this package issues and renews
//     the delegated responder certificate of every CA (RFC 6960 §4.2.2.2)
//     and adapts the store to ocsp.LookupFunc;
//   - ca builds and signs CRLs; this package publishes them, and the CA
//     certificates, at the caIssuers and cRLDistributionPoints URLs (RFC
//     5280 §4.2.2.1, §4.2.1.13, §5) as DER with the media types of RFC
//     2585 §4 (application/pkix-cert, application/pkix-crl) and as PEM,
//     with conditional GET (RFC 9110 §13: ETag, Last-Modified,
//     If-None-Match, If-Modified-Since);
//   - store is the truth: the server follows its change feed (store.Watch)
//     so that a revocation made by any process re-signs the OCSP responses
//     and rebuilds the CRL of its CA within a second;
//   - ldap serves the directory (package directory) over LDAP with
//     StartTLS and LDAPS (ldap.go): this package creates the suffix derived
//     from the CA's name (SuffixFor), the administrator's entry (whose DN
//     is the subject of admin.pem, for SASL EXTERNAL) and the directory's
//     server certificate (ldap.pem, renewed when a third of its life is
//     left), verifies client certificates at each EXTERNAL bind (the
//     handshake only requests them) and checks them against the store,
//     and enforces default-deny aclEntry access control
//     (access.go: package directory/acl behind directory.AccessControl;
//     public: the root DSE, the subschema entry and CA/CRL entries). The
//     administrator owns each suffix (entryOwner: access-id:<admin DN>,
//     added at start when missing).
//
// It must not be imported by ca, ocsp, store or revocation; data flows
// from the listeners through the services to the store, never back.
package server
