package ldap

import (
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// FilterType is the CHOICE of a Filter (RFC 4511 §4.5.1.7); its value is
// the context tag number.
type FilterType uint8

// Filter choices.
const (
	FilterAnd             FilterType = 0
	FilterOr              FilterType = 1
	FilterNot             FilterType = 2
	FilterEqualityMatch   FilterType = 3
	FilterSubstrings      FilterType = 4
	FilterGreaterOrEqual  FilterType = 5
	FilterLessOrEqual     FilterType = 6
	FilterPresent         FilterType = 7
	FilterApproxMatch     FilterType = 8
	FilterExtensibleMatch FilterType = 9
)

var filterTypeNames = [...]string{"and", "or", "not", "equalityMatch", "substrings",
	"greaterOrEqual", "lessOrEqual", "present", "approxMatch", "extensibleMatch"}

// String returns the RFC 4511 name of t.
func (t FilterType) String() string {
	if int(t) < len(filterTypeNames) {
		return filterTypeNames[t]
	}
	return fmt.Sprintf("filter(%d)", uint8(t))
}

// Filter is a search filter (RFC 4511 §4.5.1.7). Which fields are used
// depends on Type:
//
//   - FilterAnd, FilterOr: Children (empty for RFC 4526 absolute true/false)
//   - FilterNot: exactly one child in Children
//   - FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual,
//     FilterApproxMatch: Attr and Value
//   - FilterPresent: Attr
//   - FilterSubstrings: Attr, Initial, Any, Final (nil Initial/Final are
//     absent; at least one component)
//   - FilterExtensibleMatch: MatchingRule and/or Attr (at least one),
//     Value, DNAttributes
//
// Attr is an attribute description as sent; the server resolves it
// against its schema (unknown ones make the item Undefined, RFC 4511
// §4.5.1.7, not an error).
type Filter struct {
	Type     FilterType
	Children []Filter

	Attr  string
	Value []byte

	Initial []byte
	Any     [][]byte
	Final   []byte

	MatchingRule string
	DNAttributes bool
}

const (
	tagSubInitial byte = 0x80
	tagSubAny     byte = 0x81
	tagSubFinal   byte = 0x82

	tagMRARule  byte = 0x81
	tagMRAType  byte = 0x82
	tagMRAValue byte = 0x83
	tagMRADN    byte = 0x84
)

// MaxFilterElements bounds the number of filter items (and, or, not and
// leaves) in one filter, on the wire and in strings. A Filter takes about
// 160 bytes, so without it a 1 MiB message of two-byte present filters
// would cost 80 MiB to decode.
const MaxFilterElements = 4096

// DecodeFilter decodes one BER-encoded Filter (the element alone, as in a
// test vector or an LDAP URL tool), with the same strictness as
// DecodeMessage.
func DecodeFilter(b []byte) (Filter, error) {
	var f Filter
	d := ber.NewDecoder(b, MaxDepth)
	budget := MaxFilterElements
	if err := decodeFilter(&d, &f, &budget); err != nil {
		return Filter{}, err
	}
	if !d.Empty() {
		return Filter{}, errors.New("ldap: data after the filter")
	}
	if err := f.check(); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// decodeFilter reads the structure of one filter. Constraints on values
// that well-formed BER can violate are checked by check, so that callers
// can first make sure the whole message is well-formed.
func decodeFilter(d *ber.Decoder, f *Filter, budget *int) error {
	if *budget <= 0 {
		return fmt.Errorf("filter has more than %d elements", MaxFilterElements)
	}
	*budget--
	tag, content, err := d.Next()
	if err != nil {
		return err
	}
	if ber.Class(tag) != ber.ClassContext {
		return fmt.Errorf("filter tag 0x%02x is not context-specific", tag)
	}
	f.Type = FilterType(tag & 0x1f)
	if f.Type == FilterPresent {
		if ber.IsConstructed(tag) {
			return errors.New("constructed present filter")
		}
		f.Attr = d.StringOf(content)
		return nil
	}
	if !ber.IsConstructed(tag) || f.Type > FilterExtensibleMatch {
		return fmt.Errorf("unknown filter tag 0x%02x", tag)
	}
	s, err := d.Sub(content)
	if err != nil {
		return err
	}
	switch f.Type {
	case FilterAnd, FilterOr, FilterNot:
		if c := min(s.Count(), *budget); c > 0 && f.Type != FilterNot {
			f.Children = make([]Filter, 0, c)
		}
		n := 0
		for !s.Empty() {
			n++
			if f.Type == FilterNot && n > 1 {
				return errors.New("not filter with more than one element")
			}
			f.Children = append(f.Children, Filter{})
			if err := decodeFilter(&s, &f.Children[len(f.Children)-1], budget); err != nil {
				return err
			}
		}
		if f.Type == FilterNot && n == 0 {
			return errors.New("empty not filter")
		}
		return nil
	case FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual, FilterApproxMatch:
		if f.Attr, err = s.String(ber.TagOctetString); err != nil {
			return err
		}
		if f.Value, err = s.OctetString(ber.TagOctetString); err != nil {
			return err
		}
		return s.Finish()
	case FilterSubstrings:
		if f.Attr, err = s.String(ber.TagOctetString); err != nil {
			return err
		}
		subs, err := s.Enter(ber.TagSequence)
		if err != nil {
			return err
		}
		n := 0
		for !subs.Empty() {
			tag, v, err := subs.Next()
			if err != nil {
				return err
			}
			switch {
			case tag == tagSubInitial && n == 0:
				f.Initial = v
			case tag == tagSubAny && f.Final == nil:
				f.Any = append(f.Any, v)
			case tag == tagSubFinal && f.Final == nil:
				f.Final = v
			default:
				return fmt.Errorf("substring tag 0x%02x out of place", tag)
			}
			n++
		}
		if n == 0 {
			return errors.New("substrings filter without substrings")
		}
		return s.Finish()
	case FilterExtensibleMatch:
		if t, ok := s.PeekTag(); ok && t == tagMRARule {
			if f.MatchingRule, err = s.String(tagMRARule); err != nil {
				return err
			}
		}
		if t, ok := s.PeekTag(); ok && t == tagMRAType {
			if f.Attr, err = s.String(tagMRAType); err != nil {
				return err
			}
		}
		if f.Value, err = s.OctetString(tagMRAValue); err != nil {
			return err
		}
		if t, ok := s.PeekTag(); ok && t == tagMRADN {
			if f.DNAttributes, err = s.Bool(tagMRADN); err != nil {
				return err
			}
		}
		return s.Finish()
	}
	return nil
}

// check reports constraints a well-formed filter may violate, as the
// non-fatal error the server answers with protocolError.
func (f *Filter) check() error {
	switch f.Type {
	case FilterAnd, FilterOr, FilterNot:
		for i := range f.Children {
			if err := f.Children[i].check(); err != nil {
				return err
			}
		}
	case FilterExtensibleMatch:
		if f.MatchingRule == "" && f.Attr == "" {
			return invalidf(ResultProtocolError, "extensible match without matching rule or attribute type")
		}
	}
	return nil
}

// Encode returns the BER encoding of f.
func (f *Filter) Encode() ([]byte, error) {
	e := ber.NewEncoder(nil)
	if err := f.encode(e, 0); err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

func (f *Filter) encode(e *ber.Encoder, depth int) error {
	if depth >= MaxDepth {
		return errors.New("filter nested too deeply")
	}
	tag := ber.ClassContext | ber.Constructed | byte(f.Type)
	switch f.Type {
	case FilterAnd, FilterOr, FilterNot:
		if f.Type == FilterNot && len(f.Children) != 1 {
			return fmt.Errorf("not filter with %d elements", len(f.Children))
		}
		m := e.Begin(tag)
		for i := range f.Children {
			if err := f.Children[i].encode(e, depth+1); err != nil {
				return err
			}
		}
		e.End(m)
	case FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual, FilterApproxMatch:
		m := e.Begin(tag)
		e.String(ber.TagOctetString, f.Attr)
		e.OctetString(ber.TagOctetString, f.Value)
		e.End(m)
	case FilterPresent:
		e.String(ber.ClassContext|byte(FilterPresent), f.Attr)
	case FilterSubstrings:
		if f.Initial == nil && len(f.Any) == 0 && f.Final == nil {
			return errors.New("substrings filter without substrings")
		}
		m := e.Begin(tag)
		e.String(ber.TagOctetString, f.Attr)
		s := e.Begin(ber.TagSequence)
		if f.Initial != nil {
			e.OctetString(tagSubInitial, f.Initial)
		}
		for _, a := range f.Any {
			e.OctetString(tagSubAny, a)
		}
		if f.Final != nil {
			e.OctetString(tagSubFinal, f.Final)
		}
		e.End(s)
		e.End(m)
	case FilterExtensibleMatch:
		if f.MatchingRule == "" && f.Attr == "" {
			return errors.New("extensible match without matching rule or attribute type")
		}
		m := e.Begin(tag)
		if f.MatchingRule != "" {
			e.String(tagMRARule, f.MatchingRule)
		}
		if f.Attr != "" {
			e.String(tagMRAType, f.Attr)
		}
		e.OctetString(tagMRAValue, f.Value)
		if f.DNAttributes {
			e.Bool(tagMRADN, true)
		}
		e.End(m)
	default:
		return fmt.Errorf("unknown filter type %d", f.Type)
	}
	return nil
}
