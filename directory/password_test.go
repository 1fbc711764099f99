package directory

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"golang.org/x/crypto/argon2"
)

func TestVerifyPassword(t *testing.T) {
	argon, err := HashPassword([]byte("secret"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stored, pw string
		want             bool
	}{
		// Drepper's SHA-crypt specification test vectors.
		{"sha256-crypt", "{CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!", true},
		{"sha256-crypt rounds", "{CRYPT}$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!", true},
		{"sha512-crypt", "{CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", true},
		{"sha512-crypt rounds", "{CRYPT}$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", true},
		{"sha512-crypt wrong", "{CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world", false},
		// slappasswd -h {SSHA} -s secret; {SHA} of "secret".
		{"ssha", "{SSHA}Hd9+6EJZhNs1j9aGHMq9zFrIYs4JPKys", "secret", false},
		{"sha", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret", true},
		{"sha wrong", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "Secret", false},
		{"argon2id", argon, "secret", true},
		{"argon2id wrong", argon, "secreT", false},
		{"clear", "secret", "secret", true},
		{"cleartext scheme", "{CLEARTEXT}secret", "secret", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyPassword([]byte(tc.stored), []byte(tc.pw))
			if err != nil || got != tc.want {
				t.Errorf("VerifyPassword = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := VerifyPassword([]byte("{MD5}x"), []byte("x")); err == nil {
		t.Error("unknown scheme gave no error")
	}
}

// TestCryptAgainstOpenSSL checks $1$, $5$ and $6$ against `openssl passwd`.
func TestCryptAgainstOpenSSL(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	for _, alg := range []string{"-1", "-5", "-6"} {
		for _, pw := range []string{"pw1", "a much longer password than sixty-four bytes, to cover the block loops 0123456789", "ü"} {
			out, err := exec.Command(openssl, "passwd", alg, "-salt", "abcdEFGH", pw).Output()
			if err != nil {
				t.Fatal(err)
			}
			h := strings.TrimSpace(string(out))
			if ok, err := VerifyPassword([]byte("{CRYPT}"+h), []byte(pw)); !ok || err != nil {
				t.Errorf("openssl passwd %s %q = %s: verify %v %v", alg, pw, h, ok, err)
			}
			if ok, _ := VerifyPassword([]byte("{CRYPT}"+h), []byte(pw+"x")); ok {
				t.Errorf("%s: wrong password accepted", alg)
			}
		}
	}
}

// TestVerifyArgon2StoredParameters: a bind verifies each argon2 hash with
// the parameters stored in it, not with today's defaults, so hashes made
// by older pkid versions or by slapd's argon2 module keep working.
func TestVerifyArgon2StoredParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding
	mk := func(m, tm uint32, p uint8) string {
		key := argon2.IDKey([]byte("secret"), salt, tm, m, p, 32)
		return fmt.Sprintf("{ARGON2}$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p, b64.EncodeToString(salt), b64.EncodeToString(key))
	}
	tests := []struct {
		name, stored string
	}{
		{"RFC 9106 shape (t=3, p=4) at 16 MiB", mk(16*1024, 3, 4)},
		{"OWASP 46 MiB, t=1", mk(46*1024, 1, 1)},
		{"small and fast (older defaults)", mk(4096, 3, 1)},
		{"current defaults", mk(argon2Memory, argon2Time, argon2Threads)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ok, err := VerifyPassword([]byte(tc.stored), []byte("secret")); !ok || err != nil {
				t.Errorf("right password: %v %v", ok, err)
			}
			if ok, _ := VerifyPassword([]byte(tc.stored), []byte("secrex")); ok {
				t.Error("wrong password accepted")
			}
		})
	}
	v16 := strings.Replace(mk(4096, 3, 1), "v=19", "v=16", 1)
	if ok, err := VerifyPassword([]byte(v16), []byte("secret")); ok || !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("argon2 version 16: %v %v, want ErrUnknownScheme", ok, err)
	}
}

// TestVerifyArgon2Slappasswd checks hashes made by OpenLDAP's argon2
// module (slappasswd -h {ARGON2}) with several parameter sets.
func TestVerifyArgon2Slappasswd(t *testing.T) {
	slappasswd := peer.Need(t, "slappasswd", "slapd")
	for _, params := range []string{"", "m=19456 t=2 p=1", "m=16384 t=3 p=4"} {
		out, err := exec.Command(slappasswd, "-o", strings.TrimSpace("module-load=argon2 "+params), "-h", "{ARGON2}", "-s", "pw1").Output()
		if err != nil {
			t.Fatalf("slappasswd %s: %v", params, err)
		}
		h := strings.TrimSpace(string(out))
		if ok, err := VerifyPassword([]byte(h), []byte("pw1")); !ok || err != nil {
			t.Errorf("slappasswd (%s) %s: verify %v %v", params, h, ok, err)
		}
		if ok, _ := VerifyPassword([]byte(h), []byte("pw2")); ok {
			t.Errorf("slappasswd (%s): wrong password accepted", params)
		}
	}
}

// BenchmarkHashPassword is the CPU cost of one argon2id hash with pkid's
// parameters: what each simple bind against such a hash costs, and what
// each clear-text password costs an LDIF import.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword([]byte("pw1"), rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
