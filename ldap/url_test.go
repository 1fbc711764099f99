package ldap

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	objectClass := Filter{Type: FilterPresent, Attr: "objectClass"}
	tests := []struct {
		in   string
		want URL
		addr string
		str  string // String(), when it differs from in
	}{
		{"ldap://ldap.example.com/cn=SSCA256,ou=CA,o=SSS,c=GB?certificateRevocationList;binary",
			URL{Scheme: "ldap", Host: "ldap.example.com", DN: "cn=SSCA256,ou=CA,o=SSS,c=GB", Attributes: []string{"certificateRevocationList;binary"}, Filter: objectClass},
			"ldap.example.com:389", ""},
		{"ldaps://127.0.0.1:1636/dc=example,dc=com?cn,mail?sub?(uid=jane)",
			URL{Scheme: "ldaps", Host: "127.0.0.1:1636", DN: "dc=example,dc=com", Attributes: []string{"cn", "mail"}, Scope: ScopeWholeSubtree, Filter: eq("uid", "jane")},
			"127.0.0.1:1636", ""},
		{"ldap://[::1]/o=University%20of%20Michigan,c=US",
			URL{Scheme: "ldap", Host: "[::1]", DN: "o=University of Michigan,c=US", Filter: objectClass}, "[::1]:389", ""},
		{"LDAPS://[::1]:636/", URL{Scheme: "ldaps", Host: "[::1]:636", Filter: objectClass}, "[::1]:636", "ldaps://[::1]:636/"},
		{"ldap:///??sub??bindname=cn=Manager%2cdc=example%2cdc=com",
			URL{Scheme: "ldap", Scope: ScopeWholeSubtree, Filter: objectClass, Extensions: []URLExtension{{Type: "bindname", Value: "cn=Manager,dc=example,dc=com"}}},
			"", "ldap:///??sub?(objectClass=*)?bindname=cn%3DManager%2Cdc%3Dexample%2Cdc%3Dcom"},
		{"ldap://h/o=Q%3F?cn?one?(cn=a%3fb)?!x-crit",
			URL{Scheme: "ldap", Host: "h", DN: "o=Q?", Attributes: []string{"cn"}, Scope: ScopeSingleLevel, Filter: eq("cn", "a?b"),
				Extensions: []URLExtension{{Critical: true, Type: "x-crit"}}},
			"h:389", "ldap://h/o=Q%3F?cn?one?(cn=a%3Fb)?!x-crit"},
		{"ldap://h", URL{Scheme: "ldap", Host: "h", Filter: objectClass}, "h:389", "ldap://h/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*u, tt.want) {
				t.Fatalf("got %+v\nwant %+v", *u, tt.want)
			}
			if u.Addr() != tt.addr {
				t.Errorf("Addr() = %q, want %q", u.Addr(), tt.addr)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if u.String() != want {
				t.Errorf("String() = %q, want %q", u.String(), want)
			}
			again, err := ParseURL(u.String())
			if err != nil || !reflect.DeepEqual(again, u) {
				t.Errorf("String() does not parse back: %+v %v", again, err)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for in, why := range map[string]string{
		"http://h/":              "scheme",
		"ldap:/h":                "missing scheme",
		"ldap://h/dc=x?cn?wide":  "scope",
		"ldap://h/dc=x???(cn=x":  "invalid filter",
		"ldap://h/dc=x?c%zz":     "attributes",
		"ldap://h/dc=x?a??b?c?d": "more than four",
		"ldap://h/dc=x????":      "empty extensions",
		"ldap://h:x/":            "bad port",
		"ldap://h:99999999/":     "bad port",
		"ldap://u@h/":            "invalid characters",
		"ldap://[zz]/":           "IPv6",
		"ldap://h/dc=x?c n":      "attribute",
		"ldap://h/%zz":           "dn",
		"ldap://" + strings.Repeat("h", MaxURLLength): "longer than",
	} {
		_, err := ParseURL(in)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%.40q: err = %v, want %q", in, err, why)
		}
	}
}

func TestURLSearchRequest(t *testing.T) {
	u, err := ParseURL("ldap://h/cn=CA,o=X?cACertificate;binary?base?(objectClass=pkiCA)")
	if err != nil {
		t.Fatal(err)
	}
	r := u.SearchRequest()
	if r.BaseObject != "cn=CA,o=X" || r.Scope != ScopeBaseObject || r.Filter.String() != "(objectClass=pkiCA)" ||
		!reflect.DeepEqual(r.Attributes, []string{"cACertificate;binary"}) {
		t.Errorf("%+v", r)
	}
	if _, err := (&Message{ID: 1, Op: r}).Marshal(); err != nil {
		t.Error(err)
	}
}

// OpenLDAP's ldapurl parses the same URLs into the same parts.
func TestInteropLdapurl(t *testing.T) {
	for _, in := range []string{
		"ldap://h:1389/o=Q%3F,c=GB?cn,mail?sub?(cn=a%3fb)?!x-crit,bindname=cn=M%2cdc=x",
		"ldap://ldap.example.com/cn=SSCA256,ou=CA,o=SSS,c=GB?certificateRevocationList;binary",
		"ldaps://[::1]:1636/dc=example,dc=com??one?(&(uid=jane)(!(cn=x)))",
		"ldap://h/o=University%20of%20Michigan,c=US?cn?base",
	} {
		t.Run(in, func(t *testing.T) {
			u, err := ParseURL(in)
			if err != nil {
				t.Fatal(err)
			}
			out := run(t, "", "ldapurl", "-H", in)
			var want []string
			host, port := u.Addr(), ""
			if i := strings.LastIndex(host, ":"); i >= 0 {
				host, port = strings.Trim(host[:i], "[]"), host[i+1:]
			}
			want = append(want, "scheme: "+u.Scheme, "host: "+host, "port: "+port, "dn: "+u.DN)
			for _, a := range u.Attributes {
				want = append(want, "selector: "+a)
			}
			want = append(want, "scope: "+[]string{"base", "one", "sub"}[u.Scope])
			if u.Filter.String() != "(objectClass=*)" {
				want = append(want, "filter: "+u.Filter.String())
			}
			for _, x := range u.Extensions {
				s := x.Type
				if x.Critical {
					s = "!" + s
				}
				if x.Value != "" {
					s += "=" + x.Value
				}
				want = append(want, "extension: "+s)
			}
			if got := strings.Split(strings.TrimSpace(out), "\n"); !reflect.DeepEqual(got, want) {
				t.Errorf("ldapurl:\n%s\nours:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
