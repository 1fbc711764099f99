package gsk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// Report is what Decode found in the input.
type Report struct {
	// Results holds one entry per decoded list, in input order.
	Results []Result `json:"results"`
	// Ignored lists lines that are not lists this package decodes
	// (GSK_TRACE=0xff, sslCipherSpecs ...), so nothing is dropped silently.
	Ignored []Ignored `json:"ignored,omitempty"`
	// Problems are findings across lines, e.g. TLS 1.3 switched on without
	// any TLS 1.3 cipher suite.
	Problems []Problem `json:"problems,omitempty"`
}

// Result is one decoded list.
type Result struct {
	Line int `json:"line"`
	// Variable is the GSKit variable name, "" for a bare value.
	Variable string `json:"variable,omitempty"`
	Kind     Kind   `json:"kind"`
	// Detected is true when the kind of a bare value was inferred.
	Detected bool   `json:"detected,omitempty"`
	Value    string `json:"value"`
	Items    []Item `json:"items"`
	// Problems are unknown codes, duplicates and misplaced entries.
	Problems []Problem `json:"problems,omitempty"`
}

// Item is one code of a list with everything known about it.
type Item struct {
	// Position is the 1-based index in the list; Offset the 1-based
	// character position of the code in the value.
	Position int `json:"position"`
	Offset   int `json:"offset"`
	// Code is the code as written ("C02a", "0023"); Value its number (for
	// groups the decimal id, for legacy 2-hex specs the full suite 0x00XX).
	Code  string `json:"code"`
	Value uint16 `json:"value"`
	Known bool   `json:"known"`
	// IANA and OpenSSL are the standard names ("" when unknown).
	IANA    string `json:"iana,omitempty"`
	OpenSSL string `json:"openssl,omitempty"`
	// OpenSSLLegacy marks OpenSSL names only OpenSSL 1.x knows.
	OpenSSLLegacy bool `json:"openssl_legacy,omitempty"`
	// Versions: "TLS 1.2", "TLS 1.3", "SSL 3.0–TLS 1.2", "TLS 1.2+1.3".
	Versions string `json:"versions,omitempty"`
	// KeyExchange and Auth: for suites the key exchange and authentication
	// (ECDHE, ECDSA); for signature schemes the hash and the certificate key
	// type (SHA256, EC); for groups the kind (EC, FFDHE, hybrid) and "-".
	KeyExchange string `json:"kx,omitempty"`
	Auth        string `json:"auth,omitempty"`
	// Verdict is "fine", "weak", "insecure", "n/a" or "unknown".
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// Note records anything uncertain about the code's table entry.
	Note string `json:"note,omitempty"`
	// Duplicate is true when the same code appeared earlier in the list.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Problem is something wrong with a string. Position is the 1-based list
// index it concerns (0 when it concerns the whole list or several lines).
type Problem struct {
	Line     int    `json:"line,omitempty"`
	Position int    `json:"position,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message"`
}

// Ignored is an input line that was not decoded.
type Ignored struct {
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// SyntaxError reports a malformed list: odd length, a character that is not
// a digit of the kind, and the like.
type SyntaxError struct {
	Line     int    // 1-based input line (0 when the input was one value)
	Variable string // "" for a bare value
	Offset   int    // 1-based character position in the value
	Msg      string
}

// Error says where the string is malformed: "line 3: GSK_...: character 5: ...".
func (e *SyntaxError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Variable != "" {
		fmt.Fprintf(&b, "%s: ", e.Variable)
	}
	if e.Offset > 0 {
		fmt.Fprintf(&b, "character %d: ", e.Offset)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrAmbiguous is wrapped by Decode's error when a bare value fits more than
// one kind; pass an explicit Kind.
var ErrAmbiguous = errors.New("ambiguous kind")

// ErrEmpty is returned when the input holds nothing to decode.
var ErrEmpty = errors.New("nothing to decode")

// MaxInput bounds the input Decode accepts; GSKit values are a few hundred
// characters, environment files a few kilobytes.
const MaxInput = 1 << 20

// Decode reads GSKit settings as people paste them: NAME=VALUE lines
// (several at once, blank lines, # comments, "export " prefixes, quotes
// including typographic ones), or a bare value. kind applies to bare values;
// KindAuto infers it when exactly one kind fits. Variables decide their own
// kind.
func Decode(input string, kind Kind) (*Report, error) {
	if len(input) > MaxInput {
		return nil, fmt.Errorf("input is %d bytes; the limit is %d", len(input), MaxInput)
	}
	if !utf8.ValidString(input) {
		return nil, errors.New("input is not valid UTF-8")
	}
	rep := &Report{}
	protocols := map[string]string{}
	lines := strings.Split(input, "\n")
	single := strings.Count(strings.TrimSpace(input), "\n") == 0
	for i, raw := range lines {
		lineNo := i + 1
		if single {
			lineNo = 0 // one value needs no line numbers in messages
		}
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		if rest, ok := cutWord(line, "export"); ok {
			line = rest
		}
		if name, value, ok := assignment(line); ok {
			upper := strings.ToUpper(name)
			k, known := variables[upper]
			if !known {
				if strings.HasPrefix(upper, "GSK_PROTOCOL_") {
					protocols[upper] = strings.ToLower(unquote(value))
				}
				rep.Ignored = append(rep.Ignored, Ignored{Line: lineNo, Text: name, Reason: "not a cipher, signature or group list"})
				continue
			}
			res, err := decodeValue(unquote(value), k, upper, lineNo)
			if err != nil {
				return nil, err
			}
			rep.Results = append(rep.Results, *res)
			continue
		}
		value := unquote(line)
		if strings.IndexFunc(value, unicode.IsSpace) >= 0 && !looksLikeList(value) {
			rep.Ignored = append(rep.Ignored, Ignored{Line: lineNo, Text: line, Reason: "not NAME=VALUE and not a code string"})
			continue
		}
		res, err := decodeBare(value, kind, lineNo)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, *res)
	}
	if len(rep.Results) == 0 {
		if len(rep.Ignored) > 0 {
			return nil, fmt.Errorf("%w: none of the lines is a cipher, signature or group list (GSK_V3_CIPHER_SPECS_EXPANDED, GSK_V3_CIPHER_SPECS, GSK_TLS_SIG_ALG_PAIRS, GSK_*_TLS_KEY_SHARES, GSK_*_ECURVE_LIST)", ErrEmpty)
		}
		return nil, fmt.Errorf("%w: give NAME=VALUE lines or a bare value with --kind", ErrEmpty)
	}
	rep.Problems = crossCheck(rep.Results, protocols)
	return rep, nil
}

// cutWord removes a leading word followed by whitespace.
func cutWord(s, word string) (string, bool) {
	if len(s) > len(word) && strings.EqualFold(s[:len(word)], word) && (s[len(word)] == ' ' || s[len(word)] == '\t') {
		return strings.TrimSpace(s[len(word):]), true
	}
	return s, false
}

// assignment splits NAME=VALUE; NAME must look like an environment variable.
func assignment(line string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(line, "=")
	if !ok {
		return "", "", false
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	value = strings.TrimSpace(value)
	// An inline comment after the value: VALUE   # note
	if i := strings.Index(value, " #"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return name, value, true
}

// quotes are the quote characters pasted values arrive in: ASCII, and the
// typographic ones that blogs and word processors substitute (“ ” ‘ ’ ″).
const quotes = "\"'`\u201C\u201D\u2018\u2019\u2033\u00AB\u00BB"

func unquote(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ";")
	return strings.TrimSpace(strings.Trim(s, quotes))
}

// looksLikeList reports whether a value with spaces is still a list of codes
// ("C02C C02B", "0023, 0024").
func looksLikeList(s string) bool {
	for _, r := range s {
		if !(isSep(r) || isHex(r) || r == 'x' || r == 'X') {
			return false
		}
	}
	return true
}

func isSep(r rune) bool { return r == ',' || r == ' ' || r == '\t' }
func isHex(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}
func isDec(r rune) bool { return r >= '0' && r <= '9' }

// chunk is one code of a value and where it starts.
type chunk struct {
	text   string
	offset int // 1-based character offset in the value
}

// split cuts value into codes of k's width. Separators (commas, spaces) and
// 0x prefixes are tolerated; anything else that is not a digit of the kind,
// or a length that does not divide into codes, is a SyntaxError.
func split(value string, k Kind) ([]chunk, *SyntaxError) {
	if value == "" {
		return nil, &SyntaxError{Msg: "empty value"}
	}
	width := k.width()
	digit, what := isHex, "hex digit"
	if k == KindGroup {
		digit, what = isDec, "decimal digit (GSKit writes group ids in decimal: 0023 = secp256r1)"
	}
	runes := []rune(value)
	var out []chunk
	for i := 0; i < len(runes); {
		if isSep(runes[i]) {
			i++
			continue
		}
		start := i
		for i < len(runes) && !isSep(runes[i]) {
			i++
		}
		tok := runes[start:i]
		off := start
		if len(tok) > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X') && k != KindGroup {
			tok, off = tok[2:], off+2
		}
		for j, r := range tok {
			if !digit(r) {
				return nil, &SyntaxError{Offset: off + j + 1, Msg: fmt.Sprintf("%q is not a %s", string(r), what)}
			}
		}
		if len(tok)%width != 0 {
			full := len(tok) / width * width
			return nil, &SyntaxError{Offset: off + full + 1, Msg: fmt.Sprintf(
				"%d digits do not divide into %d-digit %s codes: the last code %q is incomplete",
				len(tok), width, k, string(tok[full:]))}
		}
		for j := 0; j < len(tok); j += width {
			out = append(out, chunk{text: string(tok[j : j+width]), offset: off + j + 1})
		}
	}
	if len(out) == 0 {
		return nil, &SyntaxError{Msg: "no codes in value"}
	}
	return out, nil
}

func decodeValue(value string, k Kind, variable string, line int) (*Result, error) {
	chunks, serr := split(value, k)
	if serr != nil {
		serr.Line, serr.Variable = line, variable
		return nil, serr
	}
	res := &Result{Line: line, Variable: variable, Kind: k, Value: value}
	seen := map[uint16]int{}
	for i, c := range chunks {
		it := describe(c, k)
		it.Position = i + 1
		if first, dup := seen[it.Value]; dup {
			it.Duplicate = true
			res.Problems = append(res.Problems, Problem{Line: line, Position: it.Position, Code: c.text,
				Message: fmt.Sprintf("%s appears again (first at position %d); GSKit may reject the list", c.text, first)})
		} else {
			seen[it.Value] = it.Position
		}
		res.Problems = append(res.Problems, itemProblems(it, k, variable, line)...)
		res.Items = append(res.Items, it)
	}
	if k == KindCipher2 && len(value)%4 == 0 {
		if c4, err := split(value, KindCipher); err == nil && allKnownModern(c4) {
			res.Problems = append(res.Problems, Problem{Line: line, Message: "this value reads as 4-digit suite codes; did you mean GSK_V3_CIPHER_SPECS_EXPANDED? GSK_V3_CIPHER_SPECS takes 2-digit specs"})
		}
	}
	return res, nil
}

// allKnownModern reports whether 4-digit chunks are all known suites outside
// 0x00XX, the telltale of an EXPANDED value in the 2-digit variable.
func allKnownModern(cs []chunk) bool {
	for _, c := range cs {
		v, _ := strconv.ParseUint(c.text, 16, 16)
		if _, ok := tlsregistry.SuiteByCode(uint16(v)); !ok || v <= 0xFF {
			return false
		}
	}
	return true
}

func describe(c chunk, k Kind) Item {
	it := Item{Offset: c.offset, Code: c.text, Verdict: "unknown"}
	switch k {
	case KindCipher, KindCipher2:
		v, _ := strconv.ParseUint(c.text, 16, 16)
		it.Value = uint16(v)
		s, ok := tlsregistry.SuiteByCode(it.Value)
		if !ok {
			return it
		}
		it.Known, it.IANA, it.OpenSSL, it.Versions = true, s.Name, s.OpenSSL, s.Versions()
		it.OpenSSLLegacy = s.OpenSSLLegacy
		it.KeyExchange, it.Auth = s.KeyExchange, s.Auth
		it.Verdict, it.Reason, it.Note = s.Verdict.String(), s.Reason, s.Note
	case KindSigAlg:
		v, _ := strconv.ParseUint(c.text, 16, 16)
		it.Value = uint16(v)
		s, ok := tlsregistry.SignatureSchemeByCode(it.Value)
		if !ok {
			return it
		}
		it.Known, it.IANA, it.OpenSSL = true, s.Name, s.OpenSSL
		it.Versions = versionsOf(s.TLS12, s.TLS13)
		it.KeyExchange, it.Auth = s.Hash, s.KeyType
		it.Verdict, it.Reason, it.Note = s.Verdict.String(), s.Reason, s.Note
	case KindGroup:
		v, _ := strconv.ParseUint(c.text, 10, 16)
		it.Value = uint16(v)
		g, ok := tlsregistry.GroupByID(it.Value)
		if !ok {
			return it
		}
		it.Known, it.IANA, it.OpenSSL = true, g.Name, g.OpenSSL
		it.Versions = versionsOf(g.Kind == "EC" || g.Kind == "FFDHE", g.TLS13)
		it.KeyExchange, it.Auth = g.Kind, "-"
		it.Verdict, it.Reason, it.Note = g.Verdict.String(), g.Reason, g.Note
	}
	return it
}

func versionsOf(tls12, tls13 bool) string {
	switch {
	case tls12 && tls13:
		return "TLS 1.2+1.3"
	case tls13:
		return "TLS 1.3"
	case tls12:
		return "TLS 1.2"
	}
	return "-"
}

func itemProblems(it Item, k Kind, variable string, line int) []Problem {
	p := func(msg string, a ...any) []Problem {
		return []Problem{{Line: line, Position: it.Position, Code: it.Code, Message: fmt.Sprintf(msg, a...)}}
	}
	if !it.Known {
		switch {
		case k != KindGroup && tlsregistry.IsGREASE(it.Value):
			return p("%s is a GREASE value (RFC 8701), not a real code; remove it", it.Code)
		case k == KindCipher || k == KindCipher2:
			return p("%s is not an assigned cipher suite (0x%04X); check for a typo", it.Code, it.Value)
		case k == KindSigAlg:
			return p("%s is not a known signature algorithm pair", it.Code)
		default:
			return p("%s is not a known named group (decimal id %d)", it.Code, it.Value)
		}
	}
	switch k {
	case KindCipher, KindCipher2:
		if s, _ := tlsregistry.SuiteByCode(it.Value); s.Signalling {
			return p("%s is a signalling value (%s), not a cipher suite", it.Code, s.Name)
		}
	case KindGroup:
		g, _ := tlsregistry.GroupByID(it.Value)
		if isKeyShareVar(variable) && !g.TLS13 {
			return p("%s (%s) cannot be a TLS 1.3 key share; remove it from %s", it.Code, g.Name, variable)
		}
		if strings.HasSuffix(variable, "_ECURVE_LIST") && g.Kind != "EC" {
			return p("%s (%s) is not an elliptic curve; %s lists curves", it.Code, g.Name, variable)
		}
	}
	return nil
}

// decodeBare decodes a value without a variable name.
func decodeBare(value string, kind Kind, line int) (*Result, error) {
	if kind != KindAuto {
		return decodeValue(value, kind, "", line)
	}
	type cand struct {
		k      Kind
		res    *Result
		allOK  bool
		errMsg string
	}
	var fits []cand
	for _, k := range []Kind{KindCipher, KindSigAlg, KindGroup, KindCipher2} {
		res, err := decodeValue(value, k, "", line)
		if err != nil {
			continue
		}
		all := true
		for _, it := range res.Items {
			all = all && it.Known
		}
		fits = append(fits, cand{k: k, res: res, allOK: all})
	}
	var full []cand
	for _, c := range fits {
		if c.allOK {
			full = append(full, c)
		}
	}
	// Almost any even-length hex string reads as 2-digit specs (0x00XX
	// covers most bytes), so they only count when no 4-digit kind fits.
	if len(full) > 1 {
		full = slices.DeleteFunc(full, func(c cand) bool { return c.k == KindCipher2 })
	}
	pick := func(c cand) (*Result, error) {
		c.res.Detected = true
		return c.res, nil
	}
	switch {
	case len(full) == 1:
		return pick(full[0])
	case len(full) == 0 && len(fits) == 1:
		return pick(fits[0])
	case len(fits) == 0:
		// Report the error of the most likely kind.
		_, err := decodeValue(value, likelyKind(value), "", line)
		return nil, fmt.Errorf("%w (pass --kind cipher|cipher2|sigalg|group if this is not a %s list)", err, likelyKind(value))
	}
	var names []string
	for _, c := range full {
		names = append(names, c.k.String())
	}
	if len(full) == 0 {
		for _, c := range fits {
			names = append(names, c.k.String())
		}
	}
	where := ""
	if line > 0 {
		where = fmt.Sprintf("line %d: ", line)
	}
	return nil, fmt.Errorf("%s%w: %q reads as %s; pass --kind to say which", where, ErrAmbiguous, clip(value), strings.Join(names, " or "))
}

func likelyKind(v string) Kind {
	if strings.IndexFunc(v, func(r rune) bool { return !isDec(r) && !isSep(r) }) < 0 {
		return KindGroup
	}
	return KindCipher
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// crossCheck looks at the lists together, as GSKit will.
func crossCheck(results []Result, protocols map[string]string) []Problem {
	var out []Problem
	var ciphers, sigs *Result
	for i := range results {
		switch results[i].Variable {
		case "GSK_V3_CIPHER_SPECS_EXPANDED":
			ciphers = &results[i]
		case "GSK_TLS_SIG_ALG_PAIRS":
			sigs = &results[i]
		}
	}
	tls12Off := protocols["GSK_PROTOCOL_TLSV1_2"] == "off"
	tls13On := protocols["GSK_PROTOCOL_TLSV1_3"] == "on"
	tls13Off := protocols["GSK_PROTOCOL_TLSV1_3"] == "off"
	if ciphers != nil {
		n12, n13 := 0, 0
		for _, it := range ciphers.Items {
			if s, ok := tlsregistry.SuiteByCode(it.Value); ok && s.TLS13() {
				n13++
			} else if ok && !s.Signalling {
				n12++
			}
		}
		if tls12Off && n12 > 0 && tls13On {
			out = append(out, Problem{Line: ciphers.Line, Message: fmt.Sprintf("GSK_PROTOCOL_TLSV1_2=off: the %d TLS 1.2 suites in GSK_V3_CIPHER_SPECS_EXPANDED are not used (fine while every peer speaks TLS 1.3)", n12)})
		}
		if tls13On && n13 == 0 {
			out = append(out, Problem{Line: ciphers.Line, Message: "GSK_PROTOCOL_TLSV1_3=on but GSK_V3_CIPHER_SPECS_EXPANDED has no TLS 1.3 suite: add 1301, 1302 and/or 1303"})
		}
		if tls13Off && n13 > 0 {
			out = append(out, Problem{Line: ciphers.Line, Message: "GSK_V3_CIPHER_SPECS_EXPANDED lists TLS 1.3 suites but GSK_PROTOCOL_TLSV1_3=off: they are never used"})
		}
	}
	if sigs != nil && tls13On {
		pss := false
		for _, it := range sigs.Items {
			pss = pss || (it.Value >= 0x0804 && it.Value <= 0x0806)
		}
		if !pss {
			out = append(out, Problem{Line: sigs.Line, Message: "GSK_PROTOCOL_TLSV1_3=on but GSK_TLS_SIG_ALG_PAIRS has none of 0804, 0805, 0806 (RSA-PSS): TLS 1.3 with RSA certificates needs them"})
		}
	}
	return out
}
