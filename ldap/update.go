package ldap

import (
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// ModifyOperation is the operation of one change in a ModifyRequest.
type ModifyOperation uint8

// Modify operations (RFC 4511 §4.6; increment is RFC 4525).
const (
	ModifyAdd       ModifyOperation = 0
	ModifyDelete    ModifyOperation = 1
	ModifyReplace   ModifyOperation = 2
	ModifyIncrement ModifyOperation = 3
)

// String returns the RFC name of op ("add", "delete", ...).
func (op ModifyOperation) String() string {
	switch op {
	case ModifyAdd:
		return "add"
	case ModifyDelete:
		return "delete"
	case ModifyReplace:
		return "replace"
	case ModifyIncrement:
		return "increment"
	}
	return fmt.Sprintf("operation(%d)", uint8(op))
}

// Change is one element of a ModifyRequest's changes.
type Change struct {
	Operation    ModifyOperation
	Modification Attribute
}

// ModifyRequest is the ModifyRequest (RFC 4511 §4.6).
type ModifyRequest struct {
	Object  string
	Changes []Change
}

// Tag returns TagModifyRequest.
func (*ModifyRequest) Tag() byte { return TagModifyRequest }

func decodeModifyRequest(d *ber.Decoder) (*ModifyRequest, error) {
	r := &ModifyRequest{}
	var err error
	if r.Object, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	seq, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, err
	}
	if n := seq.Count(); n > 0 {
		r.Changes = make([]Change, 0, n)
	}
	var bad error
	for !seq.Empty() {
		c, err := seq.Enter(ber.TagSequence)
		if err != nil {
			return nil, err
		}
		op, err := c.Int(ber.TagEnumerated)
		if err != nil {
			return nil, err
		}
		a, err := decodeAttribute(&c, false)
		if err != nil {
			return nil, err
		}
		if err := c.Finish(); err != nil {
			return nil, err
		}
		if bad == nil {
			switch {
			case op < 0 || op > int64(ModifyIncrement):
				bad = invalidf(ResultProtocolError, "invalid modify operation %d", op)
			case op == int64(ModifyAdd) && len(a.Values) == 0:
				bad = invalidf(ResultProtocolError, "modify/add of %q without values", a.Type)
			case op == int64(ModifyIncrement) && len(a.Values) != 1:
				bad = invalidf(ResultProtocolError, "modify/increment of %q needs exactly one value", a.Type)
			}
		}
		r.Changes = append(r.Changes, Change{Operation: ModifyOperation(op), Modification: a})
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	return r, nil
}

func (r *ModifyRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagModifyRequest)
	e.String(ber.TagOctetString, r.Object)
	s := e.Begin(ber.TagSequence)
	for i := range r.Changes {
		c := e.Begin(ber.TagSequence)
		e.Int(ber.TagEnumerated, int64(r.Changes[i].Operation))
		encodeAttribute(e, &r.Changes[i].Modification)
		e.End(c)
	}
	e.End(s)
	e.End(m)
	return nil
}

// AddRequest is the AddRequest (RFC 4511 §4.7).
type AddRequest struct {
	Entry      string
	Attributes []Attribute // each with at least one value
}

// Tag returns TagAddRequest.
func (*AddRequest) Tag() byte { return TagAddRequest }

func decodeAddRequest(d *ber.Decoder) (*AddRequest, error) {
	r := &AddRequest{}
	var err error
	if r.Entry, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	if r.Attributes, err = decodeAttributeList(d, true); err != nil {
		return nil, err
	}
	return r, d.Finish()
}

func (r *AddRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagAddRequest)
	e.String(ber.TagOctetString, r.Entry)
	l := e.Begin(ber.TagSequence)
	for i := range r.Attributes {
		if len(r.Attributes[i].Values) == 0 {
			return fmt.Errorf("attribute %q without values", r.Attributes[i].Type)
		}
		encodeAttribute(e, &r.Attributes[i])
	}
	e.End(l)
	e.End(m)
	return nil
}

// DelRequest is the DelRequest (RFC 4511 §4.8): the DN of the entry.
type DelRequest struct {
	DN string
}

// Tag returns TagDelRequest.
func (*DelRequest) Tag() byte { return TagDelRequest }

func (r *DelRequest) encode(e *ber.Encoder) error {
	e.String(TagDelRequest, r.DN)
	return nil
}

const tagNewSuperior byte = 0x80

// ModifyDNRequest is the ModifyDNRequest (RFC 4511 §4.9).
type ModifyDNRequest struct {
	Entry        string
	NewRDN       string
	DeleteOldRDN bool
	// NewSuperior is the new parent when HasNewSuperior is set ("" is the
	// root, a legal if unusual target).
	NewSuperior    string
	HasNewSuperior bool
}

// Tag returns TagModifyDNRequest.
func (*ModifyDNRequest) Tag() byte { return TagModifyDNRequest }

func decodeModifyDNRequest(d *ber.Decoder) (*ModifyDNRequest, error) {
	r := &ModifyDNRequest{}
	var err error
	if r.Entry, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	if r.NewRDN, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	if r.DeleteOldRDN, err = d.Bool(ber.TagBoolean); err != nil {
		return nil, err
	}
	if t, ok := d.PeekTag(); ok && t == tagNewSuperior {
		r.HasNewSuperior = true
		if r.NewSuperior, err = d.String(tagNewSuperior); err != nil {
			return nil, err
		}
	}
	return r, d.Finish()
}

func (r *ModifyDNRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagModifyDNRequest)
	e.String(ber.TagOctetString, r.Entry)
	e.String(ber.TagOctetString, r.NewRDN)
	e.Bool(ber.TagBoolean, r.DeleteOldRDN)
	if r.HasNewSuperior {
		e.String(tagNewSuperior, r.NewSuperior)
	}
	e.End(m)
	return nil
}

// CompareRequest is the CompareRequest (RFC 4511 §4.10).
type CompareRequest struct {
	Entry string
	Attr  string // attributeDesc of the assertion
	Value []byte // assertionValue
}

// Tag returns TagCompareRequest.
func (*CompareRequest) Tag() byte { return TagCompareRequest }

func decodeCompareRequest(d *ber.Decoder) (*CompareRequest, error) {
	r := &CompareRequest{}
	var err error
	if r.Entry, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	ava, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, err
	}
	if r.Attr, err = ava.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	if r.Value, err = ava.OctetString(ber.TagOctetString); err != nil {
		return nil, err
	}
	if err := ava.Finish(); err != nil {
		return nil, err
	}
	return r, d.Finish()
}

func (r *CompareRequest) encode(e *ber.Encoder) error {
	m := e.Begin(TagCompareRequest)
	e.String(ber.TagOctetString, r.Entry)
	a := e.Begin(ber.TagSequence)
	e.String(ber.TagOctetString, r.Attr)
	e.OctetString(ber.TagOctetString, r.Value)
	e.End(a)
	e.End(m)
	return nil
}
