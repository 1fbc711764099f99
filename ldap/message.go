package ldap

import (
	"bufio"
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// DefaultMaxMessageSize is the message size limit ReadMessage applies when
// given none (RFC 4511 leaves it to the implementation; slapd's default
// for anonymous clients is 256 KiB, pkid allows a large CRL).
const DefaultMaxMessageSize = 1 << 20

// MaxDepth bounds the nesting of constructed BER elements in a message,
// the LDAPMessage envelope included; it is what limits filter nesting on
// the wire.
const MaxDepth = 32

// ErrMessageTooLarge is wrapped by the *ProtocolError ReadMessage returns
// for a message over the size limit, so servers can log it apart.
var ErrMessageTooLarge = ber.ErrTooLarge

// ErrTooDeep is wrapped by the *ProtocolError for a message nested deeper
// than MaxDepth.
var ErrTooDeep = ber.ErrTooDeep

// MaxMessageID is maxInt of RFC 4511 §4.1.1.
const MaxMessageID = 1<<31 - 1

// Application tags of the protocolOp CHOICE (RFC 4511 §4.2 to §4.13), the
// identifier octet as it appears on the wire.
const (
	TagBindRequest           byte = 0x60
	TagBindResponse          byte = 0x61
	TagUnbindRequest         byte = 0x42
	TagSearchRequest         byte = 0x63
	TagSearchResultEntry     byte = 0x64
	TagSearchResultDone      byte = 0x65
	TagModifyRequest         byte = 0x66
	TagModifyResponse        byte = 0x67
	TagAddRequest            byte = 0x68
	TagAddResponse           byte = 0x69
	TagDelRequest            byte = 0x4a
	TagDelResponse           byte = 0x6b
	TagModifyDNRequest       byte = 0x6c
	TagModifyDNResponse      byte = 0x6d
	TagCompareRequest        byte = 0x6e
	TagCompareResponse       byte = 0x6f
	TagAbandonRequest        byte = 0x50
	TagSearchResultReference byte = 0x73
	TagExtendedRequest       byte = 0x77
	TagExtendedResponse      byte = 0x78
	TagIntermediateResponse  byte = 0x79

	tagControls byte = 0xa0
)

// Message is an LDAPMessage (RFC 4511 §4.1.1).
type Message struct {
	ID       int32 // messageID, 0..MaxMessageID; 0 only for unsolicited notifications
	Op       Op
	Controls []Control
}

// Op is one protocolOp: *BindRequest, *BindResponse, *UnbindRequest,
// *SearchRequest, *SearchResultEntry, *SearchResultReference,
// *SearchResultDone, *ModifyRequest, *ModifyResponse, *AddRequest,
// *AddResponse, *DelRequest, *DelResponse, *ModifyDNRequest,
// *ModifyDNResponse, *CompareRequest, *CompareResponse, *AbandonRequest,
// *ExtendedRequest, *ExtendedResponse or *IntermediateResponse.
type Op interface {
	// Tag returns the operation's application tag (TagBindRequest, ...).
	Tag() byte
	encode(e *ber.Encoder) error
}

// Control is a Control (RFC 4511 §4.1.11).
type Control struct {
	OID         string
	Criticality bool
	Value       []byte // nil when absent
}

// FindControl returns the first control with oid, or nil.
func FindControl(cs []Control, oid string) *Control {
	for i := range cs {
		if cs[i].OID == oid {
			return &cs[i]
		}
	}
	return nil
}

// ProtocolError reports a message that could not be decoded, with what the
// server should do about it.
type ProtocolError struct {
	// MessageID and OpTag identify the request when the envelope could be
	// read (OpTag is 0 otherwise).
	MessageID int32
	OpTag     byte
	// Code is the result code to send.
	Code ResultCode
	// Fatal is set when the message is not well-formed BER, or its
	// envelope cannot be read: the server sends a Notice of Disconnection
	// with Code and closes the connection, as slapd does. Otherwise the
	// operation is answered with Code (see Response).
	Fatal bool
	Err   error
}

// Error names the result code, the request and the cause.
func (e *ProtocolError) Error() string {
	if e.OpTag == 0 {
		return fmt.Sprintf("ldap %s: %v", e.Code, e.Err)
	}
	return fmt.Sprintf("ldap %s in message %d (%s): %v", e.Code, e.MessageID, OpName(e.OpTag), e.Err)
}

// Unwrap returns the underlying decoding error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Response returns the message that answers the failed request, or nil
// when the connection must be closed with a Notice of Disconnection
// instead (Fatal errors, and requests that have no response).
func (e *ProtocolError) Response() *Message {
	if e.Fatal {
		return nil
	}
	res := LDAPResult{ResultCode: e.Code, DiagnosticMessage: e.Err.Error()}
	op := ResponseFor(e.OpTag, res)
	if op == nil {
		return nil
	}
	return &Message{ID: e.MessageID, Op: op}
}

// ResponseFor returns the response operation that answers a request with
// tag reqTag, carrying res, or nil for requests without a response
// (Unbind, Abandon) and for tags that are not requests.
func ResponseFor(reqTag byte, res LDAPResult) Op {
	switch reqTag {
	case TagBindRequest:
		return &BindResponse{LDAPResult: res}
	case TagSearchRequest:
		return &SearchResultDone{LDAPResult: res}
	case TagModifyRequest:
		return &ModifyResponse{LDAPResult: res}
	case TagAddRequest:
		return &AddResponse{LDAPResult: res}
	case TagDelRequest:
		return &DelResponse{LDAPResult: res}
	case TagModifyDNRequest:
		return &ModifyDNResponse{LDAPResult: res}
	case TagCompareRequest:
		return &CompareResponse{LDAPResult: res}
	case TagExtendedRequest:
		return &ExtendedResponse{LDAPResult: res}
	}
	return nil
}

// OpName returns the RFC 4511 name of the operation with application tag
// tag ("SearchRequest"), for logs and errors.
func OpName(tag byte) string {
	switch tag {
	case TagBindRequest:
		return "BindRequest"
	case TagBindResponse:
		return "BindResponse"
	case TagUnbindRequest:
		return "UnbindRequest"
	case TagSearchRequest:
		return "SearchRequest"
	case TagSearchResultEntry:
		return "SearchResultEntry"
	case TagSearchResultDone:
		return "SearchResultDone"
	case TagSearchResultReference:
		return "SearchResultReference"
	case TagModifyRequest:
		return "ModifyRequest"
	case TagModifyResponse:
		return "ModifyResponse"
	case TagAddRequest:
		return "AddRequest"
	case TagAddResponse:
		return "AddResponse"
	case TagDelRequest:
		return "DelRequest"
	case TagDelResponse:
		return "DelResponse"
	case TagModifyDNRequest:
		return "ModifyDNRequest"
	case TagModifyDNResponse:
		return "ModifyDNResponse"
	case TagCompareRequest:
		return "CompareRequest"
	case TagCompareResponse:
		return "CompareResponse"
	case TagAbandonRequest:
		return "AbandonRequest"
	case TagExtendedRequest:
		return "ExtendedRequest"
	case TagExtendedResponse:
		return "ExtendedResponse"
	case TagIntermediateResponse:
		return "IntermediateResponse"
	}
	return fmt.Sprintf("protocolOp 0x%02x", tag)
}

// invalid is a decoding failure in well-formed BER: a value the protocol
// does not allow. It is answered, not fatal.
type invalid struct {
	code ResultCode
	msg  string
}

func (e *invalid) Error() string { return e.msg }

func invalidf(code ResultCode, format string, args ...any) error {
	return &invalid{code, fmt.Sprintf(format, args...)}
}

// ReadMessage reads and decodes one LDAPMessage from r, refusing messages
// larger than limit bytes (DefaultMaxMessageSize when limit <= 0) before
// reading them. I/O errors are returned as they are (io.EOF at a message
// boundary, io.ErrUnexpectedEOF inside one); anything else is a
// *ProtocolError.
func ReadMessage(r *bufio.Reader, limit int) (*Message, error) {
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	pkt, err := ber.ReadPacket(r, ber.TagSequence, limit)
	if err != nil {
		var se *ber.SyntaxError
		if errors.As(err, &se) || errors.Is(err, ber.ErrTooLarge) {
			return nil, &ProtocolError{Code: ResultProtocolError, Fatal: true, Err: err}
		}
		return nil, err
	}
	return DecodeMessage(pkt)
}

// smallPacket is the size up to which DecodeMessage converts the whole
// packet to a string once and slices DNs, OIDs and attribute names from
// it, rather than allocating each.
const smallPacket = 4096

// DecodeMessage decodes one complete LDAPMessage. Byte-slice fields of the
// result alias packet. Errors are *ProtocolError.
func DecodeMessage(packet []byte) (*Message, error) {
	d := ber.NewDecoder(packet, MaxDepth)
	if len(packet) <= smallPacket {
		d.WithStrings(string(packet))
	}
	env, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, &ProtocolError{Code: ResultProtocolError, Fatal: true, Err: fmt.Errorf("LDAPMessage: %w", err)}
	}
	if !d.Empty() {
		return nil, &ProtocolError{Code: ResultProtocolError, Fatal: true, Err: errors.New("data after the LDAPMessage")}
	}
	id, err := env.Int(ber.TagInteger)
	if err != nil {
		return nil, &ProtocolError{Code: ResultProtocolError, Fatal: true, Err: fmt.Errorf("messageID: %w", err)}
	}
	if id < 0 || id > MaxMessageID {
		return nil, &ProtocolError{Code: ResultProtocolError, Fatal: true, Err: fmt.Errorf("messageID %d out of range", id)}
	}
	m := &Message{ID: int32(id)}
	tag, content, err := env.Next()
	if err != nil {
		return nil, &ProtocolError{MessageID: m.ID, Code: ResultProtocolError, Fatal: true, Err: fmt.Errorf("protocolOp: %w", err)}
	}
	fail := func(err error) error {
		pe := &ProtocolError{MessageID: m.ID, OpTag: tag, Code: ResultProtocolError, Fatal: true, Err: err}
		var iv *invalid
		if errors.As(err, &iv) {
			pe.Code, pe.Fatal = iv.code, false
		}
		return pe
	}
	var body ber.Decoder
	if ber.IsConstructed(tag) {
		if body, err = env.Sub(content); err != nil {
			return nil, fail(err)
		}
	}
	var opErr error
	if m.Op, err = decodeOp(tag, content, &body, &env); err != nil {
		var iv *invalid
		if !errors.As(err, &iv) {
			return nil, fail(fmt.Errorf("%s: %w", OpName(tag), err))
		}
		// Answerable, but only if the rest of the message is
		// well-formed too.
		opErr = fmt.Errorf("%s: %w", OpName(tag), err)
	}
	if t, ok := env.PeekTag(); ok && t == tagControls {
		if m.Controls, err = decodeControls(&env); err != nil {
			return nil, fail(fmt.Errorf("controls: %w", err))
		}
	}
	if err := env.Finish(); err != nil {
		return nil, fail(fmt.Errorf("LDAPMessage: %w", err))
	}
	if opErr != nil {
		return nil, fail(opErr)
	}
	return m, nil
}

func decodeOp(tag byte, content []byte, d, env *ber.Decoder) (Op, error) {
	switch tag {
	case TagBindRequest:
		return decodeBindRequest(d)
	case TagBindResponse:
		return decodeBindResponse(d)
	case TagUnbindRequest:
		if len(content) != 0 {
			return nil, errors.New("UnbindRequest with content")
		}
		return &UnbindRequest{}, nil
	case TagSearchRequest:
		return decodeSearchRequest(d)
	case TagSearchResultEntry:
		return decodeSearchResultEntry(d)
	case TagSearchResultDone:
		r, err := decodeResultOnly(d)
		return &SearchResultDone{r}, err
	case TagSearchResultReference:
		return decodeSearchResultReference(d)
	case TagModifyRequest:
		return decodeModifyRequest(d)
	case TagModifyResponse:
		r, err := decodeResultOnly(d)
		return &ModifyResponse{r}, err
	case TagAddRequest:
		return decodeAddRequest(d)
	case TagAddResponse:
		r, err := decodeResultOnly(d)
		return &AddResponse{r}, err
	case TagDelRequest:
		return &DelRequest{DN: env.StringOf(content)}, nil
	case TagDelResponse:
		r, err := decodeResultOnly(d)
		return &DelResponse{r}, err
	case TagModifyDNRequest:
		return decodeModifyDNRequest(d)
	case TagModifyDNResponse:
		r, err := decodeResultOnly(d)
		return &ModifyDNResponse{r}, err
	case TagCompareRequest:
		return decodeCompareRequest(d)
	case TagCompareResponse:
		r, err := decodeResultOnly(d)
		return &CompareResponse{r}, err
	case TagAbandonRequest:
		id, ok := ber.ParseInt(content)
		if !ok || id < 0 || id > MaxMessageID {
			return nil, errors.New("bad messageID to abandon")
		}
		return &AbandonRequest{ID: int32(id)}, nil
	case TagExtendedRequest:
		return decodeExtendedRequest(d)
	case TagExtendedResponse:
		return decodeExtendedResponse(d)
	case TagIntermediateResponse:
		return decodeIntermediateResponse(d)
	}
	return nil, fmt.Errorf("unknown operation tag 0x%02x", tag)
}

func decodeControls(d *ber.Decoder) ([]Control, error) {
	seq, err := d.Enter(tagControls)
	if err != nil {
		return nil, err
	}
	var cs []Control
	for !seq.Empty() {
		c, err := seq.Enter(ber.TagSequence)
		if err != nil {
			return nil, err
		}
		var ctl Control
		if ctl.OID, err = c.String(ber.TagOctetString); err != nil {
			return nil, err
		}
		if t, ok := c.PeekTag(); ok && t == ber.TagBoolean {
			if ctl.Criticality, err = c.Bool(ber.TagBoolean); err != nil {
				return nil, err
			}
		}
		if t, ok := c.PeekTag(); ok && t == ber.TagOctetString {
			if ctl.Value, err = c.OctetString(ber.TagOctetString); err != nil {
				return nil, err
			}
		}
		if err := c.Finish(); err != nil {
			return nil, err
		}
		cs = append(cs, ctl)
	}
	return cs, nil
}

// Marshal encodes m as a new byte slice.
func (m *Message) Marshal() ([]byte, error) {
	return m.Append(nil)
}

// Append appends the encoding of m to dst.
func (m *Message) Append(dst []byte) ([]byte, error) {
	if m.Op == nil {
		return dst, errors.New("ldap: message without operation")
	}
	if m.ID < 0 {
		return dst, fmt.Errorf("ldap: negative message ID %d", m.ID)
	}
	var enc ber.Encoder
	enc.Reset(dst)
	e := &enc
	env := e.Begin(ber.TagSequence)
	e.Int(ber.TagInteger, int64(m.ID))
	if err := encodeOp(e, m.Op); err != nil {
		return dst, fmt.Errorf("ldap: encode %s: %w", OpName(m.Op.Tag()), err)
	}
	if len(m.Controls) > 0 {
		cs := e.Begin(tagControls)
		for _, c := range m.Controls {
			s := e.Begin(ber.TagSequence)
			e.String(ber.TagOctetString, c.OID)
			if c.Criticality {
				e.Bool(ber.TagBoolean, true)
			}
			if c.Value != nil {
				e.OctetString(ber.TagOctetString, c.Value)
			}
			e.End(s)
		}
		e.End(cs)
	}
	e.End(env)
	return e.Bytes(), nil
}

// encodeOp calls each type's encode statically, so that the encoder does
// not escape through an interface call and Append allocates nothing but
// buffer growth.
func encodeOp(e *ber.Encoder, op Op) error {
	switch op := op.(type) {
	case *BindRequest:
		return op.encode(e)
	case *BindResponse:
		return op.encode(e)
	case *UnbindRequest:
		return op.encode(e)
	case *SearchRequest:
		return op.encode(e)
	case *SearchResultEntry:
		return op.encode(e)
	case *SearchResultReference:
		return op.encode(e)
	case *SearchResultDone:
		return op.encode(e)
	case *ModifyRequest:
		return op.encode(e)
	case *ModifyResponse:
		return op.encode(e)
	case *AddRequest:
		return op.encode(e)
	case *AddResponse:
		return op.encode(e)
	case *DelRequest:
		return op.encode(e)
	case *DelResponse:
		return op.encode(e)
	case *ModifyDNRequest:
		return op.encode(e)
	case *ModifyDNResponse:
		return op.encode(e)
	case *CompareRequest:
		return op.encode(e)
	case *CompareResponse:
		return op.encode(e)
	case *AbandonRequest:
		return op.encode(e)
	case *ExtendedRequest:
		return op.encode(e)
	case *ExtendedResponse:
		return op.encode(e)
	case *IntermediateResponse:
		return op.encode(e)
	}
	return fmt.Errorf("unknown operation %T", op)
}

// UnbindRequest is the UnbindRequest (RFC 4511 §4.3).
type UnbindRequest struct{}

// Tag returns TagUnbindRequest.
func (*UnbindRequest) Tag() byte { return TagUnbindRequest }

func (*UnbindRequest) encode(e *ber.Encoder) error {
	e.Null(TagUnbindRequest)
	return nil
}

// AbandonRequest is the AbandonRequest (RFC 4511 §4.11).
type AbandonRequest struct {
	ID int32 // messageID of the operation to abandon
}

// Tag returns TagAbandonRequest.
func (*AbandonRequest) Tag() byte { return TagAbandonRequest }

func (r *AbandonRequest) encode(e *ber.Encoder) error {
	if r.ID < 0 {
		return fmt.Errorf("negative message ID %d", r.ID)
	}
	e.Int(TagAbandonRequest, int64(r.ID))
	return nil
}

// decodeResult reads the LDAPResult components at the start of d.
func decodeResult(d *ber.Decoder) (LDAPResult, error) {
	var r LDAPResult
	code, err := d.Int(ber.TagEnumerated)
	if err != nil {
		return r, err
	}
	if code < 0 || code > 0xFFFF {
		return r, fmt.Errorf("resultCode %d out of range", code)
	}
	r.ResultCode = ResultCode(code)
	if r.MatchedDN, err = d.String(ber.TagOctetString); err != nil {
		return r, err
	}
	if r.DiagnosticMessage, err = d.String(ber.TagOctetString); err != nil {
		return r, err
	}
	if t, ok := d.PeekTag(); ok && t == tagReferral {
		ref, err := d.Enter(tagReferral)
		if err != nil {
			return r, err
		}
		for !ref.Empty() {
			u, err := ref.String(ber.TagOctetString)
			if err != nil {
				return r, err
			}
			r.Referral = append(r.Referral, u)
		}
	}
	return r, nil
}

const tagReferral byte = 0xa3

func decodeResultOnly(d *ber.Decoder) (LDAPResult, error) {
	r, err := decodeResult(d)
	if err != nil {
		return r, err
	}
	return r, d.Finish()
}

func encodeResult(e *ber.Encoder, r *LDAPResult) {
	e.Int(ber.TagEnumerated, int64(r.ResultCode))
	e.String(ber.TagOctetString, r.MatchedDN)
	e.String(ber.TagOctetString, r.DiagnosticMessage)
	if len(r.Referral) > 0 {
		m := e.Begin(tagReferral)
		for _, u := range r.Referral {
			e.String(ber.TagOctetString, u)
		}
		e.End(m)
	}
}

func encodeResponse(e *ber.Encoder, tag byte, r *LDAPResult) error {
	m := e.Begin(tag)
	encodeResult(e, r)
	e.End(m)
	return nil
}

// The responses that are only an LDAPResult.
type (
	// SearchResultDone ends a search (RFC 4511 §4.5.2).
	SearchResultDone struct{ LDAPResult }
	// ModifyResponse answers a ModifyRequest (RFC 4511 §4.6).
	ModifyResponse struct{ LDAPResult }
	// AddResponse answers an AddRequest (RFC 4511 §4.7).
	AddResponse struct{ LDAPResult }
	// DelResponse answers a DelRequest (RFC 4511 §4.8).
	DelResponse struct{ LDAPResult }
	// ModifyDNResponse answers a ModifyDNRequest (RFC 4511 §4.9).
	ModifyDNResponse struct{ LDAPResult }
	// CompareResponse answers a CompareRequest (RFC 4511 §4.10) with
	// compareTrue, compareFalse or an error.
	CompareResponse struct{ LDAPResult }
)

// Tag returns TagSearchResultDone.
func (*SearchResultDone) Tag() byte { return TagSearchResultDone }

// Tag returns TagModifyResponse.
func (*ModifyResponse) Tag() byte { return TagModifyResponse }

// Tag returns TagAddResponse.
func (*AddResponse) Tag() byte { return TagAddResponse }

// Tag returns TagDelResponse.
func (*DelResponse) Tag() byte { return TagDelResponse }

// Tag returns TagModifyDNResponse.
func (*ModifyDNResponse) Tag() byte { return TagModifyDNResponse }

// Tag returns TagCompareResponse.
func (*CompareResponse) Tag() byte { return TagCompareResponse }

func (r *SearchResultDone) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagSearchResultDone, &r.LDAPResult)
}
func (r *ModifyResponse) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagModifyResponse, &r.LDAPResult)
}
func (r *AddResponse) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagAddResponse, &r.LDAPResult)
}
func (r *DelResponse) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagDelResponse, &r.LDAPResult)
}
func (r *ModifyDNResponse) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagModifyDNResponse, &r.LDAPResult)
}
func (r *CompareResponse) encode(e *ber.Encoder) error {
	return encodeResponse(e, TagCompareResponse, &r.LDAPResult)
}
