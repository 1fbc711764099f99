// Package slapdtest starts throw-away OpenLDAP slapd instances for tests:
// a generated slapd.conf (back-mdb) in a temporary directory, listening on
// free loopback ports for ldap:// and, with a certificate, ldaps:// and
// StartTLS. It is test-only infrastructure; no pre-existing service is
// used.
package slapdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// Options describe a slapd instance. The zero value with Suffix and RootDN
// set is a plain directory with core and cosine schema and no TLS.
type Options struct {
	Suffix string // e.g. "o=pkid"
	RootDN string // e.g. "cn=admin,o=pkid"
	RootPW string // plain text; "secret" when empty
	// Schemas are schema files to include; empty means core and cosine.
	Schemas []string
	// CAFile, CertFile and KeyFile enable TLS (ldaps:// and StartTLS).
	CAFile, CertFile, KeyFile string
	// VerifyClient is TLSVerifyClient: "never", "allow", "try", "demand".
	VerifyClient string
	// AuthzRegexp are olcAuthzRegexp rules (match, replacement) mapping a
	// SASL EXTERNAL identity (the client certificate's subject DN, in
	// slapd's lower-case form) to a DN.
	AuthzRegexp [][2]string
	// Access lines replace the default "access to * by * read" after the
	// rootdn, which always has full access.
	Access []string
}

// Slapd is a running (or stopped) instance.
type Slapd struct {
	t        testing.TB
	dir      string
	conf     string
	bin      string
	URL      string // ldap://127.0.0.1:PORT
	LDAPSURL string // ldaps://127.0.0.1:PORT; "" without TLS
	Opts     Options
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start writes the configuration and starts slapd; it is stopped when t
// ends. It skips (fails under CI) when slapd is not installed.
func Start(t testing.TB, o Options) *Slapd {
	t.Helper()
	bin := peer.Need(t, "slapd", "slapd")
	if o.RootPW == "" {
		o.RootPW = "secret"
	}
	if len(o.Schemas) == 0 {
		o.Schemas = []string{"/etc/ldap/schema/core.schema", "/etc/ldap/schema/cosine.schema"}
	}
	dir := t.TempDir()
	s := &Slapd{t: t, dir: dir, bin: bin, Opts: o, conf: filepath.Join(dir, "slapd.conf")}
	s.URL = "ldap://" + freeAddr(t)
	if o.CertFile != "" {
		s.LDAPSURL = "ldaps://" + freeAddr(t)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range o.Schemas {
		fmt.Fprintf(&b, "include %s\n", f)
	}
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\nloglevel stats\n", dir, dir)
	if o.CertFile != "" {
		fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", o.CAFile, o.CertFile, o.KeyFile)
		if o.VerifyClient != "" {
			fmt.Fprintf(&b, "TLSVerifyClient %s\n", o.VerifyClient)
		}
	}
	for _, r := range o.AuthzRegexp {
		fmt.Fprintf(&b, "authz-regexp %q %q\n", r[0], r[1])
	}
	fmt.Fprintf(&b, "\ndatabase mdb\nmaxsize 104857600\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n", o.Suffix, o.RootDN, o.RootPW, dir)
	access := o.Access
	if len(access) == 0 {
		access = []string{"access to * by * read"}
	}
	b.WriteString(strings.Join(access, "\n") + "\n")
	if err := os.WriteFile(s.conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Dir is the instance's directory (slapd.conf, db/, slapd.log).
func (s *Slapd) Dir() string { return s.dir }

// Start (re)starts a stopped instance on the same ports and database and
// waits until it accepts connections.
func (s *Slapd) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	urls := s.URL + "/"
	if s.LDAPSURL != "" {
		urls += " " + s.LDAPSURL + "/"
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "slapd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		// -d keeps slapd in the foreground, so the test owns its process.
		cmd := exec.Command(s.bin, "-f", s.conf, "-h", urls, "-d", "256")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			s.t.Fatalf("start slapd: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if lastErr = waitPort(strings.TrimPrefix(s.URL, "ldap://"), done); lastErr == nil {
			s.cmd, s.done = cmd, done
			return
		}
		cmd.Process.Kill()
		<-done
		time.Sleep(100 * time.Millisecond) // the port may still be held by the previous run
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "slapd.log"))
	s.t.Fatalf("slapd did not start: %v\nconfig:\n%s\nlog tail:\n%s", lastErr, mustRead(s.conf), tail(log, 2000))
}

// Stop terminates slapd (SIGTERM, then SIGKILL after 5 s).
func (s *Slapd) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Log returns what slapd logged so far.
func (s *Slapd) Log() string { return mustRead(filepath.Join(s.dir, "slapd.log")) }

func waitPort(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("slapd exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after 10 s", addr)
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustRead(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
