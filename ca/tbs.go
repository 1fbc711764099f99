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
	"slices"
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
// appended to one buffer in exactly the layout CreateCertificate produces:
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

	oidExtAIA            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
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
//
// The DER is appended to one buffer, each constructed value's header
// inserted in front of its contents once they are written (wrap): one
// allocation for the whole certificate, where cryptobyte's nested builders
// made about forty per certificate, a tenth of the bytes the issuance path
// allocates (garbage collection is a sixth of its CPU time).
func signFast(p *issuerParts, spec *certSpec, serial *big.Int, spki, ski []byte, signer crypto.Signer, rand io.Reader) ([]byte, error) {
	var ekuBuf [4][]byte
	ekus := ekuBuf[:0]
	for _, u := range spec.extKeyUse {
		der, ok := extKeyUsageDER[u]
		if !ok {
			return nil, errSlowPath
		}
		ekus = append(ekus, der)
	}
	var uris []string
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
			s := u.String()
			if !isIA5(s) {
				return nil, errSlowPath
			}
			uris = append(uris, s)
		}
	}
	if serial.Sign() < 0 || len(ski) > 127 || !fourDigitYear(spec.notBefore) || !fourDigitYear(spec.notAfter) {
		return nil, errSlowPath
	}

	// The TBSCertificate starts after room for the certificate's own
	// SEQUENCE header (at most 5 bytes), so that the signed certificate is
	// completed in place.
	const room = 5
	b := make([]byte, room, room+1024)
	b = append(b, 0x30) // TBSCertificate
	tbs := len(b) - 1
	body := len(b)
	b = append(b, 0xa0, 0x03, 0x02, 0x01, 0x02) // [0] EXPLICIT version v3
	b = appendSerial(b, serial)
	b = append(b, p.algID...)
	b = append(b, p.name...)
	b = append(b, 0x30) // Validity
	v := len(b)
	b = crlAppendTime(b, spec.notBefore)
	b = crlAppendTime(b, spec.notAfter)
	b = wrap(b, v)
	b = append(b, spec.subject...)
	b = append(b, spki...)
	b = append(b, 0xa3, 0x30) // [3] EXPLICIT Extensions SEQUENCE
	e3 := len(b) - 1
	e := len(b)
	b = appendExtensions(b, p, spec, ekus, uris, ski)
	b = wrap(b, e)
	b = wrap(b, e3)
	b = wrap(b, body)
	tbsDER := b[tbs:]

	sig, err := crypto.SignMessage(signer, rand, tbsDER, p.hash)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	b = append(b, p.algID...)
	b = append(b, 0x03) // signatureValue BIT STRING, no unused bits
	b = appendLength(b, len(sig)+1)
	b = append(b, 0x00)
	b = append(b, sig...)
	// The certificate SEQUENCE header goes in the room before the TBS.
	var hdr [room]byte
	h := appendLength(append(hdr[:0], 0x30), len(b)-tbs)
	start := tbs - len(h)
	copy(b[start:], h)
	return b[start:], nil
}

// extKeyUsageDER are the DER OBJECT IDENTIFIERs of the extended key
// usages signFast encodes.
var extKeyUsageDER = func() map[x509.ExtKeyUsage][]byte {
	m := make(map[x509.ExtKeyUsage][]byte, len(extKeyUsageOIDByName))
	for u, oid := range extKeyUsageOIDByName {
		der, err := asn1.Marshal(oid)
		if err != nil {
			panic(err)
		}
		m[u] = der
	}
	return m
}()

// DER of the extension OIDs signFast writes per certificate.
var (
	derOIDKeyUsage    = []byte{0x06, 0x03, 0x55, 0x1d, 0x0f}
	derOIDExtKeyUsage = []byte{0x06, 0x03, 0x55, 0x1d, 0x25}
	derOIDBasicConstr = []byte{0x06, 0x03, 0x55, 0x1d, 0x13}
	derOIDSubjectKey  = []byte{0x06, 0x03, 0x55, 0x1d, 0x0e}
	derOIDSAN         = []byte{0x06, 0x03, 0x55, 0x1d, 0x11}
	derOCSPNoCheck    = []byte{0x30, 0x0f, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05, 0x04, 0x02, 0x05, 0x00}
)

// appendExtensions writes the Extension SEQUENCEs in CreateCertificate's
// order.
func appendExtensions(b []byte, p *issuerParts, spec *certSpec, ekus [][]byte, uris []string, ski []byte) []byte {
	if spec.keyUsage != 0 {
		var a [2]byte
		a[0] = reverseBits(byte(spec.keyUsage))
		a[1] = reverseBits(byte(spec.keyUsage >> 8))
		bits := a[:1]
		if a[1] != 0 {
			bits = a[:2]
		}
		x, o := beginExtension(b, derOIDKeyUsage, true)
		b = append(x, 0x03, byte(1+len(bits)), unusedBits(bits))
		b = append(b, bits...)
		b = endExtension(b, o)
	}
	if len(ekus) > 0 {
		x, o := beginExtension(b, derOIDExtKeyUsage, false)
		b = append(x, 0x30)
		s := len(b)
		for _, der := range ekus {
			b = append(b, der...)
		}
		b = wrap(b, s)
		b = endExtension(b, o)
	}
	x, o := beginExtension(b, derOIDBasicConstr, true)
	b = append(x, 0x30)
	s := len(b)
	if spec.isCA {
		b = append(b, 0x01, 0x01, 0xff)
		// As sign's template: 0 = pathLen 0, > 0 = that, < 0 = absent.
		if spec.maxPathLen >= 0 {
			b = crlAppendInt(b, int64(spec.maxPathLen))
		}
	}
	b = wrap(b, s)
	b = endExtension(b, o)

	x, o = beginExtension(b, derOIDSubjectKey, false)
	b = append(x, 0x04, byte(len(ski)))
	b = append(b, ski...)
	b = endExtension(b, o)
	b = append(b, p.aki...)
	b = append(b, p.aia...)
	if sa := spec.sans; sa != nil && sa.Len() > 0 {
		x, o = beginExtension(b, derOIDSAN, bytes.Equal(spec.subject, []byte{0x30, 0}))
		b = append(x, 0x30)
		s := len(b)
		for _, n := range sa.DNS {
			b = appendString(b, 0x82, n)
		}
		for _, n := range sa.Email {
			b = appendString(b, 0x81, n)
		}
		for _, ip := range sa.IP {
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			b = append(b, 0x87)
			b = appendLength(b, len(ip))
			b = append(b, ip...)
		}
		for _, u := range uris {
			b = appendString(b, 0x86, u)
		}
		b = wrap(b, s)
		b = endExtension(b, o)
	}
	b = append(b, p.cdp...)
	if spec.ocspNoChk {
		b = append(b, derOCSPNoCheck...)
	}
	return b
}

// beginExtension starts an Extension: SEQUENCE, extnID, critical (DER
// omits FALSE) and the extnValue OCTET STRING, whose contents the caller
// appends before endExtension. o holds the offsets endExtension needs.
func beginExtension(b []byte, oid []byte, critical bool) (out []byte, o [2]int) {
	b = append(b, 0x30)
	o[0] = len(b)
	b = append(b, oid...)
	if critical {
		b = append(b, 0x01, 0x01, 0xff)
	}
	b = append(b, 0x04)
	o[1] = len(b)
	return b, o
}

func endExtension(b []byte, o [2]int) []byte {
	return wrap(wrap(b, o[1]), o[0])
}

// wrap inserts, before b[start:], the DER length of b[start:]: b[start-1]
// holds the tag already.
func wrap(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b = append(b, 0)
		copy(b[start+1:], b[start:start+n])
		b[start] = byte(n)
		return b
	}
	var buf [5]byte
	l := appendLength(buf[:0], n)
	b = append(b, l...)
	copy(b[start+len(l):], b[start:start+n])
	copy(b[start:], l)
	return b
}

// appendLength appends the DER encoding of the length n (crlAppendHeader
// writes its tagged headers with it too).
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendString appends a primitive value of tag holding s's bytes.
func appendString(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = appendLength(b, len(s))
	return append(b, s...)
}

// appendSerial appends a non-negative big INTEGER in minimal form.
func appendSerial(b []byte, v *big.Int) []byte {
	n := (v.BitLen() + 7) / 8
	if n == 0 {
		return append(b, 0x02, 0x01, 0x00)
	}
	pad := v.BitLen()%8 == 0 // high bit set: a leading zero keeps it positive
	l := n
	if pad {
		l++
	}
	b = append(b, 0x02)
	b = appendLength(b, l)
	if pad {
		b = append(b, 0)
	}
	at := len(b)
	b = slices.Grow(b, n)[:at+n]
	v.FillBytes(b[at:])
	return b
}

// fourDigitYear reports whether crlAppendTime encodes t as encoding/asn1
// does (UTCTime for 1950–2049, GeneralizedTime otherwise).
func fourDigitYear(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
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
