package gsk

import (
	"errors"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		names []string
		want  string
	}{
		{"brief example", KindCipher, []string{"TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"}, "1301C02C"},
		{"blog server list by IANA name", KindCipher, []string{
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
			"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
			"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}, "C02CC02BC030C02FC024C023130313011302"},
		{"legacy specs", KindCipher2, []string{"AES256-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", "DES-CBC3-SHA"}, "352F0A"},
		{"sigalgs mixed spellings", KindSigAlg, []string{"rsa_pkcs1_sha512", "ECDSA+SHA384", "rsa_pss_rsae_sha256", "ED25519"}, "0601050308040807"},
		{"groups in decimal", KindGroup, []string{"x448", "X25519", "secp521r1", "P-384", "prime256v1"}, "00300029002500240023"},
		{"auto: suites", KindAuto, []string{"ECDHE-RSA-AES128-GCM-SHA256"}, "C02F"},
		{"auto: groups", KindAuto, []string{"x25519", "secp256r1"}, "00290023"},
		{"auto: sigalgs", KindAuto, []string{"ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"}, "04030804"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.kind, tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Encode = %s, want %s", got, tt.want)
			}
			// Round trip: decoding the value gives the names back.
			k := tt.kind
			if k == KindAuto {
				k, _ = inferKind(tt.names)
			}
			rep, err := Decode(got, k)
			if err != nil {
				t.Fatalf("Decode(%s): %v", got, err)
			}
			if n := len(rep.Results[0].Items); n != len(tt.names) || rep.ProblemCount() != 0 {
				t.Errorf("round trip gave %d items, problems %v", n, rep.Results[0].Problems)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		names []string
		want  string
		is    error
	}{
		{"no names", KindCipher, nil, "at least one name", ErrEmpty},
		{"unknown suite", KindCipher, []string{"TLS_FOO"}, `"TLS_FOO" is not a cipher suite name`, nil},
		{"modern suite in legacy list", KindCipher2, []string{"TLS_AES_128_GCM_SHA256"}, "GSK_V3_CIPHER_SPECS holds only 2-digit specs", nil},
		{"repeat", KindCipher, []string{"AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA"}, "names the same code", nil},
		{"unknown group", KindGroup, []string{"curve9"}, "not a group name", nil},
		{"group beyond four digits", KindGroup, []string{"X25519Kyber768Draft00"}, "four decimal digits", nil},
		{"mixed kinds", KindAuto, []string{"x25519", "AES256-SHA"}, "encode one kind at a time", nil},
		{"unknown in auto", KindAuto, []string{"nonsense"}, "is not a cipher suite, signature algorithm or group name", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.kind, tt.names)
			if err == nil {
				t.Fatalf("Encode = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"": KindAuto, "cipher": KindCipher, "CIPHER2": KindCipher2, "sigalg": KindSigAlg, "group": KindGroup, "keyshare": KindGroup} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseKind("ciphers4"); err == nil {
		t.Error("ParseKind accepted nonsense")
	}
}
