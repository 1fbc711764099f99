package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert makes a certificate from tmpl (self-signed when parent is nil),
// writes it as PEM to dir/name and returns it with its key.
func writeCert(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, key
}

func lintFixtures(t *testing.T) string {
	dir := t.TempDir()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca, caKey := writeCert(t, dir, "ca.pem", caTmpl, nil, nil)
	writeCert(t, dir, "leaf.pem", &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "web.example"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"web.example"},
		SubjectKeyId: []byte{1, 2, 3, 4},
	}, ca, caKey)
	badTmpl := *caTmpl
	badTmpl.Subject = pkix.Name{CommonName: "CA without cRLSign"}
	badTmpl.KeyUsage = x509.KeyUsageCertSign
	writeCert(t, dir, "bad-ca.pem", &badTmpl, nil, nil)
	if err := os.WriteFile(filepath.Join(dir, "garbage.pem"), []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLintCommand(t *testing.T) {
	dir := lintFixtures(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{
			name:   "clean chain",
			args:   []string{p("leaf.pem"), p("ca.pem")},
			code:   0,
			stdout: []string{"CN=web.example", "CN=Test CA", "ok: no findings", "2 object(s): 0 error(s)"},
		},
		{
			name:   "CA without cRLSign",
			args:   []string{p("bad-ca.pem")},
			code:   1,
			stdout: []string{"error", "pkid_ca_without_crlsign", "crlSign bit is not set in KeyUsage", "fix: Reissue the CA"},
		},
		{
			name:      "missing file",
			args:      []string{p("leaf.pem"), p("nope.pem")},
			code:      2,
			stdout:    []string{"CN=web.example"},
			stderr:    []string{"nope.pem"},
			notStdout: []string{"nope.pem"},
		},
		{
			name:   "not a certificate",
			args:   []string{p("garbage.pem")},
			code:   2,
			stderr: []string{"garbage.pem", "no certificate or CRL found"},
		},
		{
			name:   "issuer flag",
			args:   []string{p("leaf.pem"), "--issuer", p("bad-ca.pem")},
			code:   1,
			stdout: []string{"pkid_aki_mismatch"},
		},
		{
			name:   "client purpose",
			args:   []string{"--purpose", "client", p("leaf.pem")},
			code:   1,
			stdout: []string{"pkid_client_without_clientauth"},
		},
		{name: "bad purpose", args: []string{"--purpose", "both", p("leaf.pem")}, code: 2, stderr: []string{"--purpose"}},
		{
			name:   "standard input",
			args:   []string{"-"},
			stdin:  "junk before\n" + string(mustRead(t, p("bad-ca.pem"))),
			code:   1,
			stdout: []string{"-: certificate CN=CA without cRLSign", "pkid_ca_without_crlsign"},
		},
		{name: "no files", args: nil, code: 2, stderr: []string{"usage: pkid lint"}},
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{"usage: pkid lint", "--json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"lint"}, c.args...), strings.NewReader(c.stdin), &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout.String(), stderr.String())
			}
			for _, s := range c.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range c.notStdout {
				if strings.Contains(stdout.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range c.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

func TestLintCommandJSON(t *testing.T) {
	dir := lintFixtures(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"lint", "--json", filepath.Join(dir, "ca.pem"), filepath.Join(dir, "bad-ca.pem")},
		strings.NewReader(""), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	var entries []struct {
		File     string `json:"file"`
		Kind     string `json:"kind"`
		Object   string `json:"object"`
		Findings []struct {
			Severity, ID, Source, Object, Message, Fix string
		} `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, stdout.String())
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	if len(entries[0].Findings) != 0 || entries[0].Kind != "certificate" {
		t.Errorf("clean CA entry: %+v", entries[0])
	}
	found := false
	for _, f := range entries[1].Findings {
		if f.ID == "pkid_ca_without_crlsign" && f.Severity == "error" && f.Fix != "" && f.Source == "pkid" {
			found = true
		}
	}
	if !found {
		t.Errorf("bad CA entry lacks pkid_ca_without_crlsign: %+v", entries[1])
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
