package directory

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
)

// Usage is an attribute type's USAGE (RFC 4512 §4.1.2).
type Usage int

// Attribute usages.
const (
	UserApplications Usage = iota
	DirectoryOperation
	DistributedOperation
	DSAOperation
)

// ClassKind is an object class's kind (RFC 4512 §2.4).
type ClassKind int

// Object class kinds.
const (
	Structural ClassKind = iota
	Abstract
	Auxiliary
)

// Syntax is an LDAP syntax (RFC 4512 §4.1.5).
type Syntax struct {
	OID  string
	Desc string
	// Binary: values must be transferred with the ;binary option (RFC
	// 4522); X-BINARY-TRANSFER-REQUIRED in the definition.
	Binary     bool
	Definition string // the RFC 4512 text, served in the subschema entry
}

// MatchingRule is a matching rule (RFC 4512 §4.1.3); pkid implements those
// with a non-nil rule.
type MatchingRule struct {
	OID        string
	Names      []string
	Syntax     string
	Definition string
	impl       *rule
}

// Name returns the rule's first name, or its OID.
func (m *MatchingRule) Name() string {
	if len(m.Names) > 0 {
		return m.Names[0]
	}
	return m.OID
}

// AttributeType is an attribute type definition (RFC 4512 §4.1.2) with its
// inherited properties resolved.
type AttributeType struct {
	OID                string
	Names              []string
	Desc               string
	Obsolete           bool
	Sup                *AttributeType
	Equality           *MatchingRule // nil: no equality matching
	Ordering           *MatchingRule
	Substr             *MatchingRule
	Syntax             *Syntax
	SyntaxLen          int // the {n} bound; 0 = none
	SingleValue        bool
	Collective         bool
	NoUserModification bool
	Usage              Usage
	Definition         string

	sup, equality, ordering, substr, syntax string // names as written
}

// Name returns the type's first name, or its OID.
func (a *AttributeType) Name() string {
	if len(a.Names) > 0 {
		return a.Names[0]
	}
	return a.OID
}

// Operational reports whether the type is operational (USAGE other than
// userApplications).
func (a *AttributeType) Operational() bool { return a.Usage != UserApplications }

// ObjectClass is an object class definition (RFC 4512 §4.1.1).
type ObjectClass struct {
	OID        string
	Names      []string
	Desc       string
	Obsolete   bool
	Sup        []*ObjectClass
	Kind       ClassKind
	Must, May  []*AttributeType // own, not inherited
	Definition string

	sup, must, may []string
}

// Name returns the class's first name, or its OID.
func (c *ObjectClass) Name() string {
	if len(c.Names) > 0 {
		return c.Names[0]
	}
	return c.OID
}

// Schema is a set of syntaxes, matching rules, attribute types and object
// classes, looked up by OID or (case-insensitive) name. It is immutable
// once built and safe for concurrent use.
type Schema struct {
	Syntaxes      []*Syntax
	MatchingRules []*MatchingRule
	Attributes    []*AttributeType
	Classes       []*ObjectClass

	syntaxes map[string]*Syntax
	rules    map[string]*MatchingRule
	attrs    map[string]*AttributeType
	classes  map[string]*ObjectClass
	// exact* hold names as defined and as lower-case: most lookups hit
	// without lower-casing (which allocates).
	exactAttrs   map[string]*AttributeType
	exactClasses map[string]*ObjectClass
}

// Attribute returns the attribute type named by an OID or name (any case).
func (s *Schema) Attribute(name string) *AttributeType {
	if a, ok := s.exactAttrs[name]; ok {
		return a
	}
	return s.attrs[strings.ToLower(name)]
}

// Class returns the object class named by an OID or name (any case).
func (s *Schema) Class(name string) *ObjectClass {
	if c, ok := s.exactClasses[name]; ok {
		return c
	}
	return s.classes[strings.ToLower(name)]
}

// Rule returns the matching rule named by an OID or name (any case).
func (s *Schema) Rule(name string) *MatchingRule {
	return s.rules[strings.ToLower(name)]
}

//go:embed schema/*.schema
var schemaFiles embed.FS

// BuiltinSchemaFiles names the embedded schema files DefaultSchema loads, in order.
var BuiltinSchemaFiles = []string{"system", "core", "cosine", "inetorgperson", "nis", "pkid", "acl"}

// DefaultSchema returns pkid's built-in schema: the system schema (syntaxes,
// matching rules, operational attributes, top/alias/referral/
// extensibleObject/subschema), core (RFC 4519, RFC 2256, RFC 4523 PKI),
// cosine (RFC 4524), inetOrgPerson (RFC 2798), NIS (RFC 2307) and pkid's
// own CA-database-view schema (schema/pkid.schema) and the z/OS-style
// access control attributes (schema/acl.schema).
func DefaultSchema() *Schema {
	defaultSchemaOnce()
	return defaultSchema
}

var defaultSchema *Schema

func defaultSchemaOnce() {
	if defaultSchema != nil {
		return
	}
	var texts []string
	for _, f := range BuiltinSchemaFiles {
		b, err := schemaFiles.ReadFile("schema/" + f + ".schema")
		if err != nil {
			panic(err)
		}
		texts = append(texts, string(b))
	}
	s, err := ParseSchema(strings.Join(texts, "\n"))
	if err != nil {
		panic("directory: built-in schema: " + err.Error())
	}
	defaultSchema = s
}

func init() { defaultSchemaOnce() }

// ParseSchema reads definitions in the slapd.conf schema-file form (RFC
// 4512 descriptions introduced by the keywords ldapsyntax, matchingrule,
// attributetype and objectclass; '#' comments; continuation lines start
// with white space) and resolves their references. Definitions of the
// system schema are not implied: include them (DefaultSchema does).
func ParseSchema(text string) (*Schema, error) {
	s := &Schema{syntaxes: map[string]*Syntax{}, rules: map[string]*MatchingRule{}, attrs: map[string]*AttributeType{}, classes: map[string]*ObjectClass{}}
	defs, err := splitDefinitions(text)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		if err := s.add(d.keyword, d.text); err != nil {
			return nil, fmt.Errorf("schema line %d: %w", d.line, err)
		}
	}
	if err := s.resolve(); err != nil {
		return nil, err
	}
	s.exactAttrs = map[string]*AttributeType{}
	for k, a := range s.attrs {
		s.exactAttrs[k] = a
	}
	for _, a := range s.Attributes {
		for _, n := range a.Names {
			s.exactAttrs[n] = a
		}
	}
	s.exactClasses = map[string]*ObjectClass{}
	for k, c := range s.classes {
		s.exactClasses[k] = c
	}
	for _, c := range s.Classes {
		for _, n := range c.Names {
			s.exactClasses[n] = c
		}
	}
	return s, nil
}

// kinds maps the keywords of schema files (and the subschema attribute
// names, for reading definitions back) to the kind of definition.
var kinds = map[string]string{
	"attributetype": "attributetype", "attributetypes": "attributetype",
	"objectclass": "objectclass", "objectclasses": "objectclass",
	"ldapsyntax": "ldapsyntax", "ldapsyntaxes": "ldapsyntax",
	"matchingrule": "matchingrule", "matchingrules": "matchingrule",
}

type definition struct {
	keyword, text string
	line          int
}

func splitDefinitions(text string) ([]definition, error) {
	var defs []definition
	var cur *definition
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil {
				return nil, fmt.Errorf("schema line %d: continuation line without a definition", i+1)
			}
			cur.text += " " + trimmed
			continue
		}
		kw, rest, _ := strings.Cut(trimmed, " ")
		if kw2, rest2, ok := strings.Cut(trimmed, "\t"); ok && len(kw2) < len(kw) {
			kw, rest = kw2, rest2
		}
		if kinds[strings.ToLower(kw)] == "" {
			return nil, fmt.Errorf("schema line %d: unknown keyword %q (want attributetype, objectclass, ldapsyntax or matchingrule)", i+1, kw)
		}
		defs = append(defs, definition{keyword: kinds[strings.ToLower(kw)], text: strings.TrimSpace(rest), line: i + 1})
		cur = &defs[len(defs)-1]
	}
	return defs, nil
}

// add parses one description of the kind named by keyword (a value of kinds).
func (s *Schema) add(keyword, text string) error {
	d, err := ParseDescription(text)
	if err != nil {
		return err
	}
	switch keyword {
	case "ldapsyntax":
		return s.AddSyntax(d)
	case "matchingrule":
		return s.addRule(d)
	case "attributetype":
		return s.addAttribute(d)
	case "objectclass":
		return s.addClass(d)
	}
	return fmt.Errorf("unknown definition kind %q", keyword)
}

// Description is one parsed RFC 4512 description: its numeric OID and the
// values of each keyword (upper-case) in order. Flag keywords (SINGLE-VALUE,
// ABSTRACT, ...) have an empty value list.
type Description struct {
	OID    string
	Fields map[string][]string
	Text   string // the definition as written, normalised to one line
}

func (d *Description) one(k string) string {
	if v := d.Fields[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (d *Description) has(k string) bool { _, ok := d.Fields[k]; return ok }

// ParseDescription parses an RFC 4512 §4.1 description "( oid KEY value
// ... )": values are qdescrs ('a' or ( 'a' 'b' )), qdstrings, oids or
// oid lists ( a $ b ), with an optional {len} after a SYNTAX OID.
func ParseDescription(text string) (*Description, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	if len(toks) < 3 || toks[0] != "(" || toks[len(toks)-1] != ")" {
		return nil, fmt.Errorf("description %q: must be ( OID ... )", shorten(text))
	}
	toks = toks[1 : len(toks)-1]
	d := &Description{OID: toks[0], Fields: map[string][]string{}, Text: "( " + strings.Join(toks, " ") + " )"}
	if !isNumericOID(d.OID) && !isDescr(d.OID) {
		return nil, fmt.Errorf("description %q: %q is not an OID", shorten(text), d.OID)
	}
	for i := 1; i < len(toks); {
		k := toks[i]
		if strings.HasPrefix(k, "'") || k == "(" || k == ")" || k == "$" {
			return nil, fmt.Errorf("description %q: unexpected %q where a keyword belongs", shorten(text), k)
		}
		k = strings.ToUpper(k)
		if _, dup := d.Fields[k]; dup {
			return nil, fmt.Errorf("description %q: %s given twice", shorten(text), k)
		}
		i++
		var vals []string
		switch {
		case i < len(toks) && toks[i] == "(":
			i++
			for i < len(toks) && toks[i] != ")" {
				if toks[i] != "$" {
					vals = append(vals, unquote(toks[i]))
				}
				i++
			}
			if i == len(toks) {
				return nil, fmt.Errorf("description %q: unclosed list after %s", shorten(text), k)
			}
			i++
		case i < len(toks) && isValueToken(toks[i], k):
			vals = append(vals, unquote(toks[i]))
			i++
		}
		if vals == nil {
			vals = []string{}
		}
		d.Fields[k] = vals
	}
	return d, nil
}

// isValueToken reports whether tok is the value of keyword k rather than
// the next keyword: flags take no value.
func isValueToken(tok, k string) bool {
	switch k {
	case "OBSOLETE", "SINGLE-VALUE", "COLLECTIVE", "NO-USER-MODIFICATION", "ABSTRACT", "STRUCTURAL", "AUXILIARY":
		return false
	}
	return tok != ")" && tok != "$"
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '$':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("description %q: unterminated quoted string", shorten(s))
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()$'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func unquote(t string) string {
	if len(t) >= 2 && t[0] == '\'' && t[len(t)-1] == '\'' {
		return t[1 : len(t)-1]
	}
	return t
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func isNumericOID(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
		if len(part) > 1 && part[0] == '0' {
			return false
		}
	}
	return strings.Contains(s, ".")
}

// isDescr: keystring = leadkeychar *keychar (RFC 4512 §1.4).
func isDescr(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlpha(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// AddSyntax adds a parsed ldapSyntax description.
func (s *Schema) AddSyntax(d *Description) error {
	if _, dup := s.syntaxes[d.OID]; dup {
		return fmt.Errorf("syntax %s defined twice", d.OID)
	}
	sy := &Syntax{OID: d.OID, Desc: d.one("DESC"), Binary: strings.EqualFold(d.one("X-BINARY-TRANSFER-REQUIRED"), "TRUE"), Definition: d.Text}
	s.syntaxes[d.OID] = sy
	s.Syntaxes = append(s.Syntaxes, sy)
	return nil
}

func (s *Schema) addRule(d *Description) error {
	m := &MatchingRule{OID: d.OID, Names: d.Fields["NAME"], Syntax: d.one("SYNTAX"), Definition: d.Text}
	for _, k := range append([]string{m.OID}, m.Names...) {
		if _, dup := s.rules[strings.ToLower(k)]; dup {
			return fmt.Errorf("matching rule %s defined twice", k)
		}
		s.rules[strings.ToLower(k)] = m
	}
	m.impl = rules[m.OID]
	s.MatchingRules = append(s.MatchingRules, m)
	return nil
}

func (s *Schema) addAttribute(d *Description) error {
	if !isNumericOID(d.OID) {
		return fmt.Errorf("attribute type %q: OID must be numeric", d.OID)
	}
	a := &AttributeType{OID: d.OID, Names: d.Fields["NAME"], Desc: d.one("DESC"), Obsolete: d.has("OBSOLETE"),
		SingleValue: d.has("SINGLE-VALUE"), Collective: d.has("COLLECTIVE"), NoUserModification: d.has("NO-USER-MODIFICATION"),
		sup: d.one("SUP"), equality: d.one("EQUALITY"), ordering: d.one("ORDERING"), substr: d.one("SUBSTR"), Definition: d.Text}
	if syn := d.one("SYNTAX"); syn != "" {
		oid, n, ok := strings.Cut(syn, "{")
		a.syntax = oid
		if ok {
			l, err := strconv.Atoi(strings.TrimSuffix(n, "}"))
			if err != nil || !strings.HasSuffix(n, "}") {
				return fmt.Errorf("attribute type %s: bad syntax length in %q", a.Name(), syn)
			}
			a.SyntaxLen = l
		}
	}
	switch strings.ToLower(d.one("USAGE")) {
	case "", "userapplications":
	case "directoryoperation":
		a.Usage = DirectoryOperation
	case "distributedoperation":
		a.Usage = DistributedOperation
	case "dsaoperation":
		a.Usage = DSAOperation
	default:
		return fmt.Errorf("attribute type %s: unknown USAGE %q", a.Name(), d.one("USAGE"))
	}
	if a.syntax == "" && a.sup == "" {
		return fmt.Errorf("attribute type %s: neither SYNTAX nor SUP", a.Name())
	}
	for _, k := range append([]string{a.OID}, a.Names...) {
		if _, dup := s.attrs[strings.ToLower(k)]; dup {
			return fmt.Errorf("attribute type %s defined twice", k)
		}
		s.attrs[strings.ToLower(k)] = a
	}
	s.Attributes = append(s.Attributes, a)
	return nil
}

func (s *Schema) addClass(d *Description) error {
	if !isNumericOID(d.OID) {
		return fmt.Errorf("object class %q: OID must be numeric", d.OID)
	}
	c := &ObjectClass{OID: d.OID, Names: d.Fields["NAME"], Desc: d.one("DESC"), Obsolete: d.has("OBSOLETE"),
		sup: d.Fields["SUP"], must: d.Fields["MUST"], may: d.Fields["MAY"], Definition: d.Text}
	switch {
	case d.has("ABSTRACT"):
		c.Kind = Abstract
	case d.has("AUXILIARY"):
		c.Kind = Auxiliary
	}
	for _, k := range append([]string{c.OID}, c.Names...) {
		if _, dup := s.classes[strings.ToLower(k)]; dup {
			return fmt.Errorf("object class %s defined twice", k)
		}
		s.classes[strings.ToLower(k)] = c
	}
	s.Classes = append(s.Classes, c)
	return nil
}

// resolve links references by name and inherits SUP properties.
func (s *Schema) resolve() error {
	var resolveAttr func(a *AttributeType, depth int) error
	resolveAttr = func(a *AttributeType, depth int) error {
		if depth > 16 {
			return fmt.Errorf("attribute type %s: SUP chain too deep or circular", a.Name())
		}
		if a.sup != "" && a.Sup == nil {
			sup := s.attrs[strings.ToLower(a.sup)]
			if sup == nil {
				return fmt.Errorf("attribute type %s: unknown SUP %q", a.Name(), a.sup)
			}
			if err := resolveAttr(sup, depth+1); err != nil {
				return err
			}
			a.Sup = sup
		}
		if a.syntax != "" {
			if a.Syntax = s.syntaxes[a.syntax]; a.Syntax == nil {
				return fmt.Errorf("attribute type %s: unknown SYNTAX %s", a.Name(), a.syntax)
			}
		} else if a.Sup != nil {
			a.Syntax, a.SyntaxLen = a.Sup.Syntax, a.Sup.SyntaxLen
		}
		for _, r := range []struct {
			name string
			dst  **MatchingRule
			inh  *MatchingRule
		}{{a.equality, &a.Equality, nil}, {a.ordering, &a.Ordering, nil}, {a.substr, &a.Substr, nil}} {
			if r.name == "" {
				continue
			}
			m := s.rules[strings.ToLower(r.name)]
			if m == nil {
				return fmt.Errorf("attribute type %s: unknown matching rule %q", a.Name(), r.name)
			}
			*r.dst = m
		}
		if a.Sup != nil {
			if a.equality == "" {
				a.Equality = a.Sup.Equality
			}
			if a.ordering == "" {
				a.Ordering = a.Sup.Ordering
			}
			if a.substr == "" {
				a.Substr = a.Sup.Substr
			}
		}
		return nil
	}
	for _, a := range s.Attributes {
		if err := resolveAttr(a, 0); err != nil {
			return err
		}
	}
	for _, c := range s.Classes {
		for _, n := range c.sup {
			sup := s.classes[strings.ToLower(n)]
			if sup == nil {
				return fmt.Errorf("object class %s: unknown SUP %q", c.Name(), n)
			}
			c.Sup = append(c.Sup, sup)
		}
		for _, l := range []struct {
			names []string
			dst   *[]*AttributeType
		}{{c.must, &c.Must}, {c.may, &c.May}} {
			for _, n := range l.names {
				a := s.attrs[strings.ToLower(n)]
				if a == nil {
					return fmt.Errorf("object class %s: unknown attribute type %q", c.Name(), n)
				}
				*l.dst = append(*l.dst, a)
			}
		}
	}
	for _, c := range s.Classes {
		seen := map[*ObjectClass]bool{}
		var walk func(*ObjectClass, int) error
		walk = func(x *ObjectClass, depth int) error {
			if depth > 16 {
				return fmt.Errorf("object class %s: SUP chain too deep or circular", c.Name())
			}
			seen[x] = true
			for _, p := range x.Sup {
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(c, 0); err != nil {
			return err
		}
	}
	return nil
}

// superclasses returns c and all its superclasses.
func (c *ObjectClass) superclasses(out map[*ObjectClass]bool) {
	if out[c] {
		return
	}
	out[c] = true
	for _, p := range c.Sup {
		p.superclasses(out)
	}
}

// isA reports whether c is sub (or equal) of other.
func (c *ObjectClass) isA(other *ObjectClass) bool {
	if c == other {
		return true
	}
	for _, p := range c.Sup {
		if p.isA(other) {
			return true
		}
	}
	return false
}

// isSubtypeOf reports whether a is b or inherits from it.
func (a *AttributeType) isSubtypeOf(b *AttributeType) bool {
	for x := a; x != nil; x = x.Sup {
		if x == b {
			return true
		}
	}
	return false
}

// subschemaValues returns the values of the subschema entry's attributes.
func (s *Schema) subschemaValues() map[string][]string {
	out := map[string][]string{}
	for _, x := range s.Syntaxes {
		out["ldapSyntaxes"] = append(out["ldapSyntaxes"], x.Definition)
	}
	for _, x := range s.MatchingRules {
		out["matchingRules"] = append(out["matchingRules"], x.Definition)
	}
	for _, x := range s.Attributes {
		out["attributeTypes"] = append(out["attributeTypes"], x.Definition)
	}
	for _, x := range s.Classes {
		out["objectClasses"] = append(out["objectClasses"], x.Definition)
	}
	return out
}

// Syntax returns the LDAP syntax with that OID.
func (s *Schema) Syntax(oid string) *Syntax { return s.syntaxes[oid] }
