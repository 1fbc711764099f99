package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/server"
)

// TestNoSuchObjectMatchedDN: a search whose base the caller may not see
// answers noSuchObject (32), and its matchedDN (RFC 4511 §4.1.9) names no
// entry the caller may not discover: not the hidden base, not a hidden
// ancestor. The admin, who sees everything, gets the deepest existing
// entry, so the test can tell a matchedDN apart from none.
func TestNoSuchObjectMatchedDN(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	ldapadd := peer.Need(t, "ldapadd", "ldap-utils")
	f := start(t, "", func(c *server.Config) { c.LDAPAddr = "127.0.0.1:0" })
	url := "ldap://" + f.srv.LDAPAddr().String()
	env := append(os.Environ(), "LDAPTLS_CACERT="+f.boot.CAFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME="+f.dir)
	admin := append(env[:len(env):len(env)], "LDAPTLS_CERT="+f.boot.AdminChain, "LDAPTLS_KEY="+f.boot.AdminKey)
	run := func(env []string, stdin, prog string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	entries := "dn: uid=jane,o=pkid\nobjectClass: inetOrgPerson\nuid: jane\ncn: Jane\nsn: Doe\nuserPassword: s3cret\naclEntry: access-id:CN=THIS:normal:rsc\n\n" +
		"dn: uid=joe,o=pkid\nobjectClass: inetOrgPerson\nuid: joe\ncn: Joe\nsn: Roe\nuserPassword: s3cret\naclEntry: access-id:CN=THIS:normal:rsc\n"
	if out, code := run(admin, entries, ldapadd, "-H", url, "-ZZ", "-Y", "EXTERNAL", "-Q"); code != 0 {
		t.Fatalf("ldapadd: exit %d\n%s", code, out)
	}
	anon := []string{"-H", url, "-x"}
	jane := []string{"-H", url, "-x", "-D", "uid=jane,o=pkid", "-w", "s3cret"}
	adminArgs := []string{"-H", url, "-ZZ", "-Y", "EXTERNAL", "-Q"}
	tests := []struct {
		name    string
		env     []string
		who     []string
		base    string
		matched string // "" = no matchedDN in the result
	}{
		{"anonymous, hidden base", env, anon, "uid=jane,o=pkid", ""},
		{"anonymous, below a hidden entry", env, anon, "cn=ghost,uid=jane,o=pkid", ""},
		{"anonymous, missing under a hidden suffix", env, anon, "uid=ghost,o=pkid", ""},
		{"user, below another hidden user", env, jane, "cn=ghost,uid=joe,o=pkid", ""},
		{"user, below itself", env, jane, "cn=ghost,uid=jane,o=pkid", "uid=jane,o=pkid"},
		{"admin sees the matched entry", admin, adminArgs, "cn=ghost,uid=joe,o=pkid", "uid=joe,o=pkid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.who...), "-LLL", "-b", tc.base, "-s", "base", "1.1")
			out, code := run(tc.env, "", ldapsearch, args...)
			if code != 32 {
				t.Fatalf("exit %d, want 32 (noSuchObject)\n%s", code, out)
			}
			got := ""
			for _, l := range strings.Split(out, "\n") {
				if m, ok := strings.CutPrefix(strings.TrimSpace(l), "Matched DN: "); ok {
					got = m
				}
			}
			if !strings.EqualFold(got, tc.matched) {
				t.Errorf("matchedDN %q, want %q\n%s", got, tc.matched, out)
			}
		})
	}
}
