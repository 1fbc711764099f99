package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
)

// KeyType names a key algorithm and size, as the command line spells it.
type KeyType string

// The key types pkid generates.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyECDSAP521 KeyType = "ecdsa-p521"
	KeyRSA2048   KeyType = "rsa2048"
	KeyRSA3072   KeyType = "rsa3072"
	KeyRSA4096   KeyType = "rsa4096"
	KeyEd25519   KeyType = "ed25519"

	// DefaultKeyType is what pkid uses when no key type is given.
	DefaultKeyType = KeyECDSAP256
)

// KeyTypes lists every key type in the order help texts show them.
var KeyTypes = []KeyType{KeyECDSAP256, KeyECDSAP384, KeyECDSAP521, KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyEd25519}

// ParseKeyType accepts a key type name (any case); "" means DefaultKeyType.
func ParseKeyType(s string) (KeyType, error) {
	if s == "" {
		return DefaultKeyType, nil
	}
	for _, k := range KeyTypes {
		if strings.EqualFold(string(k), s) {
			return k, nil
		}
	}
	names := make([]string, len(KeyTypes))
	for i, k := range KeyTypes {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown key type %q; use one of %s", s, strings.Join(names, ", "))
}

// GenerateKey makes a new private key of type kt. Note that crypto/ecdsa
// and crypto/rsa ignore rand outside tests and use the system generator.
func GenerateKey(kt KeyType, rand io.Reader) (crypto.Signer, error) {
	switch kt {
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand)
	case KeyECDSAP521:
		return ecdsa.GenerateKey(elliptic.P521(), rand)
	case KeyRSA2048:
		return rsa.GenerateKey(rand, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand, 4096)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand)
		return k, err
	}
	_, err := ParseKeyType(string(kt))
	return nil, err
}

// KeyTypeOf names the type of a public key, or returns an error for keys
// pkid refuses to certify: RSA below 2048 bits, curves other than P-256,
// P-384 and P-521, and algorithms other than RSA, ECDSA and Ed25519.
func KeyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return KeyECDSAP256, nil
		case elliptic.P384():
			return KeyECDSAP384, nil
		case elliptic.P521():
			return KeyECDSAP521, nil
		}
		return "", fmt.Errorf("ECDSA key on curve %s refused: use P-256, P-384 or P-521", k.Curve.Params().Name)
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < 2048:
			return "", fmt.Errorf("RSA key of %d bits refused: at least 2048 bits are required", bits)
		case bits > 8192:
			return "", fmt.Errorf("RSA key of %d bits refused: at most 8192 bits are accepted", bits)
		case bits <= 2048:
			return KeyRSA2048, nil
		case bits <= 3072:
			return KeyRSA3072, nil
		}
		return KeyRSA4096, nil
	case ed25519.PublicKey:
		return KeyEd25519, nil
	}
	return "", fmt.Errorf("public key of type %T refused: use RSA (≥ 2048 bits), ECDSA P-256/P-384/P-521 or Ed25519", pub)
}

// signatureAlgorithm picks the signature a CA key makes: ECDSA with the
// hash matching the curve (RFC 5480 §4), RSA PKCS#1 v1.5 with SHA-256
// (accepted by every stack pkid targets, including z/OS), or Ed25519.
func signatureAlgorithm(pub crypto.PublicKey) x509.SignatureAlgorithm {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P384():
			return x509.ECDSAWithSHA384
		case elliptic.P521():
			return x509.ECDSAWithSHA512
		}
		return x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	case ed25519.PublicKey:
		return x509.PureEd25519
	}
	return x509.UnknownSignatureAlgorithm
}
