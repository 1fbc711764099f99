package tlsregistry

import (
	"fmt"
	"slices"
	"strings"
)

// Suite is one cipher suite from the IANA TLS Cipher Suites registry, with
// what it means and how it fares today.
type Suite struct {
	Code uint16 `json:"code"`
	// Name is the IANA name, e.g. TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.
	Name string `json:"iana"`
	// OpenSSL is OpenSSL's name ("" when OpenSSL has none). For TLS 1.3
	// suites OpenSSL uses the IANA name.
	OpenSSL string `json:"openssl,omitempty"`
	// OpenSSLLegacy marks OpenSSL names that only OpenSSL 1.x knows.
	OpenSSLLegacy bool `json:"openssl_legacy,omitempty"`

	// MinVersion and MaxVersion bound the protocol versions the suite can be
	// negotiated in.
	MinVersion Version `json:"min_version"`
	MaxVersion Version `json:"max_version"`

	// KeyExchange: RSA, DH, DHE, ECDH, ECDHE, PSK, DHE_PSK, ECDHE_PSK,
	// RSA_PSK, SRP, KRB5, ECCPWD, GOST, NULL, or "any" for TLS 1.3 suites
	// (the group comes from key_share).
	KeyExchange string `json:"kx"`
	// Auth: RSA, ECDSA, DSS, anon, PSK, SRP, KRB5, password, GOST, NULL, or
	// "any" for TLS 1.3 (the certificate decides).
	Auth string `json:"auth"`
	// Cipher is the bulk cipher and mode, e.g. AES_256_GCM, 3DES_EDE_CBC, NULL.
	Cipher string `json:"cipher"`
	// MAC is the record MAC (SHA, SHA256, MD5, ...) or "AEAD".
	MAC string `json:"mac"`

	Export         bool `json:"export,omitempty"`
	ForwardSecrecy bool `json:"forward_secrecy"`
	// Signalling marks cipher suite values that are not suites but signals
	// (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV).
	Signalling bool `json:"signalling,omitempty"`
	// Registered is false for pre-standard code points that are not in the
	// IANA registry but are seen in the wild (OLD_ ChaCha20, EXPORT1024).
	Registered bool `json:"registered"`

	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	// Note records anything uncertain about this entry.
	Note string `json:"note,omitempty"`
}

type suiteRow struct {
	code    uint16
	name    string
	openssl string
}

// TLS13 reports whether the suite can only be used in TLS 1.3.
func (s Suite) TLS13() bool { return s.MinVersion == TLS13 }

// Versions describes the versions the suite works with: "TLS 1.3",
// "TLS 1.2", "SSL 3.0–TLS 1.2", or "signalling".
func (s Suite) Versions() string {
	if s.Signalling {
		return "signalling"
	}
	if s.MinVersion == s.MaxVersion {
		return s.MinVersion.String()
	}
	return s.MinVersion.String() + "–" + s.MaxVersion.String()
}

// String names the suite as the doctor prints it:
// "C02C TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (ECDHE-ECDSA-AES256-GCM-SHA384)".
func (s Suite) String() string {
	if s.OpenSSL == "" || s.OpenSSL == s.Name {
		return s.Hex() + " " + s.Name
	}
	return s.Hex() + " " + s.Name + " (" + s.OpenSSL + ")"
}

// Hex returns the code as GSKit and IANA write it: four upper-case hex
// digits, e.g. "C02C".
func (s Suite) Hex() string { return fmt.Sprintf("%04X", s.Code) }

var (
	suitesByCode = map[uint16]*Suite{}
	suitesByName = map[string]*Suite{}
	suiteList    []Suite
)

func init() {
	suiteList = make([]Suite, 0, len(suiteRows))
	for _, r := range suiteRows {
		s := describeSuite(r.code, r.name)
		s.OpenSSL = r.openssl
		if s.OpenSSL == "" {
			if n, ok := suitesOpenSSL1[r.code]; ok {
				s.OpenSSL, s.OpenSSLLegacy = n, true
			}
		}
		suiteList = append(suiteList, s)
	}
	slices.SortFunc(suiteList, func(a, b Suite) int { return int(a.Code) - int(b.Code) })
	for i := range suiteList {
		s := &suiteList[i]
		if _, dup := suitesByCode[s.Code]; dup {
			panic("tlsregistry: cipher suite listed twice: " + s.Hex())
		}
		suitesByCode[s.Code] = s
		suitesByName[strings.ToUpper(s.Name)] = s
		if s.OpenSSL != "" {
			if _, dup := suitesByName[strings.ToUpper(s.OpenSSL)]; dup && strings.ToUpper(s.OpenSSL) != strings.ToUpper(s.Name) {
				panic("tlsregistry: OpenSSL name used twice: " + s.OpenSSL)
			}
			suitesByName[strings.ToUpper(s.OpenSSL)] = s
		}
	}
}

// Suites returns every known suite, sorted by code.
func Suites() []Suite { return slices.Clone(suiteList) }

// SuiteByCode looks a suite up by its two-byte code.
func SuiteByCode(code uint16) (Suite, bool) {
	s, ok := suitesByCode[code]
	if !ok {
		return Suite{}, false
	}
	return *s, true
}

// SuiteByName looks a suite up by IANA or OpenSSL name, case-insensitively
// ("TLS_AES_128_GCM_SHA256", "ecdhe-ecdsa-aes256-gcm-sha384"). A leading
// "SSL_" (Java and old IBM spelling) is accepted for "TLS_".
func SuiteByName(name string) (Suite, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if s, ok := suitesByName[n]; ok {
		return *s, true
	}
	if rest, ok := strings.CutPrefix(n, "SSL_"); ok {
		if s, ok := suitesByName["TLS_"+rest]; ok {
			return *s, true
		}
	}
	return Suite{}, false
}

// IsGREASE reports whether code is one of the reserved GREASE values of
// RFC 8701 (0x0A0A, 0x1A1A, ... 0xFAFA), which clients send to keep servers
// tolerant of unknown values. They apply to suites, groups, signature
// schemes, versions and extensions alike.
func IsGREASE(code uint16) bool {
	return code&0x0F0F == 0x0A0A && code>>8 == code&0xFF
}

// tls13Codes are the suites defined for TLS 1.3 only (RFC 8446 §B.4, RFC
// 8998, RFC 9150, RFC 9367, draft-irtf-cfrg-aegis-aead).
func isTLS13Code(c uint16) bool {
	return (c >= 0x1301 && c <= 0x1307) || c == 0x00C6 || c == 0x00C7 ||
		c == 0xC0B4 || c == 0xC0B5 || (c >= 0xC103 && c <= 0xC106)
}

// kxAuth maps the part of an IANA name before _WITH_ to key exchange and
// authentication.
var kxAuth = map[string][2]string{
	"NULL":            {"NULL", "NULL"},
	"RSA":             {"RSA", "RSA"},
	"DH_DSS":          {"DH", "DSS"},
	"DH_RSA":          {"DH", "RSA"},
	"DHE_DSS":         {"DHE", "DSS"},
	"DHE_RSA":         {"DHE", "RSA"},
	"DH_anon":         {"DHE", "anon"},
	"ECDH_ECDSA":      {"ECDH", "ECDSA"},
	"ECDH_RSA":        {"ECDH", "RSA"},
	"ECDHE_ECDSA":     {"ECDHE", "ECDSA"},
	"ECDHE_RSA":       {"ECDHE", "RSA"},
	"ECDH_anon":       {"ECDHE", "anon"},
	"KRB5":            {"KRB5", "KRB5"},
	"PSK":             {"PSK", "PSK"},
	"DHE_PSK":         {"DHE_PSK", "PSK"},
	"PSK_DHE":         {"DHE_PSK", "PSK"}, // IANA's spelling for 0xC0AA/0xC0AB
	"RSA_PSK":         {"RSA_PSK", "RSA+PSK"},
	"ECDHE_PSK":       {"ECDHE_PSK", "PSK"},
	"SRP_SHA":         {"SRP", "SRP"},
	"SRP_SHA_RSA":     {"SRP", "RSA"},
	"SRP_SHA_DSS":     {"SRP", "DSS"},
	"ECCPWD":          {"ECCPWD", "password"},
	"GOSTR341112_256": {"GOST", "GOST"},
}

var macNames = map[string]bool{"SHA": true, "SHA256": true, "SHA384": true, "MD5": true, "OMAC": true, "IMIT": true}

// describeSuite derives everything about a suite from its IANA name; the
// names follow TLS_{KX}_{AUTH}_WITH_{CIPHER}_{MAC} (TLS 1.0–1.2) or
// TLS_{AEAD}_{HASH} (TLS 1.3).
func describeSuite(code uint16, name string) Suite {
	s := Suite{Code: code, Name: name, Registered: true, MinVersion: TLS10, MaxVersion: TLS12}
	base := name
	if rest, ok := strings.CutPrefix(base, "OLD_"); ok {
		base = rest
		s.Registered = false
		s.Note = "pre-standard ChaCha20-Poly1305 code point (draft-agl-tls-chacha20poly1305); not in the IANA registry"
	}
	if code >= 0x0060 && code <= 0x0066 {
		s.Registered = false
		s.Note = "IANA reserves 0x0060–0x0066 for these pre-standard suites without naming them; names as OpenSSL 0.9.x used them"
	}
	base = strings.TrimPrefix(base, "TLS_")

	if code == 0x00FF || code == 0x5600 {
		s.Signalling = true
		s.KeyExchange, s.Auth, s.Cipher, s.MAC = "-", "-", "-", "-"
		s.MinVersion, s.MaxVersion = SSL30, TLS12
		s.Verdict, s.Reason = VerdictNone, "signalling value, not a cipher suite"
		if code == 0x00FF {
			s.Reason = "signalling value (RFC 5746 secure renegotiation), not a cipher suite"
		} else {
			s.Reason = "signalling value (RFC 7507 downgrade protection), not a cipher suite"
		}
		return s
	}

	var a assessment
	if isTLS13Code(code) {
		s.MinVersion, s.MaxVersion = TLS13, TLS13
		s.KeyExchange, s.Auth, s.MAC = "any", "any", "AEAD"
		s.ForwardSecrecy = true
		switch {
		case strings.HasPrefix(base, "SHA"): // TLS_SHA256_SHA256, RFC 9150
			s.Cipher, s.MAC = "NULL", base[:6]
		case strings.HasPrefix(base, "GOSTR341112_256_WITH_"):
			s.KeyExchange, s.Auth = "any", "any"
			s.Cipher = strings.TrimPrefix(base, "GOSTR341112_256_WITH_")
		default:
			i := strings.LastIndexByte(base, '_')
			s.Cipher = base[:i]
			if strings.HasPrefix(s.Cipher, "SM4") {
				s.Cipher = base // TLS_SM4_GCM_SM3: SM3 is the hash
				s.Cipher = strings.TrimSuffix(base, "_SM3")
			}
		}
		if strings.HasPrefix(base, "AEGIS") {
			s.Note = "AEGIS suites are assigned from draft-irtf-cfrg-aegis-aead; the name of 0x1306 was TLS_AEGIS_256_SHA384 in early drafts"
		}
		if code == 0xC103 || code == 0xC104 || code == 0xC105 || code == 0xC106 {
			s.Note = "GOST suites (RFC 9367): national standard; few implementations outside Russia"
		}
		assessCipher(&s, &a)
		if a.verdict == VerdictNone {
			a.add(Fine, "TLS 1.3 suite (AEAD, forward secrecy)")
		}
		s.Verdict, s.Reason = a.verdict, a.reason()
		return s
	}

	if code == 0x0000 {
		s.KeyExchange, s.Auth, s.Cipher, s.MAC = "NULL", "NULL", "NULL", "NULL"
		s.MinVersion = SSL30
		s.Verdict, s.Reason = Insecure, "no key exchange, no authentication, no encryption (the initial state, never negotiable)"
		return s
	}
	pre, post, ok := strings.Cut(base, "_WITH_")
	if !ok {
		panic("tlsregistry: cannot parse suite name " + name)
	}
	if strings.Contains(pre, "_EXPORT") {
		s.Export = true
		pre = strings.Replace(strings.Replace(pre, "_EXPORT1024", "", 1), "_EXPORT", "", 1)
	}
	ka, ok := kxAuth[pre]
	if !ok {
		panic("tlsregistry: unknown key exchange in suite name " + name)
	}
	s.KeyExchange, s.Auth = ka[0], ka[1]
	toks := strings.Split(post, "_")
	if last := toks[len(toks)-1]; macNames[last] {
		s.MAC = last
		toks = toks[:len(toks)-1]
	}
	s.Cipher = strings.Join(toks, "_")
	if isAEAD(s.Cipher) {
		s.MAC = "AEAD" // a trailing SHA256/SHA384 is then only the PRF hash
	}
	if s.MAC == "" {
		s.MAC = "AEAD"
	}
	switch s.KeyExchange {
	case "DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "ECCPWD", "SRP":
		s.ForwardSecrecy = true
	}

	// Versions: AEAD and SHA-2 MACs arrived with TLS 1.2 (RFC 5246, 5288,
	// 5289); the original RSA/DH suites (and AES, CAMELLIA and SEED with SHA,
	// which implementations accept in SSL 3.0) go back to SSL 3.0; export
	// suites were banned from TLS 1.1 on (RFC 4346) and DES and IDEA removed
	// from TLS 1.2 (RFC 5246 §1.2).
	switch {
	case s.MAC == "AEAD" || s.MAC == "SHA256" || s.MAC == "SHA384" || s.KeyExchange == "GOST":
		s.MinVersion = TLS12
	case code < 0x00A0 && (s.KeyExchange == "RSA" || s.KeyExchange == "DH" || s.KeyExchange == "DHE" || s.KeyExchange == "NULL"):
		s.MinVersion = SSL30
	}
	switch {
	case s.Export:
		s.MaxVersion = TLS10
	case strings.HasPrefix(s.Cipher, "DES_") || strings.HasPrefix(s.Cipher, "DES40") || strings.HasPrefix(s.Cipher, "IDEA"):
		s.MaxVersion = TLS11
	}
	if s.KeyExchange == "ECCPWD" {
		s.MaxVersion = TLS13
	}

	if s.Export {
		a.add(Insecure, "export-grade keys (FREAK, Logjam)")
	}
	if s.Auth == "anon" {
		a.add(Insecure, "anonymous: no authentication, open to man-in-the-middle")
	}
	assessCipher(&s, &a)
	if s.MAC == "MD5" {
		a.add(Insecure, "MD5 MAC")
	}
	switch s.KeyExchange {
	case "RSA":
		a.add(Weak, "RSA key exchange: no forward secrecy")
	case "DH", "ECDH":
		a.add(Weak, "static "+s.KeyExchange+" key exchange: no forward secrecy")
	case "PSK", "RSA_PSK", "KRB5":
		a.add(Weak, s.KeyExchange+" key exchange: no forward secrecy")
	}
	if s.Auth == "DSS" {
		a.add(Weak, "DSA authentication is deprecated (FIPS 186-5)")
	}
	if !s.Registered {
		a.add(Weak, "pre-standard code point")
	}
	if a.verdict == VerdictNone {
		a.add(Fine, "AEAD with forward secrecy")
	}
	s.Verdict, s.Reason = a.verdict, a.reason()
	return s
}

func isAEAD(cipher string) bool {
	for _, m := range []string{"GCM", "CCM", "POLY1305", "MGM", "AEGIS"} {
		if strings.Contains(cipher, m) {
			return true
		}
	}
	return false
}

// assessCipher grades the bulk cipher and mode.
func assessCipher(s *Suite, a *assessment) {
	c := s.Cipher
	switch {
	case c == "NULL":
		if s.TLS13() {
			a.add(Insecure, "no encryption: integrity only (RFC 9150)")
		} else {
			a.add(Insecure, "NULL cipher: no encryption")
		}
	case strings.HasPrefix(c, "RC4"):
		a.add(Insecure, "RC4 is broken (RFC 7465)")
	case strings.HasPrefix(c, "DES40") || strings.HasPrefix(c, "DES_CBC_40") || c == "DES_CBC":
		a.add(Insecure, "single DES: 56-bit key or less")
	case strings.HasPrefix(c, "3DES"):
		a.add(Insecure, "3DES: 64-bit block (Sweet32)")
	case strings.HasPrefix(c, "RC2"), strings.HasPrefix(c, "IDEA"), strings.HasPrefix(c, "28147"):
		a.add(Insecure, "64-bit block cipher (Sweet32)")
	case strings.HasPrefix(c, "MAGMA"):
		a.add(Weak, "64-bit block cipher (Magma; relies on re-keying)")
	}
	switch {
	case strings.HasSuffix(c, "_CBC") && !strings.HasPrefix(c, "3DES") && !strings.HasPrefix(c, "DES") && !strings.HasPrefix(c, "IDEA") && !strings.HasPrefix(c, "RC2"):
		a.add(Weak, "CBC mode (padding-oracle attacks such as Lucky13)")
	case strings.HasSuffix(c, "_CTR"):
		a.add(Weak, "not AEAD (CTR with a separate MAC)")
	case strings.HasSuffix(c, "CCM_8"):
		a.add(Weak, "8-byte authentication tag (CCM_8)")
	}
}
