package doctor

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// gnutlsCLI runs gnutls-cli against addr and returns its output.
func gnutlsCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	cli := peer.Need(t, "gnutls-cli", "gnutls-bin")
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"--port", port, "--verify-hostname", "localhost"}, append(args, host)...)...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

var (
	reGnutlsDesc  = regexp.MustCompile(`- Description: \((TLS1\.[23])-X\.509\)-\(ECDHE-([A-Z0-9]+)\)-\([^)]*\)-\(([A-Z0-9-]+)\)`)
	reGnutlsAlert = regexp.MustCompile(`Received alert \[(\d+)\]`)
)

// TestProbeGnuTLS checks probe against a second TLS stack: the facts equal
// gnutls-cli's, and a required client certificate is explained.
func TestProbeGnuTLS(t *testing.T) {
	serv := peer.Need(t, "gnutls-serv", "gnutls-bin")
	p := newTestPKI(t)
	cases := []struct {
		name     string
		priority string
		version  string // gnutls spelling
		group    string
		cipher   string
	}{
		{"tls13-x25519-aes128", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519", "TLS1.3", "X25519", "AES-128-GCM"},
		{"tls12-p384-chacha", "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-SECP384R1", "TLS1.2", "SECP384R1", "CHACHA20-POLY1305"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := startPeer(t, serv, "listening", "--port", "{port}", "--x509certfile", p.chainFile, "--x509keyfile", p.server.keyFile, "--priority", tc.priority)
			r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool})
			if r.err != nil || len(r.Problems) > 0 {
				t.Fatalf("probe: %v %+v", r.err, r.Problems)
			}
			out := gnutlsCLI(t, addr, "--x509cafile", p.root.certFile)
			m := reGnutlsDesc.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("cannot read gnutls-cli's description:\n%s", out)
			}
			if m[1] != tc.version || m[2] != tc.group || m[3] != tc.cipher {
				t.Fatalf("gnutls-cli negotiated %v, the test expects %s %s %s", m[1:], tc.version, tc.group, tc.cipher)
			}
			if strings.ReplaceAll(r.Version, " ", "") != m[1] {
				t.Errorf("version: probe %s, gnutls-cli %s", r.Version, m[1])
			}
			if !strings.EqualFold(r.Group, m[2]) {
				t.Errorf("group: probe %s, gnutls-cli %s", r.Group, m[2])
			}
			if !strings.Contains(r.Suite.IANA, strings.ReplaceAll(m[3], "-", "_")) {
				t.Errorf("cipher: probe %s, gnutls-cli %s", r.Suite.IANA, m[3])
			}
		})
	}
	t.Run("client certificate required", func(t *testing.T) {
		addr := startPeer(t, serv, "listening", "--port", "{port}", "--x509certfile", p.chainFile, "--x509keyfile", p.server.keyFile,
			"--require-client-cert", "--x509cafile", p.clientCAFile)
		r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool})
		e := findProblem(t, r, "client_certificate_required")
		mustContain(t, "fix", e.Fix, "CN=Test Issuing CA,O=pkid test")
		out := gnutlsCLI(t, addr, "--x509cafile", p.root.certFile)
		m := reGnutlsAlert.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("gnutls-cli received no alert:\n%s", out)
		}
		if n, _ := strconv.Atoi(m[1]); r.Alert == nil || int(r.Alert.Code) != n {
			t.Errorf("alert: probe %+v, gnutls-cli %s", r.Alert, m[1])
		}
		// With our certificate the handshake works.
		r = probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.clientCert})
		if r.err != nil || len(r.Problems) > 0 || !r.ClientCertificate.Sent {
			t.Errorf("with --cert: %v %+v", r.err, r.Problems)
		}
	})
	t.Run("client certificate from an unknown CA", func(t *testing.T) {
		addr := startPeer(t, serv, "listening", "--port", "{port}", "--x509certfile", p.chainFile, "--x509keyfile", p.server.keyFile,
			"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "--require-client-cert", "--verify-client-cert", "--x509cafile", p.clientCAFile)
		r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.foreignClientCertTLS})
		e := findProblem(t, r, "client_certificate_rejected")
		mustContain(t, "cause", e.Cause, "CN=Test Issuing CA,O=pkid test")
		out := gnutlsCLI(t, addr, "--x509cafile", p.root.certFile, "--x509certfile", p.foreignClient.certFile, "--x509keyfile", p.foreignClient.keyFile)
		m := reGnutlsAlert.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("gnutls-cli received no alert:\n%s", out)
		}
		if n, _ := strconv.Atoi(m[1]); r.Alert == nil || int(r.Alert.Code) != n {
			t.Errorf("alert: probe %+v, gnutls-cli %s", r.Alert, m[1])
		}
		t.Logf("alert %+v: %s", r.Alert, e.Cause)
	})
}
