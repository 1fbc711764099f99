// Package tlsregistry holds the IANA TLS registries pkid needs to name what a
// handshake carried: cipher suites (with OpenSSL's names), signature schemes
// (TLS 1.3 SignatureScheme and TLS 1.2 hash/signature pairs), named groups,
// alert descriptions and protocol versions, each with a verdict (insecure,
// weak, fine) and the reason for it.
//
// Sources: the IANA "Transport Layer Security (TLS) Parameters" registry
// (RFC 8447 procedures; suites from RFC 5246, 4492, 5289, 5288, 6655, 7251,
// 7905, 8442, 8446 §B.4, 8492, 8998, 9150, 9189, 9367), RFC 8446 §4.2.3
// (SignatureScheme), RFC 5246 §7.4.1.4.1 (hash/signature pairs), RFC 8446
// §4.2.7 and RFC 8422/7919 (named groups), RFC 8446 §6 (alerts), and
// OpenSSL's `openssl ciphers -V` for OpenSSL names. Tests cross-check the
// tables against the local openssl and against Go's crypto/tls.
//
// The package is data and lookups only; it must not import other pkid
// packages, so the doctor, gsk and anything else can share it.
package tlsregistry
