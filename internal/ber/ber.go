package ber

import (
	"errors"
	"fmt"
)

// Tag bytes are the identifier octet of an element: class (two high bits),
// constructed bit, and a tag number below 31.
const (
	ClassUniversal   byte = 0x00
	ClassApplication byte = 0x40
	ClassContext     byte = 0x80
	ClassPrivate     byte = 0xC0
	Constructed      byte = 0x20

	TagBoolean     byte = 0x01
	TagInteger     byte = 0x02
	TagOctetString byte = 0x04
	TagNull        byte = 0x05
	TagEnumerated  byte = 0x0A
	TagSequence    byte = 0x30 // SEQUENCE and SEQUENCE OF, constructed
	TagSet         byte = 0x31 // SET and SET OF, constructed
)

// DefaultMaxDepth bounds how deeply constructed elements may nest when a
// Decoder is created without an explicit depth.
const DefaultMaxDepth = 32

// SyntaxError reports input that is not valid BER under RFC 4511's rules.
// Offset counts bytes from the start of the element being decoded.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error describes the problem and its offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("ber: %s at offset %d", e.Msg, e.Offset)
}

// ErrTooLarge is returned (wrapped) when a peer announces an element longer
// than the configured maximum. The bytes are not read.
var ErrTooLarge = errors.New("ber: message exceeds the size limit")

// ErrTooDeep is returned (wrapped) when constructed elements nest deeper
// than the decoder allows.
var ErrTooDeep = errors.New("ber: nesting exceeds the depth limit")

// Class returns the class bits of tag.
func Class(tag byte) byte { return tag & 0xC0 }

// IsConstructed reports whether tag has the constructed bit.
func IsConstructed(tag byte) bool { return tag&Constructed != 0 }

// parseHeader reads an identifier and length at b[0:]. It returns the tag,
// the header length and the content length. The content length is checked
// against len(b): a header claiming more bytes than b holds is an error, so
// callers never see a length they could be tempted to allocate from.
func parseHeader(b []byte) (tag byte, hdr int, n int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, &SyntaxError{0, "truncated element header"}
	}
	tag = b[0]
	if tag&0x1F == 0x1F {
		return 0, 0, 0, &SyntaxError{0, fmt.Sprintf("high tag number form (tag 0x%02x) is not used by LDAP", tag)}
	}
	l := b[1]
	switch {
	case l < 0x80:
		n, hdr = int(l), 2
	case l == 0x80:
		return 0, 0, 0, &SyntaxError{1, "indefinite length form is not allowed (RFC 4511 §5.1)"}
	case l == 0xFF:
		return 0, 0, 0, &SyntaxError{1, "reserved length octet 0xff"}
	default:
		k := int(l & 0x7F)
		if k > 8 {
			return 0, 0, 0, &SyntaxError{1, fmt.Sprintf("length of %d octets", k)}
		}
		if len(b) < 2+k {
			return 0, 0, 0, &SyntaxError{2, "truncated length"}
		}
		var v uint64
		for _, c := range b[2 : 2+k] {
			v = v<<8 | uint64(c)
		}
		hdr = 2 + k
		if v > uint64(len(b)-hdr) {
			return 0, 0, 0, &SyntaxError{hdr, fmt.Sprintf("length %d exceeds the %d bytes that remain", v, len(b)-hdr)}
		}
		n = int(v)
	}
	if n > len(b)-hdr {
		return 0, 0, 0, &SyntaxError{hdr, fmt.Sprintf("length %d exceeds the %d bytes that remain", n, len(b)-hdr)}
	}
	return tag, hdr, n, nil
}

// Decoder walks the elements inside one constructed element (or a whole
// packet). Values it returns alias the input: callers must treat them as
// read-only and must not reuse the buffer while values are in use.
type Decoder struct {
	b     []byte
	off   int    // offset of b[0] in the outermost buffer
	depth int    // remaining nesting allowed
	str   string // the outermost buffer as a string, when set
}

// NewDecoder returns a decoder over b, allowing maxDepth levels of nested
// constructed elements (DefaultMaxDepth when maxDepth <= 0).
func NewDecoder(b []byte, maxDepth int) Decoder {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return Decoder{b: b, depth: maxDepth}
}

// WithStrings makes String return substrings of s, which must hold the
// same bytes as the decoder's buffer: one conversion of a small packet
// then replaces an allocation per string. Substrings keep all of s alive.
func (d *Decoder) WithStrings(s string) { d.str = s }

// Empty reports whether all elements have been consumed.
func (d *Decoder) Empty() bool { return len(d.b) == 0 }

// Offset is the position of the next element in the outermost buffer.
func (d *Decoder) Offset() int { return d.off }

// Depth returns how many more levels of nesting are allowed.
func (d *Decoder) Depth() int { return d.depth }

func (d *Decoder) errf(format string, args ...any) error {
	return &SyntaxError{d.off, fmt.Sprintf(format, args...)}
}

// PeekTag returns the tag of the next element without consuming it.
func (d *Decoder) PeekTag() (byte, bool) {
	if len(d.b) == 0 {
		return 0, false
	}
	return d.b[0], true
}

// Next consumes the next element and returns its tag and content.
func (d *Decoder) Next() (tag byte, content []byte, err error) {
	tag, hdr, n, err := parseHeader(d.b)
	if err != nil {
		if se, ok := err.(*SyntaxError); ok {
			se.Offset += d.off
		}
		return 0, nil, err
	}
	content = d.b[hdr : hdr+n : hdr+n]
	d.b = d.b[hdr+n:]
	d.off += hdr + n
	return tag, content, nil
}

// Expect consumes the next element, which must have exactly tag.
func (d *Decoder) Expect(tag byte) ([]byte, error) {
	if len(d.b) == 0 {
		return nil, d.errf("missing element with tag 0x%02x", tag)
	}
	if d.b[0] != tag {
		return nil, d.errf("tag 0x%02x where 0x%02x was expected", d.b[0], tag)
	}
	_, c, err := d.Next()
	return c, err
}

// Enter consumes the next element, which must be constructed with exactly
// tag, and returns a decoder over its content one level deeper.
func (d *Decoder) Enter(tag byte) (Decoder, error) {
	if !IsConstructed(tag) {
		return Decoder{}, d.errf("tag 0x%02x is not constructed", tag)
	}
	start := d.off
	if d.depth <= 0 {
		return Decoder{}, fmt.Errorf("%w (at offset %d)", ErrTooDeep, start)
	}
	c, err := d.Expect(tag)
	if err != nil {
		return Decoder{}, err
	}
	return Decoder{b: c, off: d.off - len(c), depth: d.depth - 1, str: d.str}, nil
}

// Sub returns a decoder over content already taken with Next, one level
// deeper, so that callers dispatching on a CHOICE can enter the element
// they took. content must be the element Next returned last.
func (d *Decoder) Sub(content []byte) (Decoder, error) {
	if d.depth <= 0 {
		return Decoder{}, fmt.Errorf("%w (at offset %d)", ErrTooDeep, d.off)
	}
	return Decoder{b: content, off: d.off - len(content), depth: d.depth - 1, str: d.str}, nil
}

// OctetString consumes a primitive element with tag (TagOctetString or an
// implicit context tag) and returns its content.
func (d *Decoder) OctetString(tag byte) ([]byte, error) {
	if IsConstructed(tag) {
		return nil, d.errf("constructed tag 0x%02x for a string", tag)
	}
	return d.Expect(tag)
}

// String is OctetString as a Go string: a substring of the WithStrings
// source when there is one, else a copy.
func (d *Decoder) String(tag byte) (string, error) {
	b, err := d.OctetString(tag)
	if err != nil || len(b) == 0 {
		return "", err
	}
	if d.str != "" {
		end := d.off
		return d.str[end-len(b) : end], nil
	}
	return string(b), nil
}

// StringOf returns content, which must be what Next returned last, as a
// string in the same way String does.
func (d *Decoder) StringOf(content []byte) string {
	if len(content) == 0 {
		return ""
	}
	if d.str != "" {
		return d.str[d.off-len(content) : d.off]
	}
	return string(content)
}

// Int consumes an INTEGER (or ENUMERATED, or an implicitly tagged integer)
// of at most 8 content octets.
func (d *Decoder) Int(tag byte) (int64, error) {
	off := d.off
	c, err := d.Expect(tag)
	if err != nil {
		return 0, err
	}
	v, ok := ParseInt(c)
	if !ok {
		return 0, &SyntaxError{off, fmt.Sprintf("integer of %d octets", len(c))}
	}
	return v, nil
}

// ParseInt decodes two's-complement integer content of 1 to 8 octets.
func ParseInt(c []byte) (int64, bool) {
	if len(c) == 0 || len(c) > 8 {
		return 0, false
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, true
}

// Bool consumes a BOOLEAN (one content octet; any non-zero value is true).
func (d *Decoder) Bool(tag byte) (bool, error) {
	off := d.off
	c, err := d.Expect(tag)
	if err != nil {
		return false, err
	}
	if len(c) != 1 {
		return false, &SyntaxError{off, fmt.Sprintf("boolean of %d octets", len(c))}
	}
	return c[0] != 0, nil
}

// Null consumes a NULL (or implicitly tagged NULL) with empty content.
func (d *Decoder) Null(tag byte) error {
	off := d.off
	c, err := d.Expect(tag)
	if err != nil {
		return err
	}
	if len(c) != 0 {
		return &SyntaxError{off, "NULL with content"}
	}
	return nil
}

// Finish ends a SEQUENCE after the components the caller knows. RFC 4511 §4
// says receivers MUST ignore trailing SEQUENCE components whose tags they do
// not recognise, so well-formed trailing elements are skipped; bytes that
// do not parse as elements, or elements nested too deeply, are an error.
func (d *Decoder) Finish() error {
	for !d.Empty() {
		if err := d.Skip(); err != nil {
			return fmt.Errorf("trailing data: %w", err)
		}
	}
	return nil
}

// End ends a SEQUENCE whose definition is not extensible: nothing may
// follow the components the caller knows.
func (d *Decoder) End() error {
	if !d.Empty() {
		return d.errf("unexpected element with tag 0x%02x", d.b[0])
	}
	return nil
}

// Skip consumes the next element after checking that it, and everything
// nested in it, is well-formed within the depth limit.
func (d *Decoder) Skip() error {
	tag, c, err := d.Next()
	if err != nil {
		return err
	}
	if !IsConstructed(tag) {
		return nil
	}
	sub, err := d.Sub(c)
	if err != nil {
		return err
	}
	for !sub.Empty() {
		if err := sub.Skip(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks that b is exactly one well-formed element whose
// constructed parts nest at most maxDepth deep.
func Validate(b []byte, maxDepth int) error {
	d := NewDecoder(b, maxDepth)
	if err := d.Skip(); err != nil {
		return err
	}
	if !d.Empty() {
		return d.errf("%d bytes after the element", len(d.b))
	}
	return nil
}

// Count returns how many elements remain, reading only their headers, so
// callers can size a slice once. Malformed data ends the count early; the
// decoding that follows reports it.
func (d Decoder) Count() int {
	n := 0
	b := d.b
	for len(b) > 0 {
		_, hdr, l, err := parseHeader(b)
		if err != nil {
			break
		}
		b = b[hdr+l:]
		n++
	}
	return n
}
