package ca

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// serialBytes is the length of new serial numbers: 16 random bytes with
// the top bit cleared (positive, RFC 5280 §4.1.2.2) and a non-zero first
// byte, so every serial has 127 bits of entropy, encodes in 16 DER octets
// and prints as exactly 32 hex digits.
const serialBytes = 16

// NewSerial returns a fresh random serial number.
func NewSerial(rand io.Reader) (*big.Int, error) {
	b := make([]byte, serialBytes)
	for {
		if _, err := io.ReadFull(rand, b); err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		b[0] &= 0x7f
		if b[0] != 0 {
			return new(big.Int).SetBytes(b), nil
		}
	}
}

// FormatSerial writes a serial the way `openssl x509 -serial` prints it and
// the store keys it: upper-case hex of the magnitude's bytes, two digits
// per byte, without separators ("00" for zero).
func FormatSerial(n *big.Int) string {
	b := n.Bytes()
	if len(b) == 0 {
		return "00"
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// ParseSerial accepts a serial as people copy it: hex digits in any case,
// with or without leading zeros, optionally prefixed "serial=" (openssl
// x509 -serial) or "0x", optionally with ':' between bytes (openssl x509
// -text). It returns the FormatSerial form.
func ParseSerial(s string) (string, error) {
	orig := s
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "serial=") {
		s = s[7:]
	}
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	s = strings.ReplaceAll(s, ":", "")
	if s == "" || len(s) > 2*20+2 {
		return "", fmt.Errorf("%q is not a serial number: expected up to 40 hex digits, as `openssl x509 -serial` prints", orig)
	}
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || strings.ContainsAny(s, "+-") {
		return "", fmt.Errorf("%q is not a serial number: expected hex digits 0-9 A-F, as `openssl x509 -serial` prints", orig)
	}
	return FormatSerial(n), nil
}

// ParseCertificate reads one certificate, PEM or DER. With several PEM
// certificates it returns the first.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a CERTIFICATE", b.Type)
		}
		data = b.Bytes
	} else if strings.Contains(string(data[:min(len(data), 64)]), "-----BEGIN") {
		return nil, errors.New("malformed PEM")
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return c, nil
}
