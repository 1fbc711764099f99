package ldap

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on filter strings given to ParseFilter. A filter within them
// always fits MaxDepth once encoded in a SearchRequest.
const (
	MaxFilterLength = 64 << 10
	MaxFilterDepth  = 24
)

// FilterSyntaxError reports an invalid filter string, with the byte offset
// where parsing stopped.
type FilterSyntaxError struct {
	Filter string
	Offset int
	Msg    string
}

// Error describes the problem and where it is.
func (e *FilterSyntaxError) Error() string {
	f := e.Filter
	if len(f) > 80 {
		f = f[:77] + "..."
	}
	return fmt.Sprintf("ldap: invalid filter %q at offset %d: %s", f, e.Offset, e.Msg)
}

// ParseFilter parses an RFC 4515 filter string such as
// "(&(objectClass=person)(cn=J*n))" or "(cn:dn:caseExactMatch:=x)".
// Like ldapsearch it also accepts a single item without the outer
// parentheses ("uid=jane") and blanks between the parts of and, or and
// not ("(& (uid=a) (!(cn=b)) )"). Values use RFC 4515 escapes (\2a for '*');
// RFC 4526 absolute true and false "(&)" and "(|)" are accepted.
func ParseFilter(s string) (Filter, error) {
	if len(s) > MaxFilterLength {
		return Filter{}, &FilterSyntaxError{Filter: s, Msg: fmt.Sprintf("longer than %d bytes", MaxFilterLength)}
	}
	src := s
	if !strings.HasPrefix(s, "(") {
		src = "(" + s + ")"
	}
	p := filterParser{s: src}
	f, err := p.filter(1)
	if err == nil && p.i != len(p.s) {
		err = p.errf("data after the filter")
	}
	if err != nil {
		fe := err.(*FilterSyntaxError)
		fe.Filter = s
		if src != s && fe.Offset > 0 {
			fe.Offset--
		}
		return Filter{}, fe
	}
	return f, nil
}

type filterParser struct {
	s     string
	i     int
	items int
}

func (p *filterParser) errf(format string, args ...any) error {
	return &FilterSyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *filterParser) filter(depth int) (Filter, error) {
	if depth > MaxFilterDepth {
		return Filter{}, p.errf("nested deeper than %d", MaxFilterDepth)
	}
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return Filter{}, p.errf("expected '('")
	}
	if p.items++; p.items > MaxFilterElements {
		return Filter{}, p.errf("more than %d filter elements", MaxFilterElements)
	}
	p.i++
	if p.i >= len(p.s) {
		return Filter{}, p.errf("unexpected end")
	}
	var f Filter
	switch p.s[p.i] {
	case '&', '|':
		f.Type = FilterAnd
		if p.s[p.i] == '|' {
			f.Type = FilterOr
		}
		p.i++
		for p.skipSpace() && p.i < len(p.s) && p.s[p.i] == '(' {
			c, err := p.filter(depth + 1)
			if err != nil {
				return Filter{}, err
			}
			f.Children = append(f.Children, c)
		}
	case '!':
		p.i++
		p.skipSpace()
		c, err := p.filter(depth + 1)
		if err != nil {
			return Filter{}, err
		}
		f = Filter{Type: FilterNot, Children: []Filter{c}}
		p.skipSpace()
	default:
		end := strings.IndexByte(p.s[p.i:], ')')
		if end < 0 {
			return Filter{}, p.errf("missing ')'")
		}
		var err error
		if f, err = p.item(p.s[p.i : p.i+end]); err != nil {
			return Filter{}, err
		}
		p.i += end
	}
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return Filter{}, p.errf("expected ')'")
	}
	p.i++
	return f, nil
}

// skipSpace skips the blanks libldap allows between the parts of an
// and, or or not ("(& (a=1) (b=2) )"); it always returns true.
func (p *filterParser) skipSpace() bool {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
	return true
}

// item parses simple, present, substring and extensible items; s has no
// parentheses and starts at p.i.
func (p *filterParser) item(s string) (Filter, error) {
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return Filter{}, p.errf("item without '='")
	}
	left, value := s[:eq], s[eq+1:]
	valOff := p.i + eq + 1
	var f Filter
	if left != "" {
		switch left[len(left)-1] {
		case '~':
			f.Type, left = FilterApproxMatch, left[:len(left)-1]
		case '>':
			f.Type, left = FilterGreaterOrEqual, left[:len(left)-1]
		case '<':
			f.Type, left = FilterLessOrEqual, left[:len(left)-1]
		case ':':
			f.Type, left = FilterExtensibleMatch, left[:len(left)-1]
		default:
			f.Type = FilterEqualityMatch
		}
	}
	if f.Type == FilterExtensibleMatch {
		if err := p.extensible(&f, left); err != nil {
			return Filter{}, err
		}
	} else {
		if err := checkAttributeDescription(left); err != nil {
			return Filter{}, p.errf("attribute description %q: %v", left, err)
		}
		f.Attr = left
	}
	if f.Type == FilterEqualityMatch {
		if value == "*" {
			f.Type = FilterPresent
			return f, nil
		}
		if strings.IndexByte(value, '*') >= 0 {
			f.Type = FilterSubstrings
			parts := strings.Split(value, "*")
			off := valOff
			for i, part := range parts {
				v, err := unescapeValue(part)
				if err != nil {
					p.i = off
					return Filter{}, p.errf("%v", err)
				}
				off += len(part) + 1
				switch {
				case i == 0:
					if len(v) > 0 {
						f.Initial = v
					}
				case i == len(parts)-1:
					if len(v) > 0 {
						f.Final = v
					}
				case len(v) == 0:
					// RFC 4515's ABNF allows it, but libldap refuses it
					// and there is nothing to match.
					p.i = off - 1
					return Filter{}, p.errf("empty substring between '*'s")
				default:
					f.Any = append(f.Any, v)
				}
			}
			return f, nil
		}
	}
	if strings.IndexByte(value, '*') >= 0 {
		p.i = valOff + strings.IndexByte(value, '*')
		return Filter{}, p.errf("unescaped '*' in a %s value (write \\2a)", f.Type)
	}
	v, err := unescapeValue(value)
	if err != nil {
		p.i = valOff
		return Filter{}, p.errf("%v", err)
	}
	f.Value = v
	return f, nil
}

// extensible parses "attr[:dn][:rule]" or "[:dn]:rule" (the part before
// ":=").
func (p *filterParser) extensible(f *Filter, left string) error {
	parts := strings.Split(left, ":")
	if parts[0] != "" {
		if err := checkAttributeDescription(parts[0]); err != nil {
			return p.errf("attribute description %q: %v", parts[0], err)
		}
		f.Attr = parts[0]
	}
	rest := parts[1:]
	if f.Attr == "" {
		if len(rest) == 0 {
			return p.errf("extensible match without attribute or matching rule")
		}
	}
	if len(rest) > 0 && strings.EqualFold(rest[0], "dn") {
		f.DNAttributes = true
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
	case 1:
		if !isOID(rest[0]) {
			return p.errf("matching rule %q is not a name or numeric OID", rest[0])
		}
		f.MatchingRule = rest[0]
	default:
		return p.errf("extensible match %q has too many ':' parts", left)
	}
	if f.Attr == "" && f.MatchingRule == "" {
		return p.errf("extensible match without attribute needs a matching rule")
	}
	return nil
}

// unescapeValue decodes an RFC 4515 assertionvalue (without '*').
func unescapeValue(s string) ([]byte, error) {
	if strings.IndexByte(s, '\\') < 0 && strings.IndexByte(s, '(') < 0 && strings.IndexByte(s, 0) < 0 {
		return []byte(s), nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+2 >= len(s) {
				return nil, fmt.Errorf("truncated escape %q", s[i:])
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("escape %q is not \\ and two hex digits", s[i:i+3])
			}
			b = append(b, hi<<4|lo)
			i += 2
		case '(', 0:
			return nil, fmt.Errorf("unescaped %q in value (write \\%02x)", c, c)
		default:
			b = append(b, c)
		}
	}
	return b, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String returns f as an RFC 4515 filter string.
func (f *Filter) String() string {
	var b strings.Builder
	f.format(&b)
	return b.String()
}

func (f *Filter) format(b *strings.Builder) {
	b.WriteByte('(')
	switch f.Type {
	case FilterAnd, FilterOr, FilterNot:
		b.WriteByte("&|!"[f.Type])
		for i := range f.Children {
			f.Children[i].format(b)
		}
	case FilterEqualityMatch:
		b.WriteString(f.Attr)
		b.WriteByte('=')
		escapeValue(b, f.Value)
	case FilterGreaterOrEqual:
		b.WriteString(f.Attr)
		b.WriteString(">=")
		escapeValue(b, f.Value)
	case FilterLessOrEqual:
		b.WriteString(f.Attr)
		b.WriteString("<=")
		escapeValue(b, f.Value)
	case FilterApproxMatch:
		b.WriteString(f.Attr)
		b.WriteString("~=")
		escapeValue(b, f.Value)
	case FilterPresent:
		b.WriteString(f.Attr)
		b.WriteString("=*")
	case FilterSubstrings:
		b.WriteString(f.Attr)
		b.WriteByte('=')
		escapeValue(b, f.Initial)
		b.WriteByte('*')
		for _, a := range f.Any {
			escapeValue(b, a)
			b.WriteByte('*')
		}
		escapeValue(b, f.Final)
	case FilterExtensibleMatch:
		b.WriteString(f.Attr)
		if f.DNAttributes {
			b.WriteString(":dn")
		}
		if f.MatchingRule != "" {
			b.WriteByte(':')
			b.WriteString(f.MatchingRule)
		}
		b.WriteString(":=")
		escapeValue(b, f.Value)
	default:
		fmt.Fprintf(b, "?%d", f.Type)
	}
	b.WriteByte(')')
}

// escapeValue writes v with RFC 4515 escapes for the special characters,
// control characters and bytes that are not UTF-8.
func escapeValue(b *strings.Builder, v []byte) {
	const hex = "0123456789abcdef"
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		c := v[0]
		if (r == utf8.RuneError && n <= 1) || c < 0x20 || c == 0x7f || c == '*' || c == '(' || c == ')' || c == '\\' {
			b.WriteByte('\\')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			v = v[1:]
			continue
		}
		b.Write(v[:n])
		v = v[n:]
	}
}
