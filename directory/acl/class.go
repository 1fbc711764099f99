package acl

import (
	"strings"
	"unicode/utf8"
)

// Class is an access class: attribute types are sorted into classes and
// aclEntry values grant or deny permissions per class.
type Class uint8

// The access classes of z/OS LDAP, in increasing order of protection.
const (
	Normal     Class = iota // most attributes
	Sensitive               // personal data: home phone and address, ...
	Critical                // secrets: userPassword
	Restricted              // the access-control attributes themselves
	System                  // operational attributes the server maintains
	numClasses
)

var classNames = [numClasses]string{"normal", "sensitive", "critical", "restricted", "system"}

// String returns the class's name as aclEntry spells it.
func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "class?"
}

// Classes maps lower-case attribute type names (every name and the OID a
// type is known by) to their access class; types not listed are Normal.
type Classes map[string]Class

// Of returns the class of the attribute description attr; options such as
// ";binary" are ignored and case does not matter.
func (cs Classes) Of(attr string) Class {
	if i := strings.IndexByte(attr, ';'); i >= 0 {
		attr = attr[:i]
	}
	if c, ok := cs[attr]; ok {
		return c
	}
	for i := 0; i < len(attr); i++ {
		if attr[i] >= 'A' && attr[i] <= 'Z' {
			// Lower-cased on the stack: every search asks this for each
			// attribute it returns, and most names are in camelCase.
			var buf [64]byte
			if len(attr) > len(buf) {
				if c, ok := cs[strings.ToLower(attr)]; ok {
					return c
				}
				break
			}
			b := buf[:len(attr)]
			for j := 0; j < len(attr); j++ {
				c := attr[j]
				if c >= utf8.RuneSelf {
					b = nil // not ASCII: strings.ToLower's Unicode rules
					break
				}
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b[j] = c
			}
			if b == nil {
				if c, ok := cs[strings.ToLower(attr)]; ok {
					return c
				}
				break
			}
			if c, ok := cs[string(b)]; ok {
				return c
			}
			break
		}
	}
	return Normal
}

// DefaultClasses returns pkid's default table, a fresh map the caller may
// change:
//
//   - critical: userPassword and authPassword (secrets; compare is how a
//     client checks one without reading it).
//   - sensitive: homePhone, homePostalAddress, mobile, pager,
//     employeeNumber, carLicense, personalSignature — personal data that an
//     address book (normal:r) should not hand out by default.
//   - restricted: aclEntry, aclPropagate, entryOwner, ownerPropagate — who
//     may do what is itself protected; writing them needs ownership
//     whatever the ACL grants (see Engine.Decide).
//   - system: the operational attributes the server computes or maintains
//     (aclSource, ownerSource, creatorsName, modifiersName,
//     createTimestamp, modifyTimestamp, entryDN, entryUUID,
//     subschemaSubentry, hasSubordinates, structuralObjectClass,
//     numSubordinates, pwdChangedTime).
func DefaultClasses() Classes {
	cs := Classes{}
	set := func(c Class, names ...string) {
		for _, n := range names {
			cs[strings.ToLower(n)] = c
		}
	}
	set(Critical, "userPassword", "2.5.4.35", "authPassword", "1.3.6.1.4.1.4203.1.3.4")
	set(Sensitive, "homePhone", "homeTelephoneNumber", "homePostalAddress", "mobile", "mobileTelephoneNumber",
		"pager", "pagerTelephoneNumber", "employeeNumber", "carLicense", "personalSignature")
	set(Restricted, "aclEntry", "aclPropagate", "entryOwner", "ownerPropagate")
	set(System, "aclSource", "ownerSource", "creatorsName", "modifiersName", "createTimestamp",
		"modifyTimestamp", "entryDN", "entryUUID", "subschemaSubentry", "hasSubordinates",
		"structuralObjectClass", "numSubordinates", "pwdChangedTime")
	return cs
}

// AffectsAccess reports whether a change to attribute attr can change
// access decisions, so the directory must call Engine.Invalidate after
// writing it: the ACL and owner attributes and group membership (member,
// uniqueMember, roleOccupant).
func AffectsAccess(attr string) bool {
	if i := strings.IndexByte(attr, ';'); i >= 0 {
		attr = attr[:i]
	}
	switch strings.ToLower(attr) {
	case "aclentry", "aclpropagate", "entryowner", "ownerpropagate",
		"member", "uniquemember", "roleoccupant":
		return true
	}
	return false
}
