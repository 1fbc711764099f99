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
	type seen struct {
		idx  int
		norm map[string]bool
	}
	byDesc := map[string]*seen{}
	var out []Attribute
	var classes []*ObjectClass
	present := map[*AttributeType]bool{}
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
		key := at.OID + desc.opts
		sn := byDesc[key]
		if sn == nil {
			sn = &seen{idx: len(out), norm: map[string]bool{}}
			byDesc[key] = sn
			out = append(out, Attribute{Type: name + desc.opts})
		}
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
			if sn.norm[n] {
				return nil, nil, ldap.Errorf(ldap.ResultAttributeOrValueExists, "%s: value #%d provided more than once", name, i)
			}
			sn.norm[n] = true
			out[sn.idx].Values = append(out[sn.idx].Values, v)
		}
		if at.SingleValue && len(out[sn.idx].Values) > 1 {
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
		present[at] = true
	}
	if len(classes) == 0 {
		return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "no objectClass attribute")
	}
	all := map[*ObjectClass]bool{}
	var structural []*ObjectClass
	for _, c := range classes {
		c.superclasses(all)
	}
	for c := range all {
		if c.Kind == Structural {
			structural = append(structural, c)
		}
	}
	if len(structural) == 0 {
		return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "no structural object class provided")
	}
	// The structural class is the one every other structural class is a
	// superclass of; two unrelated chains are a violation.
	var top *ObjectClass
	for _, c := range structural {
		ok := true
		for _, o := range structural {
			if !c.isA(o) {
				ok = false
				break
			}
		}
		if ok {
			top = c
			break
		}
	}
	if top == nil {
		var names []string
		for _, c := range structural {
			names = append(names, c.Name())
		}
		sortStrings(names)
		return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "invalid structural object class chain (%s)", strings.Join(names, "/"))
	}
	extensible := false
	for c := range all {
		if c.OID == "1.3.6.1.4.1.1466.101.120.111" {
			extensible = true
		}
		for _, a := range c.Must {
			if !present[a] && !presentSubtype(present, a) {
				return nil, nil, ldap.Errorf(ldap.ResultObjectClassViolation, "object class '%s' requires attribute '%s'", c.Name(), a.Name())
			}
		}
	}
	// Each present attribute is looked up in the classes' MUST and MAY
	// lists rather than building a set of every allowed attribute per
	// entry (inetOrgPerson alone allows about 50: a map per imported entry
	// was a fifth of checkEntry's time).
	allowed := func(x *AttributeType) bool {
		for c := range all {
			if slices.Contains(c.Must, x) || slices.Contains(c.May, x) {
				return true
			}
		}
		return false
	}
	for at := range present {
		if at.Operational() || extensible {
			continue
		}
		ok := false
		for x := at; x != nil; x = x.Sup {
			if allowed(x) {
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
			for _, a := range out {
				if x, _, _ := s.parseAttrDesc(a.Type); x.at == at {
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
	return out, top, nil
}

func presentSubtype(present map[*AttributeType]bool, a *AttributeType) bool {
	for p := range present {
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
