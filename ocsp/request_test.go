package ocsp

import (
	"bytes"
	"crypto"
	"errors"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

// reqSpec describes an OCSPRequest for buildRequest; the zero value of
// each field leaves that part out.
type reqSpec struct {
	version   *int64
	requestor bool
	certIDs   [][]byte // DER CertIDs
	exts      [][]byte // DER Extension elements in requestExtensions
	signed    bool
}

func buildRequest(s reqSpec) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if s.version != nil {
				b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) { b.AddASN1Int64(*s.version) })
			}
			if s.requestor {
				b.AddASN1(tagExplicit1, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte("client.example")) })
				})
			}
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, c := range s.certIDs {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(c) })
				}
			})
			if len(s.exts) > 0 {
				b.AddASN1(tagExplicit2, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, e := range s.exts {
							b.AddBytes(e)
						}
					})
				})
			}
		})
		if s.signed {
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddBytes(mustAlgID(oidECDSASHA256))
					b.AddASN1BitString([]byte{1, 2, 3})
				})
			})
		}
	})
	return b.BytesOrPanic()
}

func mustAlgID(oid []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
	})
	return b.BytesOrPanic()
}

func extension(oid []byte, critical bool, value []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1OctetString(value)
	})
	return b.BytesOrPanic()
}

func octetString(v []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(v)
	return b.BytesOrPanic()
}

// rawCertID builds a CertID from its parts; params is appended after the
// hash OID inside AlgorithmIdentifier.
func rawCertID(oid, params, name, key []byte, serial *big.Int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
			b.AddBytes(params)
		})
		b.AddASN1OctetString(name)
		b.AddASN1OctetString(key)
		b.AddASN1BigInt(serial)
	})
	return b.BytesOrPanic()
}

// certIDOf returns the CertID a client would send for serial of ca.
func certIDOf(t testing.TB, ca *testCA, h crypto.Hash, serial *big.Int) []byte {
	t.Helper()
	p, err := prepare(ca.issuer(), testStart)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range hashes {
		if x.hash == h {
			return []byte(certIDKey(p, h, x.oid, serial, true))
		}
	}
	t.Fatalf("no hash %v", h)
	return nil
}

func TestParseRequest(t *testing.T) {
	ca := newRoot(t, "Parse CA", "p256")
	ca.responderKey = ca.key
	serial := big.NewInt(0x1234)
	id1 := certIDOf(t, ca, crypto.SHA1, serial)
	id256 := certIDOf(t, ca, crypto.SHA256, big.NewInt(99))
	zero, one := int64(0), int64(1)
	nonce16 := bytes.Repeat([]byte{0xab}, 16)
	xreq, err := xocsp.CreateRequest(ca.leaf(t, "x"), ca.cert, &xocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	unknownOID := []byte{0x2a, 0x03, 0x04}

	tests := []struct {
		name    string
		der     []byte
		wantErr bool
		check   func(t *testing.T, r *Request)
	}{
		{name: "x/crypto/ocsp request", der: xreq, check: func(t *testing.T, r *Request) {
			if len(r.CertIDs) != 1 || r.CertIDs[0].HashAlgorithm != crypto.SHA256 || len(r.CertIDs[0].IssuerKeyHash) != 32 {
				t.Errorf("got %+v", r.CertIDs)
			}
		}},
		{name: "one SHA-1 CertID", der: buildRequest(reqSpec{certIDs: [][]byte{id1}}), check: func(t *testing.T, r *Request) {
			c := r.CertIDs[0]
			if c.HashAlgorithm != crypto.SHA1 || c.SerialNumber().Cmp(serial) != 0 || !bytes.Equal(c.Raw, id1) {
				t.Errorf("got %+v", c)
			}
			if r.Nonce != nil || r.Signed || r.RequestorName != nil {
				t.Errorf("unexpected optional fields: %+v", r)
			}
		}},
		{name: "several CertIDs", der: buildRequest(reqSpec{certIDs: [][]byte{id1, id256, id1}}), check: func(t *testing.T, r *Request) {
			if len(r.CertIDs) != 3 || r.CertIDs[1].HashAlgorithm != crypto.SHA256 || r.CertIDs[1].SerialNumber().Int64() != 99 {
				t.Errorf("got %+v", r.CertIDs)
			}
		}},
		{name: "explicit version v1", der: buildRequest(reqSpec{version: &zero, certIDs: [][]byte{id1}})},
		{name: "version v2", der: buildRequest(reqSpec{version: &one, certIDs: [][]byte{id1}}), wantErr: true},
		{name: "requestorName", der: buildRequest(reqSpec{requestor: true, certIDs: [][]byte{id1}}), check: func(t *testing.T, r *Request) {
			if !bytes.Contains(r.RequestorName, []byte("client.example")) {
				t.Errorf("requestorName %x", r.RequestorName)
			}
		}},
		{name: "signed request accepted", der: buildRequest(reqSpec{signed: true, certIDs: [][]byte{id1}}), check: func(t *testing.T, r *Request) {
			if !r.Signed {
				t.Error("Signed not set")
			}
		}},
		{name: "nonce in OCTET STRING (RFC 8954)", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, octetString(nonce16))}}), check: func(t *testing.T, r *Request) {
			if !bytes.Equal(r.Nonce, nonce16) || !bytes.Equal(r.NonceExtnValue, octetString(nonce16)) {
				t.Errorf("nonce %x extnValue %x", r.Nonce, r.NonceExtnValue)
			}
		}},
		{name: "legacy raw nonce", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, nonce16)}}), check: func(t *testing.T, r *Request) {
			if !bytes.Equal(r.Nonce, nonce16) || !bytes.Equal(r.NonceExtnValue, nonce16) {
				t.Errorf("nonce %x extnValue %x", r.Nonce, r.NonceExtnValue)
			}
		}},
		{name: "nonce of 32 octets", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, octetString(make([]byte, 32)))}})},
		{name: "nonce of 33 octets", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, octetString(make([]byte, 33)))}}), wantErr: true},
		{name: "raw nonce of 40 octets", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, make([]byte, 40))}}), wantErr: true},
		{name: "empty nonce", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, octetString(nil))}}), wantErr: true},
		{name: "unknown non-critical extension ignored", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(unknownOID, false, []byte{5, 0})}})},
		{name: "unknown critical extension", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(unknownOID, true, []byte{5, 0})}}), wantErr: true},
		{name: "duplicate extension", der: buildRequest(reqSpec{certIDs: [][]byte{id1}, exts: [][]byte{extension(oidNonce, false, nonce16), extension(oidNonce, false, nonce16)}}), wantErr: true},
		{name: "unknown hash algorithm kept", der: buildRequest(reqSpec{certIDs: [][]byte{rawCertID(unknownOID, []byte{5, 0}, []byte{1}, []byte{2}, serial)}}), check: func(t *testing.T, r *Request) {
			if r.CertIDs[0].HashAlgorithm != 0 {
				t.Errorf("hash %v", r.CertIDs[0].HashAlgorithm)
			}
		}},
		{name: "SHA-1 without NULL parameters", der: buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, nil, make([]byte, 20), make([]byte, 20), serial)}})},
		{name: "SHA-1 with non-NULL parameters", der: buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, []byte{2, 1, 0}, make([]byte, 20), make([]byte, 20), serial)}}), wantErr: true},
		{name: "hash longer than 64 octets", der: buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, nil, make([]byte, 65), make([]byte, 20), serial)}}), wantErr: true},
		{name: "serial longer than 64 octets", der: buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, nil, make([]byte, 20), make([]byte, 20), new(big.Int).Lsh(big.NewInt(1), 520))}}), wantErr: true},
		{name: "non-minimal serial", der: buildRequest(reqSpec{certIDs: [][]byte{bytes.Replace(id1, []byte{2, 2, 0x12, 0x34}, []byte{2, 3, 0, 0x12, 0x34}, 1)}}), wantErr: true},
		{name: "empty requestList", der: buildRequest(reqSpec{}), wantErr: true},
		{name: "100 CertIDs", der: buildRequest(reqSpec{certIDs: repeat(id1, 100)})},
		{name: "101 CertIDs", der: buildRequest(reqSpec{certIDs: repeat(id1, 101)}), wantErr: true},
		{name: "trailing garbage", der: append(buildRequest(reqSpec{certIDs: [][]byte{id1}}), 0), wantErr: true},
		{name: "truncated", der: buildRequest(reqSpec{certIDs: [][]byte{id1}})[:30], wantErr: true},
		{name: "garbage", der: []byte("GET / HTTP/1.1\r\n\r\n"), wantErr: true},
		{name: "empty", der: nil, wantErr: true},
		{name: "BER indefinite length", der: []byte{0x30, 0x80, 0x00, 0x00}, wantErr: true},
		{name: "non-minimal length", der: append([]byte{0x30, 0x81, byte(len(buildRequest(reqSpec{certIDs: [][]byte{id1}})) - 2)}, buildRequest(reqSpec{certIDs: [][]byte{id1}})[2:]...), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest(tt.der)
			if tt.wantErr {
				var re *ResponseError
				if !errors.As(err, &re) || re.Status != MalformedRequest {
					t.Fatalf("got %v, want a malformedRequest ResponseError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestSerialNumberNegative(t *testing.T) {
	for _, n := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, -256, 1 << 40} {
		c := CertID{Serial: new(big.Int).SetInt64(n).Bytes()}
		var b cryptobyte.Builder
		b.AddASN1Int64(n)
		der := b.BytesOrPanic()
		c.Serial = der[2:]
		if got := c.SerialNumber(); got.Int64() != n {
			t.Errorf("serial %d: got %v", n, got)
		}
	}
}
