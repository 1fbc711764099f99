package tlshello

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// writePEM writes p's CA, client certificate and key for command-line
// peers.
func writePEM(t *testing.T, p *pki) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	write := func(name, typ string, der ...[]byte) {
		var b []byte
		for _, d := range der {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(caFile, "CERTIFICATE", p.client.Certificate[1])
	write(certFile, "CERTIFICATE", p.client.Certificate[0])
	key, err := x509.MarshalPKCS8PrivateKey(p.client.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	write(keyFile, "PRIVATE KEY", key)
	return caFile, certFile, keyFile
}

// TestOpenSSLResumes: openssl s_client saves its session (-sess_out) and
// resumes it (-sess_in); Resumer reads OpenSSL's ClientHello (padding,
// its own extension order) and the resumed handshake runs on X25519 with
// the client certificate carried over.
func TestOpenSSLResumes(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	p := newPKI(t, time.Now().Add(24*time.Hour))
	s := newTestServer(t, p, false)
	caFile, certFile, keyFile := writePEM(t, p)
	sess := filepath.Join(t.TempDir(), "sess.pem")
	run := func(sessArg string) result {
		t.Helper()
		cmd := exec.Command(openssl, "s_client", "-connect", s.addr, "-CAfile", caFile, "-cert", certFile, "-key", keyFile,
			"-verify_return_error", "-ign_eof", sessArg, sess)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl s_client %s: %v\n%s", sessArg, err, out)
		}
		return s.next(t)
	}
	r := run("-sess_out")
	if r.err != nil || r.state.DidResume || r.state.Version != tls.VersionTLS13 {
		t.Fatalf("first handshake: %v, resumed %v, version %x; want a full TLS 1.3 handshake", r.err, r.state.DidResume, r.state.Version)
	}
	r = run("-sess_in")
	if r.err != nil || !r.state.DidResume || r.state.CurveID != tls.X25519 || len(r.state.PeerCertificates) == 0 {
		t.Fatalf("second handshake: %v, resumed %v, group %v, %d client certificates; want resumed on X25519 with the certificate",
			r.err, r.state.DidResume, r.state.CurveID, len(r.state.PeerCertificates))
	}
	if resumed, _, refused := s.resumer.Counts(); resumed != 1 || refused != 0 {
		t.Errorf("Resumer: %d classical, %d refused; want 1 and 0", resumed, refused)
	}
}

// TestGnuTLSResumes: gnutls-cli --resume connects twice and resumes on the
// second connection, on X25519 (GnuTLS sends its own ClientHello layout).
func TestGnuTLSResumes(t *testing.T) {
	gnutls := peer.Need(t, "gnutls-cli", "gnutls-bin")
	p := newPKI(t, time.Now().Add(24*time.Hour))
	s := newTestServer(t, p, false)
	caFile, certFile, keyFile := writePEM(t, p)
	host, port, _ := strings.Cut(s.addr, ":")
	cmd := exec.Command(gnutls, "--resume", "--x509cafile", caFile, "--x509certfile", certFile, "--x509keyfile", keyFile,
		"-p", port, host)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gnutls-cli --resume: %v\n%s", err, out)
	}
	first, second := s.next(t), s.next(t)
	if first.err != nil || first.state.DidResume {
		t.Fatalf("first handshake: %v, resumed %v", first.err, first.state.DidResume)
	}
	if second.err != nil || !second.state.DidResume || second.state.CurveID != tls.X25519 {
		t.Fatalf("second handshake: %v, resumed %v, group %v; want resumed on X25519\n%s", second.err, second.state.DidResume, second.state.CurveID, out)
	}
	if resumed, _, _ := s.resumer.Counts(); resumed != 1 {
		t.Errorf("Resumer chose the classical configuration %d times, want 1", resumed)
	}
}
