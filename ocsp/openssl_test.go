package ocsp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// opensslEnv serves a fixture over HTTP on 127.0.0.1 and writes its
// certificates as PEM files for the openssl command line.
type opensslEnv struct {
	*fixture
	openssl, dir, url string
	files             map[*x509.Certificate]string
}

func newOpenSSLEnv(t *testing.T, kind string) *opensslEnv {
	t.Helper()
	openssl := peer.Need(t, "openssl", "openssl")
	f := newFixture(t, kind, nil)
	srv := httptest.NewServer(f.r) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	e := &opensslEnv{fixture: f, openssl: openssl, dir: t.TempDir(), url: srv.URL + "/ocsp", files: map[*x509.Certificate]string{}}
	for name, c := range map[string]*x509.Certificate{
		"root.pem": f.root.cert, "ca1.pem": f.ca1.cert, "ca2.pem": f.ca2.cert,
		"good.pem": f.good, "revoked.pem": f.revoked, "unissued.pem": f.unissued, "good2.pem": f.good2,
	} {
		e.files[c] = writePEM(t, e.dir, name, c)
	}
	return e
}

func (e *opensslEnv) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(e.openssl, append([]string{"ocsp"}, args...)...)
	cmd.Dir = e.dir
	var o, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &se
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("openssl %v hung", args)
	}
	t.Logf("openssl ocsp %s\n%s%s", strings.Join(args, " "), o.String(), se.String())
	return o.String(), se.String(), err
}

func TestOpenSSLClient(t *testing.T) {
	e := newOpenSSLEnv(t, "p256")
	f := e.fixture
	base := func(issuer *testCA, certs ...*x509.Certificate) []string {
		a := []string{"-issuer", e.files[issuer.cert]}
		for _, c := range certs {
			a = append(a, "-cert", e.files[c])
		}
		return append(a, "-url", e.url, "-CAfile", e.files[f.root.cert])
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string // regexps the output must match
	}{
		{"good, no nonce", append(base(f.ca1, f.good), "-no_nonce"), []string{`good\.pem: good`}},
		{"good, nonce", append(base(f.ca1, f.good), "-nonce"), []string{`good\.pem: good`}},
		{"revoked with reason and time", base(f.ca1, f.revoked), []string{
			`revoked\.pem: revoked`, `Reason: keyCompromise`,
			`Revocation Time: ` + regexp.QuoteMeta(f.revokedAt.Format("Jan _2 15:04:05 2006 GMT")),
		}},
		{"unknown", base(f.ca1, f.unissued), []string{`unissued\.pem: unknown`}},
		{"SHA-256 CertIDs", append([]string{"-sha256"}, base(f.ca1, f.good, f.revoked)...), []string{`good\.pem: good`, `revoked\.pem: revoked`}},
		{"second CA", base(f.ca2, f.good2), []string{`good2\.pem: good`}},
		{"three certificates of one CA", append(base(f.ca1, f.good, f.revoked, f.unissued), "-no_nonce"), []string{`good\.pem: good`, `revoked\.pem: revoked`, `unissued\.pem: unknown`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := e.run(t, tt.args...)
			if err != nil {
				t.Fatalf("openssl failed: %v", err)
			}
			all := out + errOut
			if !strings.Contains(errOut, "Response verify OK") {
				t.Error("openssl did not verify the response")
			}
			if strings.Contains(all, "WARNING") {
				t.Error("openssl warned")
			}
			for _, w := range tt.want {
				if !regexp.MustCompile(w).MatchString(all) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

// TestOpenSSLTwoIssuers: `-issuer` twice puts CertIDs of two CAs in one
// request. One signature cannot be authoritative for both CAs (RFC 6960
// §4.2.2.2), so the response is signed by the responder of the CA named
// first and openssl reports both statuses but refuses the verification;
// asked one CA at a time, both verify.
func TestOpenSSLTwoIssuers(t *testing.T) {
	e := newOpenSSLEnv(t, "p256")
	f := e.fixture
	out, errOut, _ := e.run(t, "-issuer", e.files[f.ca1.cert], "-cert", e.files[f.good],
		"-issuer", e.files[f.ca2.cert], "-cert", e.files[f.good2], "-url", e.url, "-CAfile", e.files[f.root.cert])
	for _, w := range []string{"good.pem: good", "good2.pem: good"} {
		if !strings.Contains(out+errOut, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	for _, ca := range []*testCA{f.ca1, f.ca2} {
		leaf := map[*testCA]*x509.Certificate{f.ca1: f.good, f.ca2: f.good2}[ca]
		_, errOut, err := e.run(t, "-issuer", e.files[ca.cert], "-cert", e.files[leaf], "-url", e.url, "-CAfile", e.files[f.root.cert])
		if err != nil || !strings.Contains(errOut, "Response verify OK") {
			t.Errorf("%s alone: %v", ca.name, err)
		}
	}
}

// TestOpenSSLGet fetches a GET response over HTTP (curl if installed, else
// Go's client) and has openssl read it with -respin.
func TestOpenSSLGet(t *testing.T) {
	e := newOpenSSLEnv(t, "p256")
	f := e.fixture
	req := filepath.Join(e.dir, "req.der")
	if _, _, err := e.run(t, "-issuer", e.files[f.ca1.cert], "-cert", e.files[f.revoked], "-no_nonce", "-reqout", req); err != nil {
		t.Fatal(err)
	}
	der, err := os.ReadFile(req)
	if err != nil {
		t.Fatal(err)
	}
	u := e.url + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
	resp := filepath.Join(e.dir, "resp.der")
	var headers string
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "-D", "-", "-o", resp, u).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		headers = string(out)
	} else {
		r, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		os.WriteFile(resp, body, 0o644)
		var b strings.Builder
		r.Header.Write(&b)
		headers = b.String()
	}
	t.Logf("GET %s\n%s", u, headers)
	for _, h := range []string{"Cache-Control: max-age=", "ETag:", "Last-Modified:", "Expires:", "Content-Type: application/ocsp-response"} {
		if !strings.Contains(strings.ToLower(headers), strings.ToLower(h)) {
			t.Errorf("GET response lacks %q", h)
		}
	}
	out, errOut, err := e.run(t, "-respin", resp, "-issuer", e.files[f.ca1.cert], "-cert", e.files[f.revoked], "-CAfile", e.files[f.root.cert], "-no_nonce")
	if err != nil || !strings.Contains(errOut, "Response verify OK") || !strings.Contains(out, "revoked.pem: revoked") {
		t.Errorf("openssl -respin: %v", err)
	}
}

// TestOpenSSLKeyTypes: openssl verifies responses signed with every
// responder key type.
func TestOpenSSLKeyTypes(t *testing.T) {
	for _, kind := range []string{"p384", "p521", "rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			e := newOpenSSLEnv(t, kind)
			f := e.fixture
			out, errOut, err := e.run(t, "-issuer", e.files[f.ca1.cert], "-cert", e.files[f.revoked], "-url", e.url, "-CAfile", e.files[f.root.cert])
			if err != nil || !strings.Contains(errOut, "Response verify OK") || !strings.Contains(out, "revoked.pem: revoked") {
				t.Errorf("openssl: %v", err)
			}
		})
	}
}

// TestOpenSSLUnknownHash: a CertID hashed with an algorithm the responder
// does not match (MD5 here) names no served CA: unauthorized.
func TestOpenSSLUnknownHash(t *testing.T) {
	e := newOpenSSLEnv(t, "p256")
	f := e.fixture
	out, errOut, _ := e.run(t, "-md5", "-issuer", e.files[f.ca1.cert], "-cert", e.files[f.good], "-url", e.url, "-CAfile", e.files[f.root.cert])
	if !strings.Contains(out+errOut, "unauthorized") {
		t.Errorf("openssl did not report unauthorized")
	}
}
