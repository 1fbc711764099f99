// Package revocation checks whether the certificates of a verified chain
// have been revoked, and plugs into crypto/tls through
// tls.Config.VerifyConnection, on the client and on the server side.
//
// A Checker looks, in a configurable order, at the OCSP response stapled in
// the handshake (leaf only), at the OCSP responder named in the
// certificate's Authority Information Access extension, and at the CRLs
// named in its CRL Distribution Points (http://, https:// and, through a
// pluggable Fetcher, ldap://). Responses are cached in memory until their
// nextUpdate.
//
// Standards implemented:
//   - RFC 5280 §5 (CRL profile: CRL number, delta CRL indicator, issuing
//     distribution point, freshest CRL, reason codes, certificate issuer)
//     and §6.3 (CRL validation: scope, reasons mask, delta CRLs, indirect
//     CRLs, CRL issuer path validation, cRLSign key usage).
//   - RFC 6960 (OCSP, through golang.org/x/crypto/ocsp) with the RFC 5019
//     lightweight profile: GET for small requests, caching until nextUpdate,
//     delegated responders with id-kp-OCSPSigning.
//
// The package is self-contained: it must not import other pkid packages
// (the ca package in particular), so any Go program can use it. Callers
// that serve ldap:// distribution points supply a Fetcher.
package revocation
