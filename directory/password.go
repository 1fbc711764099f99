package directory

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new password hashes, chosen deliberately:
// OWASP's Password Storage Cheat Sheet recommendation m=19 MiB (19456
// KiB), t=2, p=1. RFC 9106 §4 recommends t=1, m=2 GiB, p=4 and, where
// memory is constrained, t=3, m=64 MiB, p=4: the first is out of reach
// for a server verifying concurrent binds, and the second makes each bind
// cost about ten times as much CPU (three passes over 64 MiB) and 64 MiB of
// memory per concurrent bind, so a two-core server would verify some 20
// binds a second. OWASP's option costs one core about 20-30 ms and 19 MiB
// per bind (BenchmarkHashPassword), keeps an attacker to memory-hard
// guesses, and is one of OWASP's equivalent trade-offs (19 MiB/t=2 over
// 46 MiB/t=1: less memory per concurrent bind). Stored hashes carry their
// parameters, and a bind verifies each hash with its own (argon2id or
// argon2i, any m, t, p within sane bounds), so changing these constants
// never locks anyone out.
const (
	argon2Memory  = 19 * 1024 // KiB
	argon2Time    = 2
	argon2Threads = 1
	argon2KeyLen  = 32
	argon2SaltLen = 16
)

// HashPassword returns the userPassword value pkid stores for a new
// password: {ARGON2}$argon2id$v=19$m=...,t=...,p=...$salt$hash, the form
// OpenLDAP's argon2 module writes (unpadded base64).
func HashPassword(password []byte, rand io.Reader) (string, error) {
	salt := make([]byte, argon2SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey(password, salt, argon2Time, argon2Memory, argon2Threads, argon2KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2}$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argon2Memory, argon2Time, argon2Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrUnknownScheme: a stored password uses a scheme pkid cannot verify.
var ErrUnknownScheme = errors.New("unknown password scheme")

// VerifyPassword checks password against one stored userPassword value:
// {ARGON2} (argon2id and argon2i), {SSHA}, {SHA}, {SSHA256}, {SHA256},
// {SSHA512}, {SHA512}, {CRYPT} with glibc's $1$ (MD5), $5$ (SHA-256) and
// $6$ (SHA-512) methods, {CLEARTEXT}, and a value without a scheme compared
// as clear text (as slapd does).
func VerifyPassword(stored, password []byte) (bool, error) {
	s := string(stored)
	if !strings.HasPrefix(s, "{") {
		return subtle.ConstantTimeCompare(stored, password) == 1, nil
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return subtle.ConstantTimeCompare(stored, password) == 1, nil
	}
	scheme, rest := strings.ToUpper(s[1:end]), s[end+1:]
	switch scheme {
	case "CLEARTEXT":
		return subtle.ConstantTimeCompare([]byte(rest), password) == 1, nil
	case "SHA", "SSHA":
		return verifySalted(sha1.New, sha1.Size, rest, password)
	case "SHA256", "SSHA256":
		return verifySalted(sha256.New, sha256.Size, rest, password)
	case "SHA512", "SSHA512":
		return verifySalted(sha512.New, sha512.Size, rest, password)
	case "CRYPT":
		return verifyCrypt(rest, password)
	case "ARGON2":
		return verifyArgon2(rest, password)
	}
	return false, fmt.Errorf("%w {%s}", ErrUnknownScheme, scheme)
}

// verifySalted: base64(H(password || salt) || salt); no salt for {SHA}.
func verifySalted(h func() hash.Hash, size int, b64 string, password []byte) (bool, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(raw) < size {
		return false, errors.New("malformed salted hash")
	}
	d := h()
	d.Write(password)
	d.Write(raw[size:])
	return subtle.ConstantTimeCompare(d.Sum(nil), raw[:size]) == 1, nil
}

func verifyArgon2(s string, password []byte) (bool, error) {
	// $argon2id$v=19$m=65536,t=2,p=1$salt$hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return false, errors.New("malformed argon2 hash")
	}
	variant := parts[1]
	var v, m, t, p int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil {
		return false, errors.New("malformed argon2 version")
	}
	if v != argon2.Version {
		// Version 16 (0x10) hashes differently; x/crypto has only 19.
		return false, fmt.Errorf("%w: argon2 version %d (pkid verifies version %d)", ErrUnknownScheme, v, argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m <= 0 || t <= 0 || p <= 0 || p > 255 || m > 4<<20 || t > 64 {
		return false, errors.New("malformed or excessive argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 1024 {
		return false, errors.New("malformed argon2 salt or hash")
	}
	var got []byte
	switch variant {
	case "argon2id":
		got = argon2.IDKey(password, salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	case "argon2i":
		got = argon2.Key(password, salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	default:
		return false, fmt.Errorf("%w: argon2 variant %q", ErrUnknownScheme, variant)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func verifyCrypt(s string, password []byte) (bool, error) {
	var got string
	var err error
	switch {
	case strings.HasPrefix(s, "$1$"):
		got, err = md5Crypt(password, s)
	case strings.HasPrefix(s, "$5$"):
		got, err = shaCrypt(password, s, sha256.New, "$5$")
	case strings.HasPrefix(s, "$6$"):
		got, err = shaCrypt(password, s, sha512.New, "$6$")
	default:
		return false, fmt.Errorf("%w: {CRYPT} method of %q (pkid verifies $1$, $5$ and $6$)", ErrUnknownScheme, shorten(s))
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s)) == 1, nil
}

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// b64From24 encodes three bytes as four crypt-base64 characters, least
// significant first.
func b64From24(dst *bytes.Buffer, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		dst.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// md5Crypt is Poul-Henning Kamp's MD5-based crypt ($1$), as glibc has it.
func md5Crypt(pw []byte, setting string) (string, error) {
	rest := strings.TrimPrefix(setting, "$1$")
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 8 {
		salt = salt[:8]
	}
	a := md5.New()
	a.Write(pw)
	a.Write([]byte("$1$"))
	a.Write([]byte(salt))
	b := md5.New()
	b.Write(pw)
	b.Write([]byte(salt))
	b.Write(pw)
	fin := b.Sum(nil)
	for l := len(pw); l > 0; l -= 16 {
		a.Write(fin[:min(l, 16)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write([]byte{0})
		} else {
			a.Write(pw[:1])
		}
	}
	fin = a.Sum(nil)
	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 != 0 {
			c.Write(pw)
		} else {
			c.Write(fin)
		}
		if i%3 != 0 {
			c.Write([]byte(salt))
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 != 0 {
			c.Write(fin)
		} else {
			c.Write(pw)
		}
		fin = c.Sum(nil)
	}
	var out bytes.Buffer
	out.WriteString("$1$" + salt + "$")
	b64From24(&out, fin[0], fin[6], fin[12], 4)
	b64From24(&out, fin[1], fin[7], fin[13], 4)
	b64From24(&out, fin[2], fin[8], fin[14], 4)
	b64From24(&out, fin[3], fin[9], fin[15], 4)
	b64From24(&out, fin[4], fin[10], fin[5], 4)
	b64From24(&out, 0, 0, fin[11], 2)
	return out.String(), nil
}

// shaCrypt is Ulrich Drepper's SHA-256/SHA-512 crypt ($5$, $6$), with the
// optional rounds=N parameter (default 5000, clamped to 1000..999999999).
func shaCrypt(pw []byte, setting string, h func() hash.Hash, prefix string) (string, error) {
	rest := strings.TrimPrefix(setting, prefix)
	rounds, custom := 5000, false
	if strings.HasPrefix(rest, "rounds=") {
		num, after, ok := strings.Cut(rest[len("rounds="):], "$")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			return "", errors.New("malformed rounds in crypt hash")
		}
		rounds, custom, rest = max(1000, min(n, 999999999)), true, after
		if rounds > 10_000_000 {
			return "", errors.New("crypt rounds too high to verify")
		}
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 16 {
		salt = salt[:16]
	}
	sb := []byte(salt)
	b := h()
	b.Write(pw)
	b.Write(sb)
	b.Write(pw)
	bsum := b.Sum(nil)
	size := len(bsum)
	a := h()
	a.Write(pw)
	a.Write(sb)
	for l := len(pw); l > 0; l -= size {
		a.Write(bsum[:min(l, size)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bsum)
		} else {
			a.Write(pw)
		}
	}
	asum := a.Sum(nil)
	dp := h()
	for range pw {
		dp.Write(pw)
	}
	dps := dp.Sum(nil)
	p := make([]byte, 0, len(pw))
	for l := len(pw); l > 0; l -= size {
		p = append(p, dps[:min(l, size)]...)
	}
	ds := h()
	for i := 0; i < 16+int(asum[0]); i++ {
		ds.Write(sb)
	}
	dss := ds.Sum(nil)
	s := make([]byte, 0, len(sb))
	for l := len(sb); l > 0; l -= size {
		s = append(s, dss[:min(l, size)]...)
	}
	c := asum
	for i := 0; i < rounds; i++ {
		x := h()
		if i&1 != 0 {
			x.Write(p)
		} else {
			x.Write(c)
		}
		if i%3 != 0 {
			x.Write(s)
		}
		if i%7 != 0 {
			x.Write(p)
		}
		if i&1 != 0 {
			x.Write(c)
		} else {
			x.Write(p)
		}
		c = x.Sum(nil)
	}
	var out bytes.Buffer
	out.WriteString(prefix)
	if custom {
		fmt.Fprintf(&out, "rounds=%d$", rounds)
	}
	out.WriteString(salt + "$")
	if size == 32 {
		order := [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
		for _, o := range order {
			b64From24(&out, c[o[0]], c[o[1]], c[o[2]], 4)
		}
		b64From24(&out, 0, c[31], c[30], 3)
	} else {
		// glibc rotates each triple (i, i+21, i+42) by i mod 3.
		for i := 0; i < 21; i++ {
			t := [3]byte{c[i], c[i+21], c[i+42]}
			r := i % 3
			b64From24(&out, t[r], t[(r+1)%3], t[(r+2)%3], 4)
		}
		b64From24(&out, 0, 0, c[63], 2)
	}
	return out.String(), nil
}
