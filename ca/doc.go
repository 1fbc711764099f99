// Package ca is pkid's certificate authority: key types and key files,
// CA creation (Init), the issuance Service (profiles, serials, SANs, CSRs,
// group-committed storage), revocation, and (in other files) CRL building
// and import/export.
//
// It implements the certificate profile of RFC 5280 §4 (basicConstraints,
// keyUsage, extKeyUsage, subject and authority key identifiers §4.2.1.1–2
// with the RFC 7093 method 1 key identifier, subjectAltName §4.2.1.6,
// CRL distribution points §4.2.1.13, authority information access
// §4.2.2.1), serial numbers per §4.1.2.2, the OCSP no-check extension of
// RFC 6960 §4.2.2.2.1, CRL reasons of §5.3.1, and encrypted PKCS#8 keys
// (RFC 5958 EncryptedPrivateKeyInfo with RFC 8018 PBES2/PBKDF2).
//
// It stores everything through store.Store and must not import cmd/pkid,
// the servers, or a store implementation.
package ca
