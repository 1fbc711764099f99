package ca

import (
	"strings"
)

// The paths below a CA's base URL (init --url BASE) where pkid's HTTP
// server publishes what certificates point to. They are part of pkid's
// contract: issued certificates carry them for years.

// CAIssuersURL is the AIA caIssuers location of a CA's certificate (DER).
func CAIssuersURL(base, caID string) string {
	return strings.TrimSuffix(base, "/") + "/ca/" + caID + ".der"
}

// OCSPURL is the AIA OCSP responder location.
func OCSPURL(base string) string { return strings.TrimSuffix(base, "/") + "/ocsp" }

// CRLURL is the http CRL distribution point of a CA's full CRL (DER).
func CRLURL(base, caID string) string {
	return strings.TrimSuffix(base, "/") + "/crl/" + caID + ".crl"
}

// LDAPCRLURL is the LDAP CRL distribution point for the CA whose subject is
// subjectDN (RFC 4514): ldap://host:port/<DN>?certificateRevocationList;binary
// (RFC 4516), where GSKit and OpenSSL-based LDAP clients look for it.
func LDAPCRLURL(ldapBase, subjectDN string) string {
	return strings.TrimSuffix(ldapBase, "/") + "/" + escapeLDAPURLDN(subjectDN) + "?certificateRevocationList;binary"
}

// escapeLDAPURLDN percent-encodes a DN for an LDAP URL (RFC 4516 §2.1):
// everything but unreserved characters and the DN punctuation ',', '=' and
// '+' is escaped, so spaces become %20 and '?' cannot end the DN early.
func escapeLDAPURLDN(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~,=+", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
