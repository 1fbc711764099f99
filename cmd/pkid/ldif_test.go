package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// usersLDIF writes n inetOrgPerson users under ou=people,o=bench.
func usersLDIF(t *testing.T, path string, n int, fault func(i int) string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("dn: o=bench\nobjectClass: organization\no: bench\n\ndn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n\n")
	for i := range n {
		if fault != nil {
			b.WriteString(fault(i))
		}
		fmt.Fprintf(&b, "dn: uid=user%d,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@bench.example\nuserPassword: {SSHA}Hd9+6EJZhNs1j9aGHMq9zFrIYs4JPKys\n\n", i, i, i, i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// exported counts the entries `pkid ldif export` prints.
func exported(t *testing.T, data string) int {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"ldif", "export", "--dir", data}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("export: %d %s", code, errb.String())
	}
	n := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "dn: ") {
			n++
		}
	}
	return n
}

// TestLDIFImportBadRecordImportsNothing: a malformed record in the middle
// of a large file fails the import with its line, and nothing is stored.
func TestLDIFImportBadRecordImportsNothing(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	dir := t.TempDir()
	data, in := filepath.Join(dir, "data"), filepath.Join(dir, "users.ldif")
	usersLDIF(t, in, n, func(i int) string {
		if i == n/2 {
			return "dn: uid=broken,ou=people,o=bench\nobjectClass inetOrgPerson\n\n"
		}
		return ""
	})
	line := 9 + 8*(n/2) // 8 lines of parents, 8 per user before it
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"ldif", "import", "--dir", data, in}, strings.NewReader(""), &out, &errb)
	if want := fmt.Sprintf("LDIF line %d", line+1); code != 1 || !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), "nothing was imported") {
		t.Fatalf("import: exit %d, stderr %q; want exit 1 naming %s", code, errb.String(), want)
	}
	if got := exported(t, data); got != 0 {
		t.Errorf("%d entries stored after the failed import, want 0", got)
	}
}

// TestLDIFImportKilled: SIGKILL in the middle of an import leaves the store
// as it was; the same import then runs to completion.
func TestLDIFImportKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/fdinfo"); err != nil {
		t.Skip("needs /proc to see how far the import has read")
	}
	const n = 20000
	dir := t.TempDir()
	data, in := filepath.Join(dir, "data"), filepath.Join(dir, "users.ldif")
	usersLDIF(t, in, n, nil)
	// The store exists, with one entry, before the import starts.
	seed := filepath.Join(dir, "seed.ldif")
	os.WriteFile(seed, []byte("dn: o=seed\nobjectClass: organization\no: seed\n\n"), 0o600)
	if code := run(t.Context(), []string{"ldif", "import", "--dir", data, seed}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		t.Fatal("seed import failed")
	}
	fi, _ := os.Stat(in)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPkid$", "-test.count=1", "--", "ldif", "import", "--dir", data, in)
	cmd.Env = append(os.Environ(), "PKID_TEST_HELPER=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has read 60% of the file: the writer, a few chunks
	// behind the reader, is then well into the import's one transaction.
	// cmd.ProcessState stays nil until Wait returns, so an import that
	// ends early is seen through a Wait of its own.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	var err error
	deadline := time.After(2 * time.Minute)
wait:
	for !killed {
		select {
		case err = <-exited:
			break wait
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("the import read less than 60%% of the file in 2 minutes (%v)", <-exited)
		case <-time.After(2 * time.Millisecond):
		}
		if pos := readOffset(cmd.Process.Pid, in); pos > fi.Size()*6/10 {
			cmd.Process.Kill()
			killed = true
			err = <-exited
		}
	}
	if !killed {
		t.Fatalf("the import ended (%v) before it could be killed", err)
	}
	if got := exported(t, data); got != 1 {
		t.Errorf("%d entries stored after SIGKILL mid-import, want 1 (the store as before)", got)
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"ldif", "import", "--dir", data, in}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("import after the crash: %d %s", code, errb.String())
	}
	if got := exported(t, data); got != n+3 {
		t.Errorf("%d entries after the second import, want %d", got, n+3)
	}
}

// readOffset is the file offset of process pid's open descriptor of path
// (0 if it has none open).
func readOffset(pid int, path string) int64 {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); target != path {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			return 0
		}
		var pos int64
		fmt.Sscanf(string(info), "pos:\t%d", &pos)
		return pos
	}
	return 0
}

// TestHelperPkid is not a test: it runs the pkid command line in a
// process of its own when PKID_TEST_HELPER is set (TestLDIFImportKilled).
func TestHelperPkid(t *testing.T) {
	if os.Getenv("PKID_TEST_HELPER") == "" {
		t.Skip("helper process body; runs only when started by another test")
	}
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
			break
		}
	}
	os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
}
