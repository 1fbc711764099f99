// Package dn parses, formats, checks and compares X.500 distinguished names
// as people type them: RFC 4514 strings ("CN=web,O=Example,C=GB", most
// significant RDN last) and OpenSSL's slash form ("/C=GB/O=Example/CN=web",
// most significant first).
//
// It implements RFC 4514 §2–§4 (string representation, escaping, #hex
// values, multi-valued RDNs with '+'), the upper bounds of RFC 5280
// Appendix A (ub-common-name 64, ...), the string types RFC 5280 §4.1.2.4
// and Appendix A require (PrintableString for C and serialNumber,
// IA5String for emailAddress and DC), and a normalised comparison form with
// the basics of RFC 4518 (insignificant space handling, case folding).
//
// It imports only the standard library; the CA and the LDAP directory both
// use it, so it must not import either.
package dn
