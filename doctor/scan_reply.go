package doctor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// maxFlight bounds how much of a server's first flight the scanner reads:
// enough for a ServerHello, a long certificate chain, a ServerKeyExchange
// and a stapled OCSP response.
const maxFlight = 256 << 10

// helloRetryRandom is the Random of a HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// errNotTLS reports a reply that is not a TLS record stream at all.
var errNotTLS = errors.New("the reply is not TLS")

// serverHello is what the scanner needs from a ServerHello or
// HelloRetryRequest (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
type serverHello struct {
	legacyVersion uint16
	// version is the negotiated version: supported_versions when present,
	// legacy_version otherwise.
	version     uint16
	retry       bool // a HelloRetryRequest
	cipher      uint16
	compression uint8
	// group is the key_share group (selected_group in a HelloRetryRequest).
	group         uint16
	hasKeyShare   bool
	renegInfo     bool
	statusRequest bool
	sessionTicket bool
	extensions    []uint16
}

// serverKeyExchange holds the parameters of a TLS 1.0–1.2 ServerKeyExchange
// (RFC 8422 §5.4, RFC 5246 §7.4.3).
type serverKeyExchange struct {
	group     uint16 // named curve, ECDHE only
	dhBits    int    // prime size, DHE only
	sigScheme uint16 // TLS 1.2 only
	hasScheme bool
}

// serverFlight is what the scanner parsed from the server's first flight.
type serverFlight struct {
	// sslv2 is set when the server answered with an SSL 2.0 SERVER-HELLO.
	sslv2        bool
	sslv2Ciphers int
	alert        *tlsregistry.Alert
	alertLevel   uint8
	hello        *serverHello
	certificates int
	keyExchange  *serverKeyExchange
	certStatus   bool
	certRequest  bool
	helloDone    bool
	// encrypted is set once records the scanner cannot read follow the
	// ServerHello (TLS 1.3).
	encrypted bool
	// partial is set when the data ended inside a record or message.
	partial bool
}

// byteReader is a minimal cursor over untrusted bytes.
type byteReader struct {
	b   []byte
	bad bool
}

func (r *byteReader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *byteReader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *byteReader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *byteReader) vec(lenBytes int) []byte {
	n := 0
	for range lenBytes {
		n = n<<8 | int(r.u8())
	}
	if r.bad {
		return nil
	}
	return r.bytes(n)
}

// describeNonTLS says what a non-TLS reply looks like, so the user learns
// that the port speaks HTTP or SMTP rather than reading "decode error".
func describeNonTLS(b []byte) string {
	head := b[:min(len(b), 40)]
	switch {
	case bytes.HasPrefix(b, []byte("HTTP/")):
		return "the port speaks HTTP, not TLS (use the HTTPS port, or --starttls where the protocol has it)"
	case bytes.HasPrefix(b, []byte("220 ")) || bytes.HasPrefix(b, []byte("220-")):
		return "the port greets like SMTP or FTP; TLS needs STARTTLS there"
	case bytes.HasPrefix(b, []byte("* OK")):
		return "the port greets like IMAP; TLS needs STARTTLS there"
	case bytes.HasPrefix(b, []byte("SSH-")):
		return "the port speaks SSH, not TLS"
	}
	return fmt.Sprintf("first bytes %q", head)
}

// parseServerFlight parses as much of a server's reply to a ClientHello as
// the scanner needs. It never fails on a truncated stream (it sets partial);
// it fails on data that cannot be TLS or on malformed handshake messages.
func parseServerFlight(b []byte) (*serverFlight, error) {
	f := &serverFlight{}
	if len(b) == 0 {
		f.partial = true
		return f, nil
	}
	if b[0]&0x80 != 0 && len(b) >= 3 {
		return f, parseSSLv2Reply(f, b)
	}
	var hs []byte // handshake messages, reassembled across records
	for len(b) > 0 {
		if b[0] < contentChangeCipherSpec || b[0] > contentApplicationData {
			return f, fmt.Errorf("%w: %s", errNotTLS, describeNonTLS(b))
		}
		if len(b) < 5 {
			f.partial = true
			break
		}
		if b[1] != 3 && !(b[1] == 0 && b[2] == 0) {
			return f, fmt.Errorf("%w: record version %02X%02X (%s)", errNotTLS, b[1], b[2], describeNonTLS(b))
		}
		n := int(binary.BigEndian.Uint16(b[3:5]))
		if n > 1<<14+2048 {
			return f, fmt.Errorf("%w: record of %d bytes exceeds the TLS limit (%s)", errNotTLS, n, describeNonTLS(b))
		}
		if len(b) < 5+n {
			f.partial = true
			break
		}
		typ, body := b[0], b[5:5+n]
		b = b[5+n:]
		switch typ {
		case contentAlert:
			if len(body) < 2 {
				return f, fmt.Errorf("alert record of %d bytes", len(body))
			}
			if f.alert == nil {
				a, ok := tlsregistry.AlertByCode(body[1])
				if !ok {
					a = tlsregistry.Alert{Code: body[1], Name: fmt.Sprintf("alert(%d)", body[1])}
				}
				f.alert, f.alertLevel = &a, body[0]
			}
		case contentHandshake:
			if f.encrypted {
				continue
			}
			hs = append(hs, body...)
			if len(hs) > maxFlight {
				return f, fmt.Errorf("handshake flight exceeds %d bytes", maxFlight)
			}
		case contentChangeCipherSpec, contentApplicationData:
			// TLS 1.3 encrypts everything after ServerHello; the compatibility
			// ChangeCipherSpec (RFC 8446 §D.4) comes first.
			if len(hs) > 0 {
				f.encrypted = true
			}
		}
		if f.alert != nil {
			break
		}
	}
	rest, err := parseHandshakes(f, hs)
	if err != nil {
		return f, err
	}
	if len(rest) > 0 {
		f.partial = true
	}
	return f, nil
}

// parseHandshakes parses complete handshake messages and returns the bytes
// of a trailing incomplete one.
func parseHandshakes(f *serverFlight, hs []byte) ([]byte, error) {
	for len(hs) >= 4 {
		typ := hs[0]
		n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if n > maxFlight {
			return nil, fmt.Errorf("handshake message %d claims %d bytes", typ, n)
		}
		if len(hs) < 4+n {
			return hs, nil
		}
		body := hs[4 : 4+n]
		hs = hs[4+n:]
		switch typ {
		case hsServerHello:
			if f.hello != nil {
				return nil, errors.New("two ServerHello messages")
			}
			sh, err := parseServerHello(body)
			if err != nil {
				return nil, err
			}
			f.hello = sh
			if sh.version == 0x0304 {
				// The rest of a TLS 1.3 flight is encrypted; a HelloRetryRequest
				// ends the flight.
				return nil, nil
			}
		case hsCertificate:
			f.certificates = countCertificates(body)
		case hsServerKeyExchange:
			if f.hello == nil {
				return nil, errors.New("ServerKeyExchange before ServerHello")
			}
			ske, err := parseServerKeyExchange(body, f.hello)
			if err != nil {
				return nil, err
			}
			f.keyExchange = ske
		case hsCertificateStatus:
			f.certStatus = true
		case hsCertificateReq:
			f.certRequest = true
		case hsServerHelloDone:
			f.helloDone = true
			return nil, nil
		}
	}
	return hs, nil
}

func parseServerHello(b []byte) (*serverHello, error) {
	r := &byteReader{b: b}
	sh := &serverHello{legacyVersion: r.u16()}
	sh.version = sh.legacyVersion
	random := r.bytes(32)
	sh.retry = bytes.Equal(random, helloRetryRandom)
	r.vec(1) // legacy_session_id_echo
	sh.cipher = r.u16()
	sh.compression = r.u8()
	if r.bad {
		return nil, errors.New("ServerHello is truncated")
	}
	if len(r.b) == 0 {
		return sh, nil // SSL 3.0 and early TLS servers may omit extensions
	}
	exts := &byteReader{b: r.vec(2)}
	if r.bad {
		return nil, errors.New("ServerHello extensions are truncated")
	}
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := &byteReader{b: exts.vec(2)}
		if exts.bad {
			return nil, errors.New("ServerHello extension is truncated")
		}
		sh.extensions = append(sh.extensions, typ)
		switch typ {
		case extIDSupportedVersions:
			sh.version = data.u16()
		case extIDKeyShare:
			sh.group, sh.hasKeyShare = data.u16(), true
		case extIDRenegotiationInfo:
			sh.renegInfo = true
		case extIDStatusRequest:
			sh.statusRequest = true
		case extIDSessionTicket:
			sh.sessionTicket = true
		}
		if data.bad {
			return nil, fmt.Errorf("ServerHello extension %04X is malformed", typ)
		}
	}
	return sh, nil
}

// countCertificates counts the entries of a TLS 1.0–1.2 Certificate message.
func countCertificates(b []byte) int {
	r := &byteReader{b: b}
	list := &byteReader{b: r.vec(3)}
	n := 0
	for len(list.b) > 0 && !list.bad {
		list.vec(3)
		if !list.bad {
			n++
		}
	}
	return n
}

func parseServerKeyExchange(b []byte, sh *serverHello) (*serverKeyExchange, error) {
	s, _ := tlsregistry.SuiteByCode(sh.cipher)
	r := &byteReader{b: b}
	ske := &serverKeyExchange{}
	switch s.KeyExchange {
	case "ECDHE", "ECDHE_PSK":
		if s.KeyExchange == "ECDHE_PSK" {
			r.vec(2) // psk_identity_hint
		}
		if ct := r.u8(); ct != 3 && !r.bad {
			return nil, fmt.Errorf("ServerKeyExchange uses curve type %d, not named_curve (RFC 8422 §5.4)", ct)
		}
		ske.group = r.u16()
		r.vec(1) // public point
	case "DHE", "DHE_PSK":
		if s.KeyExchange == "DHE_PSK" {
			r.vec(2)
		}
		p := r.vec(2)
		for len(p) > 0 && p[0] == 0 {
			p = p[1:]
		}
		if len(p) > 0 {
			ske.dhBits = (len(p)-1)*8 + bitLen8(p[0])
		}
		r.vec(2) // g
		r.vec(2) // Ys
	default:
		return ske, nil // PSK, SRP, anything else: parameters not needed
	}
	if r.bad {
		return nil, errors.New("ServerKeyExchange is truncated")
	}
	if s.Auth != "anon" && sh.version >= 0x0303 && len(r.b) >= 2 {
		ske.sigScheme, ske.hasScheme = r.u16(), true
	}
	return ske, nil
}

func bitLen8(b byte) int {
	n := 0
	for ; b != 0; b >>= 1 {
		n++
	}
	return n
}

// parseSSLv2Reply reads an SSL 2.0 SERVER-HELLO (draft-hickman §2.6).
func parseSSLv2Reply(f *serverFlight, b []byte) error {
	n := int(b[0]&0x7F)<<8 | int(b[1])
	if len(b) < 2+n {
		f.partial = true
		return nil
	}
	r := &byteReader{b: b[2 : 2+n]}
	if typ := r.u8(); typ != 4 {
		if typ == 0 { // MSG-ERROR
			return nil
		}
		return fmt.Errorf("%w: %s", errNotTLS, describeNonTLS(b))
	}
	r.u8() // session id hit
	r.u8() // certificate type
	version := r.u16()
	certLen := r.u16()
	specsLen := r.u16()
	r.u16() // connection id length
	r.bytes(int(certLen))
	r.bytes(int(specsLen))
	if r.bad {
		return errors.New("SSL 2.0 SERVER-HELLO is truncated")
	}
	if version != 0x0002 {
		return fmt.Errorf("SSL 2.0 SERVER-HELLO with version %04X", version)
	}
	f.sslv2, f.sslv2Ciphers = true, int(specsLen)/3
	return nil
}
