package ldap_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
)

// testServer is a pkid directory on 127.0.0.1: LDAP (with StartTLS) and
// LDAPS listeners in front of a directory.Tree over a fresh SQLite store.
type testServer struct {
	srv        *ldap.Server
	tree       *directory.Tree
	ca         *pkitest.CA
	ldapURL    string
	ldapsURL   string
	env        []string // LDAPTLS_CACERT for the clients
	admin      pkitest.Files
	adminDN    string
	stranger   pkitest.Files // a client certificate with no entry
	serverCert *ca.Issued
}

type serverOpts struct {
	cfg      func(*ldap.ServerConfig)
	entries  int  // users under ou=people,o=pkid
	skipData bool // an empty tree
}

const (
	suffix   = "o=pkid"
	adminDN  = "cn=admin,o=pkid"
	adminPW  = "secret"
	peopleDN = "ou=people,o=pkid"
)

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	c := pkitest.NewCA(t, pkitest.Options{})
	tree, err := directory.New(directory.Config{Store: c.Store, Suffixes: []string{suffix}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(dn string, attrs ...string) {
		t.Helper()
		e := &directory.Entry{DN: dn}
		for _, a := range attrs {
			k, v, _ := strings.Cut(a, ": ")
			found := false
			for i := range e.Attributes {
				if e.Attributes[i].Type == k {
					e.Attributes[i].Values = append(e.Attributes[i].Values, []byte(v))
					found = true
				}
			}
			if !found {
				e.Attributes = append(e.Attributes, directory.Attribute{Type: k, Values: [][]byte{[]byte(v)}})
			}
		}
		if err := tree.Add(ctx, directory.Identity{}, e); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	if !o.skipData {
		add(suffix, "objectClass: organization", "o: pkid")
		add(adminDN, "objectClass: person", "cn: admin", "sn: Administrator", "userPassword: "+adminPW)
		add(peopleDN, "objectClass: organizationalUnit", "ou: people")
		for i := 0; i < o.entries; i++ {
			add(fmt.Sprintf("uid=user%d,%s", i, peopleDN), "objectClass: inetOrgPerson", "objectClass: posixAccount", fmt.Sprintf("uid: user%d", i),
				fmt.Sprintf("uidNumber: %d", 1000+i), "gidNumber: 100", fmt.Sprintf("homeDirectory: /home/user%d", i),
				fmt.Sprintf("cn: User %d", i), fmt.Sprintf("sn: %d", i), fmt.Sprintf("mail: user%d@example.org", i),
				fmt.Sprintf("employeeNumber: %d", i))
			if i < 4 {
				// Hashing (argon2id) is slow on purpose: only a few users
				// get a password.
				if err := tree.Modify(ctx, directory.Identity{}, user(i), []ldap.Change{{Operation: ldap.ModifyReplace,
					Modification: ldap.Attribute{Type: "userPassword", Values: [][]byte{[]byte(fmt.Sprintf("pw%d", i))}}}}); err != nil {
					t.Fatal(err)
				}
			}
		}

	}
	dir := t.TempDir()
	srvCert := c.Issue(t, ca.Request{Profile: "server", Subject: "CN=localhost,O=pkid", SANs: "DNS:localhost,IP:127.0.0.1"})
	adminCert := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=admin,O=pkid"})
	stranger := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=nobody,O=elsewhere"})
	ts := &testServer{tree: tree, ca: c, admin: pkitest.Write(t, dir, "admin", adminCert),
		stranger: pkitest.Write(t, dir, "stranger", stranger), adminDN: adminDN, serverCert: srvCert}
	roots := x509.NewCertPool()
	pemRoots, err := os.ReadFile(c.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pemRoots)
	chain := [][]byte{srvCert.DER}
	for _, ic := range srvCert.Chain {
		chain = append(chain, ic.Raw)
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: srvCert.Key, Leaf: srvCert.Certificate}},
		ClientAuth:   tls.VerifyClientCertIfGiven, ClientCAs: roots, MinVersion: tls.VersionTLS12,
	}
	backend := &directory.LDAPBackend{Tree: tree, CheckCertificate: func(ctx context.Context, chain []*x509.Certificate) error {
		rec, err := c.Store.Certificate(ctx, ca.FormatSerial(chain[0].SerialNumber))
		if err != nil {
			return ldap.Errorf(ldap.ResultInvalidCredentials, "client certificate serial %X is not in the store", chain[0].SerialNumber)
		}
		if rec.Status == "revoked" {
			return ldap.Errorf(ldap.ResultInvalidCredentials, "client certificate serial %s is revoked", rec.Serial)
		}
		return nil
	}}
	cfg := ldap.ServerConfig{Backend: backend, TLS: tlsCfg,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := ldap.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lns, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.ldapURL = "ldap://" + ln.Addr().String()
	ts.ldapsURL = "ldaps://" + lns.Addr().String()
	done := make(chan error, 2)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	go func() { done <- srv.ServeTLS(context.Background(), lns) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-done; !errors.Is(err, ldap.ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
	})
	ts.env = []string{"LDAPTLS_CACERT=" + c.RootFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME=" + dir}
	return ts
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// run runs an OpenLDAP client with the server's environment; it returns
// stdout, stderr and the exit code (the LDAP result code for most tools).
func (ts *testServer) run(t testing.TB, stdin string, env []string, prog string, args ...string) (string, string, int) {
	t.Helper()
	path := peer.Need(t, prog, "ldap-utils")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(append(os.Environ(), ts.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v", prog, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// dns returns the DNs of ldapsearch -LLL output, in order.
func dns(out string) []string {
	var r []string
	for _, l := range strings.Split(unfold(out), "\n") {
		if d, ok := strings.CutPrefix(l, "dn: "); ok {
			r = append(r, d)
		}
	}
	return r
}

func unfold(s string) string { return strings.ReplaceAll(s, "\n ", "") }

func user(i int) string { return fmt.Sprintf("uid=user%d,%s", i, peopleDN) }

var _ = filepath.Join

var zeroTime time.Time

func caRequest(subject string) ca.Request { return ca.Request{Profile: "client", Subject: subject} }

func writeIssued(t *testing.T, iss *ca.Issued) pkitest.Files {
	return pkitest.Write(t, t.TempDir(), "cert", iss)
}
