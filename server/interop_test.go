package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
)

// TestOpenSSLOCSP: the openssl ocsp client verifies pkid's responses
// (signed by the delegated responder certificate) against ca.pem and
// reports good, revoked with the reason, and unknown, with and without a
// nonce; a GET request fetched with curl reads back with -respin.
func TestOpenSSLOCSP(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	curl := peer.Need(t, "curl", "curl")
	f := start(t, "")
	_, good := f.issue(ca.Request{Profile: "client", Subject: "CN=good"})
	revoked, revokedFiles := f.issue(ca.Request{Profile: "client", Subject: "CN=revoked"})
	if _, err := f.srv.Service().Revoke(context.Background(), revoked.Serial, ca.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(revoked.Certificate.SerialNumber, time.Now(), 10*time.Second)
	ocspURL := ca.OCSPURL(f.url)

	for _, tc := range []struct {
		name   string
		target []string
		want   []string
	}{
		{"good", []string{"-cert", good.Cert}, []string{": good"}},
		{"revoked", []string{"-cert", revokedFiles.Cert}, []string{": revoked", "Reason: superseded"}},
		{"unknown", []string{"-serial", "0x0123456789ABCDEF"}, []string{": unknown"}},
		{"admin", []string{"-cert", f.boot.AdminCert}, []string{": good"}},
	} {
		for _, nonce := range []string{"-nonce", "-no_nonce"} {
			t.Run(tc.name+nonce, func(t *testing.T) {
				args := append([]string{"ocsp", "-issuer", f.boot.ChainFile}, tc.target...)
				args = append(args, "-url", ocspURL, "-CAfile", f.boot.CAFile, nonce)
				out, err := run(t, openssl, args...)
				if err != nil {
					t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				if !strings.Contains(out, "Response verify OK") {
					t.Errorf("response does not verify:\n%s", out)
				}
				if nonce == "-nonce" && strings.Contains(out, "WARNING: no nonce") {
					t.Errorf("nonce not echoed:\n%s", out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
			})
		}
	}

	t.Run("GET with curl", func(t *testing.T) {
		dir := t.TempDir()
		reqFile, respFile := filepath.Join(dir, "req.der"), filepath.Join(dir, "resp.der")
		if out, err := run(t, openssl, "ocsp", "-issuer", f.boot.ChainFile, "-cert", revokedFiles.Cert, "-no_nonce", "-reqout", reqFile); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		der, err := os.ReadFile(reqFile)
		if err != nil {
			t.Fatal(err)
		}
		getURL := ocspURL + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
		out, err := run(t, curl, "-sS", "-f", "-D", "-", "-o", respFile, getURL)
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", getURL, err, out)
		}
		for _, h := range []string{"Cache-Control: max-age=", "ETag:", "Last-Modified:", "Expires:", "application/ocsp-response"} {
			if !strings.Contains(strings.ToLower(out), strings.ToLower(h)) {
				t.Errorf("GET response lacks %s:\n%s", h, out)
			}
		}
		out, err = run(t, openssl, "ocsp", "-respin", respFile, "-issuer", f.boot.ChainFile, "-cert", revokedFiles.Cert, "-CAfile", f.boot.CAFile)
		if err != nil || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, ": revoked") {
			t.Errorf("openssl ocsp -respin: %v\n%s", err, out)
		}
	})
}

// TestOpenSSLVerifyCRLDownload: openssl verify -crl_check -crl_download
// fetches pkid's CRL from the certificate's distribution point, accepts
// a good certificate and rejects a revoked one.
func TestOpenSSLVerifyCRLDownload(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	f := start(t, "")
	_, good := f.issue(ca.Request{Profile: "server", Subject: "CN=good.example", SANs: "DNS:good.example"})
	revoked, bad := f.issue(ca.Request{Profile: "server", Subject: "CN=bad.example", SANs: "DNS:bad.example"})
	if _, err := f.srv.Service().Revoke(context.Background(), revoked.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(revoked.Certificate.SerialNumber, time.Now(), 10*time.Second)
	verify := func(cert string) (string, error) {
		return run(t, openssl, "verify", "-crl_check", "-crl_download", "-CAfile", f.boot.CAFile, "-untrusted", f.boot.ChainFile, cert)
	}
	if out, err := verify(good.Cert); err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("good certificate: %v\n%s", err, out)
	}
	out, err := verify(bad.Cert)
	if err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("revoked certificate accepted or wrong error: %v\n%s", err, out)
	}
}

// TestRevokeFromAnotherProcess: `pkid revoke` run as its own process on
// the same data directory changes the OCSP and CRL answers of the running
// server; so does a release from hold. The functional bound asserted is
// generous (5 s, for loaded machines); the measured delay is logged.
func TestRevokeFromAnotherProcess(t *testing.T) {
	pkid := pkidBinary(t)
	f := start(t, "")
	iss, files := f.issue(ca.Request{Profile: "client", Subject: "CN=other-process"})
	sn := iss.Certificate.SerialNumber
	if r, err := f.ocspStatus(sn); err != nil || r.Status != xocsp.Good {
		t.Fatalf("before: OCSP %v %v", r, err)
	}

	began := time.Now()
	if out, err := run(t, pkid, "revoke", "--dir", f.dir, files.Cert, "--reason", "certificateHold"); err != nil {
		t.Fatalf("pkid revoke: %v\n%s", err, out)
	}
	exited := time.Now()
	d := f.waitRevoked(sn, began, 5*time.Second)
	t.Logf("revoke (hold) by another process: visible on OCSP and CRL %v after the process started, %v after it exited", d, d-exited.Sub(began))
	if r, err := f.ocspStatus(sn); err != nil || r.RevocationReason != xocsp.CertificateHold {
		t.Errorf("OCSP reason %v %v, want certificateHold", r.RevocationReason, err)
	}

	began = time.Now()
	if out, err := run(t, pkid, "revoke", "--dir", f.dir, iss.Serial, "--release"); err != nil {
		t.Fatalf("pkid revoke --release: %v\n%s", err, out)
	}
	deadline := began.Add(5 * time.Second)
	for {
		r, err1 := f.ocspStatus(sn)
		crl, err2 := f.crl()
		if err1 == nil && err2 == nil && r.Status == xocsp.Good && !crlLists(crl, sn) {
			t.Logf("release by another process: visible after %v", time.Since(began))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("release not visible after 5 s: OCSP %v %v, CRL %v", r, err1, err2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, body := f.get("/metrics")
	if m := regexp.MustCompile(`pkid_revocation_propagation_seconds_count (\d+)`).FindSubmatch(body); m == nil || string(m[1]) == "0" {
		t.Errorf("propagation histogram not observed: %s", m)
	}
}

// nginx starts nginx with one server block on a free port and returns
// the port; it is killed when the test ends.
func nginx(t *testing.T, dir, server string) int {
	t.Helper()
	bin := peer.Need(t, "nginx", "nginx-light")
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
		%[4]s
		location / { return 200 "ok\n"; }
	}
}
`, user, dir, port, server)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	// Its own process group, so that the worker dies with the master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not start listening on %d", port)
	return 0
}

// TestNginxStapling: nginx with ssl_stapling and ssl_stapling_verify
// fetches pkid's OCSP response from the certificate's AIA URL, verifies
// it and staples it; openssl s_client -status shows a good response.
func TestNginxStapling(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	f := start(t, "")
	_, srv := f.issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	dir := t.TempDir()
	port := nginx(t, dir, fmt.Sprintf(`ssl_certificate %s;
		ssl_certificate_key %s;
		ssl_stapling on;
		ssl_stapling_verify on;
		ssl_trusted_certificate %s;`, srv.Chain, srv.Key, f.boot.ChainFile))

	// nginx fetches the response after the first handshake that asks for
	// it, so the first answers may come without a stapled response.
	var out string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, _ = run(t, openssl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost",
			"-status", "-CAfile", f.boot.CAFile)
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
}

// TestNginxClientCRL: nginx with ssl_verify_client and pkid's CRLs (both
// CAs, fetched over HTTP as PEM) accepts a good client certificate and
// refuses a revoked one.
func TestNginxClientCRL(t *testing.T) {
	curl := peer.Need(t, "curl", "curl")
	f := start(t, "")
	_, srv := f.issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	_, good := f.issue(ca.Request{Profile: "client", Subject: "CN=good client"})
	revoked, bad := f.issue(ca.Request{Profile: "client", Subject: "CN=revoked client"})
	if _, err := f.srv.Service().Revoke(context.Background(), revoked.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(revoked.Certificate.SerialNumber, time.Now(), 10*time.Second)
	dir := t.TempDir()
	var crls []byte
	for _, id := range []string{"root", "issuing"} {
		resp, body := f.get("/crl/" + id + ".pem")
		if resp.StatusCode != 200 {
			t.Fatalf("CRL %s: HTTP %d", id, resp.StatusCode)
		}
		crls = append(crls, body...)
	}
	crlFile := filepath.Join(dir, "crls.pem")
	if err := os.WriteFile(crlFile, crls, 0o644); err != nil {
		t.Fatal(err)
	}
	port := nginx(t, dir, fmt.Sprintf(`ssl_certificate %s;
		ssl_certificate_key %s;
		ssl_client_certificate %s;
		ssl_verify_client on;
		ssl_verify_depth 2;
		ssl_crl %s;`, srv.Chain, srv.Key, f.boot.ChainFile, crlFile))
	get := func(c string, key string) string {
		out, err := run(t, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", f.boot.CAFile,
			"--cert", c, "--key", key, fmt.Sprintf("https://localhost:%d/", port), "--resolve", fmt.Sprintf("localhost:%d:127.0.0.1", port))
		if err != nil {
			t.Logf("curl: %v %s", err, out)
		}
		return strings.TrimSpace(out)
	}
	if code := get(good.Chain, good.Key); code != "200" {
		t.Errorf("good client certificate: HTTP %s, want 200", code)
	}
	if code := get(bad.Chain, bad.Key); code != "400" {
		t.Errorf("revoked client certificate: HTTP %s, want nginx's 400 refusal", code)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if !strings.Contains(string(log), "certificate revoked") {
		t.Errorf("nginx error.log does not say the certificate is revoked:\n%s", log)
	}
}
