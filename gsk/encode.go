package gsk

import (
	"fmt"
	"strings"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// Encode writes names as a GSKit value: IANA or OpenSSL cipher suite names
// for KindCipher (4-hex codes) and KindCipher2 (2-hex legacy specs),
// signature scheme names for KindSigAlg, group names for KindGroup (4
// decimal digits). With KindAuto every name must belong to the same table.
// Unknown names and repeats are errors.
func Encode(kind Kind, names []string) (string, error) {
	if len(names) == 0 {
		return "", fmt.Errorf("%w: give at least one name", ErrEmpty)
	}
	if kind == KindAuto {
		k, err := inferKind(names)
		if err != nil {
			return "", err
		}
		kind = k
	}
	var b strings.Builder
	seen := map[uint16]string{}
	for _, n := range names {
		var code uint16
		var text string
		switch kind {
		case KindCipher, KindCipher2:
			s, ok := tlsregistry.SuiteByName(n)
			if !ok {
				return "", fmt.Errorf("%q is not a cipher suite name (IANA like TLS_AES_128_GCM_SHA256 or OpenSSL like ECDHE-RSA-AES128-GCM-SHA256)", n)
			}
			code, text = s.Code, s.Hex()
			if kind == KindCipher2 {
				if s.Code > 0xFF {
					return "", fmt.Errorf("%s is 0x%04X: GSK_V3_CIPHER_SPECS holds only 2-digit specs (suites 0x0000–0x00FF); use GSK_V3_CIPHER_SPECS_EXPANDED (--kind cipher)", s.Name, s.Code)
				}
				text = text[2:]
			}
		case KindSigAlg:
			s, ok := tlsregistry.SignatureSchemeByName(n)
			if !ok {
				return "", fmt.Errorf("%q is not a signature algorithm name (like ecdsa_secp256r1_sha256, ECDSA+SHA256 or rsa_pss_rsae_sha256)", n)
			}
			code, text = s.Code, s.Hex()
		case KindGroup:
			g, ok := tlsregistry.GroupByName(n)
			if !ok {
				return "", fmt.Errorf("%q is not a group name (like secp256r1, P-256, x25519)", n)
			}
			t, err := g.GSKit()
			if err != nil {
				return "", err
			}
			code, text = g.ID, t
		default:
			return "", fmt.Errorf("cannot encode kind %v", kind)
		}
		if prev, dup := seen[code]; dup {
			return "", fmt.Errorf("%q names the same code as %q (%s); list it once", n, prev, text)
		}
		seen[code] = n
		b.WriteString(text)
	}
	return b.String(), nil
}

// KindOf returns the kind of list the names belong to (cipher, sigalg or
// group), as Encode infers it for KindAuto.
func KindOf(names []string) (Kind, error) { return inferKind(names) }

// inferKind finds the one table every name belongs to.
func inferKind(names []string) (Kind, error) {
	kind := KindAuto
	for _, n := range names {
		var ks []Kind
		if _, ok := tlsregistry.SuiteByName(n); ok {
			ks = append(ks, KindCipher)
		}
		if _, ok := tlsregistry.SignatureSchemeByName(n); ok {
			ks = append(ks, KindSigAlg)
		}
		if _, ok := tlsregistry.GroupByName(n); ok {
			ks = append(ks, KindGroup)
		}
		switch {
		case len(ks) == 0:
			return KindAuto, fmt.Errorf("%q is not a cipher suite, signature algorithm or group name", n)
		case len(ks) > 1:
			return KindAuto, fmt.Errorf("%w: %q names more than one kind; pass --kind", ErrAmbiguous, n)
		case kind != KindAuto && ks[0] != kind:
			return KindAuto, fmt.Errorf("%q is a %v name but earlier names are %v names; encode one kind at a time", n, ks[0], kind)
		}
		kind = ks[0]
	}
	return kind, nil
}
