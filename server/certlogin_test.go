package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/server"
)

// TestExternalResumedSession: LDAPS and StartTLS issue session tickets; a
// full handshake negotiates X25519MLKEM768 and a resumed one X25519 (its
// keys also come from the PSK of the hybrid handshake); a
// resumed session still carries the client certificate, so SASL EXTERNAL
// works on it, and the certificate's revocation is checked at every bind,
// resumed or not: after a revocation the next bind fails, although the
// chain was verified (and cached) before.
func TestExternalResumedSession(t *testing.T) {
	f := start(t, "", func(c *server.Config) { c.LDAPAddr, c.LDAPSAddr = "127.0.0.1:0", "127.0.0.1:0" })
	targets, iss, cert, roots := externalClient(f)
	for _, proto := range targets {
		t.Run(proto.name, func(t *testing.T) {
			resumed, group := false, tls.CurveID(0)
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
				VerifyConnection:   func(cs tls.ConnectionState) error { resumed, group = cs.DidResume, cs.CurveID; return nil }}
			login := func() error {
				c, err := ldap.Dial(t.Context(), proto.url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: proto.startTLS, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				return c.BindExternal(t.Context(), "")
			}
			// The full handshake is hybrid post-quantum; the resumed one
			// runs on X25519 (internal/tlshello.Resumer).
			if err := login(); err != nil || resumed || group != tls.X25519MLKEM768 {
				t.Fatalf("first login: %v (resumed %v, group %v), want a full handshake on X25519MLKEM768 and success", err, resumed, group)
			}
			if err := login(); err != nil || !resumed || group != tls.X25519 {
				t.Fatalf("second login: %v (resumed %v, group %v), want a session resumed on X25519 and success", err, resumed, group)
			}
		})
	}
	// Two resumptions (LDAPS, StartTLS) took the classical configuration;
	// the full handshakes the listener's.
	_, body := f.get("/metrics")
	for _, want := range []string{
		`pkid_ldap_tls_config_total{config="classical_resumption"} 2`,
		`pkid_ldap_tls_config_total{config="listener"} 2`,
		`pkid_ldap_tls_downgrades_refused_total 0`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if _, err := f.srv.Service().Revoke(t.Context(), iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []struct {
		name, url string
		startTLS  bool
	}{
		{"ldaps revoked", "ldaps://" + f.srv.LDAPSAddr().String(), false},
		{"starttls revoked", "ldap://" + f.srv.LDAPAddr().String(), true},
	} {
		t.Run(proto.name, func(t *testing.T) {
			resumed := false
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
				VerifyConnection:   func(cs tls.ConnectionState) error { resumed = cs.DidResume; return nil }}
			var err error
			for i := range 2 { // the first login stores a ticket, the second resumes
				c, derr := ldap.Dial(t.Context(), proto.url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: proto.startTLS, Timeout: 5 * time.Second})
				if derr != nil {
					t.Fatal(derr)
				}
				err = c.BindExternal(t.Context(), "")
				c.Close()
				var le *ldap.Error
				if !errors.As(err, &le) || le.Code != ldap.ResultInvalidCredentials || !strings.Contains(le.Message, "revoked") {
					t.Fatalf("login %d (resumed %v) with a revoked certificate: %v, want invalidCredentials saying revoked", i+1, resumed, err)
				}
			}
			if !resumed {
				t.Error("the second login did not resume its session")
			}
		})
	}
}

// ldapTLSTarget is one way to reach a fixture's directory over TLS.
type ldapTLSTarget struct {
	name, url string
	startTLS  bool
}

// externalClient returns f's LDAP listeners as TLS targets (LDAPS and
// StartTLS), a client certificate issued for CN=admin,O=pkid (with its
// chain) and the roots that trust f's server certificate.
func externalClient(f *fixture) ([]ldapTLSTarget, *ca.Issued, tls.Certificate, *x509.CertPool) {
	iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=admin,O=pkid"})
	roots := x509.NewCertPool()
	roots.AddCert(f.root)
	cert := tls.Certificate{Certificate: [][]byte{iss.DER}, PrivateKey: iss.Key, Leaf: iss.Certificate}
	for _, c := range iss.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	targets := []ldapTLSTarget{
		{"ldaps", "ldaps://" + f.srv.LDAPSAddr().String(), false},
		{"starttls", "ldap://" + f.srv.LDAPAddr().String(), true},
	}
	return targets, iss, cert, roots
}

// TestHybridResumptionSwitch: with TLSHybridResumption the resumed
// handshakes of LDAPS and StartTLS keep X25519MLKEM768.
func TestHybridResumptionSwitch(t *testing.T) {
	f := start(t, "", func(c *server.Config) {
		c.LDAPAddr, c.LDAPSAddr = "127.0.0.1:0", "127.0.0.1:0"
		c.TLSHybridResumption = true
	})
	targets, _, cert, roots := externalClient(f)
	for _, proto := range targets {
		t.Run(proto.name, func(t *testing.T) {
			var resumed []bool
			var groups []tls.CurveID
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
				VerifyConnection: func(cs tls.ConnectionState) error {
					resumed, groups = append(resumed, cs.DidResume), append(groups, cs.CurveID)
					return nil
				}}
			for range 2 {
				c, err := ldap.Dial(t.Context(), proto.url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: proto.startTLS, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				err = c.BindExternal(t.Context(), "")
				c.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(resumed) != 2 || resumed[0] || !resumed[1] || groups[0] != tls.X25519MLKEM768 || groups[1] != tls.X25519MLKEM768 {
				t.Fatalf("resumed %v, groups %v; want a full and a resumed handshake, both on X25519MLKEM768", resumed, groups)
			}
		})
	}
}

// TestExternalRefusalsWhoAmI drives pkid serve's listeners with OpenLDAP's
// ldapwhoami -Y EXTERNAL: the TLS handshake accepts any client
// certificate whose key the client holds, and the bind refuses the ones it
// must with invalidCredentials (49) and a message naming the serial and
// the reason, over LDAPS and StartTLS. A certificate verified and cached
// at one bind is refused once it expired. A simple or anonymous bind on a
// connection with a certificate pkid does not trust still works.
func TestExternalRefusalsWhoAmI(t *testing.T) {
	whoami := peer.Need(t, "ldapwhoami", "ldap-utils")
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	var skew atomic.Int64 // the server's clock runs this far ahead
	logs := &bindLog{}
	f := start(t, "", func(c *server.Config) {
		c.LDAPAddr, c.LDAPSAddr = "127.0.0.1:0", "127.0.0.1:0"
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	ldapURL, ldapsURL := "ldap://"+f.srv.LDAPAddr().String(), "ldaps://"+f.srv.LDAPSAddr().String()
	env := []string{"PATH=" + os.Getenv("PATH"), "LDAPTLS_CACERT=" + f.boot.CAFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME=" + f.dir}
	run := func(files pkitest.Files, prog string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env = append(env, "LDAPTLS_CERT="+files.Chain, "LDAPTLS_KEY="+files.Key)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	// The default certmap rule maps the subject DN to the entry of that
	// name: CN=admin,O=pkid is the bootstrap admin's entry.
	const subject = "CN=admin,O=pkid"
	short, shortFiles := f.issue(ca.Request{Profile: "client", Subject: subject, Days: 1})
	server, serverFiles := f.issue(ca.Request{Profile: "server", Subject: subject, SANs: "DNS:admin.example"})
	revoked, revokedFiles := f.issue(ca.Request{Profile: "client", Subject: subject})
	if _, err := f.srv.Service().Revoke(t.Context(), revoked.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	other := pkitest.NewCA(t, pkitest.Options{Name: "CN=Other CA,O=Elsewhere"})
	stranger := other.Issue(t, ca.Request{Profile: "client", Subject: subject})
	strangerFiles := pkitest.Write(t, t.TempDir(), "stranger", stranger)

	// Verified and cached first: the expiry test below must beat the cache.
	for _, url := range []string{ldapsURL, ldapURL} {
		args := []string{"-H", url, "-Y", "EXTERNAL", "-Q"}
		if url == ldapURL {
			args = append(args, "-ZZ")
		}
		logs.reset()
		if out, code := run(shortFiles, whoami, args...); code != 0 || !strings.Contains(out, "dn:cn=admin,o=pkid") {
			t.Fatalf("ldapwhoami %s with a valid certificate: exit %d, %s", url, code, out)
		}
		if b := logs.binds(t); len(b) != 1 || b[0]["result"] != "success" || b[0]["authz"] != "cn=admin,o=pkid" ||
			b[0]["serial"] != short.Serial || !strings.HasPrefix(fmt.Sprint(b[0]["rule"]), "subject") {
			t.Errorf("bind log lines %v, want one naming the mapped DN, serial and rule", b)
		}
	}

	tests := []struct {
		name   string
		files  pkitest.Files
		serial string
		skew   time.Duration
		want   string
	}{
		{"expired", shortFiles, short.Serial, 3 * 24 * time.Hour, "has expired (notAfter " + short.Certificate.NotAfter.UTC().Format(time.RFC3339) + ")"},
		{"serverAuth only", serverFiles, server.Serial, 0, "lacks clientAuth in extendedKeyUsage"},
		{"untrusted CA", strangerFiles, stranger.Serial, 0, "was not issued by a trusted CA (issuer CN=Other CA,O=Elsewhere)"},
		{"revoked", revokedFiles, revoked.Serial, 0, "is revoked (keyCompromise since "},
	}
	for _, tc := range tests {
		for _, url := range []string{ldapsURL, ldapURL} {
			name := tc.name + " over LDAPS"
			args := []string{"-H", url, "-Y", "EXTERNAL", "-Q"}
			if url == ldapURL {
				name = tc.name + " over StartTLS"
				args = append(args, "-ZZ")
			}
			t.Run(name, func(t *testing.T) {
				skew.Store(int64(tc.skew))
				defer skew.Store(0)
				logs.reset()
				out, code := run(tc.files, whoami, args...)
				want := "certificate serial " + tc.serial + " (CN=admin,O=pkid) " + tc.want
				if code != 49 || !strings.Contains(out, "Invalid credentials (49)") || !strings.Contains(out, want) {
					t.Fatalf("exit %d, output:\n%s\nwant exit 49, Invalid credentials and %q", code, out, want)
				}
				// One log line for the bind, naming the mechanism, the
				// certificate and the result.
				binds := logs.binds(t)
				if len(binds) != 1 {
					t.Fatalf("%d bind log lines, want 1: %v", len(binds), binds)
				}
				b := binds[0]
				if b["mech"] != "EXTERNAL" || b["serial"] != tc.serial || b["subject"] != "CN=admin,O=pkid" || b["result"] != "invalidCredentials" || !strings.Contains(fmt.Sprint(b["diagnostic"]), want) {
					t.Errorf("bind log line %v", b)
				}
			})
		}
	}

	t.Run("simple and anonymous binds with an untrusted certificate", func(t *testing.T) {
		out, code := run(strangerFiles, whoami, "-H", ldapsURL, "-x")
		if code != 0 || !strings.Contains(out, "anonymous") {
			t.Fatalf("ldapwhoami -x: exit %d, %s", code, out)
		}
		out, code = run(strangerFiles, ldapsearch, "-H", ldapURL, "-ZZ", "-x", "-LLL", "-b", "", "-s", "base", "namingContexts")
		if code != 0 || !strings.Contains(out, "namingContexts: o=pkid") {
			t.Fatalf("ldapsearch -x -ZZ: exit %d, %s", code, out)
		}
	})
}

// bindLog collects a server's JSON log lines.
type bindLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *bindLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(b))
	return len(b), nil
}

func (l *bindLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}

// binds returns the "bind" lines logged since the last reset.
func (l *bindLog) binds(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range l.lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "bind" {
			out = append(out, m)
		}
	}
	return out
}
