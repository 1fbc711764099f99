package tlsregistry

import (
	"fmt"
	"slices"
	"strings"
)

// Group is a TLS named group (RFC 8446 §4.2.7; RFC 8422 called them named
// curves): the key-exchange algorithm of supported_groups and key_share.
// GSKit writes group ids as four DECIMAL digits (GSK_SERVER_TLS_KEY_SHARES=
// 00300029002500240023 is x448, x25519, secp521r1, secp384r1, secp256r1), so
// callers parsing GSKit strings convert decimal before looking up.
type Group struct {
	ID uint16 `json:"id"`
	// Name is the IANA name (secp256r1, x25519, X25519MLKEM768).
	Name string `json:"iana"`
	// OpenSSL is the name OpenSSL's -groups accepts and s_client prints.
	OpenSSL string `json:"openssl,omitempty"`
	// Aliases are further names people use (P-256, prime256v1).
	Aliases []string `json:"aliases,omitempty"`
	// Kind: EC (elliptic curve), FFDHE (finite field), hybrid (classical +
	// ML-KEM), KEM (pure post-quantum).
	Kind string `json:"kind"`
	// Bits is the approximate classical security level.
	Bits int `json:"bits,omitempty"`
	// TLS13 reports whether TLS 1.3 allows the group (RFC 8446 §4.2.7
	// dropped the small and binary curves).
	TLS13 bool `json:"tls13"`

	Registered bool    `json:"registered"`
	Verdict    Verdict `json:"verdict"`
	Reason     string  `json:"reason"`
	Note       string  `json:"note,omitempty"`
}

// Hex returns the id as four upper-case hex digits ("0017").
func (g Group) Hex() string { return fmt.Sprintf("%04X", g.ID) }

// GSKit returns the id as GSKit writes it: four decimal digits ("0023").
// It fails for ids above 9999, which GSKit cannot express.
func (g Group) GSKit() (string, error) {
	if g.ID > 9999 {
		return "", fmt.Errorf("group %s (%d) does not fit GSKit's four decimal digits", g.Name, g.ID)
	}
	return fmt.Sprintf("%04d", g.ID), nil
}

func ec(id uint16, name, openssl string, bits int, tls13 bool, aliases ...string) Group {
	return Group{ID: id, Name: name, OpenSSL: openssl, Aliases: aliases, Kind: "EC", Bits: bits, TLS13: tls13}
}

var groups = []Group{
	ec(1, "sect163k1", "sect163k1", 80, false, "K-163"),
	ec(2, "sect163r1", "sect163r1", 80, false),
	ec(3, "sect163r2", "sect163r2", 80, false, "B-163"),
	ec(4, "sect193r1", "sect193r1", 96, false),
	ec(5, "sect193r2", "sect193r2", 96, false),
	ec(6, "sect233k1", "sect233k1", 112, false, "K-233"),
	ec(7, "sect233r1", "sect233r1", 112, false, "B-233"),
	ec(8, "sect239k1", "sect239k1", 112, false),
	ec(9, "sect283k1", "sect283k1", 128, false, "K-283"),
	ec(10, "sect283r1", "sect283r1", 128, false, "B-283"),
	ec(11, "sect409k1", "sect409k1", 192, false, "K-409"),
	ec(12, "sect409r1", "sect409r1", 192, false, "B-409"),
	ec(13, "sect571k1", "sect571k1", 256, false, "K-571"),
	ec(14, "sect571r1", "sect571r1", 256, false, "B-571"),
	ec(15, "secp160k1", "secp160k1", 80, false),
	ec(16, "secp160r1", "secp160r1", 80, false),
	ec(17, "secp160r2", "secp160r2", 80, false),
	ec(18, "secp192k1", "secp192k1", 96, false),
	ec(19, "secp192r1", "prime192v1", 96, false, "P-192"),
	ec(20, "secp224k1", "secp224k1", 112, false),
	ec(21, "secp224r1", "secp224r1", 112, false, "P-224"),
	ec(22, "secp256k1", "secp256k1", 128, false),
	ec(23, "secp256r1", "prime256v1", 128, true, "P-256"),
	ec(24, "secp384r1", "secp384r1", 192, true, "P-384"),
	ec(25, "secp521r1", "secp521r1", 256, true, "P-521"),
	ec(26, "brainpoolP256r1", "brainpoolP256r1", 128, false),
	ec(27, "brainpoolP384r1", "brainpoolP384r1", 192, false),
	ec(28, "brainpoolP512r1", "brainpoolP512r1", 256, false),
	ec(29, "x25519", "X25519", 128, true),
	ec(30, "x448", "X448", 224, true),
	ec(31, "brainpoolP256r1tls13", "brainpoolP256r1tls13", 128, true),
	ec(32, "brainpoolP384r1tls13", "brainpoolP384r1tls13", 192, true),
	ec(33, "brainpoolP512r1tls13", "brainpoolP512r1tls13", 256, true),
	ec(34, "GC256A", "", 128, true),
	ec(35, "GC256B", "", 128, true),
	ec(36, "GC256C", "", 128, true),
	ec(37, "GC256D", "", 128, true),
	ec(38, "GC512A", "", 256, true),
	ec(39, "GC512B", "", 256, true),
	ec(40, "GC512C", "", 256, true),
	ec(41, "curveSM2", "", 128, true),
	{ID: 256, Name: "ffdhe2048", OpenSSL: "ffdhe2048", Kind: "FFDHE", Bits: 103, TLS13: true},
	{ID: 257, Name: "ffdhe3072", OpenSSL: "ffdhe3072", Kind: "FFDHE", Bits: 125, TLS13: true},
	{ID: 258, Name: "ffdhe4096", OpenSSL: "ffdhe4096", Kind: "FFDHE", Bits: 150, TLS13: true},
	{ID: 259, Name: "ffdhe6144", OpenSSL: "ffdhe6144", Kind: "FFDHE", Bits: 175, TLS13: true},
	{ID: 260, Name: "ffdhe8192", OpenSSL: "ffdhe8192", Kind: "FFDHE", Bits: 192, TLS13: true},
	{ID: 512, Name: "MLKEM512", OpenSSL: "MLKEM512", Kind: "KEM", Bits: 128, TLS13: true, Note: "draft-ietf-tls-mlkem"},
	{ID: 513, Name: "MLKEM768", OpenSSL: "MLKEM768", Kind: "KEM", Bits: 192, TLS13: true, Note: "draft-ietf-tls-mlkem"},
	{ID: 514, Name: "MLKEM1024", OpenSSL: "MLKEM1024", Kind: "KEM", Bits: 256, TLS13: true, Note: "draft-ietf-tls-mlkem"},
	{ID: 0x11EB, Name: "SecP256r1MLKEM768", OpenSSL: "SecP256r1MLKEM768", Kind: "hybrid", Bits: 128, TLS13: true, Note: "draft-ietf-tls-ecdhe-mlkem"},
	{ID: 0x11EC, Name: "X25519MLKEM768", OpenSSL: "X25519MLKEM768", Kind: "hybrid", Bits: 128, TLS13: true, Note: "draft-ietf-tls-ecdhe-mlkem; the post-quantum default of current browsers and OpenSSL 3.5"},
	{ID: 0x11ED, Name: "SecP384r1MLKEM1024", OpenSSL: "SecP384r1MLKEM1024", Kind: "hybrid", Bits: 192, TLS13: true, Note: "draft-ietf-tls-ecdhe-mlkem"},
	{ID: 0x6399, Name: "X25519Kyber768Draft00", Kind: "hybrid", Bits: 128, TLS13: true, Note: "obsolete pre-standard Kyber hybrid (draft-tls-westerbaan-xyber768d00)"},
	{ID: 0x639A, Name: "SecP256r1Kyber768Draft00", Kind: "hybrid", Bits: 128, TLS13: true, Note: "obsolete pre-standard Kyber hybrid"},
	{ID: 0xFF01, Name: "arbitrary_explicit_prime_curves", Kind: "EC", Note: "RFC 8422 deprecated explicit curves"},
	{ID: 0xFF02, Name: "arbitrary_explicit_char2_curves", Kind: "EC", Note: "RFC 8422 deprecated explicit curves"},
}

var (
	groupByID   = map[uint16]*Group{}
	groupByName = map[string]*Group{}
)

func init() {
	for i := range groups {
		g := &groups[i]
		g.Registered = true
		g.Verdict, g.Reason = assessGroup(g)
		if _, dup := groupByID[g.ID]; dup {
			panic(fmt.Sprintf("tlsregistry: group %d listed twice", g.ID))
		}
		groupByID[g.ID] = g
		for _, n := range append([]string{g.Name, g.OpenSSL}, g.Aliases...) {
			if n != "" {
				groupByName[strings.ToLower(n)] = g
			}
		}
	}
}

func assessGroup(g *Group) (Verdict, string) {
	switch {
	case g.ID >= 0xFF01:
		return Insecure, "explicit curve parameters (deprecated by RFC 8422; invalid-curve attacks)"
	case g.Bits < 112:
		if g.Kind == "FFDHE" {
			return Fine, "2048-bit finite-field group (RFC 7919)"
		}
		return Insecure, fmt.Sprintf("about %d-bit security: too small", g.Bits)
	case g.Kind == "EC" && !g.TLS13 && g.ID < 23:
		return Weak, "deprecated curve: not allowed in TLS 1.3 (RFC 8446 §4.2.7, RFC 8422)"
	case g.Kind == "EC" && !g.TLS13:
		return Fine, "TLS 1.2 only (TLS 1.3 uses the brainpool…tls13 variants)"
	case g.Kind == "hybrid" && g.ID >= 0x6399:
		return Weak, "obsolete draft code point: replaced by the ML-KEM hybrids"
	case g.Kind == "hybrid":
		return Fine, "hybrid post-quantum key exchange"
	case g.Kind == "KEM":
		return Fine, "pure post-quantum key exchange"
	}
	return Fine, "strong"
}

// Groups returns every known group, by id.
func Groups() []Group { return slices.Clone(groups) }

// GroupByID looks a group up by its numeric id (23 = secp256r1).
func GroupByID(id uint16) (Group, bool) {
	g, ok := groupByID[id]
	if !ok {
		return Group{}, false
	}
	return *g, true
}

// GroupByName accepts IANA names (secp256r1, x25519), OpenSSL's (prime256v1,
// X25519) and NIST names (P-256), case-insensitively.
func GroupByName(name string) (Group, bool) {
	g, ok := groupByName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Group{}, false
	}
	return *g, true
}
