package ldap

import (
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// Object identifiers of the extended operations pkid speaks.
const (
	OIDStartTLS              = "1.3.6.1.4.1.1466.20037"  // RFC 4511 §4.14
	OIDNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"  // RFC 4511 §4.4.1
	OIDWhoAmI                = "1.3.6.1.4.1.4203.1.11.3" // RFC 4532
	OIDPasswordModify        = "1.3.6.1.4.1.4203.1.11.1" // RFC 3062
	OIDCancel                = "1.3.6.1.1.8"             // RFC 3909
)

const (
	tagExtReqName  byte = 0x80
	tagExtReqValue byte = 0x81
	tagExtResName  byte = 0x8a
	tagExtResValue byte = 0x8b
	tagIntName     byte = 0x80
	tagIntValue    byte = 0x81
)

// ExtendedRequest is the ExtendedRequest (RFC 4511 §4.12).
type ExtendedRequest struct {
	Name  string // requestName
	Value []byte // requestValue, nil when absent
}

// Tag returns TagExtendedRequest.
func (*ExtendedRequest) Tag() byte { return TagExtendedRequest }

func decodeExtendedRequest(d *ber.Decoder) (*ExtendedRequest, error) {
	r := &ExtendedRequest{}
	var err error
	if r.Name, err = d.String(tagExtReqName); err != nil {
		return nil, err
	}
	if t, ok := d.PeekTag(); ok && t == tagExtReqValue {
		if r.Value, err = d.OctetString(tagExtReqValue); err != nil {
			return nil, err
		}
	}
	return r, d.Finish()
}

func (r *ExtendedRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagExtendedRequest)
	e.String(tagExtReqName, r.Name)
	if r.Value != nil {
		e.OctetString(tagExtReqValue, r.Value)
	}
	e.End(m)
	return nil
}

// ExtendedResponse is the ExtendedResponse (RFC 4511 §4.12).
type ExtendedResponse struct {
	LDAPResult
	Name  string // responseName, "" when absent
	Value []byte // responseValue, nil when absent
}

// Tag returns TagExtendedResponse.
func (*ExtendedResponse) Tag() byte { return TagExtendedResponse }

func decodeExtendedResponse(d *ber.Decoder) (*ExtendedResponse, error) {
	res, err := decodeResult(d)
	if err != nil {
		return nil, err
	}
	r := &ExtendedResponse{LDAPResult: res}
	if t, ok := d.PeekTag(); ok && t == tagExtResName {
		if r.Name, err = d.String(tagExtResName); err != nil {
			return nil, err
		}
	}
	if t, ok := d.PeekTag(); ok && t == tagExtResValue {
		if r.Value, err = d.OctetString(tagExtResValue); err != nil {
			return nil, err
		}
	}
	return r, d.Finish()
}

func (r *ExtendedResponse) encode(e *ber.Encoder) error {
	m := e.Begin(TagExtendedResponse)
	encodeResult(e, &r.LDAPResult)
	if r.Name != "" {
		e.String(tagExtResName, r.Name)
	}
	if r.Value != nil {
		e.OctetString(tagExtResValue, r.Value)
	}
	e.End(m)
	return nil
}

// IntermediateResponse is the IntermediateResponse (RFC 4511 §4.13).
type IntermediateResponse struct {
	Name  string // responseName, "" when absent
	Value []byte // responseValue, nil when absent
}

// Tag returns TagIntermediateResponse.
func (*IntermediateResponse) Tag() byte { return TagIntermediateResponse }

func decodeIntermediateResponse(d *ber.Decoder) (*IntermediateResponse, error) {
	r := &IntermediateResponse{}
	var err error
	if t, ok := d.PeekTag(); ok && t == tagIntName {
		if r.Name, err = d.String(tagIntName); err != nil {
			return nil, err
		}
	}
	if t, ok := d.PeekTag(); ok && t == tagIntValue {
		if r.Value, err = d.OctetString(tagIntValue); err != nil {
			return nil, err
		}
	}
	return r, d.Finish()
}

func (r *IntermediateResponse) encode(e *ber.Encoder) error {
	m := e.Begin(TagIntermediateResponse)
	if r.Name != "" {
		e.String(tagIntName, r.Name)
	}
	if r.Value != nil {
		e.OctetString(tagIntValue, r.Value)
	}
	e.End(m)
	return nil
}

// NoticeOfDisconnection returns the unsolicited notification a server
// sends before closing a connection it can no longer serve (RFC 4511
// §4.4.1): an ExtendedResponse with messageID 0 and responseName
// OIDNoticeOfDisconnection. code is typically protocolError,
// strongerAuthRequired or unavailable.
func NoticeOfDisconnection(code ResultCode, message string) *Message {
	return &Message{ID: 0, Op: &ExtendedResponse{
		LDAPResult: LDAPResult{ResultCode: code, DiagnosticMessage: message},
		Name:       OIDNoticeOfDisconnection,
	}}
}

// IsNoticeOfDisconnection reports whether m is a Notice of Disconnection.
func IsNoticeOfDisconnection(m *Message) bool {
	r, ok := m.Op.(*ExtendedResponse)
	return ok && m.ID == 0 && r.Name == OIDNoticeOfDisconnection
}

// PasswordModifyRequest is the requestValue of the Password Modify
// extended operation (RFC 3062 §2). Nil fields are absent.
type PasswordModifyRequest struct {
	UserIdentity []byte
	OldPassword  []byte
	NewPassword  []byte
}

// PasswordModifyResponse is the responseValue of Password Modify: the
// password the server generated, nil when it generated none.
type PasswordModifyResponse struct {
	GenPassword []byte
}

// DecodePasswordModifyRequest decodes a Password Modify requestValue. An
// absent requestValue (nil) is a request with every field absent.
func DecodePasswordModifyRequest(v []byte) (*PasswordModifyRequest, error) {
	r := &PasswordModifyRequest{}
	if v == nil {
		return r, nil
	}
	d := ber.NewDecoder(v, 2)
	s, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, fmt.Errorf("password modify request: %w", err)
	}
	for _, f := range []struct {
		tag byte
		dst *[]byte
	}{{0x80, &r.UserIdentity}, {0x81, &r.OldPassword}, {0x82, &r.NewPassword}} {
		if t, ok := s.PeekTag(); ok && t == f.tag {
			if *f.dst, err = s.OctetString(f.tag); err != nil {
				return nil, fmt.Errorf("password modify request: %w", err)
			}
		}
	}
	if err := s.End(); err != nil {
		return nil, fmt.Errorf("password modify request: %w", err)
	}
	if !d.Empty() {
		return nil, errors.New("password modify request: data after the value")
	}
	return r, nil
}

// Encode returns the requestValue for r.
func (r *PasswordModifyRequest) Encode() []byte {
	e := ber.NewEncoder(nil)
	m := e.Begin(ber.TagSequence)
	if r.UserIdentity != nil {
		e.OctetString(0x80, r.UserIdentity)
	}
	if r.OldPassword != nil {
		e.OctetString(0x81, r.OldPassword)
	}
	if r.NewPassword != nil {
		e.OctetString(0x82, r.NewPassword)
	}
	e.End(m)
	return e.Bytes()
}

// DecodePasswordModifyResponse decodes a Password Modify responseValue;
// nil (absent) gives an empty response.
func DecodePasswordModifyResponse(v []byte) (*PasswordModifyResponse, error) {
	r := &PasswordModifyResponse{}
	if v == nil {
		return r, nil
	}
	d := ber.NewDecoder(v, 2)
	s, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, fmt.Errorf("password modify response: %w", err)
	}
	if t, ok := s.PeekTag(); ok && t == 0x80 {
		if r.GenPassword, err = s.OctetString(0x80); err != nil {
			return nil, fmt.Errorf("password modify response: %w", err)
		}
	}
	if err := s.End(); err != nil {
		return nil, fmt.Errorf("password modify response: %w", err)
	}
	if !d.Empty() {
		return nil, errors.New("password modify response: data after the value")
	}
	return r, nil
}

// Encode returns the responseValue for r, or nil when there is nothing to
// return (RFC 3062 §2: the value is absent then).
func (r *PasswordModifyResponse) Encode() []byte {
	if r.GenPassword == nil {
		return nil
	}
	e := ber.NewEncoder(nil)
	m := e.Begin(ber.TagSequence)
	e.OctetString(0x80, r.GenPassword)
	e.End(m)
	return e.Bytes()
}
