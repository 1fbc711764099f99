package ca_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
)

// freePort reserves a loopback port and releases it for the peer.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMutualTLSWithOpenSSL: openssl s_server -Verify and s_client complete
// mutual TLS 1.2 and 1.3 with pkid certificates on both sides.
func TestMutualTLSWithOpenSSL(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	c := pkitest.NewCA(t, pkitest.Options{})
	dir := t.TempDir()
	cases := []struct {
		kt       ca.KeyType
		versions []string
	}{
		{ca.KeyECDSAP256, []string{"-tls1_2", "-tls1_3"}},
		{ca.KeyRSA2048, []string{"-tls1_2", "-tls1_3"}},
		{ca.KeyEd25519, []string{"-tls1_3"}},
	}
	for _, tc := range cases {
		srv := pkitest.Write(t, dir, "server-"+string(tc.kt), c.Issue(t, ca.Request{Profile: "server", Subject: "CN=localhost", SANs: "DNS:localhost,IP:127.0.0.1", KeyType: tc.kt}))
		cli := pkitest.Write(t, dir, "client-"+string(tc.kt), c.Issue(t, ca.Request{Profile: "client", Subject: "CN=alice,O=Test", KeyType: tc.kt}))
		for _, v := range tc.versions {
			t.Run(string(tc.kt)+v, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				port, serverLog := startSServer(t, ctx, openssl, v, "-cert", srv.Cert, "-key", srv.Key, "-cert_chain", c.IssuingFile,
					"-CAfile", c.RootFile, "-Verify", "1", "-verify_return_error", "-naccept", "1", "-rev")
				client := exec.CommandContext(ctx, openssl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), v,
					"-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", c.RootFile,
					"-cert", cli.Cert, "-key", cli.Key, "-cert_chain", c.IssuingFile, "-verify_return_error")
				// The server echoes reversed lines only after a handshake in
				// which it verified the client's certificate.
				stdin, _ := client.StdinPipe()
				cout, _ := client.StdoutPipe()
				client.Stderr = client.Stdout
				if err := client.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { client.Process.Kill(); client.Wait() }()
				echoed := make(chan string, 1)
				go func() {
					var all strings.Builder
					sc := bufio.NewScanner(cout)
					for sc.Scan() {
						all.WriteString(sc.Text() + "\n")
						if strings.Contains(sc.Text(), "olleh") {
							echoed <- all.String()
							return
						}
						if strings.Contains(sc.Text(), "Verify return code") || strings.Contains(sc.Text(), "Verification") {
							io.WriteString(stdin, "hello\n")
						}
					}
					echoed <- all.String() + "\n(s_client ended without the echo)"
				}()
				var out string
				select {
				case out = <-echoed:
				case <-ctx.Done():
					t.Fatalf("timeout waiting for the echo\nserver:\n%s", serverLog())
				}
				stdin.Close()
				if !strings.Contains(out, "olleh") || !strings.Contains(out, "Verification: OK") {
					t.Fatalf("s_client:\n%s\nserver:\n%s", out, serverLog())
				}
				want := map[string]string{"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[v]
				if !strings.Contains(out, want) {
					t.Fatalf("not %s:\n%s", want, out)
				}
			})
		}
	}
}

// syncLog is a peer's output, written by one goroutine and read by the test.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSServer starts `openssl s_server` on a free loopback port and waits
// until it accepts; if another process took the port first it retries on
// a new one. The server is killed when the test ends.
func startSServer(t *testing.T, ctx context.Context, openssl, version string, args ...string) (port int, log func() string) {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		port = freePort(t)
		server := exec.CommandContext(ctx, openssl, append([]string{"s_server", "-accept", fmt.Sprintf("127.0.0.1:%d", port), version}, args...)...)
		out := &syncLog{}
		pr, pw := io.Pipe()
		server.Stdout, server.Stderr = pw, pw
		if err := server.Start(); err != nil {
			t.Fatal(err)
		}
		ready, exited := make(chan struct{}), make(chan struct{})
		go func() {
			sc := bufio.NewScanner(pr)
			accepted := false
			for sc.Scan() {
				out.Write([]byte(sc.Text() + "\n"))
				if !accepted && strings.Contains(sc.Text(), "ACCEPT") {
					accepted = true
					close(ready)
				}
			}
		}()
		go func() { server.Wait(); pw.Close(); close(exited) }()
		t.Cleanup(func() { server.Process.Kill(); <-exited })
		select {
		case <-ready:
			return port, out.String
		case <-exited:
			t.Logf("s_server on port %d exited before accepting (attempt %d):\n%s", port, attempt+1, out.String())
		case <-ctx.Done():
			t.Fatalf("s_server did not start:\n%s", out.String())
		}
	}
	t.Fatal("s_server could not start on three ports")
	return 0, nil
}
