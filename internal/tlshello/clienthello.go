package tlshello

import (
	"crypto/tls"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Limits of what Parse reads. A ClientHello larger than maxHelloLength or
// spread over more than maxRecords records is refused; the Resumer then
// keeps the listener's configuration.
const (
	recordHeaderLen = 5
	maxRecordLen    = 1 << 14 // TLSPlaintext.length, RFC 8446 §5.1
	maxHelloLength  = 1 << 14 // handshake header + body
	maxRecords      = 64
)

// Code points (IANA TLS registries).
const (
	recordTypeHandshake    = 22
	handshakeClientHello   = 1
	extSupportedVersions   = 43
	extPSKKeyExchangeModes = 45
	extKeyShare            = 51
	extPreSharedKey        = 41
	pskModeDHE             = 1 // psk_dhe_ke
)

// ClientHello is what Parse extracts from a ClientHello: the fields a
// resumption decision needs, in the order the client sent them.
type ClientHello struct {
	CipherSuites      []uint16
	SupportedVersions []uint16      // supported_versions; nil when absent
	KeyShares         []tls.CurveID // the groups of key_share's entries
	PSKModes          []uint8       // psk_key_exchange_modes
	// PSKIdentities are pre_shared_key's identities (session tickets);
	// Binders is how many binders followed them.
	PSKIdentities []PSKIdentity
	Binders       int
}

// PSKIdentity is one PskIdentity of a pre_shared_key extension (RFC 8446
// §4.2.11). Identity aliases the parsed bytes.
type PSKIdentity struct {
	Identity            []byte
	ObfuscatedTicketAge uint32
}

// Errors of Parse.
var (
	ErrIncomplete = errors.New("tlshello: the records end before the ClientHello does")
	errMalformed  = errors.New("tlshello: malformed ClientHello")
)

// reassemble joins the fragments of the first handshake message carried
// by the handshake records at the start of b (RFC 8446 §5.1: a message
// may span records; records of other types may not interleave) and
// returns the message, header included.
func reassemble(b []byte) ([]byte, error) {
	var msg []byte
	want := -1
	for records := 0; ; records++ {
		if want >= 0 && len(msg) >= want {
			return msg[:want], nil
		}
		if records == maxRecords {
			return nil, fmt.Errorf("%w: spread over more than %d records", errMalformed, maxRecords)
		}
		if len(b) < recordHeaderLen {
			return nil, ErrIncomplete
		}
		typ, major, n := b[0], b[1], int(b[3])<<8|int(b[4])
		switch {
		case typ != recordTypeHandshake:
			return nil, fmt.Errorf("%w: record type %d, want handshake (22)", errMalformed, typ)
		case major != 3:
			return nil, fmt.Errorf("%w: record version %#x", errMalformed, uint16(b[1])<<8|uint16(b[2]))
		case n == 0 || n > maxRecordLen:
			return nil, fmt.Errorf("%w: record length %d", errMalformed, n)
		}
		if len(b) < recordHeaderLen+n {
			return nil, ErrIncomplete
		}
		if msg == nil && want < 0 && n >= 4 && len(b) >= recordHeaderLen+n {
			// Fast path: the whole message in the first record.
			body := b[recordHeaderLen : recordHeaderLen+n]
			if l := 4 + (int(body[1])<<16 | int(body[2])<<8 | int(body[3])); l <= n {
				if err := checkHeader(body); err != nil {
					return nil, err
				}
				return body[:l], nil
			}
		}
		msg = append(msg, b[recordHeaderLen:recordHeaderLen+n]...)
		b = b[recordHeaderLen+n:]
		if want < 0 && len(msg) >= 4 {
			if err := checkHeader(msg); err != nil {
				return nil, err
			}
			want = 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
		}
	}
}

func checkHeader(m []byte) error {
	if m[0] != handshakeClientHello {
		return fmt.Errorf("%w: handshake type %d, want client_hello (1)", errMalformed, m[0])
	}
	if l := 4 + (int(m[1])<<16 | int(m[2])<<8 | int(m[3])); l > maxHelloLength {
		return fmt.Errorf("%w: %d bytes, more than the %d read", errMalformed, l, maxHelloLength)
	}
	return nil
}

// Parse parses the ClientHello carried by the TLS records at the start
// of b, strictly: a length that overruns, trailing bytes inside the
// message, a repeated extension, pre_shared_key not last or a malformed
// extension this package reads are errors (records after the message are
// ignored). ErrIncomplete means b ends before the message does.
func Parse(b []byte) (*ClientHello, error) {
	msg, err := reassemble(b)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(msg[4:])
	var h ClientHello
	var version uint16
	var random, sessionID, suites, compression cryptobyte.String
	if !s.ReadUint16(&version) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites) < 2 || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed(&compression) || len(compression) < 1 {
		return nil, fmt.Errorf("%w: fixed fields", errMalformed)
	}
	h.CipherSuites = make([]uint16, 0, len(suites)/2)
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		h.CipherSuites = append(h.CipherSuites, id)
	}
	if s.Empty() {
		return &h, nil // no extensions (TLS 1.2 and older)
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, fmt.Errorf("%w: extensions block", errMalformed)
	}
	seen := make(map[uint16]bool, 24)
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, fmt.Errorf("%w: extension header", errMalformed)
		}
		if seen[typ] {
			return nil, fmt.Errorf("%w: extension %d repeated", errMalformed, typ)
		}
		seen[typ] = true
		if seen[extPreSharedKey] && typ != extPreSharedKey {
			return nil, fmt.Errorf("%w: pre_shared_key is not the last extension", errMalformed)
		}
		var err error
		switch typ {
		case extSupportedVersions:
			err = h.parseVersions(data)
		case extKeyShare:
			err = h.parseKeyShares(data)
		case extPSKKeyExchangeModes:
			err = h.parsePSKModes(data)
		case extPreSharedKey:
			err = h.parsePreSharedKey(data)
		}
		if err != nil {
			return nil, err
		}
	}
	return &h, nil
}

// parseVersions reads ProtocolVersion versions<2..254> (RFC 8446 §4.2.1).
func (h *ClientHello) parseVersions(data cryptobyte.String) error {
	var list cryptobyte.String
	if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || len(list) < 2 || len(list)%2 != 0 {
		return fmt.Errorf("%w: supported_versions", errMalformed)
	}
	h.SupportedVersions = make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		h.SupportedVersions = append(h.SupportedVersions, v)
	}
	return nil
}

// parseKeyShares reads KeyShareEntry client_shares<0..2^16-1>, each
// NamedGroup group and opaque key_exchange<1..2^16-1> (RFC 8446 §4.2.8).
func (h *ClientHello) parseKeyShares(data cryptobyte.String) error {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return fmt.Errorf("%w: key_share", errMalformed)
	}
	for !list.Empty() {
		var group uint16
		var key cryptobyte.String
		if !list.ReadUint16(&group) || !list.ReadUint16LengthPrefixed(&key) || key.Empty() {
			return fmt.Errorf("%w: key_share entry", errMalformed)
		}
		h.KeyShares = append(h.KeyShares, tls.CurveID(group))
	}
	return nil
}

// parsePSKModes reads PskKeyExchangeMode ke_modes<1..255> (RFC 8446
// §4.2.9).
func (h *ClientHello) parsePSKModes(data cryptobyte.String) error {
	var list cryptobyte.String
	if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || list.Empty() {
		return fmt.Errorf("%w: psk_key_exchange_modes", errMalformed)
	}
	h.PSKModes = []uint8(list)
	return nil
}

// parsePreSharedKey reads OfferedPsks (RFC 8446 §4.2.11): PskIdentity
// identities<7..2^16-1> (opaque identity<1..2^16-1>, uint32
// obfuscated_ticket_age), PskBinderEntry binders<33..2^16-1> (opaque
// <32..255>).
func (h *ClientHello) parsePreSharedKey(data cryptobyte.String) error {
	var ids, binders cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&ids) || !data.ReadUint16LengthPrefixed(&binders) || !data.Empty() ||
		ids.Empty() || binders.Empty() {
		return fmt.Errorf("%w: pre_shared_key", errMalformed)
	}
	for !ids.Empty() {
		var id PSKIdentity
		var label cryptobyte.String
		if !ids.ReadUint16LengthPrefixed(&label) || label.Empty() || !ids.ReadUint32(&id.ObfuscatedTicketAge) {
			return fmt.Errorf("%w: pre_shared_key identity", errMalformed)
		}
		id.Identity = label
		h.PSKIdentities = append(h.PSKIdentities, id)
	}
	for !binders.Empty() {
		var binder cryptobyte.String
		if !binders.ReadUint8LengthPrefixed(&binder) || len(binder) < 32 {
			return fmt.Errorf("%w: pre_shared_key binder", errMalformed)
		}
		h.Binders++
	}
	return nil
}
