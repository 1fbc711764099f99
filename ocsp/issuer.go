package ocsp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Issuer is one issuing CA the responder answers for, with the key that
// signs its responses.
type Issuer struct {
	// ID names the CA for the caller (pkid uses the store's CA ID); it is
	// passed back in Lookup and names the CA in Invalidate and Refresh.
	ID string
	// Cert is the issuing CA's certificate.
	Cert *x509.Certificate
	// ResponderCert is the delegated responder certificate (RFC 6960
	// §4.2.2.2): issued by Cert, with the OCSPSigning extended key usage.
	// It is sent in every response. Nil means Cert's own key signs.
	ResponderCert *x509.Certificate
	// Signer is the private key of ResponderCert (or of Cert when
	// ResponderCert is nil): ECDSA P-256/P-384/P-521, RSA or Ed25519.
	Signer crypto.Signer
}

// issuerKey indexes served CAs by a CertID's (hash algorithm,
// issuerNameHash, issuerKeyHash) without allocating.
type issuerKey struct {
	hash            crypto.Hash
	nameLen, keyLen uint8
	name, key       [maxHashLen]byte
}

func makeIssuerKey(h crypto.Hash, name, key []byte) (issuerKey, bool) {
	var k issuerKey
	if h == 0 || len(name) > maxHashLen || len(key) > maxHashLen {
		return k, false
	}
	k.hash, k.nameLen, k.keyLen = h, uint8(len(name)), uint8(len(key))
	copy(k.name[:], name)
	copy(k.key[:], key)
	return k, true
}

// issuer is an Issuer prepared for signing.
type issuer struct {
	*Issuer
	keyHashes  map[crypto.Hash]issuerKey // this CA's CertID key per hash
	responder  *x509.Certificate         // the certificate whose key signs
	responseID []byte                    // SHA-1 of the responder's public key (byKey)
	sigAlg     []byte                    // DER AlgorithmIdentifier of the signature
	sigHash    crypto.Hash               // digest to sign; 0 for Ed25519
	certs      [][]byte                  // certs field: the delegated certificate, if any
}

var (
	oidECDSASHA256 = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}       // 1.2.840.10045.4.3.2
	oidECDSASHA384 = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}       // 1.2.840.10045.4.3.3
	oidECDSASHA512 = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}       // 1.2.840.10045.4.3.4
	oidRSASHA256   = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b} // 1.2.840.113549.1.1.11
	oidEd25519     = []byte{0x2b, 0x65, 0x70}                                     // 1.3.101.112
	errNoSigner    = errors.New("no Signer: give the responder's private key")
	errNoCert      = errors.New("no Cert: give the issuing CA's certificate")
	errKeyMismatch = errors.New("the Signer's public key is not the key of the signing certificate")
)

// prepare checks iss and computes what signing and matching need.
func prepare(iss *Issuer, now time.Time) (*issuer, error) {
	if iss == nil || iss.Cert == nil {
		return nil, errNoCert
	}
	if iss.Signer == nil {
		return nil, fmt.Errorf("issuer %q: %w", iss.ID, errNoSigner)
	}
	p := &issuer{Issuer: iss, responder: iss.Cert, keyHashes: make(map[crypto.Hash]issuerKey)}
	if iss.ResponderCert != nil {
		rc := iss.ResponderCert
		p.responder = rc
		if err := rc.CheckSignatureFrom(iss.Cert); err != nil {
			return nil, fmt.Errorf("issuer %q: responder certificate %q is not issued by %q: %w", iss.ID, rc.Subject, iss.Cert.Subject, err)
		}
		ok := false
		for _, u := range rc.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageOCSPSigning
		}
		if !ok {
			return nil, fmt.Errorf("issuer %q: responder certificate %q lacks the OCSPSigning extended key usage; issue it with the ocsp-signing profile", iss.ID, rc.Subject)
		}
		if now.After(rc.NotAfter) {
			return nil, fmt.Errorf("issuer %q: responder certificate %q expired at %s; issue a new one", iss.ID, rc.Subject, rc.NotAfter.UTC().Format(time.RFC3339))
		}
		p.certs = [][]byte{rc.Raw}
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := iss.Signer.Public().(equaler); !ok || !pub.Equal(p.responder.PublicKey) {
		return nil, fmt.Errorf("issuer %q: %w", iss.ID, errKeyMismatch)
	}
	var err error
	if p.sigAlg, p.sigHash, err = signatureAlgorithm(iss.Signer.Public()); err != nil {
		return nil, fmt.Errorf("issuer %q: %w", iss.ID, err)
	}
	rbits, err := publicKeyBits(p.responder)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", iss.ID, err)
	}
	sum := sha1.Sum(rbits)
	p.responseID = sum[:]
	cbits, err := publicKeyBits(iss.Cert)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", iss.ID, err)
	}
	for _, h := range hashes {
		hn, hk := h.hash.New(), h.hash.New()
		hn.Write(iss.Cert.RawSubject)
		hk.Write(cbits)
		k, _ := makeIssuerKey(h.hash, hn.Sum(nil), hk.Sum(nil))
		p.keyHashes[h.hash] = k
	}
	return p, nil
}

// publicKeyBits returns the subjectPublicKey BIT STRING's bits, which
// issuerKeyHash and the byKey ResponderID hash (RFC 6960 §4.1.1, §4.2.1).
func publicKeyBits(c *x509.Certificate) ([]byte, error) {
	spki := cryptobyte.String(c.RawSubjectPublicKeyInfo)
	var seq cryptobyte.String
	var bits asn1.BitString
	if !spki.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&bits) {
		return nil, fmt.Errorf("certificate %q: malformed subjectPublicKeyInfo", c.Subject)
	}
	return bits.Bytes, nil
}

// signatureAlgorithm picks the signature for a responder key: ECDSA with
// the hash matching the curve, RSA PKCS#1 v1.5 with SHA-256, or Ed25519.
func signatureAlgorithm(pub crypto.PublicKey) (algID []byte, h crypto.Hash, err error) {
	var oid []byte
	params := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			oid, h = oidECDSASHA256, crypto.SHA256
		case elliptic.P384():
			oid, h = oidECDSASHA384, crypto.SHA384
		case elliptic.P521():
			oid, h = oidECDSASHA512, crypto.SHA512
		default:
			return nil, 0, fmt.Errorf("unsupported ECDSA curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		oid, h, params = oidRSASHA256, crypto.SHA256, true
	case ed25519.PublicKey:
		oid = oidEd25519
	default:
		return nil, 0, fmt.Errorf("unsupported responder key type %T; use ECDSA, RSA or Ed25519", pub)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
		if params {
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic(), h, nil
}

// matches reports whether a CertID names this CA.
func (p *issuer) matches(c *CertID) bool {
	k, ok := p.keyHashes[c.HashAlgorithm]
	return ok && int(k.nameLen) == len(c.IssuerNameHash) && int(k.keyLen) == len(c.IssuerKeyHash) &&
		bytes.Equal(k.name[:k.nameLen], c.IssuerNameHash) && bytes.Equal(k.key[:k.keyLen], c.IssuerKeyHash)
}
