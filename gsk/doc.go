// Package gsk translates IBM GSKit / z/OS System SSL environment strings to
// and from standard TLS names, and plans the settings a System SSL endpoint
// needs to interoperate.
//
// It owns the GSKit spellings: GSK_V3_CIPHER_SPECS_EXPANDED (cipher suites
// as 4-hex IANA codes), GSK_V3_CIPHER_SPECS (2-hex legacy codes, the low byte
// of suites 0x00XX), GSK_TLS_SIG_ALG_PAIRS and GSK_TLS_CERT_SIG_ALG_PAIRS
// (4-hex SignatureScheme / TLS 1.2 hash-signature codes), and the key share
// and curve lists GSK_{CLIENT,SERVER}_TLS_KEY_SHARES and
// GSK_{CLIENT,SERVER}_ECURVE_LIST (named group ids as 4 DECIMAL digits).
// The meaning of every code comes from internal/tlsregistry (IANA TLS
// registries; RFC 8446 §4.2.3, §4.2.7, §B.4; RFC 5246 §7.4.1.4.1).
//
// Decode never guesses: unknown codes and duplicates are flagged, malformed
// strings are errors naming the position, and a bare value that fits more
// than one kind asks for an explicit Kind. The package does no I/O beyond
// the io.Writer it is handed and must not import the doctor or any server
// package; the doctor's scanner feeds Plan through Peer.
package gsk
