// Package revocation checks whether the certificates of a verified chain
// have been revoked, and plugs into crypto/tls through
// tls.Config.VerifyConnection, on the client and on the server side.
//
// A Checker looks, in a configurable order, at the OCSP response stapled in
// the handshake (leaf only), at the OCSP responder named in the
// certificate's Authority Information Access extension, and at the CRLs
// named in its CRL Distribution Points (http://, https://, and ldap:// or
// ldaps:// with LDAPFetcher; every scheme's Fetcher is pluggable). Responses are cached in memory until their
// nextUpdate.
//
// Policy: the zero Config is hard-fail. A certificate is accepted only when
// a valid, fresh response or CRL says it is good; with Config.SoftFail,
// certificates whose sources are unreachable (or that name none) are
// accepted too, while a revoked certificate, a bad signature or a stale or
// malformed CRL still fail. Errors name the certificate (subject and serial
// in hex), the source and the reason, and wrap a *RevokedError or an
// *UnknownError for callers that branch.
//
// CRLs are validated as RFC 5280 §6.3 says: signature by the certificate's
// issuer or by a CRL issuer found in Config.Certificates whose own path
// validates to the same trust anchor and whose own status is good (separate
// CRL-signing keys, indirect CRLs); cRLSign when key usage is present;
// issuer name and authority key identifier; a non-critical CRL number;
// thisUpdate not in the future and nextUpdate not past (with clock skew,
// and a fresh delta CRL standing in for a stale complete one); unknown
// critical CRL and entry extensions rejected; issuing distribution point
// scope (distribution point names, onlyContainsUserCerts/CACerts/
// AttributeCerts, onlySomeReasons with a reasons mask across distribution
// points); delta CRLs with base CRL number matching and removeFromCRL.
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
// The package stays light so any Go program can use it: the only pkid
// package it imports is the ldap wire package (itself standard library plus
// an internal BER codec), for the built-in ldap:// fetcher (LDAPFetcher);
// it must not import ca, store or the servers.
package revocation
