package ca

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// maxCSRSize bounds a CSR read from outside.
const maxCSRSize = 64 << 10

// ParseCSR reads a PKCS#10 certificate request, PEM ("CERTIFICATE
// REQUEST" or "NEW CERTIFICATE REQUEST") or DER, checks its self-signature
// (the requester holds the key) and refuses weak keys (see KeyTypeOf).
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > maxCSRSize {
		return nil, fmt.Errorf("CSR larger than %d bytes", maxCSRSize)
	}
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("PEM block %q is not a CERTIFICATE REQUEST", b.Type)
		}
		data = b.Bytes
	} else if len(data) == 0 || data[0] != 0x30 {
		return nil, errors.New("not a CSR: expected PEM \"-----BEGIN CERTIFICATE REQUEST-----\" or DER")
	}
	csr, err := x509.ParseCertificateRequest(data)
	if err != nil {
		return nil, fmt.Errorf("malformed CSR: %w", err)
	}
	if _, err := KeyTypeOf(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature does not verify with its own key (edited after signing, or made with another key): %w", err)
	}
	return csr, nil
}
