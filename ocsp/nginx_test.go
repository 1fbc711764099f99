package ocsp

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/testkey"
)

// TestNginxStapling: nginx with ssl_stapling and ssl_stapling_verify
// fetches, verifies and staples the responder's answer; openssl s_client
// -status shows it.
func TestNginxStapling(t *testing.T) {
	nginx := peer.Need(t, "nginx", "nginx-light")
	openssl := peer.Need(t, "openssl", "openssl")
	f := newFixture(t, "p256", nil)
	srv := httptest.NewServer(f.r)
	defer srv.Close()

	dir := t.TempDir()
	key := testkey.New(t, "p256")
	leaf := makeCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer:  []string{srv.URL + "/ocsp"},
	}, f.ca1.cert, key.Public(), f.ca1.key)
	f.db.set(f.ca1.name, leaf.SerialNumber, Status{Status: Good})
	writePEM(t, dir, "server.pem", leaf, f.ca1.cert)
	writePEM(t, dir, "trusted.pem", f.ca1.cert, f.root.cert)
	writePEM(t, dir, "root.pem", f.root.cert)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	user := ""
	if os.Getuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[2]s/body; proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fcgi; uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
	server {
		listen 127.0.0.1:%[3]d ssl;
		ssl_certificate %[2]s/server.pem;
		ssl_certificate_key %[2]s/server.key;
		ssl_stapling on;
		ssl_stapling_verify on;
		ssl_trusted_certificate %[2]s/trusted.pem;
		location / { return 200 "ok\n"; }
	}
}
`, user, dir, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	}()

	// nginx fetches the response after the first handshake that asks for
	// it, so the first answers may come without a stapled response.
	var out string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c := exec.Command(openssl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost",
			"-status", "-CAfile", filepath.Join(dir, "root.pem"))
		c.Stdin = strings.NewReader("")
		b, _ := c.CombinedOutput()
		out = string(b)
		if strings.Contains(out, "OCSP Response Status: successful") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "OCSP Response Status: successful") || !strings.Contains(out, "Cert Status: good") {
		t.Fatalf("openssl s_client -status did not show a stapled good response:\n%s", out)
	}
	if !strings.Contains(out, "Verify return code: 0 (ok)") {
		t.Errorf("handshake did not verify:\n%s", out)
	}
	i := strings.Index(out, "OCSP response:")
	j := strings.Index(out, "Cert Status: good")
	t.Logf("stapled:\n%s", out[i:j+len("Cert Status: good")])
}
