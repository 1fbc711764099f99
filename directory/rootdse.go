package directory

import (
	"context"
	"strings"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// RootDSEConfig says what the LDAP frontend implements, for the root DSE
// (RFC 4512 §5.1). nil lists take the defaults named on each field.
type RootDSEConfig struct {
	// SupportedControls; nil: paged results (RFC 2696).
	SupportedControls []string
	// SupportedExtensions; nil: StartTLS, WhoAmI (RFC 4532), Password
	// Modify (RFC 3062).
	SupportedExtensions []string
	// SASLMechanisms; nil: EXTERNAL.
	SASLMechanisms []string
	// VendorName and VendorVersion; "" gives "pkid" and "devel".
	VendorName, VendorVersion string
}

// SupportedFeatures are the features (RFC 4512 §5.1.4 supportedFeatures)
// the directory implements: all operational attributes with "+" (RFC
// 3673), attributes by object class with "@class" (RFC 4529), and the
// Modify-Increment extension (RFC 4525).
var SupportedFeatures = []string{"1.3.6.1.4.1.4203.1.5.1", "1.3.6.1.4.1.4203.1.5.2", "1.3.6.1.1.14"}

// RootDSE returns the root DSE: namingContexts (configured suffixes and
// the stored naming contexts), supportedLDAPVersion 3, supportedControl,
// supportedExtension, supportedFeatures, supportedSASLMechanisms,
// subschemaSubentry, vendorName, vendorVersion.
func (t *Tree) RootDSE(ctx context.Context) (*Entry, error) {
	c := t.cfg.RootDSE
	or := func(v []string, def ...string) []string {
		if v == nil {
			return def
		}
		return v
	}
	name, version := c.VendorName, c.VendorVersion
	if name == "" {
		name = "pkid"
	}
	if version == "" {
		version = "devel"
	}
	var contexts []string
	seen := map[string]bool{}
	err := t.st.DirSearch(ctx, store.DirQuery{Base: 0, Scope: store.DirOne}, func(e *store.DirEntry) error {
		seen[e.NormDN] = true
		contexts = append(contexts, e.DN)
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	for _, s := range t.cfg.Suffixes {
		if n, _ := NormalizeDN(t.schema, s); !seen[n] {
			seen[n] = true
			contexts = append(contexts, s)
		}
	}
	e := &Entry{DN: ""}
	add := func(typ string, vals ...string) {
		if len(vals) == 0 {
			return
		}
		a := Attribute{Type: typ}
		for _, v := range vals {
			a.Values = append(a.Values, []byte(v))
		}
		e.Attributes = append(e.Attributes, a)
	}
	add("objectClass", "top")
	add("namingContexts", contexts...)
	add("subschemaSubentry", SubschemaDN)
	add("supportedLDAPVersion", "3")
	add("supportedControl", or(c.SupportedControls, ldap.OIDPagedResults)...)
	add("supportedExtension", or(c.SupportedExtensions, ldap.OIDStartTLS, ldap.OIDWhoAmI, ldap.OIDPasswordModify)...)
	add("supportedFeatures", SupportedFeatures...)
	add("supportedSASLMechanisms", or(c.SASLMechanisms, "EXTERNAL")...)
	add("vendorName", name)
	add("vendorVersion", version)
	return e, nil
}

// SubschemaEntry returns the subschema subentry (RFC 4512 §4.2) with the
// schema's definitions in RFC 4512 syntax.
func (t *Tree) SubschemaEntry() *Entry {
	e := &Entry{DN: SubschemaDN, Attributes: []Attribute{
		{Type: "objectClass", Values: [][]byte{[]byte("top"), []byte("subentry"), []byte("subschema"), []byte("extensibleObject")}},
		{Type: "cn", Values: [][]byte{[]byte("Subschema")}},
	}}
	v := t.schema.subschemaValues()
	for _, k := range []string{"ldapSyntaxes", "matchingRules", "attributeTypes", "objectClasses"} {
		a := Attribute{Type: k}
		for _, d := range v[k] {
			a.Values = append(a.Values, []byte(d))
		}
		e.Attributes = append(e.Attributes, a)
	}
	return e
}

// isSubschemaDN reports whether a normalised DN is the subschema entry's.
func (t *Tree) isSubschemaDN(norm string) bool { return strings.EqualFold(norm, t.subschemaNorm()) }
