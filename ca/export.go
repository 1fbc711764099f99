package ca

// Export of certificates in the forms other tools import: PEM, DER, a PEM
// chain and PKCS#12 (RFC 7292).

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/pkid/pkid/store"
	"software.sslmate.com/src/go-pkcs12"
)

// ExportFormat names what Export writes.
type ExportFormat string

// Export formats.
const (
	ExportPEM   ExportFormat = "pem"   // the certificate, PEM
	ExportDER   ExportFormat = "der"   // the certificate, DER
	ExportChain ExportFormat = "chain" // the certificate and its issuers up to the root, PEM
	ExportP12   ExportFormat = "p12"   // PKCS#12: the chain, plus the private key when one is given
)

// ParseExportFormat accepts pem, der, chain or p12 (also pkcs12, pfx).
func ParseExportFormat(s string) (ExportFormat, error) {
	switch strings.ToLower(s) {
	case "pem":
		return ExportPEM, nil
	case "der":
		return ExportDER, nil
	case "chain":
		return ExportChain, nil
	case "p12", "pkcs12", "pfx":
		return ExportP12, nil
	}
	return "", fmt.Errorf("unknown export format %q; use pem, der, chain or p12", s)
}

// ExportRequest says what Export writes.
type ExportRequest struct {
	// Serial selects a certificate (hex, as `openssl x509 -serial` prints
	// it); "" exports a CA's own certificate instead.
	Serial string
	// CAID names the CA to export when Serial is ""; "" is the default CA.
	CAID   string
	Format ExportFormat
	// Key is the certificate's private key, for p12 only. pkid keeps no
	// end-entity keys, so without one a p12 holds only certificates; CA
	// keys are never exported.
	Key crypto.Signer
	// Password protects a p12 (required for p12). ExportPassword makes a
	// fresh one.
	Password string
}

// ExportPassword returns a fresh random p12 password (26 characters of
// base32, 130 bits).
func ExportPassword() string { return rand.Text() }

// Export writes a stored certificate, or a CA's certificate, in the
// requested format. A chain runs from the certificate to the root, the
// order TLS peers and `openssl verify -untrusted` expect. A p12 is
// encrypted with the modern algorithms (PBES2, AES-256-CBC, SHA-256 MAC)
// that OpenSSL 3 reads without the legacy provider.
func (s *Service) Export(ctx context.Context, req ExportRequest) ([]byte, error) {
	var leaf *x509.Certificate
	caID := req.CAID
	if req.Serial != "" {
		serial, err := ParseSerial(req.Serial)
		if err != nil {
			return nil, err
		}
		c, err := s.st.Certificate(ctx, serial)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no certificate with serial %s in %s; `pkid list` shows the serials", serial, s.opts.Where)
		}
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", serial, err)
		}
		if len(c.DER) == 0 {
			return nil, fmt.Errorf("export %s: pkid holds only the index entry of this imported certificate, not the certificate itself (import with --certs newcerts/ to keep it)", serial)
		}
		if leaf, err = x509.ParseCertificate(c.DER); err != nil {
			return nil, fmt.Errorf("export %s: stored certificate: %w", serial, err)
		}
		caID = c.CAID
	} else if caID == "" {
		id, err := s.DefaultCA(ctx)
		if err != nil {
			return nil, err
		}
		caID = id
	}
	chain, err := exportCAChain(ctx, s.st, caID)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if leaf != nil {
		chain = append([]*x509.Certificate{leaf}, chain...)
	}
	if req.Format != ExportP12 && req.Key != nil {
		return nil, errors.New("export: a private key goes only into a p12 (--format p12)")
	}
	switch req.Format {
	case ExportPEM:
		return exportPEM(chain[:1]), nil
	case ExportDER:
		return chain[0].Raw, nil
	case ExportChain:
		return exportPEM(chain), nil
	case ExportP12:
		if req.Password == "" {
			return nil, errors.New("export: a p12 needs a password")
		}
		if req.Key == nil {
			b, err := pkcs12.Modern.EncodeTrustStore(chain, req.Password)
			if err != nil {
				return nil, fmt.Errorf("export p12: %w", err)
			}
			return b, nil
		}
		if leaf == nil {
			return nil, errors.New("export: CA keys are never exported; drop --key")
		}
		if k, ok := req.Key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(leaf.PublicKey) {
			return nil, fmt.Errorf("export: the key does not belong to certificate %s", FormatSerial(leaf.SerialNumber))
		}
		b, err := pkcs12.Modern.Encode(req.Key, leaf, chain[1:], req.Password)
		if err != nil {
			return nil, fmt.Errorf("export p12: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("export: unknown format %q; use pem, der, chain or p12", req.Format)
}

// exportCAChain returns the CA's certificate and its issuers' up to the
// root, from the store's certificates only (no key is needed).
func exportCAChain(ctx context.Context, st store.Store, caID string) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for id, depth := caID, 0; id != ""; depth++ {
		if depth > 8 {
			return nil, fmt.Errorf("CA %q: issuer chain longer than 8 CAs (a loop in ParentID?)", caID)
		}
		rec, err := st.CA(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("CA %q: %w", id, err)
		}
		c, err := x509.ParseCertificate(rec.CertDER)
		if err != nil {
			return nil, fmt.Errorf("CA %q: stored certificate: %w", id, err)
		}
		chain = append(chain, c)
		id = rec.ParentID
	}
	return chain, nil
}

func exportPEM(certs []*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}
