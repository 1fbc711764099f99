package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
)

// TestExamples builds examples/https-server and examples/https-client and
// runs them against certificates of a running pkid server: mutual TLS
// works; a revoked client is refused by the server; after the server's
// certificate is revoked the client refuses it with one sentence and a
// non-zero exit.
func TestExamples(t *testing.T) {
	f := start(t, "")
	bin := buildExamples(t)
	srvCert, srvFiles := f.issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	_, alice := f.issue(ca.Request{Profile: "client", Subject: "CN=alice"})
	mallory, malloryFiles := f.issue(ca.Request{Profile: "client", Subject: "CN=mallory"})

	url := startExampleServer(t, bin, srvFiles, f.boot.CAFile)
	client := func(files [2]string) (string, error) {
		return run(t, filepath.Join(bin, "https-client"), "--url", url, "--cert", files[0], "--key", files[1], "--ca", f.boot.CAFile)
	}

	out, err := client([2]string{alice.Chain, alice.Key})
	if err != nil || !strings.Contains(out, "200 OK") || !strings.Contains(out, "Hello, CN=alice") {
		t.Fatalf("good pair: %v\n%s", err, out)
	}

	if _, err := f.srv.Service().Revoke(context.Background(), mallory.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(mallory.Certificate.SerialNumber, time.Now(), 10*time.Second)
	if out, err := client([2]string{malloryFiles.Chain, malloryFiles.Key}); err == nil || strings.Contains(out, "200 OK") {
		t.Errorf("the server accepted a revoked client certificate: %v\n%s", err, out)
	}

	if _, err := f.srv.Service().Revoke(context.Background(), srvCert.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(srvCert.Certificate.SerialNumber, time.Now(), 10*time.Second)
	out, err = client([2]string{alice.Chain, alice.Key})
	if err == nil {
		t.Fatalf("the client accepted a revoked server:\n%s", out)
	}
	want := "https-client: refusing " + url + ": the server's certificate \"CN=localhost\" (serial " + fmt.Sprintf("%X", srvCert.Certificate.SerialNumber) + ") was revoked (keyCompromise)"
	if !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("client output:\n%s\nwant one line containing:\n%s", out, want)
	}
	t.Logf("client: %s", out)
}

// buildExamples builds examples/https-server and examples/https-client.
func buildExamples(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"https-server", "https-client"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = goBuild(filepath.Join(bin, name), "github.com/pkid/pkid/examples/"+name)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// startExampleServer runs https-server with a certificate on a free port
// and returns its URL; it is stopped when the test ends.
func startExampleServer(t *testing.T, bin string, files pkitest.Files, caFile string) string {
	t.Helper()
	srv := exec.Command(filepath.Join(bin, "https-server"), "--addr", "127.0.0.1:0", "--cert", files.Chain, "--key", files.Key, "--ca", caFile)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		t.Logf("https-server stderr:\n%s", stderr.String())
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on https://") {
		t.Fatalf("https-server: %q %v", line, err)
	}
	_, port, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "listening on https://")), ":")
	return "https://localhost:" + port + "/"
}

// TestExamplesOpenSSLResponder runs the examples against certificates
// whose OCSP responses come from `openssl ocsp` (a one-CA hierarchy whose
// index lists one server certificate as revoked): the good pair talks;
// the client refuses the revoked server with its sentence. openssl's own
// responder cannot bind to loopback only (-port is a number), so a small
// HTTP shim on 127.0.0.1 hands each request to `openssl ocsp -reqin` and
// returns what openssl signed.
func TestExamplesOpenSSLResponder(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	bin := buildExamples(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	c := pkitest.NewCA(t, pkitest.Options{Single: true, URL: base})
	ctx := context.Background()
	issue := func(req ca.Request) (*ca.Issued, pkitest.Files) {
		iss, err := c.Service.Issue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return iss, pkitest.Write(t, t.TempDir(), "leaf", iss)
	}
	good, goodFiles := issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	bad, badFiles := issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	alice, aliceFiles := issue(ca.Request{Profile: "client", Subject: "CN=alice"})
	rec, err := c.Store.CA(ctx, "ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exp := func(i *ca.Issued) string { return i.Certificate.NotAfter.UTC().Format("060102150405Z") }
	index := fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=localhost\nR\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=localhost\nV\t%s\t\t%s\tunknown\t/CN=alice\n",
		exp(good), good.Serial, exp(bad), time.Now().UTC().Add(-time.Hour).Format("060102150405Z"), bad.Serial, exp(alice), alice.Serial)
	for name, data := range map[string][]byte{"index.txt": []byte(index), "ca.key": rec.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var answered int
	shim := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var der []byte
		var err error
		switch r.Method {
		case http.MethodPost:
			der, err = io.ReadAll(io.LimitReader(r.Body, 64<<10))
		default:
			var p string
			if p, err = url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/")); err == nil {
				der, err = base64.StdEncoding.DecodeString(p)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		reqFile, respFile := filepath.Join(dir, "req.der"), filepath.Join(dir, "resp.der")
		os.WriteFile(reqFile, der, 0o600)
		cmd := exec.Command(openssl, "ocsp", "-index", "index.txt", "-CA", c.RootFile, "-rsigner", c.RootFile, "-rkey", "ca.key",
			"-ndays", "1", "-reqin", reqFile, "-respout", respFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			http.Error(w, string(out), http.StatusInternalServerError)
			return
		}
		resp, err := os.ReadFile(respFile)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		answered++
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	})}
	go shim.Serve(ln)
	t.Cleanup(func() { shim.Close() })

	client := func(url string) (string, error) {
		return run(t, filepath.Join(bin, "https-client"), "--url", url, "--cert", aliceFiles.Chain, "--key", aliceFiles.Key, "--ca", c.RootFile)
	}
	goodURL := startExampleServer(t, bin, goodFiles, c.RootFile)
	if out, err := client(goodURL); err != nil || !strings.Contains(out, "Hello, CN=alice") {
		t.Fatalf("good pair with openssl ocsp as the responder: %v\n%s", err, out)
	}
	badURL := startExampleServer(t, bin, badFiles, c.RootFile)
	out, err := client(badURL)
	if err == nil || !strings.Contains(out, "https-client: refusing "+badURL) || !strings.Contains(out, "was revoked (keyCompromise) on ") ||
		!strings.Contains(out, "according to the OCSP responder at "+base+"/ocsp") {
		t.Errorf("revoked server with openssl ocsp as the responder: %v\n%s", err, out)
	}
	mu.Lock()
	if answered < 3 {
		t.Errorf("openssl answered %d OCSP requests; want at least 3 (server, client, revoked server)", answered)
	}
	mu.Unlock()
	t.Logf("client: %s", out)
}
