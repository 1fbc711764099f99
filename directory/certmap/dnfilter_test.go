package certmap

import (
	"crypto/x509/pkix"
	"regexp"
	"strings"
	"testing"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/ldap"
)

func TestDNFilter(t *testing.T) {
	tests := []struct {
		name, filter, subject string
		want                  bool
	}{
		{"RACF full DN", "CN=secp521r.O=cpwebuser.C=GB", "CN=secp521r,O=cpwebuser,C=GB", true},
		{"RACF partial", "OU=Sales.O=IBM", "CN=Ann,OU=Sales,O=IBM", true},
		{"RACF partial equals whole", "OU=Sales.O=IBM", "OU=Sales,O=IBM", true},
		{"must reach the top", "OU=Sales.O=IBM", "CN=Ann,OU=Sales,O=IBM,C=US", false},
		{"whole RDNs only", "OU=Sales.O=IBM", "CN=Ann,OU=Sales EMEA,O=IBM", false},
		{"filter longer than name", "CN=Ann.OU=Sales.O=IBM", "OU=Sales,O=IBM", false},
		{"case and spaces ignored", "ou=sales.o=ibm", "CN=Ann,OU=  SALES ,O=IBM", true},
		{"dot inside a value", "O=example.com.C=GB", "CN=x,O=example.com,C=GB", true},
		{"escaped dot", `CN=a\.b.O=x`, "CN=a.b,O=x", true},
		{"RACF SP and T", "T=boss.SP=Hants.C=GB", "title=boss,ST=Hants,C=GB", true},
		{"RACF E", "E=a@example.com.O=x", "emailAddress=a@example.com,O=x", true},
		{"comma form", "OU=Sales, O=IBM", "CN=Ann,OU=Sales,O=IBM", true},
		{"multi-valued RDN as a set", "CN=Ann+UID=ann,O=IBM", "UID=ann+CN=Ann,O=IBM", true},
		{"UTF-8", "O=Bücher.C=DE", "CN=x,O=BÜCHER,C=DE", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseDNFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			rdns, err := dn.Parse(tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			der, err := dn.Marshal(rdns)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(der); got != tc.want {
				t.Fatalf("%q matches %q = %v, want %v (filter RDNs %q)", tc.filter, tc.subject, got, tc.want, f.rdns)
			}
		})
	}
	for _, bad := range []string{"", "  ", "CN", "=x"} {
		if _, err := ParseDNFilter(bad); err == nil {
			t.Errorf("ParseDNFilter(%q) accepted", bad)
		}
	}
}

// FuzzDNFilter matches arbitrary (untrusted) certificate names against a
// filter: never a panic, and a name matches only if it ends with the
// filter's RDNs.
func FuzzDNFilter(f *testing.F) {
	for _, s := range []string{"CN=Ann,OU=Sales,O=IBM", "OU=Sales,O=IBM", "CN=a+UID=b,OU=Sales,O=IBM", `CN=\,\+,OU=sales,O=ibm`, "CN=Zoë,OU=Sales,O=IBM", "", "O=IBM"} {
		f.Add(s)
	}
	filter, err := ParseDNFilter("OU=Sales.O=IBM")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		if g, err := ParseDNFilter(subject); err == nil {
			g.Match([]byte(subject)) // arbitrary bytes as a DER name
		}
		rdns, err := dn.Parse(subject)
		if err != nil {
			return
		}
		der, err := dn.Marshal(rdns)
		if err != nil {
			return
		}
		got := filter.Match(der)
		norm := dn.NormalizeRDNs(rdns)
		want := norm == "ou=sales,o=ibm" || strings.HasSuffix(norm, ",ou=sales,o=ibm") && len(rdns) >= 2 && dn.NormalizeRDNs(pkix.RDNSequence{rdns[1]}) == "ou=sales"
		if got != want {
			t.Fatalf("Match(%q) = %v, want %v (normalised %q)", subject, got, want, norm)
		}
	})
}

// FuzzRegexpRule rewrites arbitrary subjects into an LDAP URL search: the
// submatch must stay one assertion value, never change the filter.
func FuzzRegexpRule(f *testing.F) {
	for _, s := range []string{"cn=alice,ou=staff,o=example", "cn=*,ou=staff,o=example", `cn=a)(uid=*,ou=staff,o=example`, `cn=\2a\29,ou=staff,o=example`, "cn=a?b#c%d,ou=staff,o=example", "cn=zoë,ou=staff,o=example"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`(?i)^cn=([^,]*),ou=staff,o=example$`)
	f.Fuzz(func(t *testing.T, subject string) {
		out, ok := rewrite(re, "ldap:///ou=people,o=example??sub?(uid=$1)", subject, true)
		if !ok {
			return
		}
		u, err := ldap.ParseURL(out)
		if err != nil {
			t.Fatalf("rewrite(%q) = %q does not parse: %v", subject, out, err)
		}
		if u.Filter.Type != ldap.FilterEqualityMatch || !strings.EqualFold(u.Filter.Attr, "uid") {
			t.Fatalf("rewrite(%q) changed the filter: %q", subject, out)
		}
		if want := unescapeDN(re.FindStringSubmatch(subject)[1]); string(u.Filter.Value) != want {
			t.Fatalf("rewrite(%q): value %q, want %q", subject, u.Filter.Value, want)
		}
		if u.DN != "ou=people,o=example" {
			t.Fatalf("rewrite(%q) changed the base: %q", subject, u.DN)
		}
	})
}
