package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/server"
)

func TestSuffixFor(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"default CA", "CN=pkid Issuing CA,O=pkid", "o=pkid"},
		{"GSKit style", "CN=SSCA256,OU=CA,O=SSS,C=GB", "o=SSS,c=GB"},
		{"domain components", "CN=Root,DC=example,DC=org", "dc=example,dc=org"},
		{"no organization", "CN=Just a CA", server.DefaultSuffixFallback},
		{"unparsable", "not a DN", server.DefaultSuffixFallback},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := server.SuffixFor(c.in); got != c.want {
				t.Errorf("SuffixFor(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestLDAPListeners runs pkid serve's directory on free ports and drives
// it with OpenLDAP's tools: the bootstrap made the suffix, the admin's
// entry and a server certificate that verifies against ca.pem; the admin
// logs in with its certificate and may write, anonymous may not.
func TestLDAPListeners(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	ldapadd := peer.Need(t, "ldapadd", "ldap-utils")
	f := start(t, "", func(c *server.Config) {
		c.LDAPAddr, c.LDAPSAddr = "127.0.0.1:0", "127.0.0.1:0"
	})
	ldapURL, ldapsURL := "ldap://"+f.srv.LDAPAddr().String(), "ldaps://"+f.srv.LDAPSAddr().String()
	if f.srv.Suffix() != "o=pkid" {
		t.Fatalf("suffix %q", f.srv.Suffix())
	}
	if _, err := os.Stat(filepath.Join(f.dir, server.LDAPKeyFileName)); err != nil {
		t.Fatalf("no directory key: %v", err)
	}
	env := append(os.Environ(), "LDAPTLS_CACERT="+f.boot.CAFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME="+f.dir)
	admin := append(env[:len(env):len(env)], "LDAPTLS_CERT="+f.boot.AdminChain, "LDAPTLS_KEY="+f.boot.AdminKey)
	run := func(env []string, stdin, prog string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	}
	newEntry := "dn: uid=jane,o=pkid\nobjectClass: inetOrgPerson\nuid: jane\ncn: Jane\nsn: Doe\nuserPassword: s3cret\n"
	steps := []struct {
		name  string
		env   []string
		stdin string
		prog  string
		args  []string
		code  int
		want  string
	}{
		{"root DSE over LDAPS", env, "", ldapsearch, []string{"-H", ldapsURL, "-x", "-LLL", "-b", "", "-s", "base", "namingContexts"}, 0, "namingContexts: o=pkid"},
		{"suffix over StartTLS", env, "", ldapsearch, []string{"-H", ldapURL, "-ZZ", "-x", "-LLL", "-b", "o=pkid", "(cn=admin)", "1.1"}, 0, "dn: cn=admin,o=pkid"},
		{"anonymous may not add", env, newEntry, ldapadd, []string{"-H", ldapURL, "-x"}, 50, ""},
		{"admin adds with EXTERNAL", admin, newEntry, ldapadd, []string{"-H", ldapsURL, "-Y", "EXTERNAL", "-Q"}, 0, ""},
		{"password hidden from anonymous", env, "", ldapsearch, []string{"-H", ldapURL, "-x", "-LLL", "-b", "uid=jane,o=pkid", "-s", "base", "userPassword"}, 0, "dn: uid=jane,o=pkid\n\n"},
		{"user binds", env, "", ldapsearch, []string{"-H", ldapURL, "-x", "-D", "uid=jane,o=pkid", "-w", "s3cret", "-LLL", "-b", "uid=jane,o=pkid", "-s", "base", "sn"}, 0, "sn: Doe"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, code := run(s.env, s.stdin, s.prog, s.args...)
			if code != s.code || !strings.Contains(out, s.want) {
				t.Errorf("exit %d (want %d), output:\n%s\nwant %q", code, s.code, out, s.want)
			}
		})
	}
}

// TestLDAPRestart: a second run over the same data directory keeps the
// directory's certificate and entries.
func TestLDAPRestart(t *testing.T) {
	dir := t.TempDir()
	ldapOn := func(c *server.Config) { c.LDAPAddr = "127.0.0.1:0" }
	f := start(t, dir, ldapOn)
	cert1, err := os.ReadFile(filepath.Join(dir, server.LDAPCertFileName))
	if err != nil {
		t.Fatal(err)
	}
	f.stop()
	f = start(t, dir, ldapOn)
	cert2, err := os.ReadFile(filepath.Join(dir, server.LDAPCertFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert1, cert2) {
		t.Errorf("the second run reissued the directory's certificate")
	}
	if f.srv.Suffix() != "o=pkid" || f.srv.LDAPSAddr() != nil {
		t.Errorf("suffix %q, LDAPS %v", f.srv.Suffix(), f.srv.LDAPSAddr())
	}
}
