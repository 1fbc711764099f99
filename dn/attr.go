package dn

import (
	"encoding/asn1"
	"strings"
)

// attrType describes one attribute type pkid knows by name.
type attrType struct {
	name    string // the short name pkid prints
	aliases []string
	oid     asn1.ObjectIdentifier
	// ub is the RFC 5280 Appendix A upper bound in characters; 0 = none.
	ub int
	// tag is the ASN.1 string type the value must be encoded as; 0 means
	// PrintableString when the value allows it, else UTF8String
	// (RFC 5280 §4.1.2.4 DirectoryString).
	tag int
}

var attrTypes = []attrType{
	{name: "CN", aliases: []string{"commonName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 3}, ub: 64},
	{name: "SN", aliases: []string{"surname"}, oid: asn1.ObjectIdentifier{2, 5, 4, 4}, ub: 40},
	{name: "serialNumber", oid: asn1.ObjectIdentifier{2, 5, 4, 5}, ub: 64, tag: asn1.TagPrintableString},
	{name: "C", aliases: []string{"countryName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 6}, ub: 2, tag: asn1.TagPrintableString},
	{name: "L", aliases: []string{"localityName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 7}, ub: 128},
	{name: "ST", aliases: []string{"stateOrProvinceName", "S"}, oid: asn1.ObjectIdentifier{2, 5, 4, 8}, ub: 128},
	{name: "STREET", aliases: []string{"streetAddress"}, oid: asn1.ObjectIdentifier{2, 5, 4, 9}, ub: 128},
	{name: "O", aliases: []string{"organizationName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 10}, ub: 64},
	{name: "OU", aliases: []string{"organizationalUnitName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 11}, ub: 64},
	{name: "title", oid: asn1.ObjectIdentifier{2, 5, 4, 12}, ub: 64},
	{name: "postalCode", oid: asn1.ObjectIdentifier{2, 5, 4, 17}, ub: 40},
	{name: "name", oid: asn1.ObjectIdentifier{2, 5, 4, 41}, ub: 32768},
	{name: "GN", aliases: []string{"givenName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 42}, ub: 16},
	{name: "initials", oid: asn1.ObjectIdentifier{2, 5, 4, 43}, ub: 5},
	{name: "generationQualifier", oid: asn1.ObjectIdentifier{2, 5, 4, 44}, ub: 3},
	{name: "dnQualifier", oid: asn1.ObjectIdentifier{2, 5, 4, 46}, tag: asn1.TagPrintableString},
	{name: "pseudonym", oid: asn1.ObjectIdentifier{2, 5, 4, 65}, ub: 128},
	{name: "organizationIdentifier", oid: asn1.ObjectIdentifier{2, 5, 4, 97}, ub: 64},
	{name: "DC", aliases: []string{"domainComponent"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, ub: 63, tag: asn1.TagIA5String},
	{name: "UID", aliases: []string{"userid"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, ub: 256},
	{name: "emailAddress", aliases: []string{"E", "email"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, ub: 255, tag: asn1.TagIA5String},
}

var (
	byName = map[string]*attrType{} // lower-case name or alias
	byOID  = map[string]*attrType{} // dotted OID
)

func init() {
	for i := range attrTypes {
		a := &attrTypes[i]
		byName[strings.ToLower(a.name)] = a
		for _, al := range a.aliases {
			byName[strings.ToLower(al)] = a
		}
		byOID[a.oid.String()] = a
	}
}

// TypeName returns the short name pkid prints for an attribute type
// ("CN", "O", "emailAddress", ...), or its dotted OID when pkid has no name
// for it.
func TypeName(oid asn1.ObjectIdentifier) string {
	if a, ok := byOID[oid.String()]; ok {
		return a.name
	}
	return oid.String()
}

// ParseType returns the OID for an attribute type given by name (any case,
// with the usual aliases: commonName, E, ...) or as a dotted OID, optionally
// prefixed "OID.".
func ParseType(s string) (asn1.ObjectIdentifier, bool) {
	if a, ok := byName[strings.ToLower(s)]; ok {
		return a.oid, true
	}
	if len(s) > 4 && strings.EqualFold(s[:4], "oid.") {
		s = s[4:]
	}
	oid, ok := parseOID(s)
	return oid, ok
}

func parseOID(s string) (asn1.ObjectIdentifier, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return nil, false
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 32 {
		return nil, false
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, false
			}
			n = n*10 + int(c-'0')
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, false
	}
	return oid, true
}
