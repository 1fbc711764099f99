package directory

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// MaxDNLength bounds a DN string from outside.
const MaxDNLength = 8 << 10

// DN is a parsed LDAP distinguished name (RFC 4514), most specific RDN
// first, as written. Unlike package dn (X.509 names), any attribute type the
// schema knows may appear and values have no X.509 length bounds.
type DN []RDN

// RDN is one relative distinguished name: one or more attribute values.
type RDN []AVA

// AVA is an attribute value assertion of an RDN. Value holds the decoded
// value; for a #hex value (RFC 4514 §2.4) Hex is true and Value holds the
// hex digits.
type AVA struct {
	Type  string
	Value string
	Hex   bool
}

// ParseDN parses an RFC 4514 DN string. The empty string is the root
// (zero RDNs). Spaces around ',', '+' and '=' are tolerated, as slapd does.
func ParseDN(s string) (DN, error) {
	if len(s) > MaxDNLength {
		return nil, fmt.Errorf("DN of %d bytes is longer than %d", len(s), MaxDNLength)
	}
	if strings.TrimSpace(s) == "" {
		return DN{}, nil
	}
	var d DN
	var rdn RDN
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ',' && s[j] != '+' {
			j++
		}
		if j == len(s) || s[j] != '=' {
			return nil, fmt.Errorf("DN %q: %q has no '='", shortDN(s), s[i:j])
		}
		typ := strings.TrimRight(s[i:j], " ")
		typ = strings.TrimPrefix(strings.TrimPrefix(typ, "oid."), "OID.")
		if !isDescr(typ) && !isNumericOID(typ) {
			return nil, fmt.Errorf("DN %q: %q is not an attribute type", shortDN(s), typ)
		}
		i = j + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		ava := AVA{Type: typ}
		if i < len(s) && s[i] == '#' {
			j := i + 1
			for j < len(s) && isHex(s[j]) {
				j++
			}
			if j == i+1 || (j-i-1)%2 != 0 {
				return nil, fmt.Errorf("DN %q: bad #hex value", shortDN(s))
			}
			ava.Value, ava.Hex = strings.ToLower(s[i+1:j]), true
			i = j
			for i < len(s) && s[i] == ' ' {
				i++
			}
		} else {
			var b []byte
			lastNonSpace := 0
			for i < len(s) && s[i] != ',' && s[i] != '+' {
				c := s[i]
				switch {
				case c == '\\':
					if i+1 >= len(s) {
						return nil, fmt.Errorf("DN %q: trailing backslash", shortDN(s))
					}
					if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
						v, _ := hex.DecodeString(s[i+1 : i+3])
						b = append(b, v[0])
						i += 3
					} else if strings.IndexByte(" \"#+,;<=>\\", s[i+1]) >= 0 {
						b = append(b, s[i+1])
						i += 2
					} else {
						return nil, fmt.Errorf("DN %q: bad escape \\%c", shortDN(s), s[i+1])
					}
					lastNonSpace = len(b)
					continue
				case c == '"' || c == ';' || c == '<' || c == '>' || c == 0:
					return nil, fmt.Errorf("DN %q: %q must be escaped", shortDN(s), c)
				}
				b = append(b, c)
				if c != ' ' {
					lastNonSpace = len(b)
				}
				i++
			}
			ava.Value = string(b[:lastNonSpace])
		}
		rdn = append(rdn, ava)
		if i == len(s) {
			d = append(d, rdn)
			break
		}
		if s[i] == ',' {
			d = append(d, rdn)
			rdn = nil
		}
		i++
		if i == len(s) {
			return nil, fmt.Errorf("DN %q ends with a separator", shortDN(s))
		}
	}
	return d, nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func shortDN(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// IsRoot reports whether d is the empty DN (the root DSE).
func (d DN) IsRoot() bool { return len(d) == 0 }

// Parent returns d without its first RDN (the root for a one-RDN DN).
func (d DN) Parent() DN {
	if len(d) == 0 {
		return d
	}
	return d[1:]
}

// String formats d per RFC 4514, escaping what §2.4 requires.
func (d DN) String() string {
	var b strings.Builder
	b.Grow(d.size())
	for i, r := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		r.write(&b, nil, false)
	}
	return b.String()
}

// String formats one RDN.
func (r RDN) String() string {
	var b strings.Builder
	r.write(&b, nil, false)
	return b.String()
}

func (r RDN) write(b *strings.Builder, s *Schema, normal bool) {
	avas := r
	if normal && len(r) > 1 {
		parts := make([]string, len(r))
		for i, a := range r {
			var x strings.Builder
			a.write(&x, s, true)
			parts[i] = x.String()
		}
		sort.Strings(parts)
		b.WriteString(strings.Join(parts, "+"))
		return
	}
	for i, a := range avas {
		if i > 0 {
			b.WriteByte('+')
		}
		a.write(b, s, normal)
	}
}

func (a AVA) write(b *strings.Builder, s *Schema, normal bool) {
	typ, val := a.Type, a.Value
	if normal {
		typ = strings.ToLower(typ)
		var at *AttributeType
		if s != nil {
			at = s.Attribute(a.Type)
		}
		if at != nil {
			typ = strings.ToLower(at.Name())
		}
		if !a.Hex && at != nil && at.Equality != nil && at.Equality.impl != nil {
			if n, ok := at.Equality.impl.norm(s, []byte(val)); ok {
				val = n
			}
		} else if !a.Hex {
			val = prepare([]byte(val), true)
		}
	}
	b.WriteString(typ)
	b.WriteByte('=')
	if a.Hex {
		b.WriteByte('#')
		b.WriteString(val)
		return
	}
	escapeValue(b, val)
}

func escapeValue(b *strings.Builder, v string) {
	if !needsEscape(v) {
		b.WriteString(v)
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isControl(c):
			fmt.Fprintf(b, "\\%02x", c)
		case isDNSpecial(c), (c == ' ' || c == '#') && i == 0, c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}

// isDNSpecial reports whether c is escaped with a backslash wherever it
// stands in a value: RFC 4514 §2.4's specials, and '=' so that normal
// forms never hold one inside a value (store.InScope relies on that).
func isDNSpecial(c byte) bool {
	return c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || c == '='
}

// isControl reports whether c is escaped as hex: ASCII controls and DEL.
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

// needsEscape reports whether escapeValue would change v.
func needsEscape(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == ' ' || v[0] == '#' || v[len(v)-1] == ' ' {
		return true
	}
	for i := 0; i < len(v); i++ {
		if isDNSpecial(v[i]) || isControl(v[i]) {
			return true
		}
	}
	return false
}

// size is about the length of d as a string, to size builders.
func (d DN) size() int {
	n := len(d)
	for _, r := range d {
		for _, a := range r {
			n += len(a.Type) + len(a.Value) + 2
		}
	}
	return n
}

// Normalize returns the comparison form of d under schema s: attribute
// types as their lower-case primary name, values canonicalised by the
// type's equality rule (RFC 4518 preparation for strings), multi-valued
// RDNs sorted, RFC 4514 escaping. Two DNs name the same entry when their
// normal forms are equal.
func (d DN) Normalize(s *Schema) string {
	var b strings.Builder
	b.Grow(d.size())
	for i, r := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		r.write(&b, s, true)
	}
	return b.String()
}

// NormalizeDN parses and normalises a DN string under schema s.
func NormalizeDN(s *Schema, str string) (string, error) {
	d, err := ParseDN(str)
	if err != nil {
		return "", err
	}
	return d.Normalize(s), nil
}

// Has reports whether the RDN holds an AVA of attribute type at (under s).
func (r RDN) Has(s *Schema, at *AttributeType) bool {
	for _, a := range r {
		if s.Attribute(a.Type) == at {
			return true
		}
	}
	return false
}
