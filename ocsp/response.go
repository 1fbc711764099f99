package ocsp

import (
	"crypto"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// single is one SingleResponse to build: the CertID as the client sent it
// and the status to assert.
type single struct {
	certID []byte
	status Status
}

// errorResponses are the unsigned OCSPResponses for the unsuccessful
// statuses: SEQUENCE { ENUMERATED status } (RFC 6960 §4.2.1).
var errorResponses = map[ResponseStatus][]byte{}

func init() {
	for _, s := range []ResponseStatus{MalformedRequest, InternalError, TryLater, SigRequired, Unauthorized} {
		errorResponses[s] = []byte{0x30, 0x03, 0x0a, 0x01, byte(s)}
	}
}

// errorResponse returns the DER OCSPResponse for an unsuccessful status.
func errorResponse(s ResponseStatus) []byte {
	if b, ok := errorResponses[s]; ok {
		return b
	}
	return errorResponses[InternalError]
}

// sign builds and signs a successful OCSPResponse holding a
// BasicOCSPResponse (RFC 6960 §4.2.1) with one SingleResponse per entry of
// singles, all with the same thisUpdate/nextUpdate, and the nonce
// extension echoed when nonceExtnValue is not nil.
func (p *issuer) sign(rand io.Reader, producedAt, thisUpdate, nextUpdate time.Time, singles []single, nonceExtnValue []byte) ([]byte, error) {
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseData; version v1 is the DEFAULT, so absent
		b.AddASN1(tagExplicit2, func(b *cryptobyte.Builder) { // ResponderID byKey
			b.AddASN1OctetString(p.responseID)
		})
		b.AddASN1GeneralizedTime(producedAt.UTC().Truncate(time.Second))
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // responses
			for _, s := range singles {
				addSingleResponse(b, s, thisUpdate, nextUpdate)
			}
		})
		if nonceExtnValue != nil {
			b.AddASN1(tagExplicit1, func(b *cryptobyte.Builder) { // responseExtensions
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oidNonce) })
						b.AddASN1OctetString(nonceExtnValue)
					})
				})
			})
		}
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode ResponseData: %w", err)
	}

	msg, opts := tbs, crypto.SignerOpts(crypto.Hash(0))
	if p.sigHash != 0 {
		h := p.sigHash.New()
		h.Write(tbs)
		msg, opts = h.Sum(nil), p.sigHash
	}
	sig, err := p.Signer.Sign(rand, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("sign OCSP response for CA %q: %w", p.ID, err)
	}

	var bb cryptobyte.Builder
	bb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // BasicOCSPResponse
		b.AddBytes(tbs)
		b.AddBytes(p.sigAlg)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0) // no unused bits
			b.AddBytes(sig)
		})
		if len(p.certs) > 0 {
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, c := range p.certs {
						b.AddBytes(c)
					}
				})
			})
		}
	})
	basic, err := bb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode BasicOCSPResponse: %w", err)
	}
	var rb cryptobyte.Builder
	rb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPResponse
		b.AddASN1Enum(int64(Successful))
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseBytes
				b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oidBasic) })
				b.AddASN1OctetString(basic)
			})
		})
	})
	return rb.Bytes()
}

var (
	tagGood    = cbasn1.Tag(0).ContextSpecific()
	tagRevoked = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagUnknown = cbasn1.Tag(2).ContextSpecific()
)

func addSingleResponse(b *cryptobyte.Builder, s single, thisUpdate, nextUpdate time.Time) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(s.certID)
		switch s.status.Status {
		case Good:
			b.AddASN1(tagGood, func(*cryptobyte.Builder) {}) // [0] IMPLICIT NULL
		case Revoked:
			b.AddASN1(tagRevoked, func(b *cryptobyte.Builder) { // [1] IMPLICIT RevokedInfo
				b.AddASN1GeneralizedTime(s.status.RevokedAt.UTC().Truncate(time.Second))
				if r := s.status.Reason; r > 0 && r <= 10 && r != 7 && r != 8 { // 7 is unassigned; removeFromCRL (8) is for delta CRLs
					b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) { b.AddASN1Enum(int64(s.status.Reason)) })
				}
			})
		default:
			b.AddASN1(tagUnknown, func(*cryptobyte.Builder) {}) // [2] IMPLICIT UnknownInfo (NULL)
		}
		b.AddASN1GeneralizedTime(thisUpdate.UTC())
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) { b.AddASN1GeneralizedTime(nextUpdate.UTC()) })
	})
}
