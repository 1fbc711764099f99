package directory

import (
	"strings"

	"github.com/pkid/pkid/ldap"
)

// Tri is a filter result under RFC 4511 §4.5.1.7's three-valued logic.
type Tri int8

// Filter results.
const (
	False Tri = iota
	True
	Undefined
)

// resolved is an entry's attribute with its type looked up.
type resolved struct {
	at   *AttributeType // nil: a type the schema does not know (from an import)
	opts string
	vals [][]byte
}

// computed reports whether the attribute is one Search computes (entryDN,
// subschemaSubentry, hasSubordinates) rather than stores.
func (r resolved) computed() bool {
	switch r.at.OID {
	case "1.3.6.1.1.20", "2.5.18.10", "2.5.18.9":
		return true
	}
	return false
}

// view is an entry prepared for filter evaluation and attribute selection.
type view struct {
	entry *Entry
	attrs []resolved // the stored attributes; may be shared with the read cache
	extra []resolved // computed ones (Search): entryDN, subschemaSubentry, ...
	dn    DN         // parsed lazily for dnAttributes
}

func (t *Tree) newView(e *Entry) *view {
	return &view{entry: e, attrs: t.resolve(e.Attributes)}
}

// all calls fn with each attribute of the view, stored then computed;
// fn returns true to stop.
func (v *view) all(fn func(*resolved) bool) {
	for i := range v.attrs {
		if fn(&v.attrs[i]) {
			return
		}
	}
	for i := range v.extra {
		if fn(&v.extra[i]) {
			return
		}
	}
}

// values calls fn with each value of at or its subtypes (and options) held
// by the entry; fn returns true to stop.
func (v *view) each(at *AttributeType, opts string, fn func([]byte) bool) {
	v.all(func(a *resolved) bool {
		if a.at == nil || !a.at.isSubtypeOf(at) {
			return false
		}
		if opts != "" && !hasOptions(a.opts, opts) {
			return false
		}
		for _, x := range a.vals {
			if fn(x) {
				return true
			}
		}
		return false
	})
}

// hasOptions reports whether the option set have includes every option of want.
func hasOptions(have, want string) bool {
	for _, o := range strings.Split(strings.TrimPrefix(want, ";"), ";") {
		if !strings.Contains(have+";", ";"+o+";") {
			return false
		}
	}
	return true
}

// Readable decides, for filter evaluation, whether the caller may use an
// attribute of the entry; unreadable attributes evaluate to Undefined
// (issue 6's access control plugs in here). nil allows all.
type readable func(*AttributeType) bool

func not(r Tri) Tri {
	switch r {
	case True:
		return False
	case False:
		return True
	}
	return Undefined
}

// Match evaluates filter f against entry e (RFC 4511 §4.5.1.7).
func (t *Tree) Match(f *ldap.Filter, e *Entry) Tri {
	return t.eval(f, t.newView(e), nil)
}

func (t *Tree) eval(f *ldap.Filter, v *view, can readable) Tri {
	switch f.Type {
	case ldap.FilterAnd:
		r := True
		for i := range f.Children {
			switch t.eval(&f.Children[i], v, can) {
			case False:
				return False
			case Undefined:
				r = Undefined
			}
		}
		return r
	case ldap.FilterOr:
		r := False
		for i := range f.Children {
			switch t.eval(&f.Children[i], v, can) {
			case True:
				return True
			case Undefined:
				r = Undefined
			}
		}
		return r
	case ldap.FilterNot:
		if len(f.Children) != 1 {
			return Undefined
		}
		return not(t.eval(&f.Children[0], v, can))
	case ldap.FilterExtensibleMatch:
		return t.evalExtensible(f, v, can)
	}
	d, ok := t.attrDesc(f.Attr)
	if !ok || d.at == nil || (can != nil && !can(d.at)) {
		return Undefined
	}
	at := d.at
	switch f.Type {
	case ldap.FilterPresent:
		r := False
		v.each(at, d.opts, func([]byte) bool { r = True; return true })
		return r
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		if at.Equality == nil || at.Equality.impl == nil {
			return Undefined
		}
		if at.OID == oidObjectClass && f.Type == ldap.FilterEqualityMatch {
			return t.matchObjectClass(v, f.Value)
		}
		m := at.Equality.impl
		want, ok := m.norm(t.schema, f.Value)
		if !ok {
			return Undefined
		}
		approxMatch := f.Type == ldap.FilterApproxMatch
		if approxMatch {
			want = approx(want)
		}
		r := False
		v.each(at, d.opts, func(x []byte) bool {
			got, ok := m.norm(t.schema, x)
			if !ok {
				return false
			}
			if approxMatch {
				got = approx(got)
			}
			if got == want {
				r = True
				return true
			}
			return false
		})
		return r
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		if at.Ordering == nil || at.Ordering.impl == nil {
			return Undefined
		}
		m := at.Ordering.impl
		want, ok := m.norm(t.schema, f.Value)
		if !ok {
			return Undefined
		}
		r := False
		v.each(at, d.opts, func(x []byte) bool {
			got, ok := m.norm(t.schema, x)
			if !ok {
				return false
			}
			c := compareWith(m, got, want)
			if f.Type == ldap.FilterGreaterOrEqual && c >= 0 || f.Type == ldap.FilterLessOrEqual && c <= 0 {
				r = True
				return true
			}
			return false
		})
		return r
	case ldap.FilterSubstrings:
		if at.Substr == nil || at.Substr.impl == nil || at.Substr.impl.substrPart == nil {
			return Undefined
		}
		m := at.Substr.impl
		r := False
		v.each(at, d.opts, func(x []byte) bool {
			got, ok := m.norm(t.schema, x)
			if ok && substringsMatch(m, got, f) {
				r = True
				return true
			}
			return false
		})
		return r
	}
	return Undefined
}

func compareWith(m *rule, a, b string) int {
	if m.compare != nil {
		return m.compare(a, b)
	}
	return strings.Compare(a, b)
}

func substringsMatch(m *rule, s string, f *ldap.Filter) bool {
	if f.Initial != nil {
		p := m.substrPart(f.Initial)
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	var final string
	if f.Final != nil {
		final = m.substrPart(f.Final)
		if len(final) > len(s) {
			return false
		}
	}
	rest := s[:len(s)-len(final)]
	if !strings.HasSuffix(s, final) {
		return false
	}
	for _, a := range f.Any {
		p := m.substrPart(a)
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

const oidObjectClass = "2.5.4.0"

// oidTop is the object class every entry belongs to (RFC 4512 §2.4.1).
const oidTop = "2.5.6.0"

// matchObjectClass is slapd's objectSubClassMatch, which objectClass
// equality uses: (objectClass=person) matches an inetOrgPerson entry.
func (t *Tree) matchObjectClass(v *view, value []byte) Tri {
	want := t.schema.Class(strings.TrimSpace(string(value)))
	r := False
	oc := t.schema.Attribute(oidObjectClass)
	v.each(oc, "", func(x []byte) bool {
		c := t.schema.Class(string(x))
		if c == nil {
			if want == nil && strings.EqualFold(string(x), strings.TrimSpace(string(value))) {
				r = True
				return true
			}
			return false
		}
		if want != nil && c.isA(want) {
			r = True
			return true
		}
		return false
	})
	return r
}

// evalExtensible: RFC 4511 §4.5.1.7.7. With a rule, the rule is applied
// to the attribute's values (or to every attribute's values when no type is
// given); without one, the attribute's equality rule. dnAttributes also
// tests the AVAs of the entry's DN.
func (t *Tree) evalExtensible(f *ldap.Filter, v *view, can readable) Tri {
	var at *AttributeType
	if f.Attr != "" {
		d, _, err := t.schema.parseAttrDesc(f.Attr)
		if err != nil || d.at == nil || (can != nil && !can(d.at)) {
			return Undefined
		}
		at = d.at
	}
	var m *rule
	switch {
	case f.MatchingRule != "":
		mr := t.schema.Rule(f.MatchingRule)
		if mr == nil || mr.impl == nil {
			return Undefined
		}
		m = mr.impl
	case at != nil && at.Equality != nil && at.Equality.impl != nil:
		m = at.Equality.impl
	default:
		return Undefined
	}
	want, ok := m.norm(t.schema, f.Value)
	if !ok {
		return Undefined
	}
	ordering := f.MatchingRule != "" && strings.Contains(strings.ToLower(t.schema.Rule(f.MatchingRule).Name()), "ordering")
	test := func(x []byte) bool {
		got, ok := m.norm(t.schema, x)
		if !ok {
			return false
		}
		if ordering {
			return compareWith(m, got, want) < 0
		}
		return got == want
	}
	r := False
	found := false
	v.all(func(a *resolved) bool {
		if a.at == nil || (at != nil && !a.at.isSubtypeOf(at)) || (can != nil && !can(a.at)) {
			return false
		}
		for _, x := range a.vals {
			if test(x) {
				found = true
				return true
			}
		}
		return false
	})
	if found {
		return True
	}
	if f.DNAttributes {
		if v.dn == nil {
			v.dn, _ = ParseDN(v.entry.DN)
		}
		for _, rdn := range v.dn {
			for _, ava := range rdn {
				if at != nil && t.schema.Attribute(ava.Type) != at {
					continue
				}
				if test([]byte(ava.Value)) {
					return True
				}
			}
		}
	}
	return r
}
