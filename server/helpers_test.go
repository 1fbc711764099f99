package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// fixture is a running server on 127.0.0.1:0 over a fresh data directory.
type fixture struct {
	t      testing.TB
	dir    string
	st     store.Store
	srv    *server.Server
	url    string
	boot   *server.Bootstrap
	issuer *x509.Certificate // the issuing CA
	root   *x509.Certificate
	stop   func()
}

// logWriter sends server logs to t.Log until the test ends.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

func start(t testing.TB, dir string, mod ...func(*server.Config)) *fixture {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	lw := &logWriter{t: t}
	cfg := server.Config{Dir: dir, Store: st, HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(lw, nil)),
		ReadHeaderTimeout: 500 * time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx) }()
	f := &fixture{t: t, dir: dir, st: st, srv: srv, url: srv.URL(), boot: srv.Bootstrap()}
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Serve did not return within 10 s of its context ending")
			}
			lw.mu.Lock()
			lw.done = true
			lw.mu.Unlock()
			st.Close()
		})
	}
	t.Cleanup(f.stop)
	for _, c := range f.boot.CAs {
		cert, err := x509.ParseCertificate(c.CertDER)
		if err != nil {
			t.Fatal(err)
		}
		switch c.ID {
		case "root":
			f.root = cert
		case "issuing":
			f.issuer = cert
		}
	}
	return f
}

// issue issues a certificate through the server's service and writes it
// to the test's directory.
func (f *fixture) issue(req ca.Request) (*ca.Issued, pkitest.Files) {
	f.t.Helper()
	iss, err := f.srv.Service().Issue(context.Background(), req)
	if err != nil {
		f.t.Fatalf("issue: %v", err)
	}
	return iss, pkitest.Write(f.t, f.t.TempDir(), "leaf", iss)
}

func (f *fixture) get(path string, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	return f.do(http.MethodGet, path, nil, hdr...)
}

func (f *fixture) do(method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, b
}

// ocspStatus asks the server about a certificate of the issuing CA with
// Go's OCSP client and verifies the response.
func (f *fixture) ocspStatus(serial *big.Int) (*xocsp.Response, error) {
	leaf := &x509.Certificate{SerialNumber: serial, RawIssuer: f.issuer.RawSubject}
	req, err := xocsp.CreateRequest(leaf, f.issuer, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.Post(f.url+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return xocsp.ParseResponseForCert(der, leaf, f.issuer)
}

// crl fetches and verifies the issuing CA's CRL.
func (f *fixture) crl() (*x509.RevocationList, error) {
	resp, err := http.Get(ca.CRLURL(f.url, "issuing"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	return crl, crl.CheckSignatureFrom(f.issuer)
}

func crlLists(crl *x509.RevocationList, serial *big.Int) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}

// waitRevoked polls OCSP and the CRL until both say serial is revoked, or
// within. It returns how long that took after start.
func (f *fixture) waitRevoked(serial *big.Int, start time.Time, within time.Duration) time.Duration {
	f.t.Helper()
	var ocspSeen, crlSeen time.Duration
	deadline := start.Add(within)
	for time.Now().Before(deadline) && (ocspSeen == 0 || crlSeen == 0) {
		if ocspSeen == 0 {
			if r, err := f.ocspStatus(serial); err == nil && r.Status == xocsp.Revoked {
				ocspSeen = time.Since(start)
			}
		}
		if crlSeen == 0 {
			if crl, err := f.crl(); err == nil && crlLists(crl, serial) {
				crlSeen = time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ocspSeen == 0 || crlSeen == 0 {
		f.t.Fatalf("after %v: OCSP shows the revocation after %v, the CRL after %v (0 = never)", within, ocspSeen, crlSeen)
	}
	return max(ocspSeen, crlSeen)
}

var (
	pkidOnce sync.Once
	pkidBin  string
	pkidErr  error
)

// pkidBinary builds cmd/pkid once per test binary.
func pkidBinary(t testing.TB) string {
	t.Helper()
	pkidOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pkid-server-test")
		if err != nil {
			pkidErr = err
			return
		}
		pkidBin = filepath.Join(dir, "pkid")
		pkidErr = goBuild(pkidBin, "github.com/pkid/pkid/cmd/pkid")
	})
	if pkidErr != nil {
		t.Fatal(pkidErr)
	}
	return pkidBin
}

func goBuild(out, pkg string) error {
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return &buildError{pkg: pkg, out: string(b), err: err}
	}
	return nil
}

type buildError struct {
	pkg, out string
	err      error
}

func (e *buildError) Error() string { return "go build " + e.pkg + ": " + e.err.Error() + "\n" + e.out }

// run runs a program and returns its combined output.
func run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader("")
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pkidBin != "" {
		os.RemoveAll(filepath.Dir(pkidBin))
	}
	os.Exit(code)
}

func x509ParseCRL(der []byte) (*x509.RevocationList, error) { return x509.ParseRevocationList(der) }

// deltaBase returns the BaseCRLNumber of a delta CRL (RFC 5280 §5.2.4),
// or -1.
func deltaBase(crl *x509.RevocationList) int64 {
	for _, e := range crl.Extensions {
		if e.Id.String() == "2.5.29.27" {
			var n *big.Int
			if _, err := asn1.Unmarshal(e.Value, &n); err == nil {
				return n.Int64()
			}
		}
	}
	return -1
}
