package directory

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
)

// pkiServer runs the LDAP frontend over a Tree with the PKI provider on
// 127.0.0.1, for a pkitest CA whose certificates carry an ldap://
// distribution point naming that server. One leaf is revoked and the CRL
// regenerated.
type pkiServer struct {
	ca      *pkitest.CA
	url     string // ldap://127.0.0.1:PORT
	revoked *ca.Issued
}

func newPKIServer(t *testing.T) *pkiServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ldap://" + ln.Addr().String()
	c := pkitest.NewCA(t, pkitest.Options{Name: seedCA, LDAPURL: url})
	ctx := t.Context()
	leaf := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=revoked,O=SSS,C=GB"})
	if _, err := c.Service.Revoke(ctx, leaf.Serial, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, x := range c.Init.CAs {
		if _, err := c.Service.CRL(ctx, x.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewPKI(PKIConfig{Store: c.Store})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{Store: c.Store, Suffixes: []string{"o=test"}, Providers: []Provider{p}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ldap.NewServer(ldap.ServerConfig{Backend: &LDAPBackend{Tree: tr}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		sd, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		srv.Shutdown(sd)
		cancel()
		<-done
	})
	return &pkiServer{ca: c, url: url, revoked: leaf}
}

// TestPKIInteropLdapsearch: anonymous ldapsearch of the CA's DN for
// certificateRevocationList returns the CRL as base64 LDIF, and openssl
// reads it and lists the revoked serial.
func TestPKIInteropLdapsearch(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	openssl := peer.Need(t, "openssl", "openssl")
	s := newPKIServer(t)
	out, err := exec.Command(ldapsearch, "-x", "-LLL", "-o", "ldif-wrap=no", "-H", s.url, "-b", "cn=SSCA256, ou=CA, o=SSS, c=GB", "-s", "base", "certificateRevocationList").CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	var der []byte
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "certificateRevocationList;binary:: "); ok {
			if der, err = base64.StdEncoding.DecodeString(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if der == nil {
		t.Fatalf("no certificateRevocationList;binary in\n%s", out)
	}
	crlFile := filepath.Join(t.TempDir(), "crl.der")
	if err := os.WriteFile(crlFile, der, 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crlFile, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, text)
	}
	if !strings.Contains(strings.ToUpper(string(text)), s.revoked.Serial) {
		t.Errorf("openssl crl does not list %s:\n%s", s.revoked.Serial, text)
	}
	// openssl verify -crl_check with that CRL rejects the revoked leaf.
	dir := t.TempDir()
	crlPEM := filepath.Join(dir, "crl.pem")
	if out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crlFile, "-outform", "PEM", "-out", crlPEM).CombinedOutput(); err != nil {
		t.Fatalf("openssl crl -outform PEM: %v\n%s", err, out)
	}
	files := pkitest.Write(t, dir, "revoked", s.revoked)
	out, err = exec.Command(openssl, "verify", "-crl_check", "-CAfile", s.ca.RootFile, "-untrusted", s.ca.IssuingFile, "-CRLfile", crlPEM, files.Cert).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate revoked") {
		t.Errorf("openssl verify -crl_check accepted the revoked certificate or failed otherwise: %v\n%s", err, out)
	}
}

// TestPKIInteropCurl: curl's LDAP URL support fetches the CRL from the
// distribution point pkid writes into certificates.
func TestPKIInteropCurl(t *testing.T) {
	curl := peer.Need(t, "curl", "curl")
	s := newPKIServer(t)
	cdp := s.revoked.Certificate.CRLDistributionPoints
	var url string
	for _, u := range cdp {
		if strings.HasPrefix(u, "ldap://") {
			url = u
		}
	}
	if url == "" {
		t.Fatalf("no ldap:// distribution point in %v", cdp)
	}
	out, err := exec.Command(curl, "-sS", "--max-time", "10", url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", url, err, out)
	}
	crl, err := s.ca.Store.LatestCRL(t.Context(), s.revoked.CAID, false)
	if err != nil {
		t.Fatal(err)
	}
	// curl prints "\tcertificateRevocationList;binary:: BASE64" lines.
	var got []byte
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if _, v, ok := strings.Cut(line, ";binary:: "); ok {
			got, _ = base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		} else if _, v, ok := strings.Cut(line, ";binary: "); ok {
			got = []byte(v)
		}
	}
	if !bytes.Equal(got, crl.DER) {
		t.Errorf("curl %s returned %q, not the stored CRL", url, out)
	}
}

// TestPKIInteropRevocation: the revocation package follows the ldap://
// distribution point to pkid and finds the certificate revoked.
func TestPKIInteropRevocation(t *testing.T) {
	s := newPKIServer(t)
	chk := revocation.New(revocation.Config{Order: []revocation.Method{revocation.MethodCRL}})
	st, err := chk.Check(t.Context(), s.revoked.Certificate, s.revoked.Chain[0])
	var re *revocation.RevokedError
	if st.State != revocation.Revoked && !errors.As(err, &re) {
		t.Fatalf("Check: state %v, source %q, err %v; want revoked", st.State, st.Source, err)
	}
	if st.Method != revocation.MethodCRL || !strings.HasPrefix(strings.TrimPrefix(st.Source, "the CRL at "), "ldap://") {
		t.Errorf("decided by %v from %q; want the CRL at the ldap:// distribution point", st.Method, st.Source)
	}
	// A certificate that is not revoked is good by the same CRL.
	good := s.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=good,O=SSS,C=GB"})
	if st, err := chk.Check(t.Context(), good.Certificate, good.Chain[0]); err != nil || st.State != revocation.Good {
		t.Errorf("good certificate: state %v, err %v", st.State, err)
	}
}
