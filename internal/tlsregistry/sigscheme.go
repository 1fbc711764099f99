package tlsregistry

import (
	"fmt"
	"slices"
	"strings"
)

// SignatureScheme is a TLS 1.3 SignatureScheme (RFC 8446 §4.2.3) or a TLS 1.2
// hash/signature pair (RFC 5246 §7.4.1.4.1): two bytes either way, written
// by GSKit as four hex digits (GSK_TLS_SIG_ALG_PAIRS=0601050104010403...).
type SignatureScheme struct {
	Code uint16 `json:"code"`
	// Name is the IANA name (rsa_pkcs1_sha256). TLS 1.2 pairs that the TLS
	// 1.3 registry only reserves get a name in the same style (dsa_sha256,
	// rsa_pkcs1_sha224) and Registered false.
	Name string `json:"iana"`
	// OpenSSL is how OpenSSL prints the algorithm in s_client's "Requested
	// Signature Algorithms" and accepts it in -sigalgs ("ECDSA+SHA256",
	// "RSA-PSS+SHA256", "ed25519"); Name is accepted by -sigalgs as well.
	OpenSSL string `json:"openssl,omitempty"`
	// Signature is the algorithm: RSA (PKCS#1 v1.5), RSA-PSS, ECDSA, EdDSA,
	// DSA, SM2, GOST, ML-DSA.
	Signature string `json:"signature"`
	// Hash is the digest: MD5, SHA1, SHA224, SHA256, SHA384, SHA512, or
	// "intrinsic" for EdDSA and ML-DSA.
	Hash string `json:"hash"`
	// KeyType is the certificate key that can make this signature: RSA, EC,
	// Ed25519, Ed448, DSA, SM2, GOST, ML-DSA.
	KeyType string `json:"key_type"`
	// TLS12 and TLS13 say where the code point may appear in handshake
	// signatures (TLS 1.3 allows the legacy ones only in certificates).
	TLS12 bool `json:"tls12"`
	TLS13 bool `json:"tls13"`

	Registered bool    `json:"registered"`
	Verdict    Verdict `json:"verdict"`
	Reason     string  `json:"reason"`
	Note       string  `json:"note,omitempty"`
}

// Hex returns the code as four upper-case hex digits ("0403").
func (s SignatureScheme) Hex() string { return fmt.Sprintf("%04X", s.Code) }

var tls12Hashes = []struct {
	id   uint8
	name string
}{{1, "MD5"}, {2, "SHA1"}, {3, "SHA224"}, {4, "SHA256"}, {5, "SHA384"}, {6, "SHA512"}}

// sigSchemes is the registry; the TLS 1.2 pairs are added by init.
var sigSchemes = []SignatureScheme{
	{Code: 0x0401, Name: "rsa_pkcs1_sha256", Signature: "RSA", Hash: "SHA256", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0501, Name: "rsa_pkcs1_sha384", Signature: "RSA", Hash: "SHA384", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0601, Name: "rsa_pkcs1_sha512", Signature: "RSA", Hash: "SHA512", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0403, Name: "ecdsa_secp256r1_sha256", Signature: "ECDSA", Hash: "SHA256", KeyType: "EC", TLS12: true, TLS13: true},
	{Code: 0x0503, Name: "ecdsa_secp384r1_sha384", Signature: "ECDSA", Hash: "SHA384", KeyType: "EC", TLS12: true, TLS13: true},
	{Code: 0x0603, Name: "ecdsa_secp521r1_sha512", Signature: "ECDSA", Hash: "SHA512", KeyType: "EC", TLS12: true, TLS13: true},
	{Code: 0x0804, Name: "rsa_pss_rsae_sha256", OpenSSL: "RSA-PSS+SHA256", Signature: "RSA-PSS", Hash: "SHA256", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0805, Name: "rsa_pss_rsae_sha384", OpenSSL: "RSA-PSS+SHA384", Signature: "RSA-PSS", Hash: "SHA384", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0806, Name: "rsa_pss_rsae_sha512", OpenSSL: "RSA-PSS+SHA512", Signature: "RSA-PSS", Hash: "SHA512", KeyType: "RSA", TLS12: true, TLS13: true},
	{Code: 0x0807, Name: "ed25519", OpenSSL: "ed25519", Signature: "EdDSA", Hash: "intrinsic", KeyType: "Ed25519", TLS12: true, TLS13: true},
	{Code: 0x0808, Name: "ed448", OpenSSL: "ed448", Signature: "EdDSA", Hash: "intrinsic", KeyType: "Ed448", TLS12: true, TLS13: true},
	{Code: 0x0809, Name: "rsa_pss_pss_sha256", OpenSSL: "rsa_pss_pss_sha256", Signature: "RSA-PSS", Hash: "SHA256", KeyType: "RSA-PSS", TLS12: true, TLS13: true,
		Note: "needs a certificate whose key is id-RSASSA-PSS; s_client prints it as RSA-PSS+SHA256 too"},
	{Code: 0x080A, Name: "rsa_pss_pss_sha384", OpenSSL: "rsa_pss_pss_sha384", Signature: "RSA-PSS", Hash: "SHA384", KeyType: "RSA-PSS", TLS12: true, TLS13: true,
		Note: "needs a certificate whose key is id-RSASSA-PSS"},
	{Code: 0x080B, Name: "rsa_pss_pss_sha512", OpenSSL: "rsa_pss_pss_sha512", Signature: "RSA-PSS", Hash: "SHA512", KeyType: "RSA-PSS", TLS12: true, TLS13: true,
		Note: "needs a certificate whose key is id-RSASSA-PSS"},
	{Code: 0x081A, Name: "ecdsa_brainpoolP256r1tls13_sha256", OpenSSL: "ecdsa_brainpoolP256r1_sha256", Signature: "ECDSA", Hash: "SHA256", KeyType: "EC", TLS13: true, Note: "RFC 8734"},
	{Code: 0x081B, Name: "ecdsa_brainpoolP384r1tls13_sha384", OpenSSL: "ecdsa_brainpoolP384r1_sha384", Signature: "ECDSA", Hash: "SHA384", KeyType: "EC", TLS13: true, Note: "RFC 8734"},
	{Code: 0x081C, Name: "ecdsa_brainpoolP512r1tls13_sha512", OpenSSL: "ecdsa_brainpoolP512r1_sha512", Signature: "ECDSA", Hash: "SHA512", KeyType: "EC", TLS13: true, Note: "RFC 8734"},
	{Code: 0x0708, Name: "sm2sig_sm3", Signature: "SM2", Hash: "SM3", KeyType: "SM2", TLS13: true, Note: "RFC 8998"},
	{Code: 0x0709, Name: "gostr34102012_256a", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070A, Name: "gostr34102012_256b", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070B, Name: "gostr34102012_256c", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070C, Name: "gostr34102012_256d", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070D, Name: "gostr34102012_512a", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070E, Name: "gostr34102012_512b", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x070F, Name: "gostr34102012_512c", Signature: "GOST", Hash: "GOST", KeyType: "GOST", TLS13: true, Note: "RFC 9367"},
	{Code: 0x0904, Name: "mldsa44", Signature: "ML-DSA", Hash: "intrinsic", KeyType: "ML-DSA", TLS13: true, Note: "draft-ietf-tls-mldsa (early IANA assignment; not verified against the registry)"},
	{Code: 0x0905, Name: "mldsa65", Signature: "ML-DSA", Hash: "intrinsic", KeyType: "ML-DSA", TLS13: true, Note: "draft-ietf-tls-mldsa (early IANA assignment; not verified against the registry)"},
	{Code: 0x0906, Name: "mldsa87", Signature: "ML-DSA", Hash: "intrinsic", KeyType: "ML-DSA", TLS13: true, Note: "draft-ietf-tls-mldsa (early IANA assignment; not verified against the registry)"},
}

var (
	sigByCode = map[uint16]*SignatureScheme{}
	sigByName = map[string]*SignatureScheme{}
)

func init() {
	// TLS 1.2 hash/signature pairs: hash byte × signature byte (1 rsa, 2 dsa,
	// 3 ecdsa). The TLS 1.3 registry names rsa_pkcs1_sha1 (0x0201) and
	// ecdsa_sha1 (0x0203) and reserves the rest for backward compatibility.
	for _, h := range tls12Hashes {
		for _, sig := range []struct {
			id             uint8
			alg, key, name string
		}{{1, "RSA", "RSA", "rsa_pkcs1_"}, {2, "DSA", "DSA", "dsa_"}, {3, "ECDSA", "EC", "ecdsa_"}} {
			code := uint16(h.id)<<8 | uint16(sig.id)
			if slices.ContainsFunc(sigSchemes, func(s SignatureScheme) bool { return s.Code == code }) {
				continue
			}
			s := SignatureScheme{Code: code, Name: sig.name + strings.ToLower(h.name), Signature: sig.alg, Hash: h.name, KeyType: sig.key, TLS12: true}
			switch code {
			case 0x0201, 0x0203:
				s.Registered = true
				s.TLS13 = false
				s.Note = "TLS 1.3 allows it only in certificates (RFC 8446 §4.2.3)"
			default:
				s.Note = "TLS 1.2 hash/signature pair (RFC 5246 §7.4.1.4.1); reserved in the TLS 1.3 SignatureScheme registry"
			}
			sigSchemes = append(sigSchemes, s)
		}
	}
	slices.SortFunc(sigSchemes, func(a, b SignatureScheme) int { return int(a.Code) - int(b.Code) })
	for i := range sigSchemes {
		s := &sigSchemes[i]
		if s.Code >= 0x0401 && s.Code <= 0x0FFF && !strings.HasPrefix(s.Note, "TLS 1.2 hash") {
			s.Registered = true
		}
		if s.OpenSSL == "" {
			s.OpenSSL = opensslSigName(s)
		}
		s.Verdict, s.Reason = assessSig(s)
		if _, dup := sigByCode[s.Code]; dup {
			panic("tlsregistry: signature scheme listed twice: " + s.Hex())
		}
		sigByCode[s.Code] = s
		for _, n := range []string{s.Name, s.OpenSSL} {
			if n == "" {
				continue
			}
			if _, dup := sigByName[strings.ToLower(n)]; !dup {
				sigByName[strings.ToLower(n)] = s
			}
		}
	}
}

// opensslSigName spells RSA, DSA and ECDSA pairs the way OpenSSL prints them.
func opensslSigName(s *SignatureScheme) string {
	switch s.Signature {
	case "RSA", "DSA", "ECDSA":
		if s.Hash == "MD5" {
			return "" // OpenSSL 3 refuses MD5 signature algorithms
		}
		return s.Signature + "+" + s.Hash
	}
	return ""
}

func assessSig(s *SignatureScheme) (Verdict, string) {
	var a assessment
	switch s.Hash {
	case "MD5":
		a.add(Insecure, "MD5 signatures are forgeable")
	case "SHA1":
		a.add(Insecure, "SHA-1 signatures are forgeable (SHAttered; deprecated by RFC 9155)")
	case "SHA224":
		a.add(Weak, "SHA-224: below the 128-bit security level most policies require")
	}
	switch s.Signature {
	case "DSA":
		a.add(Weak, "DSA is deprecated (FIPS 186-5) and removed from TLS 1.3")
	case "GOST", "SM2":
		a.add(Fine, "national standard; few implementations outside its country")
	case "ML-DSA":
		a.add(Fine, "post-quantum signature (draft)")
	}
	if a.verdict == VerdictNone {
		if s.TLS13 {
			a.add(Fine, "usable in TLS 1.2 and 1.3")
		} else {
			a.add(Fine, "strong")
		}
		if !s.TLS12 {
			a.reasons = []string{"TLS 1.3 only"}
		}
	}
	return a.verdict, a.reason()
}

// SignatureSchemes returns every known scheme and TLS 1.2 pair, by code.
func SignatureSchemes() []SignatureScheme { return slices.Clone(sigSchemes) }

// SignatureSchemeByCode looks a scheme up by its two-byte code.
func SignatureSchemeByCode(code uint16) (SignatureScheme, bool) {
	s, ok := sigByCode[code]
	if !ok {
		return SignatureScheme{}, false
	}
	return *s, true
}

// SignatureSchemeByName accepts the IANA name (ecdsa_secp256r1_sha256) or
// OpenSSL's (ECDSA+SHA256, RSA-PSS+SHA256 = rsa_pss_rsae_sha256),
// case-insensitively.
func SignatureSchemeByName(name string) (SignatureScheme, bool) {
	s, ok := sigByName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return SignatureScheme{}, false
	}
	return *s, true
}
