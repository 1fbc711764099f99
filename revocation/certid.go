package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// checkCertID verifies that the SingleResponse for serial in the raw
// ResponseData names issuer by its name and key hashes (RFC 6960 §4.1.1
// CertID). golang.org/x/crypto/ocsp matches responses on the serial alone,
// which would let a responder trusted by this issuer answer for a
// same-serial certificate of another CA.
func checkCertID(tbs []byte, serial *big.Int, issuer *x509.Certificate, h crypto.Hash) error {
	if !h.Available() {
		return errors.New("OCSP CertID hash algorithm unavailable")
	}
	bad := errors.New("malformed OCSP ResponseData")
	in := cryptobyte.String(tbs)
	var rd cryptobyte.String
	if !in.ReadASN1(&rd, cbasn1.SEQUENCE) {
		return bad
	}
	var responderID cryptobyte.String
	var tag cbasn1.Tag
	if !rd.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) || // version
		!rd.ReadAnyASN1(&responderID, &tag) ||
		!rd.SkipASN1(cbasn1.GeneralizedTime) {
		return bad
	}
	var responses cryptobyte.String
	if !rd.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return bad
	}
	nameHash := h.New()
	nameHash.Write(issuer.RawSubject)
	spki := cryptobyte.String(issuer.RawSubjectPublicKeyInfo)
	var spkiSeq cryptobyte.String
	var key asn1.BitString
	if !spki.ReadASN1(&spkiSeq, cbasn1.SEQUENCE) || !spkiSeq.SkipASN1(cbasn1.SEQUENCE) || !spkiSeq.ReadASN1BitString(&key) {
		return errors.New("malformed issuer public key")
	}
	keyHash := h.New()
	keyHash.Write(key.Bytes)
	for !responses.Empty() {
		var single, certID cryptobyte.String
		var nh, kh []byte
		n := new(big.Int)
		if !responses.ReadASN1(&single, cbasn1.SEQUENCE) || !single.ReadASN1(&certID, cbasn1.SEQUENCE) ||
			!certID.SkipASN1(cbasn1.SEQUENCE) ||
			!certID.ReadASN1Bytes(&nh, cbasn1.OCTET_STRING) || !certID.ReadASN1Bytes(&kh, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1Integer(n) {
			return bad
		}
		if n.Cmp(serial) != 0 {
			continue
		}
		if !bytes.Equal(nh, nameHash.Sum(nil)) || !bytes.Equal(kh, keyHash.Sum(nil)) {
			return errors.New("the OCSP response is about a certificate of another issuer (CertID hashes differ)")
		}
		return nil
	}
	return errors.New("the OCSP response has no entry for the certificate")
}
