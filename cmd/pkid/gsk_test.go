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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

func runGskCLI(t *testing.T, stdin string, argv ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), argv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGskCLI(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "LDAP on z/OS"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := "GSK_PROTOCOL_TLSV1_3=on\nGSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302\n"

	tests := []struct {
		name      string
		stdin     string
		argv      []string
		code      int
		stdout    []string // substrings
		stderr    string
		notStdout string
	}{
		{name: "decode an argument", argv: []string{"gsk", "decode", "GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302"},
			stdout: []string{"C02C  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384  ECDHE-ECDSA-AES256-GCM-SHA384", "1302  TLS_AES_256_GCM_SHA384", "weak: CBC mode"}},
		{name: "decode stdin", stdin: env, argv: []string{"gsk", "decode", "-"},
			stdout: []string{"GSK_V3_CIPHER_SPECS_EXPANDED (line 2;", "not decoded:", "line 1: GSK_PROTOCOL_TLSV1_3"}},
		{name: "decode several arguments", argv: []string{"gsk", "decode", "GSK_SERVER_TLS_KEY_SHARES=00300029", "GSK_TLS_SIG_ALG_PAIRS=0403"},
			stdout: []string{"0030  x448", "0403  ecdsa_secp256r1_sha256"}},
		{name: "bare value with kind", argv: []string{"gsk", "decode", "--kind", "group", "00300029002500240023"},
			stdout: []string{"0023  secp256r1  prime256v1"}},
		{name: "problems exit 1", argv: []string{"gsk", "decode", "GSK_TLS_SIG_ALG_PAIRS=0601050104010301080608050804050304030403"},
			code: 1, stdout: []string{"position 10: 0403 appears again"}, stderr: "1 problem(s) found"},
		{name: "ambiguous asks for kind", argv: []string{"gsk", "decode", "00300029002500240023"},
			code: 1, stderr: "pass --kind"},
		{name: "odd length names the position", argv: []string{"gsk", "decode", "GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02"},
			code: 1, stderr: "character 5"},
		{name: "empty stdin", argv: []string{"gsk", "decode", "-"}, code: 1, stderr: "nothing to decode"},
		{name: "decode without arguments", argv: []string{"gsk", "decode"}, code: 2, stderr: "usage: pkid gsk"},
		{name: "encode suites", argv: []string{"gsk", "encode", "--kind", "cipher", "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"},
			stdout: []string{"GSK_V3_CIPHER_SPECS_EXPANDED=1301C02C\n"}},
		{name: "encode OpenSSL colon list", argv: []string{"gsk", "encode", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"},
			stdout: []string{"GSK_V3_CIPHER_SPECS_EXPANDED=C02BC02F\n"}},
		{name: "encode sigalgs", argv: []string{"gsk", "encode", "rsa_pss_rsae_sha256", "ECDSA+SHA256"},
			stdout: []string{"GSK_TLS_SIG_ALG_PAIRS=08040403\n"}},
		{name: "encode groups prints a bare value", argv: []string{"gsk", "encode", "x25519", "P-256"},
			stdout: []string{"00290023\n"}, notStdout: "="},
		{name: "encode legacy", argv: []string{"gsk", "encode", "--kind", "cipher2", "AES256-SHA"}, stdout: []string{"GSK_V3_CIPHER_SPECS=35\n"}},
		{name: "encode unknown", argv: []string{"gsk", "encode", "--kind", "cipher", "TLS_NOPE"}, code: 1, stderr: `"TLS_NOPE" is not a cipher suite name`},
		{name: "plan for an EC certificate", argv: []string{"gsk", "plan", "--cert", certFile},
			stdout: []string{"(EC P-256 key)", "GSK_V3_CIPHER_SPECS_EXPANDED=130213011303C02CC02B\n", "GSK_PROTOCOL_TLSV1_3=on", "GSK_SERVER_TLS_KEY_SHARES=00290023002400250030", "GSK_TLS_SIG_ALG_PAIRS=0403"}},
		{name: "plan TLS 1.2 server", argv: []string{"gsk", "plan", "--cert", certFile, "--versions", "1.2", "--role", "server"},
			stdout: []string{"GSK_PROTOCOL_TLSV1_3=off", "GSK_SERVER_ECURVE_LIST="}, notStdout: "GSK_CLIENT"},
		{name: "plan --peer closed port", argv: []string{"gsk", "plan", "--cert", certFile, "--peer", closedAddr(t)}, code: 1, stderr: "scan 127.0.0.1:"},
		{name: "plan without cert", argv: []string{"gsk", "plan"}, code: 2, stderr: "needs --cert"},
		{name: "plan with a missing cert", argv: []string{"gsk", "plan", "--cert", filepath.Join(t.TempDir(), "nope.pem")}, code: 1, stderr: "read certificate"},
		{name: "unknown subcommand", argv: []string{"gsk", "explain"}, code: 2, stderr: `unknown gsk subcommand "explain"`},
		{name: "bad kind", argv: []string{"gsk", "decode", "--kind", "x", "00"}, code: 2, stderr: "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runGskCLI(t, tt.stdin, tt.argv...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if tt.notStdout != "" && strings.Contains(out, tt.notStdout) {
				t.Errorf("stdout has %q:\n%s", tt.notStdout, out)
			}
			if tt.stderr != "" && !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.stderr)
			}
		})
	}
}

func TestGskDecodeJSON(t *testing.T) {
	code, out, errOut := runGskCLI(t, "", "gsk", "decode", "--json", "GSK_SERVER_TLS_KEY_SHARES=003000290021")
	if code != 1 { // 0021 cannot be a TLS 1.3 key share
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Results []struct {
			Variable string
			Kind     string
			Items    []struct {
				Code, IANA, OpenSSL, Verdict string
				Value                        int
			}
			Problems []struct {
				Position int
				Message  string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	r := rep.Results[0]
	if r.Variable != "GSK_SERVER_TLS_KEY_SHARES" || r.Kind != "group" || len(r.Items) != 3 ||
		r.Items[1].IANA != "x25519" || r.Items[1].Value != 29 || r.Items[1].OpenSSL != "X25519" || r.Items[1].Verdict != "fine" {
		t.Errorf("unexpected JSON: %+v", r)
	}
	if len(r.Problems) != 1 || r.Problems[0].Position != 3 {
		t.Errorf("problems %+v, want one at position 3", r.Problems)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestGskPlanPeer plans for an EC certificate against a real openssl
// s_server that accepts one TLS 1.2 suite, one TLS 1.3 suite and one group:
// the plan must offer exactly what that peer takes.
func TestGskPlanPeer(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)

	var addr string
	for try := 0; ; try++ {
		addr = closedAddr(t)
		cmd := exec.Command(openssl, "s_server", "-accept", addr, "-cert", certFile, "-key", keyFile,
			"-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "P-256", "-quiet")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if waitListening(addr, 5*time.Second) {
			break
		}
		if try == 3 {
			t.Fatalf("openssl s_server did not listen on %s", addr)
		}
	}
	code, out, errOut := runGskCLI(t, "", "gsk", "plan", "--cert", certFile, "--peer", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"GSK_V3_CIPHER_SPECS_EXPANDED=1301C02B\n", "GSK_SERVER_TLS_KEY_SHARES=0023\n", "GSK_PROTOCOL_TLSV1_3=on"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func waitListening(addr string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return true
		}
	}
	return false
}
