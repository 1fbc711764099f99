package certmap

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
)

// TestLDAPWhoAmI runs OpenLDAP's ldapwhoami -Y EXTERNAL over ldaps://
// against the LDAP frontend with Backend: each kind of rule prints its
// mapped DN, and after a revocation the next bind fails naming the serial.
func TestLDAPWhoAmI(t *testing.T) {
	whoami := peer.Need(t, "ldapwhoami", "ldap-utils")
	f := newFixture(t)
	ctx := context.Background()
	dir := t.TempDir()

	srvCert := f.ca.Issue(t, ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	tlsCert := tls.Certificate{Certificate: [][]byte{srvCert.DER}, PrivateKey: srvCert.Key}
	for _, c := range srvCert.Chain {
		tlsCert.Certificate = append(tlsCert.Certificate, c.Raw)
	}
	bobIss := f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=nobody,O=Other"})
	f.add(t, "cn=certholder,o=Example", "objectClass: person", "objectClass: pkiUser", "cn: certholder", "sn: H")
	setCert(t, f, "cn=certholder,o=Example", bobIss.DER)

	m := f.mapper(t, Config{Rules: []Rule{
		{Kind: KindSubject},
		{Kind: KindRegexp, Match: `^cn=([^,]+),ou=people,o=example$`, Replace: "ldap:///ou=people,o=example??sub?(uid=$1)"},
		{Name: "sales", Kind: KindDNFilter, SDNFilter: "OU=Sales.O=Example", DN: "cn=sales,o=Example"},
		{Kind: KindCertificate, Base: "o=Example"},
	}})
	srv, err := ldap.NewServer(ldap.ServerConfig{
		Backend: &Backend{LDAPBackend: &directory.LDAPBackend{Tree: f.tree}, Mapper: m},
		Logger:  slog.New(slog.DiscardHandler),
		TLS:     &tls.Config{Certificates: []tls.Certificate{tlsCert}, ClientAuth: tls.RequestClientCert},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ctx, ln)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx, plain)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	url := "ldaps://127.0.0.1:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")

	startTLS := "ldap://" + plain.Addr().String()
	run := func(name string, iss *ca.Issued, args ...string) (string, error) {
		files := pkitest.Write(t, dir, name, iss)
		if len(args) == 0 {
			args = []string{"-H", url}
		}
		cmd := exec.Command(whoami, append(args, "-Y", "EXTERNAL", "-Q")...)
		cmd.Env = append(os.Environ(), "LDAPTLS_CERT="+files.Chain, "LDAPTLS_KEY="+files.Key, "LDAPTLS_CACERT="+f.ca.RootFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	alice := f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=Alice Smith,O=Example"})
	tests := []struct{ name, subject, want string }{
		{"subject", "CN=Alice Smith,O=Example", "dn:cn=Alice Smith,o=Example"},
		{"regexp", "CN=bob,OU=people,O=Example", "dn:uid=bob,ou=people,o=Example"},
		{"dnfilter", "CN=dave,OU=Sales,O=Example", "dn:cn=sales,o=Example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss := alice
			if tc.name != "subject" {
				iss = f.ca.Issue(t, ca.Request{Profile: "client", Subject: tc.subject})
			}
			out, err := run(tc.name, iss)
			if err != nil || !strings.EqualFold(out, tc.want) {
				t.Fatalf("ldapwhoami: %q, %v; want %q", out, err, tc.want)
			}
		})
	}
	t.Run("certificate", func(t *testing.T) {
		out, err := run("certificate", bobIss)
		if err != nil || !strings.EqualFold(out, "dn:cn=certholder,o=Example") {
			t.Fatalf("ldapwhoami: %q, %v", out, err)
		}
	})
	t.Run("StartTLS", func(t *testing.T) {
		out, err := run("starttls", alice, "-H", startTLS, "-ZZ")
		if err != nil || !strings.EqualFold(out, "dn:cn=Alice Smith,o=Example") {
			t.Fatalf("ldapwhoami -ZZ: %q, %v", out, err)
		}
	})
	t.Run("authzid refused", func(t *testing.T) {
		out, err := run("authz", alice, "-H", url, "-X", "dn:uid=bob,ou=people,o=Example")
		if err == nil || !strings.Contains(out, "may not assume authorization identity") {
			t.Fatalf("ldapwhoami -X: %q, %v", out, err)
		}
	})
	t.Run("authzid self", func(t *testing.T) {
		out, err := run("authzself", alice, "-H", url, "-X", "dn:cn=alice smith,o=example")
		if err != nil || !strings.EqualFold(out, "dn:cn=Alice Smith,o=Example") {
			t.Fatalf("ldapwhoami -X self: %q, %v", out, err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		if _, err := f.ca.Service.Revoke(ctx, alice.Serial, 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
		out, err := run("revoked", alice)
		if err == nil || !strings.Contains(out, "Invalid credentials") || !strings.Contains(out, alice.Serial+" (CN=Alice Smith,O=Example) is revoked (keyCompromise") {
			t.Fatalf("ldapwhoami after revocation: %q, %v", out, err)
		}
	})
	t.Run("unmapped", func(t *testing.T) {
		iss := f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=ghost,O=Nowhere"})
		out, err := run("unmapped", iss)
		if err == nil || !strings.Contains(out, iss.Serial) || !strings.Contains(out, "matched no mapping rule") {
			t.Fatalf("ldapwhoami unmapped: %q, %v", out, err)
		}
	})
}
