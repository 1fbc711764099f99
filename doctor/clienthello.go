package doctor

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"io"
)

// TLS record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
const (
	contentChangeCipherSpec = 20
	contentAlert            = 21
	contentHandshake        = 22
	contentApplicationData  = 23
)

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 6066 §8).
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsCertificate       = 11
	hsServerKeyExchange = 12
	hsCertificateReq    = 13
	hsServerHelloDone   = 14
	hsCertificateStatus = 22
)

// Extension code points (IANA "TLS ExtensionType Values").
const (
	extIDServerName          = 0x0000
	extIDStatusRequest       = 0x0005
	extIDSupportedGroups     = 0x000A
	extIDECPointFormats      = 0x000B
	extIDSignatureAlgorithms = 0x000D
	extIDSessionTicket       = 0x0023
	extIDSupportedVersions   = 0x002B
	extIDPSKModes            = 0x002D
	extIDKeyShare            = 0x0033
	extIDRenegotiationInfo   = 0xFF01
)

// keyShare is one KeyShareEntry (RFC 8446 §4.2.8).
type keyShare struct {
	group uint16
	data  []byte
}

// clientHello is the ClientHello the scanner sends. Unlike crypto/tls it may
// offer any suite, version, group or signature scheme, including ones it
// could never complete a handshake with: the scan only needs the server's
// first flight.
type clientHello struct {
	// recordVersion goes into the record header; 0 means TLS 1.0 (0x0301),
	// which every server since SSL 3.0 accepts on a first record.
	recordVersion uint16
	// version is legacy_version (client_version in TLS 1.2).
	version     uint16
	random      [32]byte
	sessionID   []byte
	suites      []uint16
	compression []uint8 // empty means {null}

	serverName string
	groups     []uint16
	// pointFormats adds ec_point_formats {uncompressed} (RFC 8422 §5.1.2).
	pointFormats bool
	sigSchemes   []uint16
	// versions is supported_versions (RFC 8446 §4.2.1); nil omits it.
	versions []uint16
	// keyShares is key_share; withKeyShare sends the extension even when
	// keyShares is empty, which asks for a HelloRetryRequest.
	keyShares     []keyShare
	withKeyShare  bool
	renegInfo     bool
	statusRequest bool
	sessionTicket bool
	pskModes      bool
	// noExtensions sends a bare SSL 3.0 style hello.
	noExtensions bool
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

// appendVec appends body prefixed by its length in n bytes (1, 2 or 3).
func appendVec(b []byte, n int, body []byte) []byte {
	l := len(body)
	switch n {
	case 1:
		b = append(b, byte(l))
	case 2:
		b = append(b, byte(l>>8), byte(l))
	case 3:
		b = append(b, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(b, body...)
}

func u16List(vs []uint16) []byte {
	b := make([]byte, 0, 2*len(vs))
	for _, v := range vs {
		b = appendU16(b, v)
	}
	return b
}

func appendExt(b []byte, typ uint16, body []byte) []byte {
	return appendVec(appendU16(b, typ), 2, body)
}

// extensions encodes the extensions block body (without its length).
func (h *clientHello) extensions() []byte {
	var e []byte
	if h.serverName != "" {
		// RFC 6066 §3: ServerNameList of one host_name.
		name := appendVec([]byte{0}, 2, []byte(h.serverName))
		e = appendExt(e, extIDServerName, appendVec(nil, 2, name))
	}
	if len(h.groups) > 0 {
		e = appendExt(e, extIDSupportedGroups, appendVec(nil, 2, u16List(h.groups)))
	}
	if h.pointFormats {
		e = appendExt(e, extIDECPointFormats, []byte{1, 0})
	}
	if len(h.sigSchemes) > 0 {
		e = appendExt(e, extIDSignatureAlgorithms, appendVec(nil, 2, u16List(h.sigSchemes)))
	}
	if h.statusRequest {
		// RFC 6066 §8: ocsp, empty responder_id_list, empty extensions.
		e = appendExt(e, extIDStatusRequest, []byte{1, 0, 0, 0, 0})
	}
	if h.sessionTicket {
		e = appendExt(e, extIDSessionTicket, nil)
	}
	if len(h.versions) > 0 {
		e = appendExt(e, extIDSupportedVersions, appendVec(nil, 1, u16List(h.versions)))
	}
	if h.pskModes {
		e = appendExt(e, extIDPSKModes, []byte{1, 1}) // psk_dhe_ke
	}
	if h.withKeyShare || len(h.keyShares) > 0 {
		var ks []byte
		for _, k := range h.keyShares {
			ks = appendVec(appendU16(ks, k.group), 2, k.data)
		}
		e = appendExt(e, extIDKeyShare, appendVec(nil, 2, ks))
	}
	if h.renegInfo {
		e = appendExt(e, extIDRenegotiationInfo, []byte{0})
	}
	return e
}

// marshal returns the ClientHello as one or more TLS records.
func (h *clientHello) marshal() []byte {
	body := appendU16(nil, h.version)
	body = append(body, h.random[:]...)
	body = appendVec(body, 1, h.sessionID)
	body = appendVec(body, 2, u16List(h.suites))
	comp := h.compression
	if len(comp) == 0 {
		comp = []uint8{0}
	}
	body = appendVec(body, 1, comp)
	if !h.noExtensions {
		body = appendVec(body, 2, h.extensions())
	}
	msg := appendVec([]byte{hsClientHello}, 3, body)

	rv := h.recordVersion
	if rv == 0 {
		rv = 0x0301
	}
	var out []byte
	for len(msg) > 0 {
		n := min(len(msg), 1<<14) // RFC 8446 §5.1: fragments of at most 2^14 bytes
		out = append(out, contentHandshake)
		out = appendU16(out, rv)
		out = appendVec(out, 2, msg[:n])
		msg = msg[n:]
	}
	return out
}

// sslv2ClientHello is an SSL 2.0 CLIENT-HELLO (draft-hickman-netscape-ssl-00
// §2.6) offering every SSL 2.0 cipher kind. Servers that still speak SSL 2.0
// answer with SERVER-HELLO; everyone else closes or sends garbage back.
func sslv2ClientHello(challenge [16]byte) []byte {
	kinds := []byte{
		0x01, 0x00, 0x80, // SSL_CK_RC4_128_WITH_MD5
		0x02, 0x00, 0x80, // SSL_CK_RC4_128_EXPORT40_WITH_MD5
		0x03, 0x00, 0x80, // SSL_CK_RC2_128_CBC_WITH_MD5
		0x04, 0x00, 0x80, // SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5
		0x05, 0x00, 0x80, // SSL_CK_IDEA_128_CBC_WITH_MD5
		0x06, 0x00, 0x40, // SSL_CK_DES_64_CBC_WITH_MD5
		0x07, 0x00, 0xC0, // SSL_CK_DES_192_EDE3_CBC_WITH_MD5
	}
	body := []byte{1, 0x00, 0x02} // MSG-CLIENT-HELLO, version 2
	body = appendU16(body, uint16(len(kinds)))
	body = appendU16(body, 0) // session id
	body = appendU16(body, uint16(len(challenge)))
	body = append(body, kinds...)
	body = append(body, challenge[:]...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

// newKeyShare makes a real key share for the groups crypto/ecdh implements,
// so servers that do support the group answer with ServerHello rather than
// HelloRetryRequest. Other groups return ok false; the caller then sends
// an empty key_share and reads the HelloRetryRequest.
func newKeyShare(group uint16, r io.Reader) (keyShare, bool) {
	var c ecdh.Curve
	switch group {
	case 0x001D:
		c = ecdh.X25519()
	case 0x0017:
		c = ecdh.P256()
	case 0x0018:
		c = ecdh.P384()
	case 0x0019:
		c = ecdh.P521()
	default:
		return keyShare{}, false
	}
	if r == nil {
		r = rand.Reader
	}
	k, err := c.GenerateKey(r)
	if err != nil {
		return keyShare{}, false
	}
	return keyShare{group: group, data: k.PublicKey().Bytes()}, true
}
