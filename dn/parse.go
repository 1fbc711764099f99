package dn

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on names that come from outside. They are far above anything a
// real certificate needs and keep a hostile string from costing much.
const (
	MaxLength       = 4096 // bytes of the name's types and decoded values
	MaxRDNs         = 64   // relative distinguished names in one DN
	MaxValuesPerRDN = 16   // attribute values in one multi-valued RDN

	// maxStringLength bounds the string form. It is a multiple of
	// MaxLength because String may escape every byte of a value (\XX or
	// #hex): whatever String writes for a name within MaxLength must
	// parse again.
	maxStringLength = 8 * MaxLength
)

// Error reports a DN that cannot be used, naming the part at fault.
type Error struct {
	DN   string // the input, shortened when long
	Part string // the offending attribute or text, "" when it is the whole DN
	Msg  string
}

func (e *Error) Error() string {
	if e.Part == "" {
		return fmt.Sprintf("DN %q: %s", e.DN, e.Msg)
	}
	return fmt.Sprintf("DN %q: %s: %s", e.DN, e.Part, e.Msg)
}

func errorf(s, part, format string, a ...any) error {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return &Error{DN: s, Part: part, Msg: fmt.Sprintf(format, a...)}
}

// Parse reads a distinguished name in RFC 4514 form ("CN=web,O=Example",
// most significant RDN last) or, when it starts with '/', in OpenSSL's
// slash form ("/O=Example/CN=web", most significant first, '\' escapes the
// next character), and returns it in ASN.1 order (most significant first).
// The empty string is the empty DN. Every value is checked against the
// rules of its attribute type (length bounds of RFC 5280 Appendix A, C is a
// two-letter country code, IA5 types are ASCII, no control characters).
func Parse(s string) (pkix.RDNSequence, error) {
	if len(s) > maxStringLength {
		return nil, errorf(s, "", "longer than %d bytes", maxStringLength)
	}
	if !utf8.ValidString(s) {
		return nil, errorf(s, "", "not valid UTF-8")
	}
	var rdns pkix.RDNSequence
	var err error
	if strings.HasPrefix(s, "/") {
		rdns, err = parseSlash(s)
	} else {
		rdns, err = parseRFC4514(s)
	}
	if err != nil {
		return nil, err
	}
	if len(rdns) > MaxRDNs {
		return nil, errorf(s, "", "more than %d RDNs", MaxRDNs)
	}
	if n := size(rdns); n > MaxLength {
		return nil, errorf(s, "", "longer than %d bytes of attribute types and values (%d)", MaxLength, n)
	}
	for _, rdn := range rdns {
		if len(rdn) > MaxValuesPerRDN {
			return nil, errorf(s, "", "more than %d values in one RDN", MaxValuesPerRDN)
		}
		seen := map[string]bool{}
		for _, atv := range rdn {
			if seen[atv.Type.String()] {
				return nil, errorf(s, TypeName(atv.Type), "appears twice in one multi-valued RDN")
			}
			seen[atv.Type.String()] = true
			if err := checkValue(s, atv); err != nil {
				return nil, err
			}
		}
	}
	return rdns, nil
}

// checkValue applies the rules of the attribute's type to its value.
func checkValue(s string, atv pkix.AttributeTypeAndValue) error {
	a := byOID[atv.Type.String()]
	v, isString := atv.Value.(string)
	if a == nil {
		if isString && v == "" {
			return errorf(s, atv.Type.String(), "empty value")
		}
		return nil
	}
	part := a.name
	if !isString {
		return errorf(s, part, "the value must be a string, not a #hex encoding of another ASN.1 type")
	}
	if v == "" {
		return errorf(s, part, "empty value")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errorf(s, part+"="+v, "control character %U in the value", r)
		}
	}
	if a.name == "C" && (len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z') {
		return errorf(s, "C="+v, "the country must be an ISO 3166 code of two capital letters, like GB or US")
	}
	if n := utf8.RuneCountInString(v); a.ub > 0 && n > a.ub {
		return errorf(s, part+"="+shorten(v), "%d characters, more than the %d RFC 5280 allows", n, a.ub)
	}
	switch a.tag {
	case asn1.TagPrintableString:
		if !isPrintable(v) {
			return errorf(s, part+"="+v, "only letters, digits, space and '()+,-./:=? are allowed (PrintableString)")
		}
	case asn1.TagIA5String:
		for _, r := range v {
			if r > 0x7f {
				return errorf(s, part+"="+v, "only ASCII is allowed (IA5String)")
			}
		}
	}
	return nil
}

func shorten(v string) string {
	if len(v) > 24 {
		return v[:21] + "..."
	}
	return v
}

// isPrintable reports whether v fits ASN.1 PrintableString.
func isPrintable(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseRFC4514 implements RFC 4514 §3. Unescaped spaces around types,
// values and separators are ignored, as the RFC recommends for input.
func parseRFC4514(s string) (pkix.RDNSequence, error) {
	var rdns pkix.RDNSequence
	i := skipSpaces(s, 0)
	if i == len(s) {
		return pkix.RDNSequence{}, nil
	}
	for {
		var rdn pkix.RelativeDistinguishedNameSET
		for {
			atv, next, err := parseATV(s, i)
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, atv)
			i = skipSpaces(s, next)
			if i < len(s) && s[i] == '+' {
				i = skipSpaces(s, i+1)
				continue
			}
			break
		}
		rdns = append(rdns, rdn)
		if len(rdns) > MaxRDNs {
			return nil, errorf(s, "", "more than %d RDNs", MaxRDNs)
		}
		if i == len(s) {
			break
		}
		if s[i] != ',' && s[i] != ';' {
			return nil, errorf(s, s[i:], "expected ',' or '+' at byte %d", i)
		}
		i = skipSpaces(s, i+1)
		if i == len(s) {
			return nil, errorf(s, "", "ends with a separator")
		}
	}
	// RFC 4514 lists the most significant RDN last; ASN.1 order is the
	// reverse.
	for l, r := 0, len(rdns)-1; l < r; l, r = l+1, r-1 {
		rdns[l], rdns[r] = rdns[r], rdns[l]
	}
	return rdns, nil
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// parseATV reads "type=value" at s[i:] and returns the index after it.
func parseATV(s string, i int) (pkix.AttributeTypeAndValue, int, error) {
	var atv pkix.AttributeTypeAndValue
	start := i
	for i < len(s) && (isAlnum(s[i]) || s[i] == '.' || s[i] == '-') {
		i++
	}
	typ := s[start:i]
	if typ == "" {
		return atv, 0, errorf(s, s[start:], "expected an attribute type at byte %d", start)
	}
	oid, ok := ParseType(typ)
	if !ok {
		return atv, 0, errorf(s, typ, "unknown attribute type; use a known name (CN, O, OU, C, L, ST, STREET, DC, UID, emailAddress, serialNumber, ...) or a dotted OID")
	}
	atv.Type = oid
	i = skipSpaces(s, i)
	if i == len(s) || s[i] != '=' {
		return atv, 0, errorf(s, typ, "expected '=' after the attribute type")
	}
	i = skipSpaces(s, i+1)
	if i < len(s) && s[i] == '#' {
		j := i + 1
		for j < len(s) && isHex(s[j]) {
			j++
		}
		v, err := hexValue(s[i+1 : j])
		if err != nil {
			return atv, 0, errorf(s, typ+"="+s[i:j], "%v", err)
		}
		atv.Value = v
		return atv, j, nil
	}
	var b []byte
	end := 0 // length of b up to the last significant byte
	for i < len(s) {
		c := s[i]
		if c == ',' || c == '+' || c == ';' {
			break
		}
		if c == '\\' {
			if i+1 == len(s) {
				return atv, 0, errorf(s, typ, "the value ends with a lone '\\'")
			}
			n := s[i+1]
			switch {
			case i+2 < len(s) && isHex(n) && isHex(s[i+2]):
				x, _ := hex.DecodeString(s[i+1 : i+3])
				b = append(b, x[0])
				i += 3
			case strings.IndexByte(`,=+<>#;\" `, n) >= 0:
				b = append(b, n)
				i += 2
			default:
				return atv, 0, errorf(s, typ, "bad escape \\%c at byte %d; escape special characters as \\, \\+ \\\\ or as two hex digits (\\2C)", n, i)
			}
			end = len(b)
			continue
		}
		if c == '"' {
			return atv, 0, errorf(s, typ, "unescaped '\"' at byte %d; write \\\"", i)
		}
		b = append(b, c)
		if c != ' ' {
			end = len(b)
		}
		i++
	}
	b = b[:end]
	if !utf8.Valid(b) {
		return atv, 0, errorf(s, typ, "the escaped bytes are not valid UTF-8")
	}
	atv.Value = string(b)
	return atv, i, nil
}

// hexValue decodes an RFC 4514 "#hex" value: the BER of one ASN.1 value.
// String types become Go strings; anything else stays raw.
func hexValue(h string) (any, error) {
	if h == "" || len(h)%2 != 0 {
		return nil, fmt.Errorf("a #hex value needs an even number of hex digits")
	}
	der, err := hex.DecodeString(h)
	if err != nil {
		return nil, err
	}
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(der, &rv)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("the #hex value is not one DER-encoded ASN.1 value")
	}
	return fromRaw(rv)
}

// size is what MaxLength bounds: the bytes of the attribute type names
// and of the values as decoded (a #hex value counts its DER).
func size(rdns pkix.RDNSequence) int {
	n := 0
	for _, rdn := range rdns {
		for _, atv := range rdn {
			n += len(TypeName(atv.Type))
			switch v := atv.Value.(type) {
			case string:
				n += len(v)
			case asn1.RawValue:
				n += len(v.FullBytes)
			default:
				n += len(fmt.Sprint(v))
			}
		}
	}
	return n
}

// fromRaw turns a string-typed value into a Go string and keeps others raw.
func fromRaw(rv asn1.RawValue) (any, error) {
	if rv.Class != asn1.ClassUniversal {
		return rv, nil
	}
	switch rv.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString:
		if !utf8.Valid(rv.Bytes) {
			return nil, fmt.Errorf("string value is not valid UTF-8")
		}
		return string(rv.Bytes), nil
	case asn1.TagT61String:
		// Treated as Latin-1, as most software does.
		r := make([]rune, len(rv.Bytes))
		for i, c := range rv.Bytes {
			r[i] = rune(c)
		}
		return string(r), nil
	case asn1.TagBMPString:
		if len(rv.Bytes)%2 != 0 {
			return nil, fmt.Errorf("BMPString of odd length")
		}
		r := make([]rune, 0, len(rv.Bytes)/2)
		for i := 0; i < len(rv.Bytes); i += 2 {
			r = append(r, rune(rv.Bytes[i])<<8|rune(rv.Bytes[i+1]))
		}
		return string(r), nil
	}
	return rv, nil
}

// parseSlash reads OpenSSL's "/type=value/type=value+type=value" form
// (`openssl req -subj`). Values keep their spaces; '\' escapes the next
// character.
func parseSlash(s string) (pkix.RDNSequence, error) {
	var rdns pkix.RDNSequence
	parts, err := splitEscaped(s[1:], '/')
	if err != nil {
		return nil, errorf(s, "", "%v", err)
	}
	if len(parts) == 1 && parts[0] == "" {
		return pkix.RDNSequence{}, nil
	}
	if len(parts) > MaxRDNs {
		return nil, errorf(s, "", "more than %d RDNs", MaxRDNs)
	}
	for _, p := range parts {
		if p == "" {
			return nil, errorf(s, "", "empty RDN between two '/'")
		}
		avas, err := splitEscaped(p, '+')
		if err != nil {
			return nil, errorf(s, p, "%v", err)
		}
		var rdn pkix.RelativeDistinguishedNameSET
		for _, ava := range avas {
			k, v, ok := strings.Cut(ava, "=")
			if !ok {
				return nil, errorf(s, ava, "expected type=value")
			}
			typ := strings.TrimSpace(k)
			oid, ok := ParseType(typ)
			if !ok {
				return nil, errorf(s, typ, "unknown attribute type; use a known name (CN, O, OU, C, ...) or a dotted OID")
			}
			rdn = append(rdn, pkix.AttributeTypeAndValue{Type: oid, Value: unescapeSlash(v)})
		}
		rdns = append(rdns, rdn)
	}
	return rdns, nil
}

// splitEscaped splits s at sep characters not preceded by '\'.
func splitEscaped(s string, sep byte) ([]string, error) {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("ends with a lone '\\'")
			}
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:]), nil
}

func unescapeSlash(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
