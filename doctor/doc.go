// Package doctor is pkid's TLS doctor: it connects to a server, shows what
// the handshake really carried, checks the chain and its revocation, and
// explains every failure in plain words (what was observed, the likely
// cause, the fix).
//
// ExplainError explains an error from a TLS connection made elsewhere the
// way Explain explains a Report. After a failed handshake Probe makes up to
// two more (retry.go) — the broadest suite offer crypto/tls can make,
// another protocol version — to learn what the server would accept.
// LDAPFetcher (ldapfetch.go) fetches CRLs from ldap:// distribution points
// (RFC 4516 URLs, RFC 4523 attributes) for package revocation, using
// package ldap's messages.
//
// Probe (probe.go) makes one handshake with crypto/tls, verifying nothing
// during the handshake so that it can report instead of abort, then verifies
// the chain itself (crypto/x509, hostname included), checks revocation
// through package revocation (stapled OCSP, OCSP, CRL), lints every
// certificate it sees with package lint, and resumes the session on a second
// connection. It reads the server's plaintext TLS 1.2 handshake messages
// from the wire (handshake.go) because crypto/tls hides the CertificateRequest's
// certificate types (RFC 5246 §7.4.4). STARTTLS (starttls.go) covers LDAP
// (RFC 4511 §4.14, RFC 4513 §3), SMTP (RFC 3207), IMAP (RFC 3501 §6.2.1) and
// PostgreSQL's SSLRequest.
//
// Explain (explain.go) turns a Report — or a bare error — into
// Explanations. Alert names and codes come from internal/tlsregistry (RFC
// 8446 §6, RFC 5246 §7.2).
//
// The doctor imports lint, revocation and internal/tlsregistry; it must not
// import ca, store, the servers or cmd.
package doctor
