package ldap

import (
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// BindMethod is the AuthenticationChoice of a BindRequest.
type BindMethod uint8

// Authentication choices (RFC 4511 §4.2); [1] and [2] are reserved.
const (
	BindSimple BindMethod = 0
	BindSASL   BindMethod = 3
)

const (
	tagAuthSimple  byte = 0x80
	tagAuthSASL    byte = 0xa3
	tagSASLCreds   byte = 0x87
	ldapVersionMax      = 127
)

// BindRequest is the BindRequest (RFC 4511 §4.2). Simple binds carry
// Password; SASL binds carry Mechanism and Credentials.
type BindRequest struct {
	Version     int // 3; the decoder accepts 1..127 so the server can answer protocolError itself
	Name        string
	Method      BindMethod
	Password    []byte // simple
	Mechanism   string // SASL mechanism, e.g. "EXTERNAL"
	Credentials []byte // SASL credentials, nil when absent
}

// Tag returns TagBindRequest.
func (*BindRequest) Tag() byte { return TagBindRequest }

func decodeBindRequest(d *ber.Decoder) (*BindRequest, error) {
	r := &BindRequest{}
	v, err := d.Int(ber.TagInteger)
	if err != nil {
		return nil, err
	}
	if v < 1 || v > ldapVersionMax {
		return nil, invalidf(ResultProtocolError, "version %d out of range", v)
	}
	r.Version = int(v)
	if r.Name, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	tag, c, err := d.Next()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagAuthSimple:
		r.Method, r.Password = BindSimple, c
	case tagAuthSASL:
		r.Method = BindSASL
		s, err := d.Sub(c)
		if err != nil {
			return nil, err
		}
		if r.Mechanism, err = s.String(ber.TagOctetString); err != nil {
			return nil, err
		}
		if t, ok := s.PeekTag(); ok && t == ber.TagOctetString {
			if r.Credentials, err = s.OctetString(ber.TagOctetString); err != nil {
				return nil, err
			}
		}
		if err := s.Finish(); err != nil {
			return nil, err
		}
	default:
		if ber.Class(tag) != ber.ClassContext || tag&0x1f == 0 || tag&0x1f == 3 {
			return nil, fmt.Errorf("authentication tag 0x%02x", tag)
		}
		// Checked after the rest so that garbage stays fatal.
		if err := d.Finish(); err != nil {
			return nil, err
		}
		return nil, invalidf(ResultAuthMethodNotSupported, "authentication choice [%d] is not supported", tag&0x1f)
	}
	return r, d.Finish()
}

func (r *BindRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagBindRequest)
	v := r.Version
	if v == 0 {
		v = 3
	}
	e.Int(ber.TagInteger, int64(v))
	e.String(ber.TagOctetString, r.Name)
	switch r.Method {
	case BindSimple:
		e.OctetString(tagAuthSimple, r.Password)
	case BindSASL:
		s := e.Begin(tagAuthSASL)
		e.String(ber.TagOctetString, r.Mechanism)
		if r.Credentials != nil {
			e.OctetString(ber.TagOctetString, r.Credentials)
		}
		e.End(s)
	default:
		return fmt.Errorf("unknown bind method %d", r.Method)
	}
	e.End(m)
	return nil
}

// BindResponse is the BindResponse (RFC 4511 §4.2.2).
type BindResponse struct {
	LDAPResult
	ServerSASLCreds []byte // nil when absent
}

// Tag returns TagBindResponse.
func (*BindResponse) Tag() byte { return TagBindResponse }

func decodeBindResponse(d *ber.Decoder) (*BindResponse, error) {
	res, err := decodeResult(d)
	if err != nil {
		return nil, err
	}
	r := &BindResponse{LDAPResult: res}
	if t, ok := d.PeekTag(); ok && t == tagSASLCreds {
		if r.ServerSASLCreds, err = d.OctetString(tagSASLCreds); err != nil {
			return nil, err
		}
	}
	return r, d.Finish()
}

func (r *BindResponse) encode(e *ber.Encoder) error {
	m := e.Begin(TagBindResponse)
	encodeResult(e, &r.LDAPResult)
	if r.ServerSASLCreds != nil {
		e.OctetString(tagSASLCreds, r.ServerSASLCreds)
	}
	e.End(m)
	return nil
}
