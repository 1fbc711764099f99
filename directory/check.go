package directory

import (
	"slices"
	"strings"

	"github.com/pkid/pkid/ldap"
)

// checkEntry verifies a complete entry against the schema (RFC 4512 §2.4,
// §2.5 and RFC 4511's result codes) and returns it with each attribute's
// description canonicalised (";binary" dropped) and its structural class.
// Operational attributes are checked like any other; refusing those a
// client may not write is the caller's job (refuseNoUserMod).
func (t *Tree) checkEntry(d DN, attrs []Attribute) ([]Attribute, *ObjectClass, error) {
	s := t.schema
	// Slices, not maps: an entry has a handful of attribute descriptions
	// and most have one value, and this runs once per imported entry.
	type seen struct {
		at   *AttributeType
		opts string
		seenValues
	}
	var seenBuf [16]seen
	byDesc := seenBuf[:0]
	// Room for the operational attributes Add and Import append.
	out := make([]Attribute, 0, len(attrs)+6)
	var classBuf [4]*ObjectClass
	classes := classBuf[:0]
	var presentBuf [16]*AttributeType
	present := presentBuf[:0]
	for _, a := range attrs {
		desc, name, err := s.parseAttrDesc(a.Type)
		if err != nil {
			return nil, nil, ldap.Errorf(ldap.ResultUndefinedAttributeType, "%v", err)
		}
		at := desc.at
		if at == nil {
			return nil, nil, ldap.Errorf(ldap.ResultUndefinedAttributeType, "%s: attribute type undefined", name)
		}
		if len(a.Values) == 0 {
			return nil, nil, ldap.Errorf(ldap.ResultProtocolError, "%s: no values given", name)
		}
		idx := -1
		for i := range byDesc {
			if byDesc[i].at == at && byDesc[i].opts == desc.opts {
				idx = i
				break
			}
		}
		if idx < 0 {
			idx = len(out)
			byDesc = append(byDesc, seen{at: at, opts: desc.opts})
			out = append(out, Attribute{Type: name + desc.opts, Values: make([][]byte, 0, len(a.Values))})
		}
		sn := &byDesc[idx]
		for i, v := range a.Values {
			if err := ValidateValue(at, v); err != nil {
				return nil, nil, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "%s: value #%d invalid per syntax: %v", name, i, err)
			}
			if t.cfg.CheckValue != nil {
				if err := t.cfg.CheckValue(at.Name(), v); err != nil {
					return nil, nil, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "%v", err)
				}
			}
			// The {n} bounds of a SYNTAX are advisory (RFC 4512 §4.1.2);
			// slapd does not enforce them either.
			n := string(v)
			if at.Equality != nil && at.Equality.impl != nil {
				if x, ok := at.Equality.impl.norm(s, v); ok {
					n = x
				}
			}
			if sn.has(n) {
				return nil, nil, ldap.Errorf(ldap.ResultAttributeOrValueExists, "%s: value #%d provided more than once", name, i)
			}
			sn.add(n)
			out[idx].Values = append(out[idx].Values, v)
		}
		if at.SingleValue && len(out[idx].Values) > 1 {
			return nil, nil, ldap.Errorf(ldap.ResultConstraintViolation, "%s: multiple values provided for a single-valued attribute", name)
		}
		if at.OID == oidObjectClass {
			for i, v := range a.Values {
				c := s.Class(string(v))
				if c == nil {
					return nil, nil, ldap.Errorf(ldap.ResultInvalidAttributeSyntax, "objectClass: value #%d invalid per syntax (unknown object class %q)", i, v)
				}
				classes = append(classes, c)
			}
		}
		if !slices.Contains(present, at) {
			present = append(present, at)
		}
	}
	if len(classes) == 0 {
		return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "no objectClass attribute")
	}
	cs := t.classSet(classes)
	if cs.err != nil {
		return nil, nil, cs.err
	}
	for _, m := range cs.must {
		if !slices.Contains(present, m.at) && !presentSubtype(present, m.at) {
			return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "object class '%s' requires attribute '%s'", m.class.Name(), m.at.Name())
		}
	}
	for _, at := range present {
		if at.Operational() || cs.extensible {
			continue
		}
		ok := false
		for x := at; x != nil; x = x.Sup {
			if cs.allowed[x] {
				ok = true
				break
			}
		}
		if !ok {
			return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "attribute '%s' not allowed", at.Name())
		}
	}
	// RFC 4512 §2.3: the RDN's values must be present in the entry.
	if len(d) > 0 {
		for _, ava := range d[0] {
			at := s.Attribute(ava.Type)
			if at == nil {
				return nil, nil, ldap.Errorf(ldap.ResultNamingViolation, "naming attribute '%s' is undefined", ava.Type)
			}
			if ava.Hex {
				continue
			}
			want := ava.Value
			found := false
			norm := func(v []byte) string { return string(v) }
			if at.Equality != nil && at.Equality.impl != nil {
				norm = func(v []byte) string { n, _ := at.Equality.impl.norm(s, v); return n }
			}
			w := norm([]byte(want))
			for i, a := range out {
				if byDesc[i].at == at {
					for _, v := range a.Values {
						if norm(v) == w {
							found = true
						}
					}
				}
			}
			if !found {
				return nil, nil, ldap.Errorf(ldap.ResultNamingViolation, "value of naming attribute '%s' is not present in entry", ava.Type)
			}
		}
	}
	return out, cs.top, nil
}

// seenValues are the normalised values of one attribute seen so far.
type seenValues struct {
	norms [fewValues]string // while few (no allocation)
	n     int
	set   map[string]bool // once many
}

// fewValues is how many values of one attribute checkEntry compares one by
// one for duplicates before it switches to a set.
const fewValues = 8

func (sn *seenValues) has(n string) bool {
	if sn.set != nil {
		return sn.set[n]
	}
	return slices.Contains(sn.norms[:sn.n], n)
}

func (sn *seenValues) add(n string) {
	if sn.set == nil && sn.n < fewValues {
		sn.norms[sn.n] = n
		sn.n++
		return
	}
	if sn.set == nil {
		sn.set = make(map[string]bool, 2*fewValues)
		for _, x := range sn.norms[:sn.n] {
			sn.set[x] = true
		}
	}
	sn.set[n] = true
}

// classSet is what checking an entry needs to know about its object
// classes, worked out once per combination of classes (an import's
// entries share a few) instead of once per entry.
type classSet struct {
	all        []*ObjectClass // the classes and their superclasses
	top        *ObjectClass   // the structural class
	extensible bool           // extensibleObject is among them
	must       []classMust    // every MUST of every class
	allowed    map[*AttributeType]bool
	err        error // no structural class, or two unrelated chains
}

type classMust struct {
	class *ObjectClass
	at    *AttributeType
}

// classSet returns the classSet of classes, from the memo when it holds it.
func (t *Tree) classSet(classes []*ObjectClass) *classSet {
	var key string
	if len(classes) == 1 {
		key = classes[0].OID
	} else {
		oids := make([]string, len(classes))
		for i, c := range classes {
			oids[i] = c.OID
		}
		key = strings.Join(oids, " ")
	}
	if v, ok := t.classSets.Load(key); ok {
		return v.(*classSet)
	}
	cs := newClassSet(classes)
	if t.nclassSets.Add(1) <= maxDescMemo {
		t.classSets.Store(key, cs)
	}
	return cs
}

func newClassSet(classes []*ObjectClass) *classSet {
	all := map[*ObjectClass]bool{}
	for _, c := range classes {
		c.superclasses(all)
	}
	cs := &classSet{allowed: map[*AttributeType]bool{}}
	var structural []*ObjectClass
	for c := range all {
		cs.all = append(cs.all, c)
		if c.Kind == Structural {
			structural = append(structural, c)
		}
	}
	// Map order is random; errors and messages should not be.
	slices.SortFunc(cs.all, func(a, b *ObjectClass) int { return strings.Compare(a.OID, b.OID) })
	slices.SortFunc(structural, func(a, b *ObjectClass) int { return strings.Compare(a.OID, b.OID) })
	if len(structural) == 0 {
		cs.err = ldap.Errorf(ldap.ResultObjectClassViolation, "no structural object class provided")
		return cs
	}
	// The structural class is the one every other structural class is a
	// superclass of; two unrelated chains are a violation.
	for _, c := range structural {
		ok := true
		for _, o := range structural {
			if !c.isA(o) {
				ok = false
				break
			}
		}
		if ok {
			cs.top = c
			break
		}
	}
	if cs.top == nil {
		var names []string
		for _, c := range structural {
			names = append(names, c.Name())
		}
		sortStrings(names)
		cs.err = ldap.Errorf(ldap.ResultObjectClassViolation, "invalid structural object class chain (%s)", strings.Join(names, "/"))
		return cs
	}
	for _, c := range cs.all {
		if c.OID == "1.3.6.1.4.1.1466.101.120.111" {
			cs.extensible = true
		}
		for _, a := range c.Must {
			cs.must = append(cs.must, classMust{c, a})
			cs.allowed[a] = true
		}
		for _, a := range c.May {
			cs.allowed[a] = true
		}
	}
	return cs
}

func presentSubtype(present []*AttributeType, a *AttributeType) bool {
	for _, p := range present {
		if p.isSubtypeOf(a) {
			return true
		}
	}
	return false
}

// refuseNoUserMod is the check of client writes: operational attributes
// marked NO-USER-MODIFICATION are the server's (RFC 4512 §4.1.2).
func (t *Tree) refuseNoUserMod(attr string) error {
	d, name, err := t.schema.parseAttrDesc(attr)
	if err != nil {
		return ldap.Errorf(ldap.ResultUndefinedAttributeType, "%v", err)
	}
	if d.at == nil {
		return ldap.Errorf(ldap.ResultUndefinedAttributeType, "%s: attribute type undefined", name)
	}
	if d.at.NoUserModification {
		return ldap.Errorf(ldap.ResultConstraintViolation, "%s: no user modification allowed", name)
	}
	return nil
}
