package tlsregistry

import (
	"crypto/tls"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

// newerOpenSSL are names this table carries that OpenSSL 3.0 does not know
// yet (brainpool TLS 1.3 groups and signatures arrived in 3.2, ML-KEM in 3.5).
var newerOpenSSL = map[string]bool{
	"ecdsa_brainpoolP256r1_sha256": true, "ecdsa_brainpoolP384r1_sha384": true, "ecdsa_brainpoolP512r1_sha512": true,
	"ecdsa_brainpoolP256r1tls13_sha256": true, "ecdsa_brainpoolP384r1tls13_sha384": true, "ecdsa_brainpoolP512r1tls13_sha512": true,
	"brainpoolP256r1tls13": true, "brainpoolP384r1tls13": true, "brainpoolP512r1tls13": true,
	"MLKEM512": true, "MLKEM768": true, "MLKEM1024": true,
	"SecP256r1MLKEM768": true, "X25519MLKEM768": true, "SecP384r1MLKEM1024": true,
}

// opensslAccepts reports whether `openssl s_client -flag value` gets past
// argument parsing: OpenSSL checks -sigalgs and -groups when it builds the
// context, before connecting (to a closed loopback port here).
func opensslAccepts(t *testing.T, bin, flag, value string) bool {
	t.Helper()
	out, _ := exec.Command(bin, "s_client", flag, value, "-connect", "127.0.0.1:1").CombinedOutput()
	return !strings.Contains(string(out), "SSL_CONF_cmd")
}

// checkOpenSSLNames tries each batch of names at once (one openssl run) and
// falls back to one run per name only when a batch fails, to say which.
func checkOpenSSLNames(t *testing.T, bin, flag string, batches map[string][]string) {
	t.Helper()
	if opensslAccepts(t, bin, flag, "bogus_name") {
		t.Fatalf("openssl accepted a bogus %s value; the probe cannot tell", flag)
	}
	for label, names := range batches {
		if len(names) == 0 || opensslAccepts(t, bin, flag, strings.Join(names, ":")) {
			continue
		}
		for _, n := range names {
			if !opensslAccepts(t, bin, flag, n) {
				t.Errorf("openssl %s rejects %q (%s)", flag, n, label)
			}
		}
	}
}

func TestSignatureSchemeNamesMatchOpenSSL(t *testing.T) {
	bin := peer.Need(t, "openssl", "openssl")
	batches := map[string][]string{}
	for _, s := range SignatureSchemes() {
		for i, n := range []string{s.OpenSSL, s.Name} {
			if i == 1 && n == s.OpenSSL {
				continue // one name for both columns
			}
			if n == "" || newerOpenSSL[n] || s.Signature == "GOST" || s.Signature == "SM2" || s.Signature == "ML-DSA" {
				continue
			}
			if n == s.Name && !s.Registered {
				continue // our own names for TLS 1.2 pairs
			}
			if n == s.Name && (s.Code == 0x0201 || s.Code == 0x0203) {
				continue // OpenSSL 3.0 spells these RSA+SHA1 / ECDSA+SHA1 only
			}
			col := "OpenSSL names"
			if n == s.Name {
				col = "IANA names"
			}
			batches[col] = append(batches[col], n)
		}
	}
	checkOpenSSLNames(t, bin, "-sigalgs", batches)
}

func TestGroupNamesMatchOpenSSL(t *testing.T) {
	bin := peer.Need(t, "openssl", "openssl")
	batches := map[string][]string{}
	for _, g := range Groups() {
		for i, n := range append([]string{g.OpenSSL}, g.Aliases...) {
			if n == "" || newerOpenSSL[n] || strings.HasPrefix(n, "K-") || strings.HasPrefix(n, "B-") {
				continue
			}
			label := "OpenSSL names"
			if i > 0 {
				label = "aliases"
			}
			batches[label] = append(batches[label], n)
		}
	}
	checkOpenSSLNames(t, bin, "-groups", batches)
}

// TestMatchGo checks code points crypto/tls names against ours.
func TestMatchGo(t *testing.T) {
	sigs := map[tls.SignatureScheme]string{
		tls.PKCS1WithSHA256: "rsa_pkcs1_sha256", tls.PKCS1WithSHA384: "rsa_pkcs1_sha384", tls.PKCS1WithSHA512: "rsa_pkcs1_sha512",
		tls.PSSWithSHA256: "rsa_pss_rsae_sha256", tls.PSSWithSHA384: "rsa_pss_rsae_sha384", tls.PSSWithSHA512: "rsa_pss_rsae_sha512",
		tls.ECDSAWithP256AndSHA256: "ecdsa_secp256r1_sha256", tls.ECDSAWithP384AndSHA384: "ecdsa_secp384r1_sha384",
		tls.ECDSAWithP521AndSHA512: "ecdsa_secp521r1_sha512", tls.Ed25519: "ed25519",
		tls.PKCS1WithSHA1: "rsa_pkcs1_sha1", tls.ECDSAWithSHA1: "ecdsa_sha1",
	}
	for code, name := range sigs {
		s, ok := SignatureSchemeByCode(uint16(code))
		if !ok || s.Name != name {
			t.Errorf("0x%04X: %q, %v; want %s", uint16(code), s.Name, ok, name)
		}
	}
	groupsGo := map[tls.CurveID]string{tls.CurveP256: "secp256r1", tls.CurveP384: "secp384r1", tls.CurveP521: "secp521r1", tls.X25519: "x25519", tls.X25519MLKEM768: "X25519MLKEM768"}
	for id, name := range groupsGo {
		g, ok := GroupByID(uint16(id))
		if !ok || g.Name != name {
			t.Errorf("group %d: %q, %v; want %s", id, g.Name, ok, name)
		}
	}
}

func TestSignatureSchemes(t *testing.T) {
	tests := []struct {
		code    uint16
		name    string
		openssl string
		verdict Verdict
		key     string
	}{
		{0x0401, "rsa_pkcs1_sha256", "RSA+SHA256", Fine, "RSA"},
		{0x0403, "ecdsa_secp256r1_sha256", "ECDSA+SHA256", Fine, "EC"},
		{0x0503, "ecdsa_secp384r1_sha384", "ECDSA+SHA384", Fine, "EC"},
		{0x0804, "rsa_pss_rsae_sha256", "RSA-PSS+SHA256", Fine, "RSA"},
		{0x0807, "ed25519", "ed25519", Fine, "Ed25519"},
		{0x0201, "rsa_pkcs1_sha1", "RSA+SHA1", Insecure, "RSA"},
		{0x0203, "ecdsa_sha1", "ECDSA+SHA1", Insecure, "EC"},
		{0x0301, "rsa_pkcs1_sha224", "RSA+SHA224", Weak, "RSA"},
		{0x0402, "dsa_sha256", "DSA+SHA256", Weak, "DSA"},
		{0x0101, "rsa_pkcs1_md5", "", Insecure, "RSA"},
	}
	for _, tt := range tests {
		s, ok := SignatureSchemeByCode(tt.code)
		if !ok {
			t.Errorf("0x%04X missing", tt.code)
			continue
		}
		if s.Name != tt.name || s.OpenSSL != tt.openssl || s.Verdict != tt.verdict || s.KeyType != tt.key {
			t.Errorf("0x%04X = %s/%s/%v/%s; want %s/%s/%v/%s", tt.code, s.Name, s.OpenSSL, s.Verdict, s.KeyType, tt.name, tt.openssl, tt.verdict, tt.key)
		}
		for _, n := range []string{tt.name, strings.ToUpper(tt.name), tt.openssl} {
			if n == "" {
				continue
			}
			if byName, ok := SignatureSchemeByName(n); !ok || byName.Code != tt.code {
				t.Errorf("SignatureSchemeByName(%q) = 0x%04X, %v; want 0x%04X", n, byName.Code, ok, tt.code)
			}
		}
	}
	if _, ok := SignatureSchemeByCode(0x0030); ok {
		t.Error("0x0030 found as a signature scheme")
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		id      uint16
		name    string
		gskit   string
		tls13   bool
		verdict Verdict
	}{
		{23, "secp256r1", "0023", true, Fine},
		{24, "secp384r1", "0024", true, Fine},
		{25, "secp521r1", "0025", true, Fine},
		{29, "x25519", "0029", true, Fine},
		{30, "x448", "0030", true, Fine},
		{19, "secp192r1", "0019", false, Insecure},
		{21, "secp224r1", "0021", false, Weak},
		{256, "ffdhe2048", "0256", true, Fine},
		{0x11EC, "X25519MLKEM768", "4588", true, Fine},
	}
	for _, tt := range tests {
		g, ok := GroupByID(tt.id)
		if !ok {
			t.Errorf("group %d missing", tt.id)
			continue
		}
		gs, err := g.GSKit()
		if g.Name != tt.name || gs != tt.gskit || err != nil || g.TLS13 != tt.tls13 || g.Verdict != tt.verdict {
			t.Errorf("group %d = %s %q %v tls13=%v %v; want %s %q tls13=%v %v", tt.id, g.Name, gs, err, g.TLS13, g.Verdict, tt.name, tt.gskit, tt.tls13, tt.verdict)
		}
	}
	for name, id := range map[string]uint16{"P-256": 23, "prime256v1": 23, "SECP256R1": 23, "X25519": 29, "p-384": 24, "x25519mlkem768": 0x11EC} {
		if g, ok := GroupByName(name); !ok || g.ID != id {
			t.Errorf("GroupByName(%q) = %d, %v; want %d", name, g.ID, ok, id)
		}
	}
	g, _ := GroupByID(0x6399)
	if _, err := g.GSKit(); err == nil {
		t.Error("group 25497 fit in four decimal digits")
	}
}

func TestAlertsAndVersions(t *testing.T) {
	for code, name := range map[uint8]string{42: "bad_certificate", 48: "unknown_ca", 70: "protocol_version", 80: "internal_error", 116: "certificate_required", 40: "handshake_failure"} {
		a, ok := AlertByCode(code)
		if !ok || a.Name != name || a.Meaning == "" {
			t.Errorf("AlertByCode(%d) = %+v, %v; want %s", code, a, ok, name)
		}
		if b, ok := AlertByName(strings.ToUpper(name)); !ok || b.Code != code {
			t.Errorf("AlertByName(%s) = %d, %v", name, b.Code, ok)
		}
	}
	if _, ok := AlertByCode(255); ok {
		t.Error("alert 255 found")
	}
	for name, v := range map[string]Version{"TLS 1.2": TLS12, "TLSv1.3": TLS13, "tls1.2": TLS12, "1.3": TLS13, "SSLv3": SSL30, "TLSv1": TLS10, "tls12": TLS12} {
		if got, ok := VersionByName(name); !ok || got != v {
			t.Errorf("VersionByName(%q) = %v, %v; want %v", name, got, ok, v)
		}
	}
	if TLS12.String() != "TLS 1.2" || TLS13.OpenSSL() != "TLSv1.3" || Version(0x7F17).String() != "0x7F17" {
		t.Error("version names wrong")
	}
	if v, _ := SSL30.Verdict(); v != Insecure {
		t.Error("SSL 3.0 not insecure")
	}
}
