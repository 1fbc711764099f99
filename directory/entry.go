package directory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Attribute is one attribute of an entry: its description (type name as
// written, plus options such as ";binary" or ";lang-en") and its values.
type Attribute struct {
	Type   string
	Values [][]byte
}

// Entry is a directory entry: its DN (RFC 4514 string) and attributes.
// Entries the Tree returns are the caller's to keep, and their slices to
// change, but value bytes may be shared with the Tree's read cache: do not
// modify them in place.
type Entry struct {
	DN         string
	Attributes []Attribute
}

// Get returns the values of the attribute whose description equals desc
// (case-insensitive; no subtypes), or nil.
func (e *Entry) Get(desc string) [][]byte {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Type, desc) {
			return a.Values
		}
	}
	return nil
}

// GetString returns the first value of attribute desc as a string, or "".
func (e *Entry) GetString(desc string) string {
	if v := e.Get(desc); len(v) > 0 {
		return string(v[0])
	}
	return ""
}

// attrKey identifies an attribute description under a schema: the type's
// OID and its options (lower-case, sorted, ";binary" removed because it is
// a transfer option, RFC 4522).
type attrDesc struct {
	at   *AttributeType
	opts string // "" or ";lang-en;x-foo"
}

// parseAttrDesc resolves an attribute description; at is nil for a type
// the schema does not know.
func (s *Schema) parseAttrDesc(desc string) (attrDesc, string, error) {
	name, optStr, _ := strings.Cut(desc, ";")
	if !isDescr(name) && !isNumericOID(name) {
		return attrDesc{}, "", fmt.Errorf("%q is not an attribute description", desc)
	}
	at := s.Attribute(name)
	var opts []string
	if optStr != "" {
		for _, o := range strings.Split(optStr, ";") {
			o = strings.ToLower(o)
			if o == "" || !isDescr(o) {
				return attrDesc{}, "", fmt.Errorf("%q: bad option %q", desc, o)
			}
			if o == "binary" {
				continue
			}
			opts = append(opts, o)
		}
	}
	if len(opts) > 1 {
		sortStrings(opts)
	}
	o := ""
	if len(opts) > 0 {
		o = ";" + strings.Join(opts, ";")
	}
	return attrDesc{at: at, opts: o}, name, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Serialisation of an entry's attributes for the store: a version byte,
// then per attribute uvarint(len(type)) type uvarint(n) and n times
// uvarint(len(value)) value. Compact and fast to decode.
const encodingVersion = 1

func encodeAttributes(attrs []Attribute) []byte {
	n := 1
	for _, a := range attrs {
		n += len(a.Type) + 2*binary.MaxVarintLen32
		for _, v := range a.Values {
			n += len(v) + binary.MaxVarintLen32
		}
	}
	b := make([]byte, 0, n)
	b = append(b, encodingVersion)
	for _, a := range attrs {
		b = binary.AppendUvarint(b, uint64(len(a.Type)))
		b = append(b, a.Type...)
		b = binary.AppendUvarint(b, uint64(len(a.Values)))
		for _, v := range a.Values {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

var errCorrupt = errors.New("stored entry is corrupt")

// decodeAttributes is encodeAttributes's inverse. Values share one backing
// array (the data), so a decoded entry costs two allocations plus slices.
func decodeAttributes(b []byte) ([]Attribute, error) {
	if len(b) == 0 || b[0] != encodingVersion {
		return nil, errCorrupt
	}
	b = b[1:]
	var attrs []Attribute
	next := func() (int, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b)-n) && v > 1<<30 {
			return 0, false
		}
		b = b[n:]
		return int(v), true
	}
	for len(b) > 0 {
		l, ok := next()
		if !ok || l > len(b) {
			return nil, errCorrupt
		}
		typ := string(b[:l])
		b = b[l:]
		nv, ok := next()
		if !ok || nv > len(b) {
			return nil, errCorrupt
		}
		a := Attribute{Type: typ, Values: make([][]byte, 0, nv)}
		for i := 0; i < nv; i++ {
			l, ok := next()
			if !ok || l > len(b) {
				return nil, errCorrupt
			}
			a.Values = append(a.Values, b[:l:l])
			b = b[l:]
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}
