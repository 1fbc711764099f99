package server_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// TestServeCommand runs `pkid serve` as a process with nothing but a data
// directory and a free port: it creates the data directory and prints
// commands that work as printed (openssl ocsp, curl, openssl crl, pkid
// revoke); after the printed revoke the printed openssl ocsp line reports
// the certificate revoked; SIGTERM stops it within 10 s with status 0.
func TestServeCommand(t *testing.T) {
	peer.Need(t, "openssl", "openssl")
	peer.Need(t, "curl", "curl")
	pkid := pkidBinary(t)
	work := t.TempDir()
	cmd := exec.Command(pkid, "serve", "--http", "127.0.0.1:0", "--ldap", "127.0.0.1:0", "--ldaps", "127.0.0.1:0")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PKID_DIR=", "PKID_STORE=", "PKID_PASSPHRASE=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("pkid serve stderr:\n%s", stderr.String())
		}
	}()

	// Read what it printed up to the last line.
	var printed []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if strings.HasPrefix(sc.Text(), "Stop with Ctrl-C") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
		exited <- cmd.Wait()
	}()
	out := strings.Join(printed, "\n")
	t.Logf("pkid serve printed:\n%s", out)
	for _, want := range []string{"Created a CA in pkid-data", "pkid-data/admin.key.pem", "Serving http://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	fi, err := os.Stat(filepath.Join(work, "pkid-data", "admin.key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.key.pem: %v %v", fi, err)
	}
	commands := map[string]string{}
	var ldapLines []string
	for _, l := range printed {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "LDAPTLS_CACERT=") {
			ldapLines = append(ldapLines, l)
		}
		for _, prefix := range []string{"openssl ocsp", "curl", "openssl crl", "pkid revoke"} {
			if strings.HasPrefix(l, prefix) {
				commands[prefix] = l
			}
		}
	}
	if len(commands) != 4 {
		t.Fatalf("printed commands: %v", commands)
	}
	sh := func(line string) string {
		c := exec.Command("sh", "-c", line)
		c.Dir = work
		c.Env = append(os.Environ(), "PATH="+filepath.Dir(pkid)+":"+os.Getenv("PATH"), "PKID_DIR=")
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, b)
		}
		return string(b)
	}
	if o := sh(commands["openssl ocsp"]); !strings.Contains(o, "Response verify OK") || !strings.Contains(o, "admin.pem: good") {
		t.Errorf("printed openssl ocsp:\n%s", o)
	}
	sh(commands["curl"])
	if o := sh(commands["openssl crl"]); !strings.Contains(o, "verify OK") || !strings.Contains(o, "No Revoked Certificates") {
		t.Errorf("printed openssl crl:\n%s", o)
	}
	// The printed LDAP lines: the root DSE over LDAPS, the administrator's
	// certificate login, and a StartTLS search of the suffix.
	if len(ldapLines) != 3 {
		t.Fatalf("printed LDAP commands: %q", ldapLines)
	}
	for i, want := range []string{"namingContexts: o=pkid", "dn:cn=admin,o=pkid", "dn: cn=admin,o=pkid"} {
		if o := sh(ldapLines[i]); !strings.Contains(o, want) {
			t.Errorf("%s:\n%s\nlacks %q", ldapLines[i], o, want)
		}
	}
	sh(commands["pkid revoke"])
	// The revoked administrator's certificate no longer logs in.
	c := exec.Command("sh", "-c", ldapLines[1])
	c.Dir = work
	if o, err := c.CombinedOutput(); err == nil || !strings.Contains(string(o), "revoked") {
		t.Errorf("EXTERNAL bind with the revoked certificate: %v\n%s", err, o)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		o := sh(commands["openssl ocsp"])
		if strings.Contains(o, "admin.pem: revoked") && strings.Contains(o, "Response verify OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the printed openssl ocsp line does not show the revocation:\n%s", o)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		sh(commands["curl"])
		o := sh(commands["openssl crl"])
		if strings.Contains(o, "Revoked Certificates:") && strings.Contains(o, "verify OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the printed curl and openssl crl lines do not show the revocation:\n%s", o)
		}
		time.Sleep(50 * time.Millisecond)
	}

	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("pkid serve after SIGTERM: %v", err)
		}
		t.Logf("stopped %v after SIGTERM", time.Since(began))
	case <-time.After(10 * time.Second):
		t.Fatalf("pkid serve still running 10 s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no stop event in the log:\n%s", stderr.String())
	}
}
