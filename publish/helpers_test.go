package publish_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/internal/slapdtest"
	"github.com/pkid/pkid/publish"
)

// fixture is a pkid CA with CRLs, TLS files for slapd and a client
// certificate for the publisher.
type fixture struct {
	*pkitest.CA
	dir        string
	server     pkitest.Files
	client     pkitest.Files
	passFile   string
	issuingID  string
	issuingDN  string
	rootID     string
	serverCert string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := pkitest.NewCA(t, pkitest.Options{})
	f := &fixture{CA: c, dir: t.TempDir()}
	f.server = pkitest.Write(t, f.dir, "server", c.Issue(t, ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "IP:127.0.0.1,DNS:localhost"}))
	f.client = pkitest.Write(t, f.dir, "publisher", c.Issue(t, ca.Request{Profile: "client", Subject: "CN=publisher,O=pkid"}))
	f.passFile = filepath.Join(f.dir, "password")
	if err := os.WriteFile(f.passFile, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.rootID, f.issuingID = c.Init.CAs[0].ID, c.Init.CAs[1].ID
	f.issuingDN = c.Init.CAs[1].Subject
	for _, a := range c.Init.CAs {
		f.crl(t, a.ID)
	}
	return f
}

// crl signs a new full CRL of a CA and returns its number.
func (f *fixture) crl(t testing.TB, caID string) int64 {
	t.Helper()
	crl, err := f.Service.CRL(context.Background(), caID, false)
	if err != nil {
		t.Fatal(err)
	}
	return crl.Number
}

// slapd starts a directory for o=pkid with TLS, client certificates
// optional ("try") and cn=publisher,o=pkid mapped to the rootdn.
func (f *fixture) slapd(t testing.TB, schemas ...string) *slapdtest.Slapd {
	return f.slapdVerify(t, "try", schemas...)
}

// slapdVerify is slapd with TLSVerifyClient verify (never, allow, try,
// demand).
func (f *fixture) slapdVerify(t testing.TB, verify string, schemas ...string) *slapdtest.Slapd {
	return slapdtest.Start(t, slapdtest.Options{
		Suffix: "o=pkid", RootDN: "cn=admin,o=pkid", Schemas: schemas,
		CAFile: f.ChainFile, CertFile: f.server.Cert, KeyFile: f.server.Key, VerifyClient: verify,
		AuthzRegexp: [][2]string{{"^cn=publisher,o=pkid$", "cn=admin,o=pkid"}},
	})
}

func (f *fixture) external(name string, s *slapdtest.Slapd) publish.Target {
	return publish.Target{Name: name, URL: s.LDAPSURL, Bind: publish.BindExternal, CertFile: f.client.Chain, KeyFile: f.client.Key,
		CACertFile: f.RootFile, Timeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

func (f *fixture) simple(name string, s *slapdtest.Slapd, passFile string) publish.Target {
	return publish.Target{Name: name, URL: s.URL, StartTLS: true, Bind: publish.BindSimple, BindDN: "cn=admin,o=pkid", PasswordFile: passFile,
		CACertFile: f.RootFile, Timeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// run starts a Publisher until the test ends.
func (f *fixture) run(t testing.TB, targets ...publish.Target) *publish.Publisher {
	t.Helper()
	p, err := publish.New(f.Store, targets, publish.Options{Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), WatchInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return p
}

// waitState waits until cond holds for the target's state of a CA.
func (f *fixture) waitState(t *testing.T, target, caID string, within time.Duration, what string, cond func(*publish.State) bool) *publish.State {
	t.Helper()
	deadline := time.Now().Add(within)
	var s *publish.State
	for {
		var err error
		s, err = publish.LoadState(context.Background(), f.Store, target, caID)
		if err != nil {
			t.Fatal(err)
		}
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s, CA %s: not %s within %v; state %+v", target, caID, what, within, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fixture) waitCurrent(t *testing.T, target, caID string, number int64, within time.Duration) *publish.State {
	t.Helper()
	return f.waitState(t, target, caID, within, "current", func(s *publish.State) bool { return s.CRLNumber == number && s.LastError == "" })
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
