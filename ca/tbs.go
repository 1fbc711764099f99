package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file signs the certificates of an existing CA (the issuance hot
// path) without x509.CreateCertificate. CreateCertificate re-derives every
// per-CA part (issuer name, algorithm identifier, AKI, AIA, CRL
// distribution points), marshals through reflection and verifies its own
// signature (about 80 µs for P-256, more than the signature itself). Here
// the per-CA parts are encoded once (issuerParts) and the TBSCertificate is
// built with cryptobyte in exactly the layout CreateCertificate produces:
// same extension order, criticality and encodings (TestFastTBSMatchesStdlib
// compares the bytes for every profile, key type and URL combination).
//
// Why no self-verification: the signer is one of the standard library's
// own key types (*ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey;
// any other crypto.Signer takes the CreateCertificate path, which does
// verify), its public half is checked against the issuer certificate
// before signing (Equal, as CreateCertificate does), and those
// implementations do not return wrong signatures (crypto/rsa verifies its
// CRT result itself). Verifying would only guard against a bug in
// crypto/ecdsa, at the cost of half the signing budget; the tests verify
// every certificate they make (openssl verify, certtool, CheckSignatureFrom).

// issuerParts are the DER pieces that are the same in every certificate a
// CA signs with the same URLs.
type issuerParts struct {
	name   []byte // issuer Name (the CA's RawSubject)
	algID  []byte // AlgorithmIdentifier of the signature
	sigAlg x509.SignatureAlgorithm
	hash   crypto.Hash // 0 for Ed25519
	aki    []byte      // the AKI extension, nil when the CA has no SKI
	aia    []byte      // the AIA extension, nil without a URL
	cdp    []byte      // the CRL distribution points extension, or nil
}

type issuerKey struct {
	cert                           *x509.Certificate
	url, ldapURL, issuerID, issuer string
}

var (
	issuerCache     sync.Map // issuerKey → *issuerParts
	issuerCacheSize int64
	issuerCacheMu   sync.Mutex
)

// maxIssuerCache bounds the cache: a server has a handful of CAs; tests
// that make thousands only lose the caching.
const maxIssuerCache = 256

var (
	oidSigECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSigECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidSigECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSigSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSigEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidExtKeyUsageOID    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidExtBasicConstr    = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtSubjectKeyID   = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAIA            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidExtSAN            = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtCRLDP          = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidAccessOCSP        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}
	oidAccessCAIssuers   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}
	extKeyUsageOIDByName = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
		x509.ExtKeyUsageAny:             {2, 5, 29, 37, 0},
		x509.ExtKeyUsageServerAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 1},
		x509.ExtKeyUsageClientAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 2},
		x509.ExtKeyUsageCodeSigning:     {1, 3, 6, 1, 5, 5, 7, 3, 3},
		x509.ExtKeyUsageEmailProtection: {1, 3, 6, 1, 5, 5, 7, 3, 4},
		x509.ExtKeyUsageTimeStamping:    {1, 3, 6, 1, 5, 5, 7, 3, 8},
		x509.ExtKeyUsageOCSPSigning:     {1, 3, 6, 1, 5, 5, 7, 3, 9},
	}
)

// stdSigner reports whether signer is a standard-library key whose
// signatures need no re-verification, and the algorithm pkid uses with it.
func stdSigner(signer crypto.Signer) (x509.SignatureAlgorithm, asn1.ObjectIdentifier, crypto.Hash, bool) {
	switch k := signer.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, oidSigECDSAWithSHA256, crypto.SHA256, true
		case elliptic.P384():
			return x509.ECDSAWithSHA384, oidSigECDSAWithSHA384, crypto.SHA384, true
		case elliptic.P521():
			return x509.ECDSAWithSHA512, oidSigECDSAWithSHA512, crypto.SHA512, true
		}
	case *rsa.PrivateKey:
		return x509.SHA256WithRSA, oidSigSHA256WithRSA, crypto.SHA256, true
	case ed25519.PrivateKey:
		return x509.PureEd25519, oidSigEd25519, 0, true
	}
	return 0, nil, 0, false
}

// partsFor returns the cached per-CA parts, or nil when this issuer and
// signer must take the CreateCertificate path.
func partsFor(spec *certSpec, issuer *x509.Certificate, signer crypto.Signer) *issuerParts {
	k := issuerKey{issuer, spec.url, spec.ldapURL, spec.issuerID, spec.issuerDN}
	if v, ok := issuerCache.Load(k); ok {
		return v.(*issuerParts)
	}
	p := buildIssuerParts(spec, issuer, signer)
	issuerCacheMu.Lock()
	if issuerCacheSize < maxIssuerCache {
		if _, loaded := issuerCache.LoadOrStore(k, p); !loaded {
			issuerCacheSize++
		}
	}
	issuerCacheMu.Unlock()
	return p
}

func buildIssuerParts(spec *certSpec, issuer *x509.Certificate, signer crypto.Signer) *issuerParts {
	sigAlg, oid, hash, ok := stdSigner(signer)
	if !ok || sigAlg != signatureAlgorithm(signer.Public()) || len(issuer.RawSubject) == 0 {
		return nil
	}
	// The key must be the issuer's: CreateCertificate checks this too.
	if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(issuer.PublicKey) {
		return nil
	}
	p := &issuerParts{name: issuer.RawSubject, sigAlg: sigAlg, hash: hash}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if sigAlg == x509.SHA256WithRSA {
			b.AddASN1NULL()
		}
	})
	p.algID = b.BytesOrPanic()
	if len(issuer.SubjectKeyId) > 0 {
		p.aki = extension(oidAuthorityKeyIdentifier, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(issuer.SubjectKeyId) })
			})
		})
	}
	var cdps []string
	if spec.url != "" {
		ocsp, caIssuers := OCSPURL(spec.url), CAIssuersURL(spec.url, spec.issuerID)
		if !isIA5(ocsp) || !isIA5(caIssuers) {
			return nil
		}
		p.aia = extension(oidExtAIA, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, ad := range []struct {
					method asn1.ObjectIdentifier
					uri    string
				}{{oidAccessOCSP, ocsp}, {oidAccessCAIssuers, caIssuers}} {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(ad.method)
						b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(ad.uri)) })
					})
				}
			})
		})
		cdps = append(cdps, CRLURL(spec.url, spec.issuerID))
	}
	if spec.ldapURL != "" {
		cdps = append(cdps, LDAPCRLURL(spec.ldapURL, spec.issuerDN))
	}
	if len(cdps) > 0 {
		p.cdp = extension(oidExtCRLDP, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, uri := range cdps {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
								b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
							})
						})
					})
				}
			})
		})
	}
	return p
}

// extension encodes one Extension; value adds the extnValue contents.
func extension(oid asn1.ObjectIdentifier, critical bool, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
	return b.BytesOrPanic()
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// errSlowPath says the fast encoder does not handle this certificate; sign
// then uses x509.CreateCertificate.
var errSlowPath = fmt.Errorf("not handled by the fast encoder")

// signFast builds, signs and returns the certificate as
// x509.CreateCertificate would for the template sign makes.
func signFast(p *issuerParts, spec *certSpec, serial *big.Int, spki, ski []byte, signer crypto.Signer, rand io.Reader) ([]byte, error) {
	var ekus []asn1.ObjectIdentifier
	for _, u := range spec.extKeyUse {
		oid, ok := extKeyUsageOIDByName[u]
		if !ok {
			return nil, errSlowPath
		}
		ekus = append(ekus, oid)
	}
	if spec.sans != nil {
		for _, n := range spec.sans.DNS {
			if !isIA5(n) {
				return nil, errSlowPath
			}
		}
		for _, n := range spec.sans.Email {
			if !isIA5(n) {
				return nil, errSlowPath
			}
		}
		for _, u := range spec.sans.URI {
			if !isIA5(u.String()) {
				return nil, errSlowPath
			}
		}
	}
	if serial.Sign() < 0 {
		return nil, errSlowPath
	}

	b := cryptobyte.NewBuilder(make([]byte, 0, 1024))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
		b.AddASN1BigInt(serial)
		b.AddBytes(p.algID)
		b.AddBytes(p.name)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, spec.notBefore)
			addTime(b, spec.notAfter)
		})
		b.AddBytes(spec.subject)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtensions(b, p, spec, ekus, ski)
			})
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode certificate: %w", err)
	}
	sig, err := crypto.SignMessage(signer, rand, tbs, p.hash)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	c := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(p.algID)+len(sig)+16))
	c.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddBytes(tbs)
		c.AddBytes(p.algID)
		c.AddASN1BitString(sig)
	})
	return c.Bytes()
}

func addExtensions(b *cryptobyte.Builder, p *issuerParts, spec *certSpec, ekus []asn1.ObjectIdentifier, ski []byte) {
	if spec.keyUsage != 0 {
		var a [2]byte
		a[0] = reverseBits(byte(spec.keyUsage))
		a[1] = reverseBits(byte(spec.keyUsage >> 8))
		bits := a[:1]
		if a[1] != 0 {
			bits = a[:2]
		}
		b.AddBytes(extension(oidExtKeyUsageOID, true, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(unusedBits(bits))
				b.AddBytes(bits)
			})
		}))
	}
	if len(ekus) > 0 {
		b.AddBytes(extension(oidExtExtKeyUsage, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, oid := range ekus {
					b.AddASN1ObjectIdentifier(oid)
				}
			})
		}))
	}
	b.AddBytes(extension(oidExtBasicConstr, true, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if spec.isCA {
				b.AddASN1Boolean(true)
				// As sign's template: 0 = pathLen 0, > 0 = that, < 0 = absent.
				if spec.maxPathLen >= 0 {
					b.AddASN1Int64(int64(spec.maxPathLen))
				}
			}
		})
	}))
	b.AddBytes(extension(oidExtSubjectKeyID, false, func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(ski)
	}))
	if p.aki != nil {
		b.AddBytes(p.aki)
	}
	if p.aia != nil {
		b.AddBytes(p.aia)
	}
	if s := spec.sans; s != nil && s.Len() > 0 {
		b.AddBytes(extension(oidExtSAN, bytes.Equal(spec.subject, []byte{0x30, 0}), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, n := range s.DNS {
					b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
				}
				for _, n := range s.Email {
					b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
				}
				for _, ip := range s.IP {
					if ip4 := ip.To4(); ip4 != nil {
						ip = ip4
					}
					b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
				}
				for _, u := range s.URI {
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u.String())) })
				}
			})
		}))
	}
	if p.cdp != nil {
		b.AddBytes(p.cdp)
	}
	if spec.ocspNoChk {
		b.AddBytes(extension(oidOCSPNoCheck, false, func(b *cryptobyte.Builder) { b.AddASN1NULL() }))
	}
}

// addTime encodes t as encoding/asn1 does: UTCTime for 1950–2049,
// GeneralizedTime otherwise, in UTC, whole seconds.
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.Format("060102150405Z"))) })
		return
	}
	b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.Format("20060102150405Z"))) })
}

func reverseBits(in byte) byte {
	in = in>>4 | in<<4
	in = (in&0xcc)>>2 | (in&0x33)<<2
	return (in&0xaa)>>1 | (in&0x55)<<1
}

// unusedBits is the count of trailing zero bits of the last byte of a
// non-empty BIT STRING value, as asn1 computes its bit length.
func unusedBits(bits []byte) byte {
	for i := len(bits) - 1; i >= 0; i-- {
		v := bits[i]
		for n := byte(0); n < 8; n++ {
			if v&(1<<n) != 0 {
				if i == len(bits)-1 {
					return n
				}
				return 0 // unreachable for minimal encodings
			}
		}
	}
	return 0
}

// spkiAndKeyID encodes pub as SubjectPublicKeyInfo and derives its RFC 7093
// key identifier from the same encoding.
func spkiAndKeyID(pub crypto.PublicKey) (spki, ski []byte, err error) {
	spki, err = x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	s := cryptobyte.String(spki)
	var inner cryptobyte.String
	var bits asn1.BitString
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.SkipASN1(cbasn1.SEQUENCE) || !inner.ReadASN1BitString(&bits) {
		return nil, nil, fmt.Errorf("encode public key: malformed SubjectPublicKeyInfo")
	}
	sum := sha256.Sum256(bits.Bytes)
	return spki, sum[:20], nil
}
