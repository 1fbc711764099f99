package ldap

import (
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// Scope is a SearchRequest scope (RFC 4511 §4.5.1.2).
type Scope uint8

// Search scopes. ScopeChildren is OpenLDAP's subordinateSubtree
// (draft-sermersheim-ldap-subordinate-scope, `ldapsearch -s children`).
const (
	ScopeBaseObject   Scope = 0
	ScopeSingleLevel  Scope = 1
	ScopeWholeSubtree Scope = 2
	ScopeChildren     Scope = 3
)

// String returns the RFC 4511 name of s.
func (s Scope) String() string {
	switch s {
	case ScopeBaseObject:
		return "baseObject"
	case ScopeSingleLevel:
		return "singleLevel"
	case ScopeWholeSubtree:
		return "wholeSubtree"
	case ScopeChildren:
		return "subordinateSubtree"
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// DerefAliases is a SearchRequest derefAliases (RFC 4511 §4.5.1.3).
type DerefAliases uint8

// Alias dereferencing policies.
const (
	NeverDerefAliases   DerefAliases = 0
	DerefInSearching    DerefAliases = 1
	DerefFindingBaseObj DerefAliases = 2
	DerefAlways         DerefAliases = 3
)

// SearchRequest is the SearchRequest (RFC 4511 §4.5.1).
type SearchRequest struct {
	BaseObject   string
	Scope        Scope
	DerefAliases DerefAliases
	SizeLimit    int32 // 0: no client limit
	TimeLimit    int32 // seconds; 0: no client limit
	TypesOnly    bool
	Filter       Filter
	Attributes   []string // AttributeSelection: descriptions, "*", "+", "1.1"
}

// Tag returns TagSearchRequest.
func (*SearchRequest) Tag() byte { return TagSearchRequest }

func decodeSearchRequest(d *ber.Decoder) (*SearchRequest, error) {
	r := &SearchRequest{}
	var err error
	if r.BaseObject, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	scope, err := d.Int(ber.TagEnumerated)
	if err != nil {
		return nil, err
	}
	deref, err := d.Int(ber.TagEnumerated)
	if err != nil {
		return nil, err
	}
	size, err := d.Int(ber.TagInteger)
	if err != nil {
		return nil, err
	}
	tl, err := d.Int(ber.TagInteger)
	if err != nil {
		return nil, err
	}
	if r.TypesOnly, err = d.Bool(ber.TagBoolean); err != nil {
		return nil, err
	}
	budget := MaxFilterElements
	if err := decodeFilter(d, &r.Filter, &budget); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	attrs, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, err
	}
	if n := attrs.Count(); n > 0 {
		r.Attributes = make([]string, 0, n)
	}
	for !attrs.Empty() {
		a, err := attrs.String(ber.TagOctetString)
		if err != nil {
			return nil, err
		}
		r.Attributes = append(r.Attributes, a)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	// Values are checked once the whole request is known to be well-formed,
	// so that malformed BER is always fatal.
	switch {
	case scope < 0 || scope > int64(ScopeChildren):
		return nil, invalidf(ResultProtocolError, "invalid scope %d", scope)
	case deref < 0 || deref > int64(DerefAlways):
		return nil, invalidf(ResultProtocolError, "invalid derefAliases %d", deref)
	case size < 0 || size > MaxMessageID:
		return nil, invalidf(ResultProtocolError, "invalid sizeLimit %d", size)
	case tl < 0 || tl > MaxMessageID:
		return nil, invalidf(ResultProtocolError, "invalid timeLimit %d", tl)
	}
	if err := r.Filter.check(); err != nil {
		return nil, err
	}
	r.Scope, r.DerefAliases = Scope(scope), DerefAliases(deref)
	r.SizeLimit, r.TimeLimit = int32(size), int32(tl)
	return r, nil
}

func (r *SearchRequest) encode(e *ber.Encoder) error {
	if r.SizeLimit < 0 || r.TimeLimit < 0 {
		return errors.New("negative size or time limit")
	}
	m := e.Begin(TagSearchRequest)
	e.String(ber.TagOctetString, r.BaseObject)
	e.Int(ber.TagEnumerated, int64(r.Scope))
	e.Int(ber.TagEnumerated, int64(r.DerefAliases))
	e.Int(ber.TagInteger, int64(r.SizeLimit))
	e.Int(ber.TagInteger, int64(r.TimeLimit))
	e.Bool(ber.TagBoolean, r.TypesOnly)
	if err := r.Filter.encode(e, 0); err != nil {
		return err
	}
	a := e.Begin(ber.TagSequence)
	for _, s := range r.Attributes {
		e.String(ber.TagOctetString, s)
	}
	e.End(a)
	e.End(m)
	return nil
}

// Attribute is a PartialAttribute (RFC 4511 §4.1.7): an attribute
// description and its values. In an AddRequest it has at least one value.
type Attribute struct {
	Type   string
	Values [][]byte
}

func decodeAttribute(d *ber.Decoder, needValues bool) (Attribute, error) {
	var a Attribute
	s, err := d.Enter(ber.TagSequence)
	if err != nil {
		return a, err
	}
	if a.Type, err = s.String(ber.TagOctetString); err != nil {
		return a, err
	}
	vs, err := s.Enter(ber.TagSet)
	if err != nil {
		return a, err
	}
	if n := vs.Count(); n > 0 {
		a.Values = make([][]byte, 0, n)
	}
	for !vs.Empty() {
		v, err := vs.OctetString(ber.TagOctetString)
		if err != nil {
			return a, err
		}
		a.Values = append(a.Values, v)
	}
	if err := s.Finish(); err != nil {
		return a, err
	}
	if needValues && len(a.Values) == 0 {
		return a, invalidf(ResultProtocolError, "no values for attribute %q", a.Type)
	}
	return a, nil
}

func encodeAttribute(e *ber.Encoder, a *Attribute) {
	s := e.Begin(ber.TagSequence)
	e.String(ber.TagOctetString, a.Type)
	vs := e.Begin(ber.TagSet)
	for _, v := range a.Values {
		e.OctetString(ber.TagOctetString, v)
	}
	e.End(vs)
	e.End(s)
}

// decodeAttributeList decodes a SEQUENCE OF attribute, returning the first
// invalid value error only after the whole list was found well-formed.
func decodeAttributeList(d *ber.Decoder, needValues bool) ([]Attribute, error) {
	seq, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, err
	}
	var as []Attribute
	if n := seq.Count(); n > 0 {
		as = make([]Attribute, 0, n)
	}
	var firstInvalid error
	for !seq.Empty() {
		a, err := decodeAttribute(&seq, needValues)
		if err != nil {
			var iv *invalid
			if !errors.As(err, &iv) {
				return nil, err
			}
			if firstInvalid == nil {
				firstInvalid = err
			}
		}
		as = append(as, a)
	}
	if firstInvalid != nil {
		if err := d.Finish(); err != nil {
			return nil, err
		}
		return nil, firstInvalid
	}
	return as, nil
}

// SearchResultEntry is one entry a search returns (RFC 4511 §4.5.2).
type SearchResultEntry struct {
	ObjectName string
	Attributes []Attribute
}

// Tag returns TagSearchResultEntry.
func (*SearchResultEntry) Tag() byte { return TagSearchResultEntry }

func decodeSearchResultEntry(d *ber.Decoder) (*SearchResultEntry, error) {
	r := &SearchResultEntry{}
	var err error
	if r.ObjectName, err = d.String(ber.TagOctetString); err != nil {
		return nil, err
	}
	if r.Attributes, err = decodeAttributeList(d, false); err != nil {
		return nil, err
	}
	return r, d.Finish()
}

func (r *SearchResultEntry) encode(e *ber.Encoder) error {
	m := e.Begin(TagSearchResultEntry)
	e.String(ber.TagOctetString, r.ObjectName)
	l := e.Begin(ber.TagSequence)
	for i := range r.Attributes {
		encodeAttribute(e, &r.Attributes[i])
	}
	e.End(l)
	e.End(m)
	return nil
}

// SearchResultReference is a continuation reference (RFC 4511 §4.5.3).
type SearchResultReference struct {
	URIs []string // at least one
}

// Tag returns TagSearchResultReference.
func (*SearchResultReference) Tag() byte { return TagSearchResultReference }

func decodeSearchResultReference(d *ber.Decoder) (*SearchResultReference, error) {
	r := &SearchResultReference{}
	for !d.Empty() {
		u, err := d.String(ber.TagOctetString)
		if err != nil {
			return nil, err
		}
		r.URIs = append(r.URIs, u)
	}
	if len(r.URIs) == 0 {
		return nil, errors.New("SearchResultReference without URIs")
	}
	return r, nil
}

func (r *SearchResultReference) encode(e *ber.Encoder) error {
	if len(r.URIs) == 0 {
		return errors.New("SearchResultReference without URIs")
	}
	m := e.Begin(TagSearchResultReference)
	for _, u := range r.URIs {
		e.String(ber.TagOctetString, u)
	}
	e.End(m)
	return nil
}
