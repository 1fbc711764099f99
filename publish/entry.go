package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/ldap"
)

// The attributes published, in the ;binary transfer form (RFC 4522).
const (
	attrCACert = "cACertificate;binary"
	attrCRL    = "certificateRevocationList;binary"
	attrARL    = "authorityRevocationList;binary"
	attrDelta  = "deltaRevocationList;binary"
)

// desired is what a CA entry must hold.
type desired struct {
	dn     string
	cert   []byte
	crl    []byte
	delta  []byte // nil when the CA has no delta CRL
	rdn    []ldap.Attribute
	leafCN string
}

// values maps each published attribute to its bytes (ARL = the full CRL).
func (d *desired) values() map[string][]byte {
	m := map[string][]byte{attrCACert: d.cert, attrCRL: d.crl, attrARL: d.crl}
	if d.delta != nil {
		m[attrDelta] = d.delta
	}
	return m
}

// objectClasses the CA entry needs.
func (d *desired) objectClasses() []string {
	oc := []string{"top", "cRLDistributionPoint", "certificationAuthority", "pkiCA"}
	if d.delta != nil {
		oc = append(oc, "deltaCRL")
	}
	if !strings.EqualFold(d.rdn[0].Type, "cn") || len(d.rdn) > 1 {
		oc = append(oc, "extensibleObject")
	}
	return oc
}

// parentClasses names the structural class created for a parent entry
// whose (first) RDN attribute is the key.
var parentClasses = map[string]string{
	"c":  "country",
	"o":  "organization",
	"ou": "organizationalUnit",
	"l":  "locality",
	"dc": "domain",
	"cn": "organizationalRole",
}

// rdnAttributes returns the attributes of the leaf RDN of name, and the
// parent DN ("" for a single RDN).
func rdnAttributes(name string) ([]ldap.Attribute, string, error) {
	rdns, err := dn.Parse(name)
	if err != nil {
		return nil, "", fmt.Errorf("DN %q: %w", name, err)
	}
	if len(rdns) == 0 {
		return nil, "", errors.New("empty DN")
	}
	leaf := rdns[len(rdns)-1]
	var attrs []ldap.Attribute
	for _, atv := range leaf {
		t := strings.ToLower(dn.TypeName(atv.Type))
		attrs = append(attrs, ldap.Attribute{Type: t, Values: [][]byte{[]byte(fmt.Sprint(atv.Value))}})
	}
	parent := ""
	if len(rdns) > 1 {
		parent = dn.String(rdns[:len(rdns)-1])
	}
	return attrs, parent, nil
}

// entryError is a failure to publish one CA's entry.
type entryError struct {
	dn  string
	err error
}

func (e *entryError) Error() string { return fmt.Sprintf("entry %q: %v", e.dn, e.err) }
func (e *entryError) Unwrap() error { return e.err }

// sync makes the entry at d.dn hold d, creating it (and missing parents) if
// needed, then reads it back and compares bytes. It reports whether it
// wrote anything.
func syncEntry(ctx context.Context, c *ldap.Client, d *desired) (bool, error) {
	want := d.values()
	entry, err := readEntry(ctx, c, d.dn)
	if isCode(err, ldap.ResultNoSuchObject) {
		if err := addEntry(ctx, c, d); err != nil {
			return false, schemaHint(ctx, c, d, err)
		}
	} else if err != nil {
		return false, &entryError{d.dn, fmt.Errorf("read: %w", err)}
	} else {
		var changes []ldap.Change
		have := attrValues(entry)
		missing := missingClasses(entry, d)
		if len(missing) > 0 {
			vals := make([][]byte, len(missing))
			for i, m := range missing {
				vals[i] = []byte(m)
			}
			changes = append(changes, ldap.Change{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "objectClass", Values: vals}})
		}
		for _, a := range []string{attrCACert, attrCRL, attrARL, attrDelta} {
			v, ok := want[a]
			if !ok {
				continue
			}
			if cur := have[baseType(a)]; len(cur) == 1 && bytes.Equal(cur[0], v) {
				continue
			}
			changes = append(changes, ldap.Change{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: a, Values: [][]byte{v}}})
		}
		if len(changes) == 0 {
			return false, nil
		}
		if err := c.Modify(ctx, &ldap.ModifyRequest{Object: d.dn, Changes: changes}); err != nil {
			return false, schemaHint(ctx, c, d, err)
		}
	}
	// Read back: the directory may transform or drop what it was given
	// (a schema without ;binary handling, an overlay, a proxy).
	entry, err = readEntry(ctx, c, d.dn)
	if err != nil {
		return true, &entryError{d.dn, fmt.Errorf("read back: %w", err)}
	}
	have := attrValues(entry)
	for a, v := range want {
		cur := have[baseType(a)]
		if len(cur) != 1 || !bytes.Equal(cur[0], v) {
			return true, &entryError{d.dn, fmt.Errorf("read back: %s does not hold the bytes written (%d values)", a, len(cur))}
		}
	}
	return true, nil
}

func readEntry(ctx context.Context, c *ldap.Client, name string) (*ldap.SearchResultEntry, error) {
	f, _ := ldap.ParseFilter("(objectClass=*)")
	es, err := c.Search(ctx, &ldap.SearchRequest{BaseObject: name, Scope: ldap.ScopeBaseObject, Filter: f,
		Attributes: []string{"objectClass", attrCACert, attrCRL, attrARL, attrDelta}})
	if err != nil {
		return nil, err
	}
	if len(es) != 1 {
		return nil, fmt.Errorf("base search of %q returned %d entries", name, len(es))
	}
	return es[0], nil
}

// attrValues indexes an entry's attributes by lower-case type without
// options, so a server that answers certificateRevocationList without
// ;binary is read the same.
func attrValues(e *ldap.SearchResultEntry) map[string][][]byte {
	m := map[string][][]byte{}
	for _, a := range e.Attributes {
		k := baseType(a.Type)
		m[k] = append(m[k], a.Values...)
	}
	return m
}

func baseType(desc string) string {
	if i := strings.IndexByte(desc, ';'); i >= 0 {
		desc = desc[:i]
	}
	return strings.ToLower(desc)
}

// missingClasses returns the auxiliary classes the existing entry lacks.
// The structural class of an existing entry cannot change, so
// cRLDistributionPoint is only added by addEntry.
func missingClasses(e *ldap.SearchResultEntry, d *desired) []string {
	have := map[string]bool{}
	for _, v := range attrValues(e)["objectclass"] {
		have[strings.ToLower(string(v))] = true
	}
	var out []string
	for _, oc := range d.objectClasses() {
		switch oc {
		case "top", "cRLDistributionPoint", "extensibleObject":
			continue
		}
		if !have[strings.ToLower(oc)] {
			out = append(out, oc)
		}
	}
	return out
}

func addEntry(ctx context.Context, c *ldap.Client, d *desired) error {
	attrs := []ldap.Attribute{{Type: "objectClass", Values: bytesList(d.objectClasses())}}
	attrs = append(attrs, d.rdn...)
	hasCN := false
	for _, a := range d.rdn {
		hasCN = hasCN || a.Type == "cn"
	}
	if !hasCN {
		attrs = append(attrs, ldap.Attribute{Type: "cn", Values: [][]byte{[]byte(d.leafCN)}})
	}
	for _, a := range []string{attrCACert, attrCRL, attrARL, attrDelta} {
		if v, ok := d.values()[a]; ok {
			attrs = append(attrs, ldap.Attribute{Type: a, Values: [][]byte{v}})
		}
	}
	req := &ldap.AddRequest{Entry: d.dn, Attributes: attrs}
	err := c.Add(ctx, req)
	if isCode(err, ldap.ResultNoSuchObject) {
		_, parent, perr := rdnAttributes(d.dn)
		if perr != nil || parent == "" {
			return err
		}
		if err := ensureParent(ctx, c, parent, 0); err != nil {
			return err
		}
		err = c.Add(ctx, req)
	}
	if isCode(err, ldap.ResultEntryAlreadyExists) {
		return nil // another writer created it; the read back checks it
	}
	return err
}

// ensureParent creates name (and, recursively, its missing parents) as a
// plain container entry.
func ensureParent(ctx context.Context, c *ldap.Client, name string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("creating parents of %q: too deep", name)
	}
	rdn, parent, err := rdnAttributes(name)
	if err != nil {
		return err
	}
	class, ok := parentClasses[rdn[0].Type]
	if !ok {
		return fmt.Errorf("parent entry %q is missing and pkid does not know which object class an entry named by %s should have; create it in the directory", name, rdn[0].Type)
	}
	req := &ldap.AddRequest{Entry: name, Attributes: append([]ldap.Attribute{{Type: "objectClass", Values: bytesList([]string{"top", class})}}, rdn...)}
	err = c.Add(ctx, req)
	if isCode(err, ldap.ResultNoSuchObject) && parent != "" {
		if err := ensureParent(ctx, c, parent, depth+1); err != nil {
			return err
		}
		err = c.Add(ctx, req)
	}
	if err == nil || isCode(err, ldap.ResultEntryAlreadyExists) {
		return nil
	}
	return fmt.Errorf("create parent entry %q (objectClass %s): %w", name, class, err)
}

func bytesList(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func isCode(err error, code ldap.ResultCode) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.Code == code
}

// SchemaError reports that the target directory's schema lacks an object
// class or attribute type the CA entry needs.
type SchemaError struct {
	Missing []string // e.g. "object class cRLDistributionPoint"
	Err     error    // the server's answer to the write
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("the directory's schema lacks %s (RFC 4523; OpenLDAP has them in core.schema): %v", strings.Join(e.Missing, ", "), e.Err)
}

// Unwrap returns the server's error.
func (e *SchemaError) Unwrap() error { return e.Err }

var schemaName = regexp.MustCompile(`NAME\s+(?:'([^']+)'|\(([^)]*)\))`)

// schemaHint turns a write refused for schema reasons into a SchemaError
// naming what the subschema lacks; other errors pass through.
func schemaHint(ctx context.Context, c *ldap.Client, d *desired, werr error) error {
	var le *ldap.Error
	if !errors.As(werr, &le) {
		return &entryError{d.dn, werr}
	}
	switch le.Code {
	case ldap.ResultObjectClassViolation, ldap.ResultUndefinedAttributeType, ldap.ResultInvalidAttributeSyntax, ldap.ResultConstraintViolation:
	default:
		return &entryError{d.dn, werr}
	}
	classes, attrs, err := readSchema(ctx, c)
	if err != nil {
		return &entryError{d.dn, fmt.Errorf("%w (and the subschema could not be read to say why: %v)", werr, err)}
	}
	var missing []string
	for _, oc := range d.objectClasses() {
		if !classes[strings.ToLower(oc)] {
			missing = append(missing, "object class "+oc)
		}
	}
	for a := range d.values() {
		if !attrs[baseType(a)] {
			missing = append(missing, "attribute type "+a[:strings.IndexByte(a, ';')])
		}
	}
	if len(missing) == 0 {
		return &entryError{d.dn, werr}
	}
	return &entryError{d.dn, &SchemaError{Missing: missing, Err: werr}}
}

// readSchema returns the lower-case names of the object classes and
// attribute types of the server's subschema (RFC 4512 §4.2, §4.4).
func readSchema(ctx context.Context, c *ldap.Client) (classes, attrs map[string]bool, err error) {
	all, _ := ldap.ParseFilter("(objectClass=*)")
	root, err := c.Search(ctx, &ldap.SearchRequest{Scope: ldap.ScopeBaseObject, Filter: all, Attributes: []string{"subschemaSubentry"}})
	if err != nil {
		return nil, nil, fmt.Errorf("root DSE: %w", err)
	}
	sub := "cn=Subschema"
	if len(root) == 1 {
		if v := attrValues(root[0])["subschemasubentry"]; len(v) > 0 {
			sub = string(v[0])
		}
	}
	f, _ := ldap.ParseFilter("(objectClass=subschema)")
	es, err := c.Search(ctx, &ldap.SearchRequest{BaseObject: sub, Scope: ldap.ScopeBaseObject, Filter: f, Attributes: []string{"objectClasses", "attributeTypes"}})
	if err != nil {
		return nil, nil, fmt.Errorf("subschema %q: %w", sub, err)
	}
	if len(es) != 1 {
		return nil, nil, fmt.Errorf("subschema %q not found", sub)
	}
	v := attrValues(es[0])
	return schemaNames(v["objectclasses"]), schemaNames(v["attributetypes"]), nil
}

// schemaNames returns the lower-case NAMEs of RFC 4512 §4.1
// ObjectClassDescription or AttributeTypeDescription values, as a server
// sends them ("( 2.5.6.19 NAME 'cRLDistributionPoint' ...",
// "( 2.5.4.3 NAME ( 'cn' 'commonName' ) ...").
func schemaNames(vals [][]byte) map[string]bool {
	m := map[string]bool{}
	for _, v := range vals {
		for _, g := range schemaName.FindAllSubmatch(v, 1) {
			list := string(g[1]) + " " + string(g[2])
			for _, n := range strings.Fields(strings.ReplaceAll(list, "'", " ")) {
				m[strings.ToLower(n)] = true
			}
		}
	}
	return m
}
