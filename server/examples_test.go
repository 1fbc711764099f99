package server_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
)

// TestExamples builds examples/https-server and examples/https-client and
// runs them against certificates of a running pkid server: mutual TLS
// works; a revoked client is refused by the server; after the server's
// certificate is revoked the client refuses it with one sentence and a
// non-zero exit.
func TestExamples(t *testing.T) {
	f := start(t, "")
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
	srvCert, srvFiles := f.issue(ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1"})
	_, alice := f.issue(ca.Request{Profile: "client", Subject: "CN=alice"})
	mallory, malloryFiles := f.issue(ca.Request{Profile: "client", Subject: "CN=mallory"})

	srv := exec.Command(filepath.Join(bin, "https-server"), "--addr", "127.0.0.1:0", "--cert", srvFiles.Chain, "--key", srvFiles.Key, "--ca", f.boot.CAFile)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		t.Logf("https-server stderr:\n%s", stderr.String())
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on https://") {
		t.Fatalf("https-server: %q %v", line, err)
	}
	_, port, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "listening on https://")), ":")
	url := "https://localhost:" + port + "/"
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
