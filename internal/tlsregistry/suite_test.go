package tlsregistry

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

// opensslCipher is one line of `openssl ciphers -V`.
type opensslCipher struct {
	code           uint16
	name, min      string
	kx, au, enc, m string
}

func opensslCiphers(t *testing.T, args ...string) []opensslCipher {
	t.Helper()
	bin := peer.Need(t, "openssl", "openssl")
	out, err := exec.Command(bin, append([]string{"ciphers", "-V"}, args...)...).Output()
	if err != nil {
		t.Fatalf("openssl ciphers -V %v: %v", args, err)
	}
	var cs []opensslCipher
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// 0xC0,0x2C - ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH Au=ECDSA Enc=AESGCM(256) Mac=AEAD
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "-" {
			t.Fatalf("unexpected openssl ciphers line %q", sc.Text())
		}
		hi, err1 := strconv.ParseUint(strings.TrimPrefix(f[0][:4], "0x"), 16, 8)
		lo, err2 := strconv.ParseUint(strings.TrimPrefix(f[0][5:], "0x"), 16, 8)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad code in %q", sc.Text())
		}
		cs = append(cs, opensslCipher{
			code: uint16(hi)<<8 | uint16(lo), name: f[2], min: f[3],
			kx: strings.TrimPrefix(f[4], "Kx="), au: strings.TrimPrefix(f[5], "Au="),
			enc: strings.TrimPrefix(f[6], "Enc="), m: strings.TrimPrefix(f[7], "Mac="),
		})
	}
	if len(cs) == 0 {
		t.Fatalf("openssl ciphers -V %v listed nothing", args)
	}
	return cs
}

// TestSuitesMatchOpenSSL proves that every suite the local OpenSSL knows has
// the same code ↔ name pairing here, and that our key exchange,
// authentication, AEAD and version columns agree with OpenSSL's.
func TestSuitesMatchOpenSSL(t *testing.T) {
	cs := opensslCiphers(t, "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
	cs = append(cs, opensslCiphers(t, "-s", "-tls1_3", "-ciphersuites",
		"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256")...)
	kx := map[string][]string{ // OpenSSL Kx → ours
		"RSA": {"RSA"}, "DH": {"DHE"}, "ECDH": {"ECDHE"}, "PSK": {"PSK"}, "DHEPSK": {"DHE_PSK"},
		"ECDHEPSK": {"ECDHE_PSK"}, "RSAPSK": {"RSA_PSK"}, "SRP": {"SRP"}, "any": {"any"},
	}
	au := map[string][]string{
		"RSA": {"RSA", "RSA+PSK"}, "DSS": {"DSS"}, "ECDSA": {"ECDSA"}, "None": {"anon"}, "PSK": {"PSK"},
		"SRP": {"SRP"}, "any": {"any"},
	}
	for _, c := range cs {
		s, ok := SuiteByCode(c.code)
		if !ok {
			t.Errorf("openssl knows 0x%04X %s; the table does not", c.code, c.name)
			continue
		}
		// A build with weak suites compiled in lists names the table marks
		// as OpenSSL 1.x ones; they must still match.
		if s.OpenSSL != c.name {
			t.Errorf("0x%04X: table has OpenSSL name %q, openssl says %q", c.code, s.OpenSSL, c.name)
		}
		if byName, ok := SuiteByName(c.name); !ok || byName.Code != c.code {
			t.Errorf("SuiteByName(%q) = 0x%04X, %v; want 0x%04X", c.name, byName.Code, ok, c.code)
		}
		if !contains(kx[c.kx], s.KeyExchange) {
			t.Errorf("0x%04X %s: key exchange %s, openssl says Kx=%s", c.code, s.Name, s.KeyExchange, c.kx)
		}
		if !contains(au[c.au], s.Auth) {
			t.Errorf("0x%04X %s: auth %s, openssl says Au=%s", c.code, s.Name, s.Auth, c.au)
		}
		if (c.m == "AEAD") != (s.MAC == "AEAD") {
			t.Errorf("0x%04X %s: MAC %s, openssl says Mac=%s", c.code, s.Name, s.MAC, c.m)
		}
		if (c.min == "TLSv1.3") != s.TLS13() {
			t.Errorf("0x%04X %s: versions %s, openssl says %s", c.code, s.Name, s.Versions(), c.min)
		}
		if c.min == "TLSv1.2" && s.MinVersion != TLS12 {
			t.Errorf("0x%04X %s: versions %s, openssl says %s and up", c.code, s.Name, s.Versions(), c.min)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestSuitesMatchGo proves every suite Go's crypto/tls knows has the same
// IANA name here, and that Go's "insecure" list is never graded fine.
func TestSuitesMatchGo(t *testing.T) {
	for _, list := range []struct {
		suites   []*tls.CipherSuite
		insecure bool
	}{{tls.CipherSuites(), false}, {tls.InsecureCipherSuites(), true}} {
		for _, g := range list.suites {
			s, ok := SuiteByCode(g.ID)
			if !ok {
				t.Errorf("crypto/tls knows 0x%04X %s; the table does not", g.ID, g.Name)
				continue
			}
			if s.Name != g.Name {
				t.Errorf("0x%04X: table says %s, crypto/tls says %s", g.ID, s.Name, g.Name)
			}
			if list.insecure && s.Verdict == Fine {
				t.Errorf("0x%04X %s: crypto/tls calls it insecure, table says fine", g.ID, s.Name)
			}
			tls13 := len(g.SupportedVersions) == 1 && g.SupportedVersions[0] == tls.VersionTLS13
			if tls13 != s.TLS13() {
				t.Errorf("0x%04X %s: TLS 1.3-only %v here, crypto/tls says versions %v", g.ID, s.Name, s.TLS13(), g.SupportedVersions)
			}
		}
	}
}

func TestSuiteVerdicts(t *testing.T) {
	tests := []struct {
		code    uint16
		verdict Verdict
		reason  string // substring
	}{
		{0x0035, Weak, "no forward secrecy"},
		{0x0035, Weak, "CBC"},
		{0x000A, Insecure, "Sweet32"},
		{0x0004, Insecure, "RC4"},
		{0x0001, Insecure, "NULL cipher"},
		{0x0003, Insecure, "export"},
		{0x0009, Insecure, "DES"},
		{0x0034, Insecure, "anonymous"},
		{0x0018, Insecure, "MD5"},
		{0xC02C, Fine, "AEAD with forward secrecy"},
		{0xC02F, Fine, "AEAD"},
		{0x009E, Fine, "AEAD"},
		{0xC023, Weak, "CBC"},
		{0x009C, Weak, "no forward secrecy"},
		{0x1301, Fine, "TLS 1.3"},
		{0x1303, Fine, "TLS 1.3"},
		{0x1305, Weak, "8-byte"},
		{0xC0B4, Insecure, "integrity only"},
		{0xC02E, Weak, "static ECDH"},
		{0x00FF, VerdictNone, "signalling"},
		{0xCC13, Weak, "pre-standard"},
	}
	for _, tt := range tests {
		s, ok := SuiteByCode(tt.code)
		if !ok {
			t.Fatalf("0x%04X missing", tt.code)
		}
		if s.Verdict != tt.verdict || !strings.Contains(strings.ToLower(s.Reason), strings.ToLower(tt.reason)) {
			t.Errorf("0x%04X %s: verdict %v (%s); want %v containing %q", tt.code, s.Name, s.Verdict, s.Reason, tt.verdict, tt.reason)
		}
	}
}

func TestSuiteLookups(t *testing.T) {
	tests := []struct {
		name string
		code uint16
	}{
		{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C},
		{"tls_ecdhe_ecdsa_with_aes_256_gcm_sha384", 0xC02C},
		{"ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C},
		{"ecdhe-ecdsa-aes256-gcm-sha384", 0xC02C},
		{"  AES256-SHA ", 0x0035},
		{"SSL_RSA_WITH_AES_256_CBC_SHA", 0x0035},
		{"TLS_AES_128_GCM_SHA256", 0x1301},
		{"DES-CBC3-SHA", 0x000A},
		{"TLS_PSK_DHE_WITH_AES_128_CCM_8", 0xC0AA},
	}
	for _, tt := range tests {
		s, ok := SuiteByName(tt.name)
		if !ok || s.Code != tt.code {
			t.Errorf("SuiteByName(%q) = 0x%04X, %v; want 0x%04X", tt.name, s.Code, ok, tt.code)
		}
	}
	for _, bad := range []string{"", "TLS_", "AES", "TLS_RSA_WITH_AES_256_CBC_SHA2"} {
		if s, ok := SuiteByName(bad); ok {
			t.Errorf("SuiteByName(%q) = %s; want not found", bad, s.Name)
		}
	}
	if _, ok := SuiteByCode(0x1308); ok {
		t.Error("0x1308 is unassigned but was found")
	}
	s, _ := SuiteByCode(0xC02C)
	if s.Hex() != "C02C" || s.Versions() != "TLS 1.2" || s.KeyExchange != "ECDHE" || s.Auth != "ECDSA" {
		t.Errorf("0xC02C described as %+v", s)
	}
	if got := s.String(); got != "C02C TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (ECDHE-ECDSA-AES256-GCM-SHA384)" {
		t.Errorf("String() = %q", got)
	}
	if s13, _ := SuiteByCode(0x1301); s13.String() != "1301 TLS_AES_128_GCM_SHA256" {
		t.Errorf("String() = %q", s13.String())
	}
	s, _ = SuiteByCode(0x0035)
	if s.Versions() != "SSL 3.0–TLS 1.2" {
		t.Errorf("0x0035 versions %q", s.Versions())
	}
}

func TestTableIsComplete(t *testing.T) {
	all := Suites()
	if len(all) < 350 {
		t.Errorf("only %d suites; the IANA registry assigns about 350", len(all))
	}
	for i, s := range all {
		if i > 0 && all[i-1].Code >= s.Code {
			t.Fatalf("Suites() not sorted at 0x%04X", s.Code)
		}
		if s.Reason == "" || s.KeyExchange == "" || s.Cipher == "" || s.MAC == "" {
			t.Errorf("0x%04X %s incompletely described: %+v", s.Code, s.Name, s)
		}
		if IsGREASE(s.Code) {
			t.Errorf("0x%04X is GREASE but in the table", s.Code)
		}
	}
}

func TestGREASE(t *testing.T) {
	for _, c := range []uint16{0x0A0A, 0x1A1A, 0xFAFA} {
		if !IsGREASE(c) {
			t.Errorf("IsGREASE(0x%04X) = false", c)
		}
	}
	for _, c := range []uint16{0x0A1A, 0x0A0B, 0xC02C, 0x0000} {
		if IsGREASE(c) {
			t.Errorf("IsGREASE(0x%04X) = true", c)
		}
	}
}
