package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLDIFCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	in := filepath.Join(dir, "in.ldif")
	os.WriteFile(in, []byte("version: 1\n\ndn: o=example\nobjectClass: organization\no: example\n\n"+
		"dn: ou=people,o=example\nobjectClass: organizationalUnit\nou: people\n\n"+
		"dn: uid=ann,ou=people,o=example\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann\nsn:: w4Zyw7g=\nuserPassword: {SSHA}Hd9+6EJZhNs1j9aGHMq9zFrIYs4JPKys\n\n"), 0o600)
	pkid := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(t.Context(), append(args, "--dir", data), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := pkid("ldif", "import", in); code != 0 || !strings.Contains(out, "3 entries added") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	code, out, errs := pkid("ldif", "export", "--base", "ou=people,o=example")
	if code != 0 || !strings.Contains(out, "dn: uid=ann,ou=people,o=example\n") || !strings.Contains(out, "sn:: w4Zyw7g=\n") || strings.Contains(out, "dn: o=example\n") || !strings.Contains(out, "entryUUID: ") {
		t.Fatalf("export: %d %q %q", code, out, errs)
	}
	// Importing again fails on the first entry with a sentence naming it.
	if code, _, errs := pkid("ldif", "import", in); code != 1 || !strings.Contains(errs, "o=example") || !strings.Contains(errs, "already exists") {
		t.Errorf("second import: %d %q", code, errs)
	}
	// A malformed aclEntry is refused with a sentence naming it.
	bad := filepath.Join(dir, "bad.ldif")
	os.WriteFile(bad, []byte("dn: ou=acl,o=example\nobjectClass: organizationalUnit\nou: acl\naclEntry: access-id:cn=x,o=example:normal:grant:rzq\n\n"), 0o600)
	if code, _, errs := pkid("ldif", "import", bad); code != 1 || !strings.Contains(errs, "aclEntry") {
		t.Errorf("malformed aclEntry: %d %q", code, errs)
	}
	if code, out, _ := pkid("ldif", "export", "--base", "o=example"); code != 0 || strings.Contains(out, "ou=acl") {
		t.Errorf("malformed aclEntry stored: %d %q", code, out)
	}
	if code, _, errs := pkid("ldif", "frob"); code != 2 || !strings.Contains(errs, "import or export") {
		t.Errorf("bad subcommand: %d %q", code, errs)
	}
	if code, _, errs := pkid("ldif", "export", "--base", "o=missing"); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Errorf("missing base: %d %q", code, errs)
	}
}
