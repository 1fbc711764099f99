package acl

import (
	"fmt"
	"strings"
)

// SubjectType says how an aclEntry or entryOwner value names who it is
// about.
type SubjectType uint8

// Subject types, spelled access-id, group and role in aclEntry values.
const (
	AccessID SubjectType = iota // one identity, by its DN
	Group                       // members of a groupOfNames or groupOfUniqueNames
	Role                        // occupants of a role entry; resolved like a group
)

var subjectNames = [...]string{"access-id", "group", "role"}

// String returns the type as aclEntry spells it.
func (t SubjectType) String() string {
	if int(t) < len(subjectNames) {
		return subjectNames[t]
	}
	return "subject?"
}

// Pseudo identifies the pseudo DNs of z/OS LDAP.
type Pseudo uint8

// Pseudo DNs. They are recognised whatever the subject type says
// (access-id:CN=ANYBODY is read as group:CN=ANYBODY), case-insensitively
// and with spaces around '=' ignored.
const (
	NotPseudo     Pseudo = iota
	Anybody              // CN=ANYBODY: every caller, bound or not
	Authenticated        // CN=AUTHENTICATED: every bound caller
	This                 // CN=THIS: the caller whose DN is the entry's DN
)

// Subject is who an aclEntry or entryOwner value is about.
type Subject struct {
	Type SubjectType
	DN   string // as written
}

// Pseudo reports which pseudo DN the subject names, if any.
func (s Subject) Pseudo() Pseudo {
	d := strings.ToLower(strings.Join(strings.Fields(s.DN), ""))
	switch d {
	case "cn=anybody":
		return Anybody
	case "cn=authenticated":
		return Authenticated
	case "cn=this":
		return This
	}
	return NotPseudo
}

// String formats the subject as type:DN.
func (s Subject) String() string { return s.Type.String() + ":" + s.DN }

// Perm is a set of permissions.
type Perm uint8

// Permissions: r, w, s, c on the attributes of an access class; a and d on
// the entry as a whole ("object").
const (
	Read    Perm = 1 << iota // r: return the attribute's values
	Write                    // w: add, delete or replace the attribute's values
	Search                   // s: use the attribute in a search filter
	Compare                  // c: compare a value of the attribute
	Add                      // a: add a child entry below this one
	Delete                   // d: delete this entry

	classPerms  = Read | Write | Search | Compare
	objectPerms = Add | Delete
)

// String lists the permissions in the letters aclEntry uses (order rwscad).
func (p Perm) String() string {
	var b strings.Builder
	for i, l := range "rwscad" {
		if p&(1<<i) != 0 {
			b.WriteRune(l)
		}
	}
	return b.String()
}

// Rights are permissions per access class plus the object permissions.
type Rights struct {
	Object Perm
	Class  [numClasses]Perm
}

// String formats r as IBM's effective-ACL examples do:
// "object:ad:normal:rsc:critical:rwsc", classes without permissions left
// out, "" for no rights.
func (r Rights) String() string {
	var parts []string
	if r.Object != 0 {
		parts = append(parts, "object:"+r.Object.String())
	}
	for c := Class(0); c < numClasses; c++ {
		if r.Class[c] != 0 {
			parts = append(parts, c.String()+":"+r.Class[c].String())
		}
	}
	return strings.Join(parts, ":")
}

// IsZero reports whether r holds no permission at all.
func (r Rights) IsZero() bool { return r == Rights{} }

func (r Rights) or(o Rights) Rights {
	r.Object |= o.Object
	for i := range r.Class {
		r.Class[i] |= o.Class[i]
	}
	return r
}

func (r Rights) andNot(o Rights) Rights {
	r.Object &^= o.Object
	for i := range r.Class {
		r.Class[i] &^= o.Class[i]
	}
	return r
}

// ACLEntry is one parsed aclEntry value: a subject and what it is granted
// and denied. A value with no permission clauses is valid: it grants
// nothing, yet as an access-id it still takes precedence over the
// caller's group entries.
type ACLEntry struct {
	Subject Subject
	Grant   Rights
	Deny    Rights
}

// SyntaxError is a malformed access-control attribute value. The directory
// answers it with invalidAttributeSyntax and stores nothing; Error names
// the attribute, the value and the bad part.
type SyntaxError struct {
	Attr   string // aclEntry, entryOwner, aclPropagate, ownerPropagate
	Value  string
	Part   string // the offending part of Value ("" when it is the whole)
	Reason string
}

// Error names the attribute, the value (shortened past 200 bytes), the
// bad part and what is wrong with it.
func (e *SyntaxError) Error() string {
	v := e.Value
	if len(v) > 200 {
		v = v[:200] + "..."
	}
	if e.Part != "" {
		return fmt.Sprintf("%s value %q: %q %s", e.Attr, v, e.Part, e.Reason)
	}
	return fmt.Sprintf("%s value %q: %s", e.Attr, v, e.Reason)
}

// MaxValueLength bounds an access-control value from outside.
const MaxValueLength = 8192

func isClassKeyword(tok string) (Class, bool, bool) {
	t := strings.ToLower(tok)
	if t == "object" {
		return 0, true, true
	}
	for i, n := range classNames {
		if t == n {
			return Class(i), false, true
		}
	}
	return 0, false, false
}

// ParseACLEntry parses one aclEntry value:
//
//	subject-type ":" DN *( ":" clause )
//	clause = ( "object" | class ) [ ":" ( "grant" | "deny" ) ] ":" letters
//
// with subject-type access-id, group or role, class normal, sensitive,
// critical, restricted or system, letters from "rwsc" for a class and from
// "ad" for object, the action defaulting to grant (IBM: "if this field is
// not present, the default is set to grant"). Keywords are
// case-insensitive and blanks around ':' are ignored, so
//
//	access-id:CN=SECP521R,O=CPWEBUSER,C=GB:object:ad:normal:grant:rscw:sensitive:rsc
//	group: cn=Anybody: normal:rsc
//
// both parse. The DN runs up to the first ':' followed by a clause keyword,
// so DNs may contain ':'. IBM's attribute-level clauses (at.NAME) and ACL
// filters are not supported and are refused with a SyntaxError.
func ParseACLEntry(value string) (ACLEntry, error) {
	bad := func(part, reason string) (ACLEntry, error) {
		return ACLEntry{}, &SyntaxError{Attr: "aclEntry", Value: value, Part: part, Reason: reason}
	}
	if len(value) > MaxValueLength {
		return bad("", fmt.Sprintf("is longer than %d bytes", MaxValueLength))
	}
	subj, rest, err := parseSubject("aclEntry", value)
	if err != nil {
		return ACLEntry{}, err
	}
	e := ACLEntry{Subject: subj}
	toks := rest
	for i := 0; i < len(toks); {
		kw := strings.TrimSpace(toks[i])
		class, object, ok := isClassKeyword(kw)
		if !ok {
			if strings.HasPrefix(strings.ToLower(kw), "at.") {
				return bad(kw, "is an attribute-level permission, which pkid does not support; grant per access class (normal, sensitive, critical, restricted, system) instead")
			}
			return bad(kw, "is not an access class; expected object, normal, sensitive, critical, restricted or system")
		}
		i++
		deny := false
		if i < len(toks) {
			switch strings.ToLower(strings.TrimSpace(toks[i])) {
			case "grant":
				i++
			case "deny":
				deny = true
				i++
			}
		}
		if i >= len(toks) {
			return bad(strings.Join(toks[max(0, i-2):i], ":"), "has no permissions after it; add letters such as rsc")
		}
		letters := strings.TrimSpace(toks[i])
		i++
		var p Perm
		allowed, what := "rwsc", "r, w, s, c"
		if object {
			allowed, what = "ad", "a, d"
		}
		if letters == "" {
			return bad(kw, "has empty permissions; add letters ("+what+")")
		}
		for _, l := range strings.ToLower(letters) {
			k := strings.IndexRune(allowed, l)
			if k < 0 {
				return bad(letters, fmt.Sprintf("is not a valid permission list for %s; use the letters %s", strings.ToLower(kw), what))
			}
			if object {
				p |= Add << k
			} else {
				p |= Perm(1) << k
			}
		}
		target := &e.Grant
		if deny {
			target = &e.Deny
		}
		if object {
			target.Object |= p
		} else {
			target.Class[class] |= p
		}
	}
	return e, nil
}

// parseSubject splits "type:DN[:rest...]" and returns the subject and the
// remaining ':'-separated tokens (starting at the first clause keyword).
func parseSubject(attr, value string) (Subject, []string, error) {
	bad := func(part, reason string) (Subject, []string, error) {
		return Subject{}, nil, &SyntaxError{Attr: attr, Value: value, Part: part, Reason: reason}
	}
	if strings.HasSuffix(strings.TrimSpace(value), ":") {
		return bad(":", "ends the value; a clause or its permissions are missing")
	}
	toks := strings.Split(value, ":")
	if len(toks) < 2 {
		return bad("", "lacks a subject; write access-id:DN, group:DN or role:DN")
	}
	var s Subject
	switch strings.ToLower(strings.TrimSpace(toks[0])) {
	case "access-id":
		s.Type = AccessID
	case "group":
		s.Type = Group
	case "role":
		s.Type = Role
	default:
		return bad(strings.TrimSpace(toks[0]), "is not a subject type; use access-id, group or role")
	}
	end := len(toks)
	for i := 2; i < len(toks); i++ {
		kw := strings.TrimSpace(toks[i])
		if _, _, ok := isClassKeyword(kw); ok || strings.HasPrefix(strings.ToLower(kw), "at.") {
			end = i
			break
		}
	}
	s.DN = strings.TrimSpace(strings.Join(toks[1:end], ":"))
	if s.DN == "" {
		return bad(toks[0]+":", "has an empty DN")
	}
	if s.Pseudo() == NotPseudo {
		if err := checkDN(s.DN); err != nil {
			return bad(s.DN, "is not a valid DN: "+err.Error())
		}
	}
	return s, toks[end:], nil
}

// String formats e in the canonical form ParseACLEntry reads: the subject,
// then object and class clauses in the order object, normal, sensitive,
// critical, restricted, system, grants before denies, the action always
// written.
func (e ACLEntry) String() string {
	var b strings.Builder
	b.WriteString(e.Subject.String())
	clause := func(name, action string, p Perm) {
		if p == 0 {
			return
		}
		b.WriteString(":" + name + ":" + action + ":" + p.String())
	}
	clause("object", "grant", e.Grant.Object)
	clause("object", "deny", e.Deny.Object)
	for c := Class(0); c < numClasses; c++ {
		clause(c.String(), "grant", e.Grant.Class[c])
		clause(c.String(), "deny", e.Deny.Class[c])
	}
	return b.String()
}

// ParseOwner parses an entryOwner value: access-id:DN, group:DN or
// role:DN. Pseudo DNs are refused: an owner has full access, and
// "everybody owns this" is never what an administrator means (IBM's
// documentation does not say; this is the reading that grants less).
func ParseOwner(value string) (Subject, error) {
	if len(value) > MaxValueLength {
		return Subject{}, &SyntaxError{Attr: "entryOwner", Value: value, Reason: fmt.Sprintf("is longer than %d bytes", MaxValueLength)}
	}
	s, rest, err := parseSubject("entryOwner", value)
	if err != nil {
		return Subject{}, err
	}
	if len(rest) > 0 {
		return Subject{}, &SyntaxError{Attr: "entryOwner", Value: value, Part: strings.Join(rest, ":"), Reason: "is not allowed: an owner has full access, so entryOwner takes no permissions"}
	}
	if s.Pseudo() != NotPseudo {
		return Subject{}, &SyntaxError{Attr: "entryOwner", Value: value, Part: s.DN, Reason: "is a pseudo DN; an owner must be a real identity, group or role"}
	}
	return s, nil
}

// ParsePropagate parses an aclPropagate or ownerPropagate value (LDAP
// Boolean syntax, RFC 4517 §3.3.3: TRUE or FALSE).
func ParsePropagate(attr, value string) (bool, error) {
	switch value {
	case "TRUE":
		return true, nil
	case "FALSE":
		return false, nil
	}
	return false, &SyntaxError{Attr: attr, Value: value, Reason: "is not a Boolean; use TRUE or FALSE"}
}

// CheckValue checks one value of an access-control attribute before the
// directory stores it; attributes other than aclEntry, entryOwner,
// aclPropagate and ownerPropagate pass. aclSource and ownerSource are
// computed, so storing them is refused. The error is a *SyntaxError.
func CheckValue(attr, value string) error {
	if i := strings.IndexByte(attr, ';'); i >= 0 {
		attr = attr[:i]
	}
	var err error
	switch strings.ToLower(attr) {
	case "aclentry":
		_, err = ParseACLEntry(value)
	case "entryowner":
		_, err = ParseOwner(value)
	case "aclpropagate", "ownerpropagate":
		_, err = ParsePropagate(attr, value)
	case "aclsource", "ownersource":
		err = &SyntaxError{Attr: attr, Value: value, Reason: "is computed by the server and cannot be stored"}
	}
	return err
}

// checkDN checks the RFC 4514 structure of a DN without knowing the schema:
// RDNs separated by unescaped ',', each one or more type=value pairs
// separated by '+', types a keystring or a dotted OID, escapes well formed.
func checkDN(s string) error {
	for _, rdn := range splitUnescaped(s, ',') {
		for _, ava := range splitUnescaped(rdn, '+') {
			eq := strings.IndexByte(ava, '=')
			if eq < 0 {
				return fmt.Errorf("%q lacks '='", strings.TrimSpace(ava))
			}
			typ := strings.TrimSpace(ava[:eq])
			if !validType(typ) {
				return fmt.Errorf("%q is not an attribute type", typ)
			}
			val := ava[eq+1:]
			for i := 0; i < len(val); i++ {
				if val[i] != '\\' {
					continue
				}
				if i+1 >= len(val) {
					return fmt.Errorf("%q ends in a lone '\\'", strings.TrimSpace(ava))
				}
				if isHex(val[i+1]) {
					if i+2 >= len(val) || !isHex(val[i+2]) {
						return fmt.Errorf("%q has a bad \\hex escape", strings.TrimSpace(ava))
					}
					i += 2
					continue
				}
				i++
			}
		}
	}
	return nil
}

// splitUnescaped splits s at each sep not preceded by a backslash escape.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func validType(t string) bool {
	if t == "" {
		return false
	}
	if t[0] >= '0' && t[0] <= '9' {
		for _, part := range strings.Split(t, ".") {
			if part == "" {
				return false
			}
			for i := 0; i < len(part); i++ {
				if part[i] < '0' || part[i] > '9' {
					return false
				}
			}
		}
		return true
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Parent returns the DN of the entry above dn ("" above a one-RDN DN and
// for ""). It splits at the first unescaped ',', so it works on any RFC
// 4514 string, normalised or not.
func Parent(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return strings.TrimLeft(dn[i+1:], " ")
		}
	}
	return ""
}
