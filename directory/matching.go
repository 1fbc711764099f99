package directory

import (
	"bytes"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// rule is pkid's implementation of a matching rule. norm maps a value (or
// an assertion value) to its canonical form; ok=false means the value is
// not valid for the rule, which makes an assertion Undefined (RFC 4511
// §4.5.1.7). compare orders canonical forms for ordering rules.
type rule struct {
	norm    func(s *Schema, v []byte) (string, bool)
	compare func(a, b string) int
	// substrPart prepares one component of a substrings assertion.
	substrPart func(v []byte) string
}

// rules are the matching rules pkid implements, by OID.
var rules = map[string]*rule{}

func init() {
	ci := &rule{norm: caseIgnore, substrPart: substrIgnore}
	ce := &rule{norm: caseExact, substrPart: substrExact}
	num := &rule{norm: numericNorm, substrPart: func(v []byte) string { return strings.ReplaceAll(string(v), " ", "") }}
	tel := &rule{norm: telNorm, substrPart: func(v []byte) string { s, _ := telNorm(nil, v); return s }}
	oct := &rule{norm: func(_ *Schema, v []byte) (string, bool) { return string(v), true }}
	integer := &rule{norm: integerNorm, compare: integerCompare}
	gt := &rule{norm: timeNorm}
	oid := &rule{norm: oidNorm}
	for o, r := range map[string]*rule{
		"2.5.13.0":                    oid,
		"2.5.13.1":                    {norm: dnNorm},
		"2.5.13.2":                    ci,
		"2.5.13.3":                    ci,
		"2.5.13.4":                    ci,
		"2.5.13.5":                    ce,
		"2.5.13.6":                    ce,
		"2.5.13.7":                    ce,
		"2.5.13.8":                    num,
		"2.5.13.9":                    num,
		"2.5.13.10":                   num,
		"2.5.13.11":                   ci,
		"2.5.13.12":                   ci,
		"2.5.13.13":                   {norm: boolNorm},
		"2.5.13.14":                   integer,
		"2.5.13.15":                   integer,
		"2.5.13.16":                   oct,
		"2.5.13.17":                   oct,
		"2.5.13.18":                   oct,
		"2.5.13.20":                   tel,
		"2.5.13.21":                   tel,
		"2.5.13.22":                   ci,
		"2.5.13.23":                   {norm: uniqueMemberNorm},
		"2.5.13.24":                   ci,
		"2.5.13.27":                   gt,
		"2.5.13.28":                   gt,
		"2.5.13.29":                   {norm: firstComponent(integerNorm)},
		"2.5.13.30":                   {norm: firstComponent(oidNorm)},
		"2.5.13.34":                   oct,
		"2.5.13.38":                   oct,
		"1.3.6.1.4.1.1466.109.114.1":  ce,
		"1.3.6.1.4.1.1466.109.114.2":  ci,
		"1.3.6.1.4.1.1466.109.114.3":  ci,
		"1.3.6.1.4.1.4203.1.2.1":      ce,
		"1.3.6.1.1.16.2":              {norm: func(_ *Schema, v []byte) (string, bool) { return strings.ToLower(string(v)), true }},
		"1.3.6.1.1.16.3":              {norm: func(_ *Schema, v []byte) (string, bool) { return strings.ToLower(string(v)), true }},
		"1.3.6.1.4.1.4203.666.11.2.2": oct,
		"1.3.6.1.4.1.4203.666.11.2.3": oct,
	} {
		rules[o] = r
	}
}

// prepare applies RFC 4518 string preparation as pkid implements it:
// NFKC normalisation (skipped for ASCII), optional case folding, and
// insignificant space handling (leading and trailing spaces removed, inner
// runs of white space collapsed to one space). An all-space value
// prepares to one space, as §2.6.1 requires.
func prepare(v []byte, fold bool) string {
	ascii := true
	for _, c := range v {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return prepareASCII(v, fold)
	}
	s := string(v)
	if !utf8.ValidString(s) {
		return s
	}
	return prepareRunes(norm.NFKC.String(s), fold)
}

// prepareASCII is prepare for ASCII input, byte by byte, with one
// allocation: values are mostly ASCII, and often already prepared.
func prepareASCII(v []byte, fold bool) string {
	prepared := len(v) == 0 || (v[0] != ' ' && v[len(v)-1] != ' ')
	for i := 0; prepared && i < len(v); i++ {
		c := v[i]
		prepared = c >= 0x20 && c != 0x7f && !(fold && 'A' <= c && c <= 'Z') && !(c == ' ' && v[i+1] == ' ')
	}
	if prepared {
		return string(v)
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for _, c := range v {
		switch {
		case c == ' ' || '\t' <= c && c <= '\r':
			space = b.Len() > 0
			continue
		case c < 0x20 || c == 0x7f:
			continue // RFC 4518 §2.2 maps controls to nothing
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if fold && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 && len(v) > 0 {
		return " "
	}
	return b.String()
}

// prepareRunes is prepare for valid UTF-8 after NFKC.
func prepareRunes(s string, fold bool) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if unicode.IsControl(r) {
			continue // RFC 4518 §2.2 maps controls to nothing
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if fold {
			if r < utf8.RuneSelf {
				if 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
			} else {
				r = unicode.ToLower(r)
			}
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 && len(s) > 0 {
		return " "
	}
	return b.String()
}

func caseIgnore(_ *Schema, v []byte) (string, bool) { return prepare(v, true), true }
func caseExact(_ *Schema, v []byte) (string, bool)  { return prepare(v, false), true }

// substrIgnore prepares a substrings component: like caseIgnore but inner
// and outer spaces are collapsed rather than removed, so "(cn=John *)"
// matches "John Smith".
func substrIgnore(v []byte) string { return substrPrep(v, true) }
func substrExact(v []byte) string  { return substrPrep(v, false) }

func substrPrep(v []byte, fold bool) string {
	p := prepare(v, fold)
	if len(v) > 0 && (v[0] == ' ') && p != " " {
		p = " " + p
	}
	if len(v) > 1 && v[len(v)-1] == ' ' && p != " " {
		p += " "
	}
	return p
}

func numericNorm(_ *Schema, v []byte) (string, bool) {
	var b strings.Builder
	for _, c := range v {
		switch {
		case c == ' ':
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func telNorm(_ *Schema, v []byte) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(string(v)) {
		if r == ' ' || r == '-' || unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

func boolNorm(_ *Schema, v []byte) (string, bool) {
	switch string(v) {
	case "TRUE", "FALSE":
		return string(v), true
	}
	return "", false
}

// integerNorm gives the canonical decimal form; integerCompare orders those.
func integerNorm(_ *Schema, v []byte) (string, bool) {
	s := strings.TrimSpace(string(v))
	if !validInteger(s) {
		return "", false
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return "", false
	}
	return n.String(), true
}

func integerCompare(a, b string) int {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	if x == nil || y == nil {
		return strings.Compare(a, b)
	}
	return x.Cmp(y)
}

// timeNorm parses a GeneralizedTime (RFC 4517 §3.3.13) and gives a
// fixed-width UTC form that orders as the times do.
func timeNorm(_ *Schema, v []byte) (string, bool) {
	t, ok := parseGeneralizedTime(string(v))
	if !ok {
		return "", false
	}
	return t.UTC().Format("20060102150405.000000000Z"), true
}

func parseGeneralizedTime(s string) (time.Time, bool) {
	if len(s) < 11 {
		return time.Time{}, false
	}
	// Split off the zone: Z or ±hh[mm].
	var loc *time.Location
	body := s
	switch {
	case strings.HasSuffix(s, "Z"):
		body, loc = s[:len(s)-1], time.UTC
	default:
		i := strings.LastIndexAny(s, "+-")
		if i < 10 {
			return time.Time{}, false
		}
		off := s[i+1:]
		if len(off) != 2 && len(off) != 4 || !allDigits(off) {
			return time.Time{}, false
		}
		h := int(off[0]-'0')*10 + int(off[1]-'0')
		m := 0
		if len(off) == 4 {
			m = int(off[2]-'0')*10 + int(off[3]-'0')
		}
		if h > 23 || m > 59 {
			return time.Time{}, false
		}
		sec := (h*60 + m) * 60
		if s[i] == '-' {
			sec = -sec
		}
		body, loc = s[:i], time.FixedZone("", sec)
	}
	frac := ""
	if i := strings.IndexAny(body, ".,"); i >= 0 {
		frac, body = body[i+1:], body[:i]
		if frac == "" || !allDigits(frac) {
			return time.Time{}, false
		}
	}
	if !allDigits(body) {
		return time.Time{}, false
	}
	var layout string
	var unit time.Duration
	switch len(body) {
	case 10:
		layout, unit = "2006010215", time.Hour
	case 12:
		layout, unit = "200601021504", time.Minute
	case 14:
		layout, unit = "20060102150405", time.Second
	default:
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(layout, body, loc)
	if err != nil {
		return time.Time{}, false
	}
	if frac != "" {
		f, _ := new(big.Float).SetString("0." + frac)
		x, _ := f.Float64()
		t = t.Add(time.Duration(x * float64(unit)))
	}
	return t, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// oidNorm maps a descriptor known to the schema to its numeric OID, so
// (objectClass=person) matches a value written 2.5.6.6.
func oidNorm(s *Schema, v []byte) (string, bool) {
	x := strings.TrimSpace(string(v))
	if isNumericOID(x) {
		return x, true
	}
	if !isDescr(x) {
		return "", false
	}
	if s != nil {
		if c := s.Class(x); c != nil {
			return c.OID, true
		}
		if a := s.Attribute(x); a != nil {
			return a.OID, true
		}
		if r := s.Rule(x); r != nil {
			return r.OID, true
		}
	}
	return strings.ToLower(x), true
}

// firstComponent applies n to the first component of a value in the
// description syntaxes ("( 2.5.4.3 NAME ... )"), or to the whole assertion.
func firstComponent(n func(*Schema, []byte) (string, bool)) func(*Schema, []byte) (string, bool) {
	return func(s *Schema, v []byte) (string, bool) {
		t := bytes.TrimSpace(v)
		if len(t) > 0 && t[0] == '(' {
			f := strings.Fields(string(t[1:]))
			if len(f) == 0 {
				return "", false
			}
			t = []byte(f[0])
		}
		return n(s, t)
	}
}

func dnNorm(s *Schema, v []byte) (string, bool) {
	d, err := ParseDN(string(v))
	if err != nil {
		return "", false
	}
	return d.Normalize(s), true
}

// uniqueMemberNorm: a DN with an optional #'0101'B unique identifier.
func uniqueMemberNorm(s *Schema, v []byte) (string, bool) {
	str := string(v)
	uid := ""
	if i := strings.LastIndex(str, "#'"); i >= 0 && strings.HasSuffix(str, "'B") {
		str, uid = str[:i], str[i:]
	}
	n, ok := dnNorm(s, []byte(str))
	return n + uid, ok
}

// approx is pkid's approximate match (RFC 4511 §4.5.1.7.6 leaves it to the
// server): the equality rule's canonical forms with every space removed
// and case folded, so "(cn~=jon smith)" matches "Jon  Smith" and
// "JonSmith". Values without an equality rule are compared as octets.
func approx(canonical string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, canonical)
}
