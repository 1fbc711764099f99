package ca

// Parsing the database of `openssl ca`: index.txt (TXT_DB with six
// tab-separated fields, written by apps/ca.c) and the crlnumber file.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// IndexEntry is one line of an OpenSSL CA database (index.txt).
type IndexEntry struct {
	Line     int       // 1-based line number, for messages
	Status   byte      // 'V' valid, 'R' revoked, 'E' expired
	NotAfter time.Time // the certificate's expiry
	// RevokedAt is the revocation time; zero unless Status is 'R'.
	RevokedAt time.Time
	// Reason is the RFC 5280 reason code. A revocation recorded without a
	// reason reads as ReasonUnspecified, as it does on OpenSSL's CRL.
	Reason int
	// HoldInstruction is the hold instruction OpenSSL recorded with
	// `-crl_hold` (an OID or its name); "" for none.
	HoldInstruction string
	// InvalidityDate is the compromise time recorded with
	// `-crl_compromise` or `-crl_CA_compromise`; zero for none.
	InvalidityDate time.Time
	Serial         string // upper-case hex with an even number of digits, as `openssl x509 -serial` prints
	File           string // certificate file name, usually "unknown"
	Subject        string // as OpenSSL writes it: /C=DE/O=Example/CN=host
}

// indexMaxLine bounds one line of index.txt; real lines are a few hundred
// bytes, so anything longer is not an index file.
const indexMaxLine = 64 << 10

// ParseIndex reads a whole index.txt. It is strict: the first line that
// `openssl ca` would not have written is an error naming the line number
// and what is wrong with it. Blank lines are skipped. A serial listed twice
// is an error.
func ParseIndex(r io.Reader) ([]IndexEntry, error) {
	var out []IndexEntry
	err := ScanIndex(r, func(e IndexEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScanIndex is ParseIndex for large files: it calls fn with each entry in
// turn instead of collecting them. fn's error stops the scan and is
// returned.
func ScanIndex(r io.Reader, fn func(IndexEntry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]int{}
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > indexMaxLine {
			return fmt.Errorf("index line %d: longer than %d bytes; is this an openssl ca index.txt?", n, indexMaxLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read index line %d: %w", n, err)
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		if s != "" {
			e, perr := ParseIndexLine(s, n)
			if perr != nil {
				return perr
			}
			if first, dup := seen[e.Serial]; dup {
				return fmt.Errorf("index line %d: serial %s is already listed on line %d", n, e.Serial, first)
			}
			seen[e.Serial] = n
			if ferr := fn(e); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// ParseIndexLine parses one index.txt line (without its newline); n is its
// line number, used in errors.
func ParseIndexLine(line string, n int) (IndexEntry, error) {
	fail := func(format string, a ...any) (IndexEntry, error) {
		return IndexEntry{}, fmt.Errorf("index line %d: %s", n, fmt.Sprintf(format, a...))
	}
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return fail("%d tab-separated fields, want 6 (status, expiry, revocation, serial, file, subject)", len(f))
	}
	e := IndexEntry{Line: n, File: f[4], Subject: f[5]}
	if len(f[0]) != 1 || !strings.Contains("VRE", f[0]) {
		return fail("status %q, want V (valid), R (revoked) or E (expired)", f[0])
	}
	e.Status = f[0][0]
	var err error
	if e.NotAfter, err = indexParseTime(f[1]); err != nil {
		return fail("expiry date %q: %v", f[1], err)
	}
	if e.Status == 'R' {
		if err := indexParseRevocation(&e, f[2]); err != nil {
			return fail("revocation field %q: %v", f[2], err)
		}
	} else if f[2] != "" {
		return fail("status %c with a revocation field %q; only R lines have one", e.Status, f[2])
	}
	if e.Serial, err = indexParseSerial(f[3]); err != nil {
		return fail("serial %q: %v", f[3], err)
	}
	if e.File == "" {
		return fail("empty file name field (openssl writes \"unknown\")")
	}
	if e.Subject != "" && e.Subject[0] != '/' {
		return fail("subject %q does not start with \"/\" as openssl writes it (/C=../CN=..)", e.Subject)
	}
	return e, nil
}

// indexReasons are the names apps/ca.c (crl_reasons) writes, compared
// without regard to case as unpack_revinfo does. The last three carry an
// argument in a third field.
var indexReasons = map[string]int{
	"unspecified":          ReasonUnspecified,
	"keycompromise":        ReasonKeyCompromise,
	"cacompromise":         ReasonCACompromise,
	"affiliationchanged":   ReasonAffiliationChanged,
	"superseded":           ReasonSuperseded,
	"cessationofoperation": ReasonCessationOfOperation,
	"certificatehold":      ReasonCertificateHold,
	"removefromcrl":        ReasonRemoveFromCRL,
	"holdinstruction":      ReasonCertificateHold,
	"keytime":              ReasonKeyCompromise,
	"cakeytime":            ReasonCACompromise,
}

func indexParseRevocation(e *IndexEntry, field string) error {
	if field == "" {
		return errors.New("an R line needs a revocation date")
	}
	parts := strings.Split(field, ",")
	if len(parts) > 3 {
		return fmt.Errorf("%d comma-separated parts, want at most 3 (date,reason,argument)", len(parts))
	}
	t, err := indexParseTime(parts[0])
	if err != nil {
		return fmt.Errorf("revocation date %q: %w", parts[0], err)
	}
	e.RevokedAt = t
	e.Reason = ReasonUnspecified
	if len(parts) == 1 {
		return nil
	}
	name := strings.ToLower(parts[1])
	code, ok := indexReasons[name]
	if !ok {
		return fmt.Errorf("unknown reason %q (openssl ca writes unspecified, keyCompromise, CACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, removeFromCRL, holdInstruction, keyTime or CAkeyTime)", parts[1])
	}
	e.Reason = code
	switch name {
	case "holdinstruction":
		if len(parts) != 3 || parts[2] == "" {
			return errors.New("holdInstruction needs the instruction as a third part")
		}
		e.HoldInstruction = parts[2]
	case "keytime", "cakeytime":
		if len(parts) != 3 {
			return fmt.Errorf("%s needs the compromise time as a third part", parts[1])
		}
		if e.InvalidityDate, err = indexParseTime(parts[2]); err != nil {
			return fmt.Errorf("compromise time %q: %w", parts[2], err)
		}
	default:
		if len(parts) == 3 {
			return fmt.Errorf("reason %s takes no third part, got %q", parts[1], parts[2])
		}
	}
	return nil
}

// indexParseTime reads UTCTime (YYMMDDHHMMSSZ; years 50-99 are 19xx, per
// RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ), as OpenSSL's
// ASN1_TIME strings appear in index.txt.
func indexParseTime(s string) (time.Time, error) {
	var year int
	var rest string
	switch len(s) {
	case 13:
		y, err := indexDigits(s[:2])
		if err != nil {
			return time.Time{}, err
		}
		year = 1900 + y
		if y < 50 {
			year = 2000 + y
		}
		rest = s[2:]
	case 15:
		y, err := indexDigits(s[:4])
		if err != nil {
			return time.Time{}, err
		}
		year, rest = y, s[4:]
	default:
		return time.Time{}, errors.New("want YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ")
	}
	if rest[10] != 'Z' {
		return time.Time{}, errors.New("must end in Z (UTC)")
	}
	var v [5]int
	for i := range v {
		d, err := indexDigits(rest[2*i : 2*i+2])
		if err != nil {
			return time.Time{}, err
		}
		v[i] = d
	}
	mo, d, h, mi, sec := v[0], v[1], v[2], v[3], v[4]
	t := time.Date(year, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59 || t.Day() != d {
		return time.Time{}, errors.New("not a calendar date and time")
	}
	return t, nil
}

func indexDigits(s string) (int, error) {
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal digit", s[i])
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, nil
}

// indexParseSerial normalises a hex serial to upper case without leading
// zero bytes and an even number of digits, as `openssl x509 -serial` prints
// it. RFC 5280 §4.1.2.2 allows at most 20 octets.
func indexParseSerial(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("%q is not a hex digit", c)
		}
	}
	s = strings.ToUpper(strings.TrimLeft(s, "0"))
	switch {
	case s == "":
		s = "00" // openssl writes serial zero as 00
	case len(s)%2 == 1:
		s = "0" + s
	}
	if len(s) > 40 {
		return "", errors.New("longer than 20 octets")
	}
	return s, nil
}

// ParseCRLNumberFile reads the crlnumber file of `openssl ca`: the hex
// number the next CRL would carry. It returns that number.
func ParseCRLNumberFile(b []byte) (int64, error) {
	s := string(bytes.TrimSpace(b))
	if s == "" {
		return 0, errors.New("crlnumber file is empty; want the next CRL number in hex, as openssl writes it")
	}
	v, err := strconv.ParseUint(s, 16, 63)
	if err != nil {
		return 0, fmt.Errorf("crlnumber %q is not a hex number below 2^63: %w", s, err)
	}
	if v == 0 {
		return 0, errors.New("crlnumber 0: CRL numbers start at 1")
	}
	return int64(v), nil
}

// IndexSubjectRFC4514 turns OpenSSL's one-line subject (/C=DE/O=Ex/CN=a)
// into an RFC 4514 string (CN=a,O=Ex,C=DE). OpenSSL does not escape "/"
// inside values, so a part without "=" continues the previous value.
func IndexSubjectRFC4514(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if s[0] != '/' {
		return "", fmt.Errorf("subject %q does not start with /", s)
	}
	var rdns []string
	for _, p := range strings.Split(s[1:], "/") {
		typ, _, ok := strings.Cut(p, "=")
		if !ok || typ == "" || strings.ContainsAny(typ, " ,+") {
			if len(rdns) == 0 {
				return "", fmt.Errorf("subject %q: %q is not TYPE=value", s, p)
			}
			rdns[len(rdns)-1] += "/" + p
			continue
		}
		rdns = append(rdns, p)
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		typ, val, _ := strings.Cut(rdns[i], "=")
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(typ)
		b.WriteByte('=')
		indexEscapeValue(&b, val)
	}
	return b.String(), nil
}

// indexEscapeValue escapes an attribute value per RFC 4514 §2.4.
func indexEscapeValue(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`,+"\<>;=`, c) >= 0,
			c == '#' && i == 0,
			c == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
}
