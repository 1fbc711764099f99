package doctor

import (
	"bytes"
	"net"
	"sync"

	"golang.org/x/crypto/cryptobyte"
)

// maxWire bounds how many bytes of each direction a wireConn keeps: enough
// for any sane plaintext handshake flight (a 256 KiB certificate message is
// crypto/tls's own limit), bounded for absurd ones.
const maxWire = 512 << 10

// wireConn records the bytes a TLS handshake carries, so the doctor can read
// what crypto/tls parses but does not expose.
type wireConn struct {
	net.Conn
	mu      sync.Mutex
	in, out []byte
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in = appendBounded(c.in, p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out = appendBounded(c.out, p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *wireConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in)
}

func (c *wireConn) sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out)
}

func appendBounded(dst, p []byte) []byte {
	if room := maxWire - len(dst); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(dst, p...)
}

// TLS record content types (RFC 8446 §5.1) and handshake message types
// (RFC 8446 §4, RFC 5246 §7.4).
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23

	msgClientHello        = 1
	msgServerHello        = 2
	msgNewSessionTicket   = 4
	msgCertificate        = 11
	msgServerKeyExchange  = 12
	msgCertificateRequest = 13
	msgServerHelloDone    = 14
	msgCertificateStatus  = 22

	extSupportedGroups    = 10
	extSignatureAlgs      = 13
	extSupportedVersions  = 43
	extSessionTicket      = 35
	extRenegotiationInfo  = 0xff01
	extExtendedMasterSecr = 23
)

// flight is what the plaintext part of one direction of a handshake
// carried.
type flight struct {
	// NotTLS describes the peer's first bytes when they are not a TLS
	// record ("HTTP", "an SMTP greeting", ...); empty otherwise.
	NotTLS string
	// Messages are the plaintext handshake message types, in order.
	Messages []uint8
	// Alert is the first plaintext alert: level, description.
	Alert    []byte
	Hello    *hello
	CertReq  *rawCertificateRequest
	Complete bool // the parse reached a ChangeCipherSpec or encrypted record
}

// hello is the part of a ClientHello or ServerHello the doctor reports.
type hello struct {
	Version    uint16   // negotiated (ServerHello) or highest offered (ClientHello)
	Suites     []uint16 // the ClientHello's offer; the ServerHello's choice
	Groups     []uint16
	SigAlgs    []uint16
	Versions   []uint16
	Extensions []uint16
	SessionID  []byte
}

// rawCertificateRequest is a TLS 1.2 CertificateRequest (RFC 5246 §7.4.4).
type rawCertificateRequest struct {
	Types   []uint8
	SigAlgs []uint16
	CAs     [][]byte
}

// parseFlight parses the records in b until encryption starts. It never
// fails: whatever cannot be parsed is left out.
func parseFlight(b []byte, fromServer bool) flight {
	var f flight
	if len(b) == 0 {
		return f
	}
	if b[0] < recordChangeCipherSpec || b[0] > 24 || (len(b) >= 3 && b[1] != 3) {
		f.NotTLS = identifyPlaintext(b)
		return f
	}
	var hs []byte
	for len(b) >= 5 {
		typ := b[0]
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			break
		}
		payload := b[5 : 5+n]
		b = b[5+n:]
		switch typ {
		case recordHandshake:
			hs = append(hs, payload...)
			continue
		case recordAlert:
			if len(payload) == 2 && f.Alert == nil {
				f.Alert = bytes.Clone(payload)
			}
			continue
		}
		f.Complete = true
		break
	}
	for len(hs) >= 4 {
		typ := hs[0]
		n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if len(hs) < 4+n {
			break
		}
		body := hs[4 : 4+n]
		hs = hs[4+n:]
		f.Messages = append(f.Messages, typ)
		switch typ {
		case msgClientHello:
			if !fromServer && f.Hello == nil {
				f.Hello = parseHello(body, false)
			}
		case msgServerHello:
			if fromServer && f.Hello == nil {
				f.Hello = parseHello(body, true)
			}
		case msgCertificateRequest:
			if fromServer && f.CertReq == nil && f.Hello != nil && f.Hello.Version <= 0x0303 {
				f.CertReq = parseCertificateRequest12(body, f.Hello.Version)
			}
		}
	}
	return f
}

// parseHello parses a ClientHello (RFC 8446 §4.1.2) or ServerHello
// (§4.1.3); nil if malformed.
func parseHello(body []byte, server bool) *hello {
	s := cryptobyte.String(body)
	h := &hello{}
	var random, sid []byte
	if !s.ReadUint16(&h.Version) || !s.ReadBytes(&random, 32) {
		return nil
	}
	var sidS cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&sidS) {
		return nil
	}
	sid = sidS
	h.SessionID = bytes.Clone(sid)
	if server {
		var suite uint16
		var comp uint8
		if !s.ReadUint16(&suite) || !s.ReadUint8(&comp) {
			return nil
		}
		h.Suites = []uint16{suite}
	} else {
		var suites, comps cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&suites) || !s.ReadUint8LengthPrefixed(&comps) {
			return nil
		}
		for !suites.Empty() {
			var c uint16
			if !suites.ReadUint16(&c) {
				return nil
			}
			h.Suites = append(h.Suites, c)
		}
	}
	if s.Empty() {
		return h
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return h
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return h
		}
		h.Extensions = append(h.Extensions, typ)
		switch typ {
		case extSupportedGroups:
			h.Groups = readUint16List(data)
		case extSignatureAlgs:
			h.SigAlgs = readUint16List(data)
		case extSupportedVersions:
			if server {
				var v uint16
				if data.ReadUint16(&v) {
					h.Version = v
				}
			} else {
				var list cryptobyte.String
				if data.ReadUint8LengthPrefixed(&list) {
					for !list.Empty() {
						var v uint16
						if !list.ReadUint16(&v) {
							break
						}
						h.Versions = append(h.Versions, v)
					}
				}
			}
		}
	}
	return h
}

func readUint16List(data cryptobyte.String) []uint16 {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) {
		return nil
	}
	var out []uint16
	for !list.Empty() {
		var v uint16
		if !list.ReadUint16(&v) {
			break
		}
		out = append(out, v)
	}
	return out
}

// parseCertificateRequest12 parses a TLS 1.0–1.2 CertificateRequest: the
// certificate types, (TLS 1.2 only) the signature algorithms, and the
// acceptable CA names as DER DistinguishedNames.
func parseCertificateRequest12(body []byte, version uint16) *rawCertificateRequest {
	s := cryptobyte.String(body)
	r := &rawCertificateRequest{}
	var types cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&types) {
		return nil
	}
	r.Types = bytes.Clone(types)
	if version >= 0x0303 {
		var algs cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&algs) {
			return nil
		}
		for !algs.Empty() {
			var a uint16
			if !algs.ReadUint16(&a) {
				return nil
			}
			r.SigAlgs = append(r.SigAlgs, a)
		}
	}
	var cas cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&cas) {
		return nil
	}
	for !cas.Empty() {
		var dn cryptobyte.String
		if !cas.ReadUint16LengthPrefixed(&dn) {
			return nil
		}
		r.CAs = append(r.CAs, bytes.Clone(dn))
	}
	return r
}

// certificateTypeNames are RFC 5246 §7.4.4 / RFC 8422 §5.5 ClientCertificateType
// values, spelled as OpenSSL's s_client prints them.
var certificateTypeNames = map[uint8]string{
	1:  "RSA sign",
	2:  "DSA sign",
	3:  "RSA fixed DH",
	4:  "DSS fixed DH",
	5:  "RSA ephemeral DH",
	6:  "DSS ephemeral DH",
	20: "Fortezza DMS",
	64: "ECDSA sign",
	65: "RSA fixed ECDH",
	66: "ECDSA fixed ECDH",
	67: "GOST01 sign",
	21: "GOST94 sign",
}

// identifyPlaintext names what a non-TLS peer sent first.
func identifyPlaintext(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	p := func(s string) bool { return bytes.HasPrefix(b, []byte(s)) }
	switch {
	case p("HTTP/"):
		return "HTTP"
	case p("220 ") || p("220-"):
		return "an SMTP or FTP greeting (try --starttls smtp)"
	case p("* OK"):
		return "an IMAP greeting (try --starttls imap)"
	case p("+OK"):
		return "a POP3 greeting"
	case p("SSH-"):
		return "SSH"
	case b[0] == 0x30:
		return "a BER message (plain LDAP? try --starttls ldap)"
	case b[0] == 0x80 || b[0] == 0x00:
		return "an SSL 2.0 record or binary data"
	}
	printable := 0
	for _, c := range b[:min(len(b), 64)] {
		if c >= 0x20 && c < 0x7f || c == '\r' || c == '\n' || c == '\t' {
			printable++
		}
	}
	if printable == min(len(b), 64) {
		return "text, not TLS"
	}
	return "binary data that is not a TLS record"
}
