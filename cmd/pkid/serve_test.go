package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeConfig: the config file sets the data directory, flags win
// over it, a non-loopback address is refused without allow_remote, and a
// bad file is one clear sentence.
func TestServeConfig(t *testing.T) {
	t.Setenv("PKID_DIR", "")
	t.Setenv("PKID_STORE", "")
	t.Setenv("PKID_PASSPHRASE", "")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := filepath.Join(dir, "data")

	for _, tc := range []struct {
		name string
		conf string
		args []string
		code int
		err  string
	}{
		{"remote refused", `{"http": "0.0.0.0:0"}`, nil, 1, "--listen-any"},
		{"unknown key", `{"listen": "127.0.0.1:0"}`, nil, 1, `unknown field "listen"`},
		{"bad level flag", `{}`, []string{"--log-level", "loud"}, 2, "log level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			argv := append([]string{"serve", "--config", write(tc.name+".json", tc.conf), "--dir", filepath.Join(dir, "refused")}, tc.args...)
			code := run(context.Background(), argv, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.err)
			}
			if _, err := os.Stat(filepath.Join(dir, "refused", "pkid.db")); err == nil {
				t.Errorf("a refused start created the store")
			}
		})
	}

	// The file names the data directory and a remote address; --http on
	// the command line wins, so the server listens on loopback.
	conf := write("serve.json", `{"dir": "`+data+`", "http": "0.0.0.0:1", "log_format": "json"}`)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", conf, "--http", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Stop with Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d early:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after its context ended:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Created a CA in " + data, "Serving http://127.0.0.1:", filepath.Join(data, "admin.pem")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"serving"`) {
		t.Errorf("log_format json from the file not applied:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "admin.key.pem")); err != nil {
		t.Errorf("the data directory from the config file was not used: %v", err)
	}
}
