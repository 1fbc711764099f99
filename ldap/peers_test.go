package ldap_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestLdapsearchFilters runs OpenLDAP's ldapsearch over LDAP, StartTLS and
// LDAPS with every filter type, scope and attribute selection, and checks
// the entries returned.
func TestLdapsearchFilters(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 30})
	cases := []struct {
		name   string
		args   []string // after -b
		filter string
		want   []string // DNs in order; nil means: check n
		n      int
		code   int
	}{
		{"equality", []string{peopleDN}, "(uid=user7)", []string{user(7)}, 1, 0},
		{"equality case-insensitive", []string{peopleDN}, "(UID=USER7)", []string{user(7)}, 1, 0},
		{"and", []string{peopleDN}, "(&(objectClass=inetOrgPerson)(sn=12))", []string{user(12)}, 1, 0},
		{"or", []string{peopleDN}, "(|(uid=user1)(uid=user2))", nil, 2, 0},
		{"not", []string{peopleDN, "-s", "one"}, "(!(uid=user1*))", nil, 30 - 11, 0},
		{"substring initial", []string{peopleDN}, "(uid=user2*)", nil, 11, 0},
		{"substring any final", []string{peopleDN}, "(mail=*er1*@example.org)", nil, 11, 0},
		{"greater or equal", []string{peopleDN}, "(createTimestamp>=20000101000000Z)", nil, 31, 0},
		{"less or equal", []string{peopleDN}, "(createTimestamp<=20000101000000Z)", nil, 0, 0},
		{"present", []string{suffix}, "(ou=*)", []string{peopleDN}, 1, 0},
		{"approx", []string{peopleDN}, "(cn~=user 3)", []string{user(3)}, 1, 0},
		{"extensible", []string{peopleDN}, "(cn:caseExactMatch:=User 4)", []string{user(4)}, 1, 0},
		{"extensible dn", []string{suffix}, "(ou:dn:=people)", nil, 31, 0},
		{"base scope", []string{user(5), "-s", "base"}, "(objectClass=*)", []string{user(5)}, 1, 0},
		{"one scope", []string{suffix, "-s", "one"}, "(objectClass=*)", nil, 2, 0},
		{"children scope", []string{suffix, "-s", "children"}, "(objectClass=*)", nil, 32, 0},
		{"size limit", []string{peopleDN, "-z", "3"}, "(objectClass=inetOrgPerson)", nil, 3, 4},
		{"no such object", []string{"ou=nowhere,o=pkid"}, "(objectClass=*)", nil, 0, 32},
		{"invalid DN", []string{"not a dn"}, "(objectClass=*)", nil, 0, 34},
		{"unknown attribute is undefined", []string{suffix}, "(fooBar=1)", nil, 0, 0},
	}
	for _, proto := range []struct {
		name string
		args []string
	}{{"ldap", []string{"-H", ts.ldapURL}}, {"starttls", []string{"-H", ts.ldapURL, "-ZZ"}}, {"ldaps", []string{"-H", ts.ldapsURL}}} {
		for _, c := range cases {
			t.Run(proto.name+"/"+c.name, func(t *testing.T) {
				args := append(append([]string{}, proto.args...), "-x", "-LLL", "-b")
				args = append(append(args, c.args...), c.filter, "1.1")
				out, errOut, code := ts.run(t, "", nil, "ldapsearch", args...)
				if code != c.code {
					t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
				}
				got := dns(out)
				if c.want != nil && !slices.Equal(got, c.want) {
					t.Errorf("got %q, want %q", got, c.want)
				}
				if len(got) != c.n {
					t.Errorf("got %d entries, want %d: %q", len(got), c.n, got)
				}
			})
		}
	}
}

func TestLdapsearchAttributes(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 3})
	search := func(t *testing.T, extra ...string) string {
		args := append([]string{"-H", ts.ldapURL, "-x", "-LLL", "-b", user(1), "-s", "base", "(objectClass=*)"}, extra...)
		out, errOut, code := ts.run(t, "", nil, "ldapsearch", args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		return unfold(out)
	}
	t.Run("all user attributes", func(t *testing.T) {
		out := search(t)
		for _, want := range []string{"uid: user1", "cn: User 1", "mail: user1@example.org"} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		if strings.Contains(out, "entryUUID") {
			t.Errorf("operational attribute without +:\n%s", out)
		}
	})
	t.Run("plus", func(t *testing.T) {
		out := search(t, "+")
		if !strings.Contains(out, "entryUUID:") || strings.Contains(out, "uid: user1") {
			t.Errorf("+ gives operational attributes only:\n%s", out)
		}
	})
	t.Run("named", func(t *testing.T) {
		out := search(t, "mail")
		if !strings.Contains(out, "mail: user1@example.org") || strings.Contains(out, "cn:") {
			t.Errorf("mail only:\n%s", out)
		}
	})
	t.Run("1.1", func(t *testing.T) {
		out := search(t, "1.1")
		if strings.TrimSpace(out) != "dn: "+user(1) {
			t.Errorf("1.1:\n%s", out)
		}
	})
	t.Run("typesOnly", func(t *testing.T) {
		out := search(t, "-A", "mail")
		if strings.TrimSpace(out) != "dn: "+user(1)+"\nmail:" {
			t.Errorf("-A:\n%q", out)
		}
	})
	t.Run("root DSE", func(t *testing.T) {
		out, errOut, code := ts.run(t, "", nil, "ldapsearch", "-H", ts.ldapsURL, "-x", "-LLL", "-b", "", "-s", "base", "+")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"supportedLDAPVersion: 3", "1.3.6.1.4.1.1466.20037", "supportedSASLMechanisms: EXTERNAL", "1.2.840.113556.1.4.319"} {
			if !strings.Contains(out, want) {
				t.Errorf("root DSE lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestLdapsearchPaged(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 45})
	for _, url := range []string{ts.ldapURL, ts.ldapsURL} {
		out, errOut, code := ts.run(t, "", nil, "ldapsearch", "-H", url, "-x", "-LLL", "-E", "pr=10/noprompt", "-b", peopleDN, "-s", "one", "(objectClass=*)", "1.1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		got := dns(out)
		slices.Sort(got)
		if len(slices.Compact(got)) != 45 {
			t.Errorf("%s: paged search returned %d distinct entries, want 45", url, len(got))
		}
	}
	// A critical control pkid does not know.
	_, errOut, code := ts.run(t, "", nil, "ldapsearch", "-H", ts.ldapURL, "-x", "-LLL", "-E", "!1.2.3.4.5", "-b", suffix, "-s", "base")
	if code != 12 {
		t.Errorf("unknown critical control: exit %d, want 12 (unavailableCriticalExtension): %s", code, errOut)
	}
}

// TestClientTools drives the update tools and the extended operations.
func TestClientTools(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 3})
	bind := []string{"-H", ts.ldapURL, "-x", "-D", adminDN, "-w", adminPW}
	steps := []struct {
		name  string
		stdin string
		prog  string
		args  []string
		code  int
		out   string // substring of stdout
	}{
		{"ldapadd", "dn: uid=new,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: new\ncn: New\nsn: Person\n", "ldapadd", bind, 0, ""},
		{"ldapadd exists", "dn: uid=new,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: new\ncn: New\nsn: Person\n", "ldapadd", bind, 68, ""},
		{"ldapadd schema violation", "dn: uid=bad,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: bad\n", "ldapadd", bind, 65, ""},
		{"ldapadd unknown attribute", "dn: uid=bad,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: bad\ncn: b\nsn: b\nfooBar: 1\n", "ldapadd", bind, 17, ""},
		{"ldapmodify", "dn: uid=new,ou=people,o=pkid\nchangetype: modify\nreplace: sn\nsn: Renamed\n-\nadd: mail\nmail: new@example.org\n", "ldapmodify", bind, 0, ""},
		{"ldapmodify no such attribute", "dn: uid=new,ou=people,o=pkid\nchangetype: modify\ndelete: telephoneNumber\n", "ldapmodify", bind, 16, ""},
		{"ldapcompare true", "", "ldapcompare", append(bind, "uid=new,ou=people,o=pkid", "sn:Renamed"), 6, "TRUE"},
		{"ldapcompare false", "", "ldapcompare", append(bind, "uid=new,ou=people,o=pkid", "sn:Person"), 5, "FALSE"},
		{"ldapmodrdn", "", "ldapmodrdn", append(bind, "-r", "uid=new,ou=people,o=pkid", "uid=newer"), 0, ""},
		{"ldapdelete non-leaf", "", "ldapdelete", append(bind, peopleDN), 66, ""},
		{"ldapdelete", "", "ldapdelete", append(bind, "uid=newer,ou=people,o=pkid"), 0, ""},
		{"ldapdelete gone", "", "ldapdelete", append(bind, "uid=newer,ou=people,o=pkid"), 32, ""},
		{"ldapwhoami simple", "", "ldapwhoami", bind, 0, "dn:" + adminDN},
		{"ldapwhoami anonymous", "", "ldapwhoami", []string{"-H", ts.ldapURL, "-x"}, 0, "anonymous"},
		{"wrong password", "", "ldapwhoami", []string{"-H", ts.ldapURL, "-x", "-D", adminDN, "-w", "nope"}, 49, ""},
		{"unauthenticated bind", "", "ldapwhoami", []string{"-H", ts.ldapURL, "-x", "-D", adminDN, "-w", ""}, 53, ""},
		{"ldappasswd set", "", "ldappasswd", append(bind, "-s", "pw-new", user(1)), 0, ""},
		{"bind with new password", "", "ldapwhoami", []string{"-H", ts.ldapURL, "-x", "-D", user(1), "-w", "pw-new"}, 0, "dn:" + user(1)},
		{"ldappasswd self", "", "ldappasswd", []string{"-H", ts.ldapURL, "-x", "-D", user(2), "-w", "pw2", "-s", "changed"}, 0, ""},
		{"ldapwhoami StartTLS", "", "ldapwhoami", append([]string{"-ZZ"}, bind...), 0, "dn:" + adminDN},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, errOut, code := ts.run(t, s.stdin, nil, s.prog, s.args...)
			if code != s.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, s.code, out, errOut)
			}
			if !strings.Contains(out, s.out) {
				t.Errorf("stdout lacks %q:\n%s", s.out, out)
			}
		})
	}
	t.Run("ldappasswd generates", func(t *testing.T) {
		out, errOut, code := ts.run(t, "", nil, "ldappasswd", append(bind, user(0))...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		pw, ok := strings.CutPrefix(strings.TrimSpace(out), "New password: ")
		if !ok || pw == "" {
			t.Fatalf("no generated password in %q", out)
		}
		out, errOut, code = ts.run(t, "", nil, "ldapwhoami", "-H", ts.ldapURL, "-x", "-D", user(0), "-w", pw)
		if code != 0 || !strings.Contains(out, user(0)) {
			t.Errorf("bind with generated password: exit %d %s %s", code, out, errOut)
		}
	})
}

// TestExternal binds with SASL EXTERNAL and the admin's client
// certificate, whose subject is the admin's entry DN.
func TestExternal(t *testing.T) {
	ts := startServer(t, serverOpts{})
	cert := []string{"LDAPTLS_CERT=" + ts.admin.Chain, "LDAPTLS_KEY=" + ts.admin.Key}
	stranger := []string{"LDAPTLS_CERT=" + ts.stranger.Chain, "LDAPTLS_KEY=" + ts.stranger.Key}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"ldaps", cert, []string{"-H", ts.ldapsURL}, 0, "dn:cn=admin,o=pkid"},
		{"starttls", cert, []string{"-H", ts.ldapURL, "-ZZ"}, 0, "dn:cn=admin,o=pkid"},
		{"unmapped certificate", stranger, []string{"-H", ts.ldapsURL}, 49, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := ts.run(t, "", c.env, "ldapwhoami", append(c.args, "-Y", "EXTERNAL", "-Q")...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}
	t.Run("revoked", func(t *testing.T) {
		iss := ts.ca.Issue(t, caRequest("CN=admin,O=pkid"))
		f := writeIssued(t, iss)
		if _, err := ts.ca.Service.Revoke(t.Context(), iss.Serial, 1, zeroTime); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := ts.run(t, "", []string{"LDAPTLS_CERT=" + f.Chain, "LDAPTLS_KEY=" + f.Key}, "ldapwhoami", "-H", ts.ldapsURL, "-Y", "EXTERNAL", "-Q")
		if code != 49 || !strings.Contains(errOut, iss.Serial) {
			t.Errorf("revoked certificate: exit %d, want 49 naming serial %s\n%s%s", code, iss.Serial, out, errOut)
		}
	})
	_ = fmt.Sprint
}
