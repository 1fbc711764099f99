package gsk

import (
	"fmt"
	"strings"
)

// Kind says how a GSKit string is to be read.
type Kind int

// Kinds of GSKit lists.
const (
	// KindAuto infers the kind from the variable name, or for a bare value
	// from the only kind that fits it.
	KindAuto Kind = iota
	// KindCipher is 4-hex IANA cipher suite codes (GSK_V3_CIPHER_SPECS_EXPANDED).
	KindCipher
	// KindCipher2 is 2-hex legacy cipher specs (GSK_V3_CIPHER_SPECS).
	KindCipher2
	// KindSigAlg is 4-hex signature scheme codes (GSK_TLS_SIG_ALG_PAIRS).
	KindSigAlg
	// KindGroup is 4-decimal-digit named group ids (key shares, curve lists).
	KindGroup
)

var kindNames = map[Kind]string{KindAuto: "auto", KindCipher: "cipher", KindCipher2: "cipher2", KindSigAlg: "sigalg", KindGroup: "group"}

// String returns the name ParseKind accepts.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind's name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParseKind accepts cipher, cipher2, sigalg, group (and "" or auto), with
// a few synonyms (suite, sig, keyshare, curve).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return KindAuto, nil
	case "cipher", "ciphers", "suite", "suites", "cipher4", "expanded":
		return KindCipher, nil
	case "cipher2", "legacy", "v3":
		return KindCipher2, nil
	case "sigalg", "sigalgs", "sig", "signature", "sigalgpairs":
		return KindSigAlg, nil
	case "group", "groups", "keyshare", "keyshares", "curve", "curves", "ecurve":
		return KindGroup, nil
	}
	return KindAuto, fmt.Errorf("unknown kind %q: use cipher, cipher2, sigalg or group", s)
}

// width is the number of characters per code.
func (k Kind) width() int {
	if k == KindCipher2 {
		return 2
	}
	return 4
}

// variables maps the GSKit environment variables this package decodes to
// their kind.
var variables = map[string]Kind{
	"GSK_V3_CIPHER_SPECS_EXPANDED": KindCipher,
	"GSK_V3_CIPHER_SPECS":          KindCipher2,
	"GSK_TLS_SIG_ALG_PAIRS":        KindSigAlg,
	"GSK_TLS_CERT_SIG_ALG_PAIRS":   KindSigAlg,
	"GSK_CLIENT_TLS_KEY_SHARES":    KindGroup,
	"GSK_SERVER_TLS_KEY_SHARES":    KindGroup,
	"GSK_CLIENT_ECURVE_LIST":       KindGroup,
	"GSK_SERVER_ECURVE_LIST":       KindGroup,
}

// Variable returns the environment variable a kind is usually written to,
// or "" when several fit (groups: key shares or curve lists).
func Variable(k Kind) string {
	switch k {
	case KindCipher:
		return "GSK_V3_CIPHER_SPECS_EXPANDED"
	case KindCipher2:
		return "GSK_V3_CIPHER_SPECS"
	case KindSigAlg:
		return "GSK_TLS_SIG_ALG_PAIRS"
	}
	return ""
}

func isKeyShareVar(name string) bool { return strings.HasSuffix(name, "_TLS_KEY_SHARES") }
