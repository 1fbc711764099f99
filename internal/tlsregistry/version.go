package tlsregistry

import (
	"fmt"
	"strings"
)

// Version is a protocol version as it appears on the wire
// (ProtocolVersion, RFC 8446 §4.1.2 and Appendix D).
type Version uint16

// Protocol versions.
const (
	SSL20  Version = 0x0002
	SSL30  Version = 0x0300
	TLS10  Version = 0x0301
	TLS11  Version = 0x0302
	TLS12  Version = 0x0303
	TLS13  Version = 0x0304
	DTLS10 Version = 0xFEFF
	DTLS12 Version = 0xFEFD
	DTLS13 Version = 0xFEFC
)

type versionInfo struct {
	name    string
	openssl string
	verdict Verdict
	reason  string
}

var versions = map[Version]versionInfo{
	SSL20:  {"SSL 2.0", "SSLv2", Insecure, "SSL 2.0 is broken (RFC 6176; DROWN)"},
	SSL30:  {"SSL 3.0", "SSLv3", Insecure, "SSL 3.0 is broken (RFC 7568; POODLE)"},
	TLS10:  {"TLS 1.0", "TLSv1", Weak, "deprecated by RFC 8996 (BEAST, SHA-1/MD5 PRF)"},
	TLS11:  {"TLS 1.1", "TLSv1.1", Weak, "deprecated by RFC 8996"},
	TLS12:  {"TLS 1.2", "TLSv1.2", Fine, "current (RFC 5246) with AEAD suites"},
	TLS13:  {"TLS 1.3", "TLSv1.3", Fine, "current (RFC 8446)"},
	DTLS10: {"DTLS 1.0", "DTLSv1", Weak, "deprecated by RFC 8996"},
	DTLS12: {"DTLS 1.2", "DTLSv1.2", Fine, "current (RFC 6347)"},
	DTLS13: {"DTLS 1.3", "DTLSv1.3", Fine, "current (RFC 9147)"},
}

// String returns the conventional name ("TLS 1.2"), or the hex code for
// versions not in the table.
func (v Version) String() string {
	if i, ok := versions[v]; ok {
		return i.name
	}
	return fmt.Sprintf("0x%04X", uint16(v))
}

// OpenSSL returns OpenSSL's spelling ("TLSv1.2"), or "" when unknown.
func (v Version) OpenSSL() string { return versions[v].openssl }

// Known reports whether v is a version in the table.
func (v Version) Known() bool { _, ok := versions[v]; return ok }

// Verdict grades the version and says why.
func (v Version) Verdict() (Verdict, string) {
	if i, ok := versions[v]; ok {
		return i.verdict, i.reason
	}
	return VerdictNone, "unknown protocol version"
}

// VersionByName accepts "TLS 1.2", "TLSv1.2", "tls1.2", "tls12", "1.2",
// "SSLv3" and the like, case-insensitively.
func VersionByName(name string) (Version, bool) {
	n := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(name))
	n = strings.TrimPrefix(n, "v")
	for v, i := range versions {
		for _, cand := range []string{i.name, i.openssl} {
			c := strings.ToLower(strings.ReplaceAll(cand, " ", ""))
			if n == c || n == strings.ReplaceAll(c, "v", "") || n == strings.ReplaceAll(strings.ReplaceAll(c, "v", ""), ".", "") {
				return v, true
			}
		}
	}
	switch n {
	case "1.0", "10":
		return TLS10, true
	case "1.1", "11":
		return TLS11, true
	case "1.2", "12":
		return TLS12, true
	case "1.3", "13":
		return TLS13, true
	}
	return 0, false
}
