package directory

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pkid/pkid/ldap"
)

// Limits on LDIF input (RFC 2849 sets none).
const (
	MaxLDIFLine   = 16 << 20 // bytes of one unfolded line
	MaxLDIFRecord = 64 << 20 // bytes of one record
)

// Change types of LDIF change records.
const (
	ChangeAdd    = "add"
	ChangeDelete = "delete"
	ChangeModify = "modify"
	ChangeModRDN = "modrdn" // also written moddn
)

// LDIFRecord is one LDIF record (RFC 2849): a content record (ChangeType
// "", Entry set) or a change record.
type LDIFRecord struct {
	Line       int // line number where the record starts
	DN         string
	Controls   []ldap.Control
	ChangeType string        // "", add, delete, modify, modrdn
	Entry      *Entry        // content records and add
	Changes    []ldap.Change // modify
	// modrdn / moddn
	NewRDN       string
	DeleteOldRDN bool
	NewSuperior  *string
}

// LDIFError reports malformed LDIF with its line number.
type LDIFError struct {
	Line int
	Msg  string
}

func (e *LDIFError) Error() string { return fmt.Sprintf("LDIF line %d: %s", e.Line, e.Msg) }

// LDIFReader reads LDIF records one at a time.
type LDIFReader struct {
	r    *bufio.Reader
	line int
	// AllowFiles lets "attr:< file:///path" values be read. Other URL
	// schemes are always refused.
	AllowFiles bool
	started    bool
	pending    *string // a line read ahead
	eof        bool
	arena      []byte // values' bytes (keep)
}

// NewLDIFReader returns a reader of LDIF from r.
func NewLDIFReader(r io.Reader) *LDIFReader {
	return &LDIFReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// rawLine returns the next physical line without its end of line.
func (l *LDIFReader) rawLine() (string, bool, error) {
	if l.pending != nil {
		s := *l.pending
		l.pending = nil
		return s, true, nil
	}
	if l.eof {
		return "", false, nil
	}
	chunk, err := l.r.ReadSlice('\n')
	if err == nil && len(chunk) <= MaxLDIFLine {
		// The whole line is in the reader's buffer: one allocation, the
		// string, rather than a copy and then the string.
		l.line++
		chunk = bytes.TrimSuffix(chunk, []byte("\n"))
		return string(bytes.TrimSuffix(chunk, []byte("\r"))), true, nil
	}
	buf := append([]byte(nil), chunk...)
	for err == bufio.ErrBufferFull && len(buf) <= MaxLDIFLine {
		chunk, err = l.r.ReadSlice('\n')
		buf = append(buf, chunk...)
	}
	if len(buf) > MaxLDIFLine {
		return "", false, &LDIFError{l.line + 1, fmt.Sprintf("line longer than %d bytes", MaxLDIFLine)}
	}
	if err == io.EOF {
		l.eof = true
		if len(buf) == 0 {
			return "", false, nil
		}
	} else if err != nil {
		return "", false, err
	}
	l.line++
	s := strings.TrimSuffix(string(buf), "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, true, nil
}

// logicalLines reads one record's unfolded lines, skipping comments;
// start is the line number of its first line.
func (l *LDIFReader) logicalLines() ([]string, int, error) {
	// Room for the lines of a typical record, so they cost one allocation.
	lines := make([]string, 0, 16)
	start, size := 0, 0
	inComment := false
	for {
		s, ok, err := l.rawLine()
		if err != nil {
			return nil, 0, err
		}
		if !ok || s == "" {
			if len(lines) > 0 || !ok {
				return lines, start, nil
			}
			inComment = false
			continue
		}
		size += len(s)
		if size > MaxLDIFRecord {
			return nil, 0, &LDIFError{l.line, fmt.Sprintf("record longer than %d bytes", MaxLDIFRecord)}
		}
		switch {
		case s[0] == ' ':
			if inComment {
				continue
			}
			if len(lines) == 0 {
				return nil, 0, &LDIFError{l.line, "continuation line without a line to continue"}
			}
			lines[len(lines)-1] += s[1:]
		case s[0] == '#':
			inComment = true
		default:
			inComment = false
			if len(lines) == 0 {
				start = l.line
			}
			lines = append(lines, s)
		}
	}
}

// Next returns the next record, or io.EOF after the last.
func (l *LDIFReader) Next() (*LDIFRecord, error) {
	lines, start, err := l.logicalLines()
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, io.EOF
	}
	if !l.started {
		l.started = true
		if strings.HasPrefix(strings.ToLower(lines[0]), "version:") {
			v := strings.TrimSpace(lines[0][len("version:"):])
			if v != "1" {
				return nil, &LDIFError{start, fmt.Sprintf("unsupported LDIF version %q (want 1)", v)}
			}
			lines = lines[1:]
			start++
			if len(lines) == 0 {
				return l.Next()
			}
		}
	}
	rec := &LDIFRecord{Line: start}
	i := 0
	attr, val, err := l.parseLine(lines[0], start)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(attr, "dn") {
		return nil, &LDIFError{start, fmt.Sprintf("record starts with %q, want dn:", attr)}
	}
	if !utf8.Valid(val) {
		return nil, &LDIFError{start, "dn is not UTF-8"}
	}
	rec.DN = string(val)
	i++
	for ; i < len(lines); i++ {
		a, v, err := l.parseLine(lines[i], start+i)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(a, "control") {
			break
		}
		c, err := parseControl(string(v))
		if err != nil {
			return nil, &LDIFError{start + i, err.Error()}
		}
		rec.Controls = append(rec.Controls, c)
	}
	if i < len(lines) {
		a, v, err := l.parseLine(lines[i], start+i)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(a, "changetype") {
			ct := strings.ToLower(strings.TrimSpace(string(v)))
			switch ct {
			case ChangeAdd, ChangeDelete, ChangeModify, ChangeModRDN:
			case "moddn":
				ct = ChangeModRDN
			default:
				return nil, &LDIFError{start + i, fmt.Sprintf("unknown changetype %q", v)}
			}
			rec.ChangeType = ct
			i++
		} else if len(rec.Controls) > 0 {
			return nil, &LDIFError{start + i, "controls are only allowed in change records"}
		}
	}
	rest := lines[i:]
	switch rec.ChangeType {
	case "", ChangeAdd:
		// One allocation for the attributes and one for their first
		// values' slices, not one per attribute.
		rec.Entry = &Entry{DN: rec.DN, Attributes: make([]Attribute, 0, len(rest))}
		first := make([][]byte, len(rest))
		for j, ln := range rest {
			a, v, err := l.parseLine(ln, start+i+j)
			if err != nil {
				return nil, err
			}
			addValue(rec.Entry, a, v, first[j:j:j+1])
		}
		if rec.ChangeType == ChangeAdd && len(rec.Entry.Attributes) == 0 {
			return nil, &LDIFError{start, "add record without attributes"}
		}
	case ChangeDelete:
		if len(rest) > 0 {
			return nil, &LDIFError{start + i, "delete record with more lines"}
		}
	case ChangeModRDN:
		for j, ln := range rest {
			a, v, err := l.parseLine(ln, start+i+j)
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(a) {
			case "newrdn":
				rec.NewRDN = string(v)
			case "deleteoldrdn":
				switch string(v) {
				case "0":
				case "1":
					rec.DeleteOldRDN = true
				default:
					return nil, &LDIFError{start + i + j, "deleteoldrdn must be 0 or 1"}
				}
			case "newsuperior":
				s := string(v)
				rec.NewSuperior = &s
			default:
				return nil, &LDIFError{start + i + j, fmt.Sprintf("unexpected %q in a modrdn record", a)}
			}
		}
		if rec.NewRDN == "" {
			return nil, &LDIFError{start, "modrdn record without newrdn"}
		}
	case ChangeModify:
		for j := 0; j < len(rest); j++ {
			a, v, err := l.parseLine(rest[j], start+i+j)
			if err != nil {
				return nil, err
			}
			var op ldap.ModifyOperation
			switch strings.ToLower(a) {
			case "add":
				op = ldap.ModifyAdd
			case "delete":
				op = ldap.ModifyDelete
			case "replace":
				op = ldap.ModifyReplace
			case "increment":
				op = ldap.ModifyIncrement
			default:
				return nil, &LDIFError{start + i + j, fmt.Sprintf("expected add:, delete:, replace: or increment:, got %q", a)}
			}
			c := ldap.Change{Operation: op, Modification: ldap.Attribute{Type: strings.TrimSpace(string(v))}}
			for j++; j < len(rest) && rest[j] != "-"; j++ {
				a, v, err := l.parseLine(rest[j], start+i+j)
				if err != nil {
					return nil, err
				}
				if !strings.EqualFold(a, c.Modification.Type) {
					return nil, &LDIFError{start + i + j, fmt.Sprintf("value of %q inside the %s of %q", a, op, c.Modification.Type)}
				}
				c.Modification.Values = append(c.Modification.Values, v)
			}
			rec.Changes = append(rec.Changes, c)
		}
	}
	return rec, nil
}

// addValue adds v to e's attribute typ; a new attribute's values start in
// slot, whose capacity is one (a second value moves them).
func addValue(e *Entry, typ string, v []byte, slot [][]byte) {
	for i := range e.Attributes {
		if strings.EqualFold(e.Attributes[i].Type, typ) {
			e.Attributes[i].Values = append(e.Attributes[i].Values, v)
			return
		}
	}
	e.Attributes = append(e.Attributes, Attribute{Type: typ, Values: append(slot, v)})
}

// parseLine splits "attr: value", "attr:: base64" or "attr:< URL".
func (l *LDIFReader) parseLine(s string, line int) (string, []byte, error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		if s == "-" {
			return "-", nil, nil
		}
		return "", nil, &LDIFError{line, fmt.Sprintf("%q has no ':'", shorten(s))}
	}
	attr, rest := s[:i], s[i+1:]
	if strings.ContainsAny(attr, " \t") {
		return "", nil, &LDIFError{line, fmt.Sprintf("attribute description %q contains white space", shorten(attr))}
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", nil, &LDIFError{line, fmt.Sprintf("%s: bad base64: %v", attr, err)}
		}
		return attr, v, nil
	case strings.HasPrefix(rest, "<"):
		v, err := l.readURL(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", nil, &LDIFError{line, fmt.Sprintf("%s: %v", attr, err)}
		}
		return attr, v, nil
	}
	return attr, l.keep(strings.TrimLeft(rest, " ")), nil
}

// keep copies a value into the reader's arena: small values share chunks
// of arenaChunk bytes, one allocation per chunk rather than per value.
// A chunk is only ever appended to, and each value is capped at its own
// end, so values never overlap.
func (l *LDIFReader) keep(s string) []byte {
	if len(s) > arenaChunk/4 {
		return []byte(s)
	}
	if cap(l.arena)-len(l.arena) < len(s) {
		l.arena = make([]byte, 0, arenaChunk)
	}
	start := len(l.arena)
	l.arena = append(l.arena, s...)
	return l.arena[start:len(l.arena):len(l.arena)]
}

const arenaChunk = 16 << 10

func (l *LDIFReader) readURL(raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %v", raw, err)
	}
	if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
		return nil, fmt.Errorf("URL %q refused: only file:// URLs are read", raw)
	}
	if !l.AllowFiles {
		return nil, fmt.Errorf("URL %q refused: reading files is not enabled", raw)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxLDIFRecord+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLDIFRecord {
		return nil, fmt.Errorf("file %s larger than %d bytes", u.Path, MaxLDIFRecord)
	}
	return b, nil
}

// parseControl reads "oid [true|false] [: value | :: base64]" (the part
// after "control:").
func parseControl(s string) (ldap.Control, error) {
	s = strings.TrimSpace(s)
	var c ldap.Control
	head, val, hasVal := strings.Cut(s, ":")
	f := strings.Fields(head)
	if len(f) == 0 || len(f) > 2 || !isNumericOID(f[0]) {
		return c, fmt.Errorf("control %q: want OID [true|false] [: value]", shorten(s))
	}
	c.OID = f[0]
	if len(f) == 2 {
		switch f[1] {
		case "true":
			c.Criticality = true
		case "false":
		default:
			return c, fmt.Errorf("control criticality %q: want true or false", f[1])
		}
	}
	if hasVal {
		if strings.HasPrefix(val, ":") {
			v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val[1:]))
			if err != nil {
				return c, fmt.Errorf("control value: bad base64: %v", err)
			}
			c.Value = v
		} else {
			c.Value = []byte(strings.TrimLeft(val, " "))
		}
	}
	return c, nil
}

// LDIFWriter writes entries as LDIF content records.
type LDIFWriter struct {
	w       *bufio.Writer
	started bool
	// Width is where lines are folded; 0 means 76.
	Width int
}

// NewLDIFWriter returns a writer that starts with "version: 1".
func NewLDIFWriter(w io.Writer) *LDIFWriter { return &LDIFWriter{w: bufio.NewWriterSize(w, 64<<10)} }

// WriteEntry writes one entry, values base64-encoded where RFC 2849
// requires (not a SAFE-STRING: leading space, ':' or '<', trailing space,
// NUL, CR, LF, non-ASCII) and lines folded.
func (w *LDIFWriter) WriteEntry(e *Entry) error {
	if !w.started {
		w.started = true
		w.w.WriteString("version: 1\n\n")
	}
	w.line("dn", []byte(e.DN))
	for _, a := range e.Attributes {
		for _, v := range a.Values {
			w.line(a.Type, v)
		}
	}
	w.w.WriteByte('\n')
	return nil
}

// Flush writes out buffered data.
func (w *LDIFWriter) Flush() error { return w.w.Flush() }

func (w *LDIFWriter) line(attr string, v []byte) {
	var s string
	if safeString(v) {
		s = attr + ": " + string(v)
	} else {
		s = attr + ":: " + base64.StdEncoding.EncodeToString(v)
	}
	if attr == "dn" && len(v) == 0 {
		s = "dn:"
	}
	width := w.Width
	if width <= 0 {
		width = 76
	}
	for first := true; len(s) > 0; first = false {
		n := width
		if !first {
			n--
			w.w.WriteByte(' ')
		}
		if n > len(s) {
			n = len(s)
		}
		w.w.WriteString(s[:n])
		w.w.WriteByte('\n')
		s = s[n:]
	}
}

// safeString reports whether v may be written as is (RFC 2849 SAFE-STRING).
func safeString(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for _, c := range v {
		if c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}
