package directory

import (
	"crypto/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
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
