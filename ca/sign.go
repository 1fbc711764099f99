package ca

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"time"
)

var (
	oidOCSPNoCheck            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	oidAuthorityKeyIdentifier = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// certSpec is everything that varies between the certificates pkid signs.
type certSpec struct {
	subject    []byte // DER Name
	pub        crypto.PublicKey
	notBefore  time.Time
	notAfter   time.Time
	now        time.Time // issuance time, for lint
	isCA       bool
	maxPathLen int // for CAs; -1 = unlimited
	keyUsage   x509.KeyUsage
	extKeyUse  []x509.ExtKeyUsage
	sans       *SANs
	ocspNoChk  bool
	// URLs of the issuer, for AIA and CRL distribution points.
	url, ldapURL string
	issuerID     string
	issuerDN     string // RFC 4514, for the LDAP distribution point
}

// keyID is the RFC 7093 §2 method 1 key identifier: the leftmost 160 bits
// of the SHA-256 hash of the subjectPublicKey BIT STRING value.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// sign makes the certificate. issuer == nil means self-signed with
// signer's own key.
func sign(spec *certSpec, serial *big.Int, issuer *x509.Certificate, signer crypto.Signer, rand io.Reader) ([]byte, error) {
	der, err := signFastOrStd(spec, serial, issuer, signer, rand)
	if err != nil {
		return nil, err
	}
	if lintCertificate != nil {
		if err := lintCertificate(der, issuer, spec.now); err != nil {
			return nil, fmt.Errorf("the certificate was not stored because lint found errors: %w", err)
		}
	}
	return der, nil
}

// signFastOrStd signs with the hand encoder of tbs.go when it handles the
// issuer, signer and spec, else with x509.CreateCertificate.
func signFastOrStd(spec *certSpec, serial *big.Int, issuer *x509.Certificate, signer crypto.Signer, rand io.Reader) ([]byte, error) {
	if issuer != nil {
		if p := partsFor(spec, issuer, signer); p != nil {
			spki, ski, err := spkiAndKeyID(spec.pub)
			if err != nil {
				return nil, err
			}
			der, err := signFast(p, spec, serial, spki, ski, signer, rand)
			if err != errSlowPath {
				return der, err
			}
		}
	}
	return signStd(spec, serial, issuer, signer, rand)
}

// signStd makes the certificate with x509.CreateCertificate.
func signStd(spec *certSpec, serial *big.Int, issuer *x509.Certificate, signer crypto.Signer, rand io.Reader) ([]byte, error) {
	ski, err := keyID(spec.pub)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            spec.subject,
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		KeyUsage:              spec.keyUsage,
		ExtKeyUsage:           spec.extKeyUse,
		BasicConstraintsValid: true,
		IsCA:                  spec.isCA,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    signatureAlgorithm(signer.Public()),
	}
	if spec.isCA {
		switch {
		case spec.maxPathLen == 0:
			t.MaxPathLenZero = true
		case spec.maxPathLen > 0:
			t.MaxPathLen = spec.maxPathLen
		default:
			t.MaxPathLen = -1
		}
	}
	if spec.sans != nil {
		t.DNSNames, t.IPAddresses, t.EmailAddresses, t.URIs = spec.sans.DNS, spec.sans.IP, spec.sans.Email, spec.sans.URI
	}
	if spec.ocspNoChk {
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidOCSPNoCheck, Value: asn1.NullBytes})
	}
	parent := issuer
	if issuer == nil {
		// Go omits the AKI of self-signed certificates; pkid writes it
		// (keyIdentifier = SKI) as OpenSSL does, for stacks that match
		// issuers by key identifier.
		parent = t
		aki, _ := asn1.Marshal(struct {
			KeyID []byte `asn1:"optional,tag:0"`
		}{ski})
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidAuthorityKeyIdentifier, Value: aki})
	} else {
		t.AuthorityKeyId = issuer.SubjectKeyId
		if spec.url != "" {
			t.IssuingCertificateURL = []string{CAIssuersURL(spec.url, spec.issuerID)}
			t.OCSPServer = []string{OCSPURL(spec.url)}
			t.CRLDistributionPoints = append(t.CRLDistributionPoints, CRLURL(spec.url, spec.issuerID))
		}
		if spec.ldapURL != "" {
			t.CRLDistributionPoints = append(t.CRLDistributionPoints, LDAPCRLURL(spec.ldapURL, spec.issuerDN))
		}
	}
	der, err := x509.CreateCertificate(rand, t, parent, spec.pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return der, nil
}
