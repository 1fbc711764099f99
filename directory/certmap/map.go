package certmap

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/ldap"
)

// Mapping is the entry a certificate mapped to and the rule that did it.
type Mapping struct {
	DN   string // the entry's DN as stored
	Rule string // the rule's Name
	How  string // e.g. `subject DN equals the entry's DN`, `regexp rewrote to uid=alice,o=example`
}

// errNoMatch is a rule that did not apply; its text goes into the
// "rules tried" list of the final message.
type errNoMatch struct{ why string }

func (e *errNoMatch) Error() string { return e.why }

func noMatch(format string, args ...any) error { return &errNoMatch{fmt.Sprintf(format, args...)} }

// Map tries the rules in order and returns the first entry one maps to. A
// rule that does not apply (pattern does not match, no entry, several
// entries) passes to the next; when none applies the *Error lists each
// rule and why. Unlike slapd, where the first authz-regexp whose pattern
// matches ends the search even if its entry does not exist, a pkid rule
// only counts when it yields exactly one entry.
func (m *Mapper) Map(ctx context.Context, v *Verified) (*Mapping, error) {
	var tried []string
	for _, r := range m.rules {
		mp, err := m.apply(ctx, r, v)
		if err == nil {
			mp.Rule = r.Name
			return mp, nil
		}
		var nm *errNoMatch
		if !errors.As(err, &nm) {
			return nil, fmt.Errorf("certmap: rule %s: %w", r.Name, err)
		}
		tried = append(tried, r.Name+": "+nm.why)
	}
	return nil, newError(v.Leaf, nil, "matched no mapping rule; rules tried: %s", strings.Join(tried, "; "))
}

func (m *Mapper) apply(ctx context.Context, r *rule, v *Verified) (*Mapping, error) {
	switch r.Kind {
	case KindSubject:
		if v.Subject == "" {
			return nil, noMatch("the certificate has no subject")
		}
		e, err := m.entry(ctx, v.Subject)
		if err != nil {
			return nil, err
		}
		return &Mapping{DN: e.DN, How: "subject DN equals the entry's DN"}, nil
	case KindRegexp:
		return m.applyRegexp(ctx, r, v)
	case KindDNFilter:
		if r.sdn != nil && !r.sdn.Match(v.Leaf.RawSubject) {
			return nil, noMatch("subject does not end with %s", r.sdn)
		}
		if r.idn != nil && !r.idn.Match(v.Leaf.RawIssuer) {
			return nil, noMatch("issuer does not end with %s", r.idn)
		}
		if r.DN != "" {
			e, err := m.entry(ctx, r.DN)
			if err != nil {
				return nil, err
			}
			return &Mapping{DN: e.DN, How: "DN filter matched; fixed entry"}, nil
		}
		f, err := fillTemplate(r.Filter, v)
		if err != nil {
			return nil, err
		}
		filter, err := ldap.ParseFilter(f)
		if err != nil {
			return nil, noMatch("filter %s: %v", f, err)
		}
		e, err := m.searchOne(ctx, r.Base, ldap.ScopeWholeSubtree, filter, f)
		if err != nil {
			return nil, err
		}
		return &Mapping{DN: e.DN, How: "DN filter matched; search " + f}, nil
	case KindCertificate:
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "userCertificate;binary", Value: v.Leaf.Raw}
		e, err := m.searchOne(ctx, r.Base, ldap.ScopeWholeSubtree, f, "(userCertificate;binary=<this certificate>)")
		if err != nil {
			return nil, err
		}
		return &Mapping{DN: e.DN, How: "certificate equals the entry's userCertificate;binary"}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", r.Kind)
}

// normalSubject is the subject DN in the form OpenLDAP's authz-regexp sees:
// RFC 4514, lower-case attribute types, case-folded values, no spaces
// after separators.
func normalSubject(raw []byte) string {
	rdns, err := dn.FromDER(raw)
	if err != nil {
		return ""
	}
	return dn.NormalizeRDNs(rdns)
}

func (m *Mapper) applyRegexp(ctx context.Context, r *rule, v *Verified) (*Mapping, error) {
	subj := v.normSubject
	if subj == "" {
		subj = normalSubject(v.Leaf.RawSubject)
	}
	out, ok := rewrite(r.re, r.Replace, subj, r.url != nil)
	if !ok {
		return nil, noMatch("%q does not match %q", r.Match, subj)
	}
	if r.url == nil {
		e, err := m.entry(ctx, out)
		if err != nil {
			return nil, err
		}
		return &Mapping{DN: e.DN, How: "regexp rewrote the subject to " + out}, nil
	}
	u, err := ldap.ParseURL(out)
	if err != nil {
		return nil, noMatch("rewritten URL: %v", err)
	}
	e, err := m.searchOne(ctx, u.DN, u.Scope, u.Filter, out)
	if err != nil {
		return nil, err
	}
	return &Mapping{DN: e.DN, How: "regexp rewrote the subject to the search " + out}, nil
}

// rewrite applies re to s and expands $0..$9 in tpl. Into an LDAP URL the
// submatches go RFC 4515-escaped (after undoing RFC 4514 escaping), so a
// subject cannot change the filter's structure; into a DN they go as
// matched, already RFC 4514-escaped.
func rewrite(re *regexp.Regexp, tpl, s string, url bool) (string, bool) {
	sub := re.FindStringSubmatchIndex(s)
	if sub == nil {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		if c != '$' || i+1 == len(tpl) {
			b.WriteByte(c)
			continue
		}
		n := tpl[i+1]
		switch {
		case n == '$':
			b.WriteByte('$')
			i++
		case n >= '0' && n <= '9':
			g := int(n - '0')
			i++
			if 2*g+1 < len(sub) && sub[2*g] >= 0 {
				val := s[sub[2*g]:sub[2*g+1]]
				if url {
					val = urlEscape(escapeFilter(unescapeDN(val)))
				}
				b.WriteString(val)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

var dollarRe = regexp.MustCompile(`\$[0-9]`)

// urlEscape percent-encodes what would end an LDAP URL's filter part.
func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23", " ", "%20")
	return r.Replace(s)
}

// unescapeDN undoes RFC 4514 value escaping (\, \2c, ...). Invalid
// escapes are kept as written.
func unescapeDN(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// escapeFilter escapes an assertion value for a string filter (RFC 4515
// §3): '*', '(', ')', '\' and NUL as \XX.
func escapeFilter(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '(', ')', '\\', 0:
			fmt.Fprintf(&b, `\%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var placeholderRe = regexp.MustCompile(`\{[a-z]+\}`)

var placeholders = map[string]func(*Verified) string{
	"{email}":   certEmail,
	"{cn}":      func(v *Verified) string { return v.Leaf.Subject.CommonName },
	"{uid}":     func(v *Verified) string { return subjectAttr(v, "0.9.2342.19200300.100.1.1") },
	"{serial}":  func(v *Verified) string { return v.Serial },
	"{subject}": func(v *Verified) string { return v.Subject },
}

// certEmail is the first rfc822Name SAN, else the subject's emailAddress.
func certEmail(v *Verified) string {
	if len(v.Leaf.EmailAddresses) > 0 {
		return v.Leaf.EmailAddresses[0]
	}
	return subjectAttr(v, "1.2.840.113549.1.9.1")
}

func subjectAttr(v *Verified, oid string) string {
	for _, atv := range v.Leaf.Subject.Names {
		if atv.Type.String() == oid {
			if s, ok := atv.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

func fillTemplate(tpl string, v *Verified) (string, error) {
	var missing string
	out := placeholderRe.ReplaceAllStringFunc(tpl, func(p string) string {
		val := placeholders[p](v)
		if val == "" && missing == "" {
			missing = p
		}
		return escapeFilter(val)
	})
	if missing != "" {
		return "", noMatch("the certificate has no value for %s", missing)
	}
	return out, nil
}

// entry reads one entry by DN; a missing entry or a DN the schema cannot
// parse is a non-match.
func (m *Mapper) entry(ctx context.Context, name string) (*directory.Entry, error) {
	e, err := m.cfg.Tree.Entry(ctx, name)
	if err == nil {
		return e, nil
	}
	var le *ldap.Error
	if errors.As(err, &le) && (le.Code == ldap.ResultNoSuchObject || le.Code == ldap.ResultInvalidDNSyntax) {
		return nil, noMatch("no entry %s", name)
	}
	return nil, err
}

// searchOne runs an internal search that must find exactly one entry.
func (m *Mapper) searchOne(ctx context.Context, base string, scope ldap.Scope, f ldap.Filter, desc string) (*directory.Entry, error) {
	var found []*directory.Entry
	req := &ldap.SearchRequest{BaseObject: base, Scope: scope, SizeLimit: 2, Filter: f, Attributes: []string{"1.1"}}
	_, err := m.cfg.Tree.Search(ctx, m.cfg.SearchAs, directory.SearchParams{Request: req}, func(e *directory.Entry) error {
		found = append(found, e)
		return nil
	})
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.Code {
		case ldap.ResultNoSuchObject, ldap.ResultInvalidDNSyntax:
			return nil, noMatch("search base %s: %s", base, le.Code)
		case ldap.ResultSizeLimitExceeded:
			return nil, noMatch("search %s under %s found more than one entry", desc, base)
		}
	}
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, noMatch("search %s under %s found no entry", desc, base)
	case 1:
		return found[0], nil
	}
	return nil, noMatch("search %s under %s found %d entries", desc, base, len(found))
}
