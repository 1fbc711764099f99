package ca

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
)

// PBKDF2Iterations is the PBKDF2-HMAC-SHA256 iteration count for newly
// encrypted keys: OWASP's 2023 figure for SHA-256, which costs a few tenths
// of a second once per process that unlocks the CA.
const PBKDF2Iterations = 600_000

// maxPBKDF2Iterations bounds the work a key file from elsewhere can demand.
const maxPBKDF2Iterations = 10_000_000

// ErrWrongPassphrase is returned (wrapped) when an encrypted key does not
// decrypt with the passphrase given.
var ErrWrongPassphrase = errors.New("wrong passphrase")

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// encryptedPrivateKeyInfo is RFC 5958 §3.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is RFC 8018 Appendix A.4.
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018 Appendix A.2 (salt as specified OCTET STRING).
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// MarshalPrivateKey returns key as PEM: "PRIVATE KEY" (PKCS#8) when
// passphrase is empty, else "ENCRYPTED PRIVATE KEY" with PBES2
// (PBKDF2-HMAC-SHA256, PBKDF2Iterations, AES-256-CBC), the form
// `openssl pkey -passin` reads.
func MarshalPrivateKey(key crypto.Signer, passphrase []byte, rand io.Reader) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	if len(passphrase) == 0 {
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return encryptPKCS8(der, passphrase, PBKDF2Iterations, rand)
}

func encryptPKCS8(der, passphrase []byte, iter int, rand io.Reader) ([]byte, error) {
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	k, err := pbkdf2.Key(sha256.New, string(passphrase), salt, iter, 32)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	block, _ := aes.NewCipher(k)
	pad := aes.BlockSize - len(der)%aes.BlockSize
	plain := append(bytes.Clone(der), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)

	kdf, err := asn1.Marshal(pbkdf2Params{Salt: salt, IterationCount: iter, KeyLength: 32,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return nil, err
	}
	ivDER, _ := asn1.Marshal(iv)
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: ct,
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out}), nil
}

// IsEncryptedKey reports whether a PEM key needs a passphrase.
func IsEncryptedKey(pemBytes []byte) bool {
	b, _ := pem.Decode(pemBytes)
	return b != nil && b.Type == "ENCRYPTED PRIVATE KEY"
}

// ParsePrivateKey reads a PEM private key: PKCS#8 "PRIVATE KEY", the
// legacy "EC PRIVATE KEY" and "RSA PRIVATE KEY", or PBES2-encrypted
// "ENCRYPTED PRIVATE KEY" (PBKDF2 with HMAC-SHA1/256/384/512, AES-CBC),
// which needs passphrase. A passphrase that does not decrypt the key
// returns an error wrapping ErrWrongPassphrase.
func ParsePrivateKey(pemBytes, passphrase []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return nil, errors.New("no PEM private key found")
	}
	var der []byte
	switch b.Type {
	case "PRIVATE KEY":
		der = b.Bytes
	case "EC PRIVATE KEY":
		return asSigner(x509.ParseECPrivateKey(b.Bytes))
	case "RSA PRIVATE KEY":
		return asSigner(x509.ParsePKCS1PrivateKey(b.Bytes))
	case "ENCRYPTED PRIVATE KEY":
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("the key is encrypted and no passphrase was given: %w", ErrWrongPassphrase)
		}
		var err error
		der, err = decryptPKCS8(b.Bytes, passphrase)
		if err != nil {
			return nil, err
		}
		key, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			// Padding happens to look right one time in 256 with a wrong
			// passphrase; the plaintext then is not a key.
			return nil, ErrWrongPassphrase
		}
		return asSigner(key, nil)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	return asSigner(key, err)
}

func asSigner[K any](key K, err error) (crypto.Signer, error) {
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	s, ok := any(key).(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", key)
	}
	return s, nil
}

func decryptPKCS8(der, passphrase []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("malformed encrypted private key")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted private key uses %v; only PBES2 is supported (openssl pkcs8 -topk8 -v2 aes-256-cbc writes it)", info.Algorithm.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("key derivation %v not supported; only PBKDF2", p.KeyDerivationFunc.Algorithm)
	}
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil {
		return nil, errors.New("malformed PBKDF2 parameters")
	}
	if kp.IterationCount < 1 || kp.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kp.IterationCount)
	}
	var h func() hash.Hash
	switch prf := kp.PRF.Algorithm; {
	case len(prf) == 0, prf.Equal(oidHMACSHA1):
		h = sha1.New
	case prf.Equal(oidHMACSHA256):
		h = sha256.New
	case prf.Equal(oidHMACSHA384):
		h = sha512.New384
	case prf.Equal(oidHMACSHA512):
		h = sha512.New
	default:
		return nil, fmt.Errorf("PBKDF2 PRF %v not supported", prf)
	}
	var keyLen int
	switch enc := p.EncryptionScheme.Algorithm; {
	case enc.Equal(oidAES128CBC):
		keyLen = 16
	case enc.Equal(oidAES192CBC):
		keyLen = 24
	case enc.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("cipher %v not supported; only AES-CBC", enc)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("malformed AES-CBC IV")
	}
	ct := info.EncryptedData
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("encrypted private key is not a whole number of AES blocks")
	}
	k, err := pbkdf2.Key(h, string(passphrase), kp.Salt, kp.IterationCount, keyLen)
	if err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(k)
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, ErrWrongPassphrase
	}
	for _, c := range plain[len(plain)-pad:] {
		if int(c) != pad {
			return nil, ErrWrongPassphrase
		}
	}
	return plain[:len(plain)-pad], nil
}
