// Package testkey makes throw-away private keys for tests, by the short
// kind names the tests of several packages use. It depends on nothing in
// pkid, so internal tests of any package (ca included) may import it.
package testkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// New returns a fresh key of the kind: "p224", "p256" (also ""), "p384",
// "p521", "rsa" or "rsa2048", "rsa1024" (weak on purpose, for tests that
// expect it refused) or "ed25519". An unknown kind fails the test.
func New(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch kind {
	case "p256", "":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p224":
		k, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "rsa", "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("testkey: unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}
