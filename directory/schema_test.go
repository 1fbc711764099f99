package directory

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

func TestDefaultSchema(t *testing.T) {
	s := DefaultSchema()
	tests := []struct {
		name, attr, syntax, equality string
		single                       bool
	}{
		{"cn via SUP name", "commonName", "1.3.6.1.4.1.1466.115.121.1.15", "caseIgnoreMatch", false},
		{"uid", "uid", "1.3.6.1.4.1.1466.115.121.1.15", "caseIgnoreMatch", false},
		{"uidNumber", "uidNumber", "1.3.6.1.4.1.1466.115.121.1.27", "integerMatch", true},
		{"userCertificate", "userCertificate", "1.3.6.1.4.1.1466.115.121.1.8", "certificateExactMatch", false},
		{"createTimestamp", "createTimestamp", "1.3.6.1.4.1.1466.115.121.1.24", "generalizedTimeMatch", true},
		{"entryUUID", "entryUUID", "1.3.6.1.1.16.1", "UUIDMatch", true},
		{"memberUid", "memberUid", "1.3.6.1.4.1.1466.115.121.1.26", "caseExactIA5Match", false},
		{"mail", "mail", "1.3.6.1.4.1.1466.115.121.1.26", "caseIgnoreIA5Match", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := s.Attribute(tc.attr)
			if a == nil {
				t.Fatalf("no attribute %s", tc.attr)
			}
			if a.Syntax.OID != tc.syntax || a.Equality == nil || a.Equality.Name() != tc.equality || a.SingleValue != tc.single {
				t.Errorf("%s: syntax %s equality %v single %v", tc.attr, a.Syntax.OID, a.Equality, a.SingleValue)
			}
		})
	}
	for _, c := range []string{"top", "alias", "referral", "extensibleObject", "subschema", "person", "inetOrgPerson", "posixAccount", "posixGroup", "shadowAccount", "pkiUser", "pkiCA", "certificationAuthority", "cRLDistributionPoint", "organizationalUnit", "dcObject", "domain", "groupOfNames"} {
		if s.Class(c) == nil {
			t.Errorf("no object class %s", c)
		}
	}
	if !s.Syntax("1.3.6.1.4.1.1466.115.121.1.8").Binary {
		t.Error("Certificate syntax is not marked binary-transfer")
	}
}

// TestParseOpenLDAPSchemaFiles parses slapd's own schema files, after pkid's
// system schema, and checks every definition they hold is read.
func TestParseOpenLDAPSchemaFiles(t *testing.T) {
	sys, err := schemaFiles.ReadFile("schema/system.schema")
	if err != nil {
		t.Fatal(err)
	}
	text := string(sys)
	// The files come with slapd: skip locally without it, fail under CI.
	peer.Need(t, "slapd", "slapd")
	for _, f := range []string{"core", "cosine", "inetorgperson", "nis"} {
		b, err := os.ReadFile("/etc/ldap/schema/" + f + ".schema")
		if err != nil {
			t.Fatalf("slapd is installed but its schema file is not: %v", err)
		}
		text += "\n" + string(b)
		// slapd compiles in some of core's definitions; those are commented
		// out in the files and defined by system.schema or uncommented in
		// pkid's copy, so the file's own definitions must all parse.
		s, err := ParseSchema(text + "\n" + builtinsNotInFiles(t, f))
		if err != nil {
			t.Fatalf("through %s.schema: %v", f, err)
		}
		n := strings.Count(string(b), "\nattributetype") + strings.Count(string(b), "\nobjectclass")
		if n == 0 || len(s.Attributes)+len(s.Classes) < n {
			t.Errorf("%s.schema: %d definitions in the file, %d parsed", f, n, len(s.Attributes)+len(s.Classes))
		}
	}
}

// builtinsNotInFiles returns the definitions slapd compiles in that the
// files reference but comment out, taken from pkid's copies.
func builtinsNotInFiles(t *testing.T, upTo string) string {
	var out []string
	for _, f := range []string{"core", "cosine", "inetorgperson", "nis"} {
		b, _ := os.ReadFile("/etc/ldap/schema/" + f + ".schema")
		mine, _ := schemaFiles.ReadFile("schema/" + f + ".schema")
		defs, err := splitDefinitions(string(mine))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			desc, err := ParseDescription(d.text)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`(?mi)^` + d.keyword + `\s*\(\s*` + regexp.QuoteMeta(desc.OID) + `\s`).Match(b) {
				out = append(out, d.keyword+" "+d.text)
			}
		}
		if f == upTo {
			break
		}
	}
	return strings.Join(out, "\n")
}
