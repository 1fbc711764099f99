package ocsp

import (
	"bytes"
	"crypto"
	"math/big"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Limits on what a request may carry.
const (
	// MaxNonceLen is the longest nonce accepted (RFC 8954 §2.1).
	MaxNonceLen = 32
	// maxHashLen bounds issuerNameHash and issuerKeyHash (SHA-512 is 64).
	maxHashLen = 64
	// maxSerialLen bounds serialNumber: RFC 5280 allows 20 octets; some
	// CAs exceed it, and nothing longer can be a serial pkid answers for.
	maxSerialLen = 64
	// DefaultMaxCertIDs is the default bound on CertIDs in one request.
	DefaultMaxCertIDs = 100
)

// DER encodings of the object identifiers the responder uses.
var (
	oidSHA1   = []byte{0x2b, 0x0e, 0x03, 0x02, 0x1a}                         // 1.3.14.3.2.26
	oidSHA256 = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01} // 2.16.840.1.101.3.4.2.1
	oidSHA384 = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02} // 2.16.840.1.101.3.4.2.2
	oidSHA512 = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03} // 2.16.840.1.101.3.4.2.3
	oidNonce  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02} // 1.3.6.1.5.5.7.48.1.2 id-pkix-ocsp-nonce
	oidBasic  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01} // 1.3.6.1.5.5.7.48.1.1 id-pkix-ocsp-basic
)

// hashes are the CertID hash algorithms the responder matches, with their
// OIDs; the index in this table is used in map keys.
var hashes = [...]struct {
	hash crypto.Hash
	oid  []byte
}{
	{crypto.SHA1, oidSHA1},
	{crypto.SHA256, oidSHA256},
	{crypto.SHA384, oidSHA384},
	{crypto.SHA512, oidSHA512},
}

func hashByOID(oid []byte) crypto.Hash {
	for _, h := range hashes {
		if bytes.Equal(oid, h.oid) {
			return h.hash
		}
	}
	return 0
}

var (
	tagExplicit0 = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagExplicit1 = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagExplicit2 = cbasn1.Tag(2).ContextSpecific().Constructed()
)

// CertID identifies one certificate in a request (RFC 6960 §4.1.1).
type CertID struct {
	// Raw is the complete DER CertID, echoed in the SingleResponse.
	Raw []byte
	// HashAlgorithm is the hash of issuerNameHash and issuerKeyHash, or 0
	// for an algorithm other than SHA-1, SHA-256, SHA-384 and SHA-512.
	HashAlgorithm  crypto.Hash
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	// Serial is the DER contents of serialNumber (big-endian two's
	// complement, minimally encoded).
	Serial []byte
}

// SerialNumber returns the certificate serial number.
func (c *CertID) SerialNumber() *big.Int {
	n := new(big.Int).SetBytes(c.Serial)
	if len(c.Serial) > 0 && c.Serial[0]&0x80 != 0 {
		// Negative: subtract 2^(8·len).
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(c.Serial))))
	}
	return n
}

// Request is a parsed OCSPRequest (RFC 6960 §4.1.1). Its byte slices alias
// the DER it was parsed from.
type Request struct {
	// CertIDs holds the reqCert of each Request in requestList, in order.
	CertIDs []CertID
	// RequestorName is the DER GeneralName of requestorName, or nil.
	RequestorName []byte
	// Nonce is the nonce value (RFC 6960 §4.4.1), or nil.
	Nonce []byte
	// NonceExtnValue is the nonce extension's extnValue as sent: the
	// response echoes it byte for byte, so both the RFC 8954 encoding
	// (an OCTET STRING inside extnValue) and the legacy raw one round-trip.
	NonceExtnValue []byte
	// Signed reports an optionalSignature. It is syntax-checked but not
	// verified: pkid's responses are public, so it authorizes nothing.
	Signed bool
}

// ParseRequest parses a DER OCSPRequest with at most DefaultMaxCertIDs
// CertIDs. Every error is a *ResponseError with Status MalformedRequest.
func ParseRequest(der []byte) (*Request, error) {
	r := new(Request)
	if err := r.parse(der, DefaultMaxCertIDs); err != nil {
		return nil, err
	}
	return r, nil
}

// parse fills r from der, reusing r.CertIDs' storage.
func (r *Request) parse(der []byte, maxCertIDs int) error {
	*r = Request{CertIDs: r.CertIDs[:0]}
	in := cryptobyte.String(der)
	var req, tbs cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) {
		return malformed("not a DER OCSPRequest")
	}
	if !in.Empty() {
		return malformed("trailing data after OCSPRequest")
	}
	if !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return malformed("bad tbsRequest")
	}
	if req.PeekASN1Tag(tagExplicit0) {
		if err := checkSignature(&req); err != nil {
			return err
		}
		r.Signed = true
	}
	if !req.Empty() {
		return malformed("unexpected data after tbsRequest")
	}

	if tbs.PeekASN1Tag(tagExplicit0) {
		var v cryptobyte.String
		var version int64
		if !tbs.ReadASN1(&v, tagExplicit0) || !v.ReadASN1Integer(&version) || !v.Empty() {
			return malformed("bad version")
		}
		if version != 0 {
			return malformed("unsupported version; only v1 (0) exists")
		}
	}
	if tbs.PeekASN1Tag(tagExplicit1) {
		var wrapped, name cryptobyte.String
		if !tbs.ReadASN1(&wrapped, tagExplicit1) || !wrapped.ReadAnyASN1Element(&name, nil) || !wrapped.Empty() {
			return malformed("bad requestorName")
		}
		r.RequestorName = name
	}
	var list cryptobyte.String
	if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return malformed("bad requestList")
	}
	if tbs.PeekASN1Tag(tagExplicit2) {
		var exts cryptobyte.String
		if !tbs.ReadASN1(&exts, tagExplicit2) {
			return malformed("bad requestExtensions")
		}
		if err := parseExtensions(exts, r); err != nil {
			return err
		}
	}
	if !tbs.Empty() {
		return malformed("unexpected data in tbsRequest")
	}

	for !list.Empty() {
		if len(r.CertIDs) == maxCertIDs {
			return malformed("more CertIDs than the responder's limit of " + strconv.Itoa(maxCertIDs) + " in one request")
		}
		var one cryptobyte.String
		if !list.ReadASN1(&one, cbasn1.SEQUENCE) {
			return malformed("bad Request in requestList")
		}
		r.CertIDs = append(r.CertIDs, CertID{})
		if err := parseCertID(&one, &r.CertIDs[len(r.CertIDs)-1]); err != nil {
			return err
		}
		if one.PeekASN1Tag(tagExplicit0) {
			var exts cryptobyte.String
			if !one.ReadASN1(&exts, tagExplicit0) {
				return malformed("bad singleRequestExtensions")
			}
			if err := parseExtensions(exts, nil); err != nil {
				return err
			}
		}
		if !one.Empty() {
			return malformed("unexpected data in Request")
		}
	}
	if len(r.CertIDs) == 0 {
		return malformed("empty requestList")
	}
	return nil
}

func parseCertID(in *cryptobyte.String, c *CertID) error {
	var raw, id, alg, oid cryptobyte.String
	if !in.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return malformed("bad CertID")
	}
	c.Raw = raw
	if !raw.ReadASN1(&id, cbasn1.SEQUENCE) ||
		!id.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || len(oid) == 0 {
		return malformed("bad CertID hashAlgorithm")
	}
	c.HashAlgorithm = hashByOID(oid)
	if c.HashAlgorithm != 0 {
		// Known hashes: parameters absent or NULL (RFC 5754 §2).
		if !alg.Empty() {
			var null cryptobyte.String
			if !alg.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 {
				return malformed("CertID hashAlgorithm parameters must be NULL or absent")
			}
		}
	} else if !alg.Empty() && !alg.SkipASN1(anyTag(alg)) {
		return malformed("bad CertID hashAlgorithm parameters")
	}
	if !alg.Empty() {
		return malformed("unexpected data in CertID hashAlgorithm")
	}
	var name, key, serial cryptobyte.String
	if !id.ReadASN1(&name, cbasn1.OCTET_STRING) || len(name) > maxHashLen ||
		!id.ReadASN1(&key, cbasn1.OCTET_STRING) || len(key) > maxHashLen {
		return malformed("bad CertID issuerNameHash or issuerKeyHash")
	}
	if !id.ReadASN1(&serial, cbasn1.INTEGER) || !minimalInteger(serial) || len(serial) > maxSerialLen {
		return malformed("bad CertID serialNumber")
	}
	if !id.Empty() {
		return malformed("unexpected data in CertID")
	}
	c.IssuerNameHash, c.IssuerKeyHash, c.Serial = name, key, serial
	return nil
}

// anyTag returns the tag of the next element, for SkipASN1.
func anyTag(s cryptobyte.String) cbasn1.Tag {
	if len(s) == 0 {
		return 0
	}
	return cbasn1.Tag(s[0])
}

// minimalInteger reports whether b is a DER INTEGER's contents.
func minimalInteger(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		return false
	}
	return true
}

// parseExtensions checks Extensions (RFC 5280 §4.1) and, when r is not nil,
// records the nonce. An unknown critical extension is malformedRequest
// (RFC 6960 §4.4: unrecognized extensions are ignored unless critical).
func parseExtensions(exts cryptobyte.String, r *Request) error {
	var seq cryptobyte.String
	if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() || seq.Empty() {
		return malformed("bad Extensions")
	}
	var seen [][]byte
	for !seq.Empty() {
		var ext, oid, value cryptobyte.String
		if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || len(oid) == 0 {
			return malformed("bad Extension")
		}
		critical := false
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) {
			return malformed("bad Extension critical flag")
		}
		if !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return malformed("bad Extension extnValue")
		}
		for _, o := range seen {
			if bytes.Equal(o, oid) {
				return malformed("duplicate extension")
			}
		}
		seen = append(seen, oid)
		isNonce := bytes.Equal(oid, oidNonce)
		switch {
		case isNonce && r != nil:
			nonce, err := parseNonce(value)
			if err != nil {
				return err
			}
			r.Nonce, r.NonceExtnValue = nonce, value
		case isNonce:
			// A nonce in singleRequestExtensions has no meaning; ignore it.
		case critical:
			return malformed("unsupported critical extension")
		}
	}
	return nil
}

// parseNonce returns the nonce value from extnValue: RFC 8954 wraps it in an
// OCTET STRING; older clients put the raw bytes in extnValue.
func parseNonce(value cryptobyte.String) ([]byte, error) {
	nonce := []byte(value)
	v := value
	var inner cryptobyte.String
	if v.ReadASN1(&inner, cbasn1.OCTET_STRING) && v.Empty() {
		nonce = inner
	}
	if len(nonce) == 0 {
		return nil, malformed("empty nonce")
	}
	if len(nonce) > MaxNonceLen {
		return nil, malformed("nonce longer than 32 octets (RFC 8954)")
	}
	return nonce, nil
}

// checkSignature syntax-checks optionalSignature (RFC 6960 §4.1.1).
func checkSignature(in *cryptobyte.String) error {
	var sig, body, alg cryptobyte.String
	var bits cryptobyte.String
	if !in.ReadASN1(&sig, tagExplicit0) || !sig.ReadASN1(&body, cbasn1.SEQUENCE) || !sig.Empty() ||
		!body.ReadASN1(&alg, cbasn1.SEQUENCE) || !body.ReadASN1(&bits, cbasn1.BIT_STRING) || len(bits) == 0 {
		return malformed("bad optionalSignature")
	}
	if body.PeekASN1Tag(tagExplicit0) {
		var certs, seq cryptobyte.String
		if !body.ReadASN1(&certs, tagExplicit0) || !certs.ReadASN1(&seq, cbasn1.SEQUENCE) || !certs.Empty() {
			return malformed("bad optionalSignature certs")
		}
	}
	if !body.Empty() {
		return malformed("unexpected data in optionalSignature")
	}
	return nil
}
