package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestKeyTypesAndKeyFiles(t *testing.T) {
	for _, kt := range KeyTypes {
		t.Run(string(kt), func(t *testing.T) {
			got, err := ParseKeyType(strings.ToUpper(string(kt)))
			if err != nil || got != kt {
				t.Fatalf("ParseKeyType(%q) = %q, %v", kt, got, err)
			}
			if testing.Short() && kt == KeyRSA4096 {
				t.Skip("slow")
			}
			key, err := GenerateKey(kt, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := KeyTypeOf(key.Public()); err != nil || back != kt {
				t.Fatalf("KeyTypeOf = %q, %v", back, err)
			}
			plain, err := MarshalPrivateKey(key, nil, rand.Reader)
			if err != nil || !bytes.Contains(plain, []byte("BEGIN PRIVATE KEY")) {
				t.Fatalf("MarshalPrivateKey: %v\n%s", err, plain)
			}
			if k, err := ParsePrivateKey(plain, nil); err != nil || !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Fatalf("ParsePrivateKey(plain): %v", err)
			}
		})
	}
	if _, err := ParseKeyType("dsa1024"); err == nil || !strings.Contains(err.Error(), "ecdsa-p256") {
		t.Fatalf("unknown key type error = %v", err)
	}
	if kt, _ := ParseKeyType(""); kt != DefaultKeyType {
		t.Fatalf("default key type %q", kt)
	}
}

func TestEncryptedKey(t *testing.T) {
	key, _ := GenerateKey(KeyECDSAP256, rand.Reader)
	start := time.Now()
	enc, err := MarshalPrivateKey(key, []byte("pass"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PBKDF2 with %d iterations took %v", PBKDF2Iterations, time.Since(start))
	if !IsEncryptedKey(enc) {
		t.Fatal("not marked encrypted")
	}
	k, err := ParsePrivateKey(enc, []byte("pass"))
	if err != nil || !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		t.Fatalf("decrypt: %v", err)
	}
	for _, wrong := range []string{"", "Pass", "pass "} {
		if _, err := ParsePrivateKey(enc, []byte(wrong)); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrase %q: err = %v, want ErrWrongPassphrase", wrong, err)
		}
	}
	// Fast variant to cover many wrong passphrases: padding or PKCS#8
	// check must catch every one.
	der, _ := marshalPKCS8ForTest(key)
	fast, err := encryptPKCS8(der, []byte("right"), 2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if _, err := ParsePrivateKey(fast, []byte("wrong"+string(rune('a'+i%26))+strings.Repeat("x", i/26))); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("wrong passphrase %d accepted or odd error: %v", i, err)
		}
	}
}

func TestSerials(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		n, err := NewSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s := FormatSerial(n)
		if len(s) != 32 || n.Sign() <= 0 || n.BitLen() > 127 || seen[s] {
			t.Fatalf("serial %s: len %d bits %d dup %v", s, len(s), n.BitLen(), seen[s])
		}
		seen[s] = true
	}
	tests := []struct{ in, want string }{
		{"0A1B", "0A1B"},
		{"a1b", "0A1B"},
		{"000a1b", "0A1B"},
		{"serial=3F", "3F"},
		{"0x3f", "3F"},
		{"3f:0a:11", "3F0A11"},
		{"0", "00"},
		{" 7FAB ", "7FAB"},
	}
	for _, tc := range tests {
		got, err := ParseSerial(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSerial(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "xyz", "-1", "+1", "12 34", strings.Repeat("1", 43)} {
		if _, err := ParseSerial(bad); err == nil {
			t.Errorf("ParseSerial(%q) succeeded", bad)
		}
	}
	if FormatSerial(big.NewInt(255)) != "FF" || FormatSerial(big.NewInt(256)) != "0100" {
		t.Fatal("FormatSerial pads per byte")
	}
}

func TestParseSANs(t *testing.T) {
	s, err := ParseSANs(" DNS:WWW.Example.org, dns:*.example.org,IP:192.0.2.1, IP:2001:db8::1 ,email:a@example.org,URI:spiffe://trust/x,DNS:www.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.DNS) != 2 || s.DNS[0] != "www.example.org" || len(s.IP) != 2 || len(s.Email) != 1 || len(s.URI) != 1 {
		t.Fatalf("parsed %+v", s)
	}
	if got := s.String(); got != "DNS:www.example.org,DNS:*.example.org,IP:192.0.2.1,IP:2001:db8::1,email:a@example.org,URI:spiffe://trust/x" {
		t.Fatalf("String = %q", got)
	}
	bad := []struct{ name, in, want string }{
		{"no type", "www.example.org", "TYPE:value"},
		{"unknown type", "RID:1.2.3", "unknown type"},
		{"empty value", "DNS:", "TYPE:value"},
		{"bad ip", "IP:300.1.1.1", "not an IPv4"},
		{"ip zone", "IP:fe80::1%eth0", "not an IPv4"},
		{"space in dns", "DNS:a b.org", "not allowed"},
		{"idn not ascii", "DNS:bücher.example", "xn--"},
		{"wildcard mid", "DNS:www.*.org", "wildcard"},
		{"wildcard too short", "DNS:*.org", "wildcard"},
		{"label too long", "DNS:" + strings.Repeat("a", 64) + ".org", "1 to 63"},
		{"hyphen", "DNS:-a.org", "starts or ends"},
		{"email without at", "email:nobody", "name@example.org"},
		{"relative uri", "URI:/path", "absolute"},
		{"empty item", "DNS:a.org,,DNS:b.org", "TYPE:value"},
		{"too many", strings.Repeat("DNS:a.org,", maxSANs+1), "more than"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSANs(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseSANs(%q) = %v, want error mentioning %q", tc.in, err, tc.want)
			}
		})
	}
}

func FuzzParseSANs(f *testing.F) {
	for _, s := range []string{"DNS:a.example,IP:192.0.2.1", "IP:2001:db8::1,email:x@y.org", "URI:https://a.example/p?q", "DNS:*.a.example", "dns:A.B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSANs(in)
		if err != nil {
			return
		}
		again, err := ParseSANs(s.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", s.String(), in, err)
		}
		if again.String() != s.String() {
			t.Fatalf("not stable: %q -> %q", s.String(), again.String())
		}
	})
}

func TestLDAPURL(t *testing.T) {
	got := LDAPCRLURL("ldap://127.0.0.1:1389/", "CN=pkid Issuing CA,O=pkid")
	want := "ldap://127.0.0.1:1389/CN=pkid%20Issuing%20CA,O=pkid?certificateRevocationList;binary"
	if got != want {
		t.Fatalf("LDAPCRLURL = %q, want %q", got, want)
	}
	if got := escapeLDAPURLDN("CN=a?b/c#d%"); got != "CN=a%3Fb%2Fc%23d%25" {
		t.Fatalf("escape = %q", got)
	}
}
