package revocation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"golang.org/x/crypto/ocsp"
)

// opensslCA is an `openssl ca` directory made by the test: a CA, a
// delegated OCSP responder certificate and leaves pointing at an
// `openssl ocsp` responder (AIA) and at a CRL served over HTTP (CDP).
type opensslCA struct {
	t        *testing.T
	openssl  string
	dir      string
	ocspPort int
	crlURL   string
}

func (o *opensslCA) run(args ...string) string {
	o.t.Helper()
	cmd := exec.Command(o.openssl, args...)
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (o *opensslCA) path(name string) string { return filepath.Join(o.dir, name) }

func (o *opensslCA) cert(name string) *x509.Certificate {
	o.t.Helper()
	b, err := os.ReadFile(o.path(name))
	if err != nil {
		o.t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		o.t.Fatalf("%s: no PEM", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		o.t.Fatal(err)
	}
	return c
}

const opensslConf = `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = %[1]s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 1
unique_subject = no
policy = policy_any
copy_extensions = none
x509_extensions = leaf_ext
crl_extensions = crl_ext
[ policy_any ]
commonName = supplied
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:%[2]d/
crlDistributionPoints = URI:%[3]s
[ ocsp_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
`

func newOpensslCA(t *testing.T, ocspPort int, crlURL string) *opensslCA {
	o := &opensslCA{t: t, openssl: peer.Need(t, "openssl", "openssl"), dir: t.TempDir(), ocspPort: ocspPort, crlURL: crlURL}
	if err := os.MkdirAll(o.path("newcerts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"index.txt": "", "serial": "1000\n", "crlnumber": "1000\n",
		"openssl.cnf": fmt.Sprintf(opensslConf, o.dir, ocspPort, crlURL),
	} {
		if err := os.WriteFile(o.path(name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ec := []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}
	o.run(append([]string{"genpkey", "-out", "ca.key"}, ec...)...)
	o.run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/O=pkid test/CN=OpenSSL Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	for _, name := range []string{"ocsp", "good", "revoked"} {
		o.run(append([]string{"genpkey", "-out", name + ".key"}, ec...)...)
		o.run("req", "-new", "-key", name+".key", "-subj", "/CN="+name, "-out", name+".csr")
		args := []string{"ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", name + ".csr", "-out", name + ".pem"}
		if name == "ocsp" {
			args = append(args, "-extensions", "ocsp_ext")
		}
		o.run(args...)
	}
	// "unknown" is signed by the CA key but never entered in index.txt.
	o.run(append([]string{"genpkey", "-out", "unknown.key"}, ec...)...)
	o.run("req", "-new", "-key", "unknown.key", "-subj", "/CN=unknown", "-out", "unknown.csr")
	o.run("x509", "-req", "-in", "unknown.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x7777", "-days", "30",
		"-extfile", "openssl.cnf", "-extensions", "leaf_ext", "-out", "unknown.pem")
	o.run("ca", "-config", "openssl.cnf", "-revoke", "revoked.pem", "-crl_reason", "keyCompromise")
	o.run("ca", "-config", "openssl.cnf", "-gencrl", "-out", "ca.crl.pem")
	o.run("crl", "-in", "ca.crl.pem", "-outform", "DER", "-out", "ca.crl")
	return o
}

// freePort returns a loopback port that was free a moment ago; callers
// retry when a peer fails to bind it.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPeer runs a long-lived openssl command and waits until it listens
// on port; it reports false when the process exits first (port taken).
func startPeer(t *testing.T, dir string, port int, name string, args ...string) (*exec.Cmd, bool) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Logf("%s exited early: %s", name, out.String())
			return cmd, false
		default:
		}
		if listening(port) {
			return cmd, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on port %d: %s", name, port, out.String())
	return nil, false
}

// listening reads /proc/net/tcp{,6} instead of connecting, because a probe
// connection would block a single-threaded `openssl ocsp`.
func listening(port int) bool {
	suffix := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 3 && strings.HasSuffix(fs[1], suffix) && fs[3] == "0A" {
				return true
			}
		}
	}
	return false
}

func TestOpenSSLPeers(t *testing.T) {
	crlSrv := httptest.NewServer(nil)
	defer crlSrv.Close()
	var o *opensslCA
	var ocspCmd *exec.Cmd
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		o = newOpensslCA(t, port, crlSrv.URL+"/ca.crl")
		var ok bool
		ocspCmd, ok = startPeer(t, o.dir, port, o.openssl, "ocsp", "-index", "index.txt", "-port", fmt.Sprint(port),
			"-rsigner", "ocsp.pem", "-rkey", "ocsp.key", "-CA", "ca.pem", "-ndays", "1")
		if ok {
			break
		}
		if attempt == 2 {
			t.Fatal("openssl ocsp could not bind a port three times")
		}
	}
	crlDER, err := os.ReadFile(o.path("ca.crl"))
	if err != nil {
		t.Fatal(err)
	}
	crlSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ca.crl" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crlDER)
	})
	ca := o.cert("ca.pem")
	ctx := context.Background()
	ocspURL := fmt.Sprintf("http://127.0.0.1:%d/", o.ocspPort)

	for _, method := range []Method{MethodOCSP, MethodCRL} {
		source := map[Method]string{MethodOCSP: "the OCSP responder at " + ocspURL, MethodCRL: "the CRL at " + crlSrv.URL + "/ca.crl"}[method]
		t.Run(method.String(), func(t *testing.T) {
			ck := New(Config{Order: []Method{method}})
			st, err := ck.Check(ctx, o.cert("good.pem"), ca)
			if err != nil || st.State != Good || st.Source != source {
				t.Errorf("good: %v %q %v", st.State, st.Source, err)
			}
			rev := o.cert("revoked.pem")
			st, err = ck.Check(ctx, rev, ca)
			var re *RevokedError
			if !errors.As(err, &re) || re.Reason != KeyCompromise || st.State != Revoked {
				t.Fatalf("revoked: %v %v", st.State, err)
			}
			want := fmt.Sprintf("certificate CN=revoked, serial %s is revoked (keyCompromise at ", serialHex(rev.SerialNumber))
			if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ") according to "+source) {
				t.Errorf("revoked: %q", err)
			}
			if method == MethodOCSP {
				// POST as well as GET (the checker uses POST for requests
				// too long for a GET URL).
				req, err := ocsp.CreateRequest(rev, ca, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, err := ck.http.post(ctx, ocspURL, req)
				if err != nil {
					t.Fatalf("POST: %v", err)
				}
				st, err := ck.ocspFromBytes(body, rev, ca, source)
				if err != nil || st.State != Revoked || st.Reason != KeyCompromise {
					t.Errorf("POST: %v %v", st.State, err)
				}
			}
			st, err = ck.Check(ctx, o.cert("unknown.pem"), ca)
			if method == MethodOCSP && (err == nil || !strings.Contains(err.Error(), "does not know the certificate")) {
				t.Errorf("unknown via OCSP: %v", err)
			}
			if method == MethodCRL && (err != nil || st.State != Good) {
				t.Errorf("unknown via CRL (not listed, so good): %v %v", st.State, err)
			}
		})
	}

	t.Run("TLS client refuses revoked openssl s_server", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		ck := New(Config{})
		for _, tc := range []struct{ name, wantErr string }{
			{"good", ""},
			{"revoked", "is revoked (keyCompromise at "},
		} {
			var port int
			for attempt := 0; ; attempt++ {
				port = freePort(t)
				if _, ok := startPeer(t, o.dir, port, o.openssl, "s_server", "-accept", fmt.Sprintf("127.0.0.1:%d", port),
					"-cert", tc.name+".pem", "-key", tc.name+".key", "-naccept", "1", "-quiet"); ok {
					break
				}
				if attempt == 2 {
					t.Fatal("openssl s_server could not bind a port")
				}
			}
			conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
				RootCAs: pool, ServerName: "127.0.0.1", VerifyConnection: ck.VerifyConnection,
			})
			if conn != nil {
				conn.Close()
			}
			if tc.wantErr == "" && err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "certificate CN=revoked, serial") || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("%s: %v", tc.name, err)
			}
			t.Logf("%s: %v", tc.name, err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		ocspCmd.Process.Kill()
		crlSrv.Close()
		for _, soft := range []bool{false, true} {
			_, err := New(Config{SoftFail: soft, FetchTimeout: 2 * time.Second}).Check(ctx, o.cert("good.pem"), ca)
			if soft && err != nil {
				t.Errorf("soft-fail: %v", err)
			}
			if !soft && (!errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), ocspURL) || !strings.Contains(err.Error(), crlSrv.URL)) {
				t.Errorf("hard-fail: %v", err)
			}
			if !soft {
				t.Logf("hard-fail: %v", err)
			}
		}
	})
}
