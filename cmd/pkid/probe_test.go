package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsServer serves TLS handshakes on a loopback port with a self-signed
// certificate for 127.0.0.1 and returns the address and the CA file.
func tlsServer(t *testing.T) (addr, caFile string) {
	t.Helper()
	dir := t.TempDir()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "probe test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	cert, key := writeCert(t, dir, "ca.pem", tmpl, nil, nil)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Read(make([]byte, 1))
			}()
		}
	}()
	return l.Addr().String(), filepath.Join(dir, "ca.pem")
}

func TestProbeCommand(t *testing.T) {
	addr, ca := tlsServer(t)
	keylog := filepath.Join(t.TempDir(), "keys.log")
	keylog12 := filepath.Join(t.TempDir(), "keys12.log")
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"verified", []string{"probe", addr, "--ca", ca, "--no-revocation"}, 0, "none: the handshake and the verification succeeded", ""},
		{"untrusted", []string{"probe", addr, "--no-revocation"}, 1, "[untrusted_chain]", ""},
		{"tls1.2", []string{"probe", addr, "--ca", ca, "--tls1.2", "--no-revocation"}, 0, "version:               TLS 1.2", ""},
		{"keylog", []string{"probe", addr, "--ca", ca, "--keylog", keylog, "--no-revocation"}, 0, "TLS 1.3", ""},
		{"keylog tls1.2", []string{"probe", addr, "--ca", ca, "--keylog", keylog12, "--tls1.2", "--no-revocation"}, 0, "TLS 1.2", ""},
		{"closed port", []string{"probe", "127.0.0.1:1"}, 1, "[connection_refused]", ""},
		{"no address", []string{"probe"}, 2, "", "name one server"},
		{"both versions", []string{"probe", addr, "--tls1.2", "--tls1.3"}, 2, "", "exclude each other"},
		{"bad starttls", []string{"probe", addr, "--starttls", "xmpp"}, 2, "", "--starttls must be"},
		{"cert without key", []string{"probe", addr, "--cert", ca}, 2, "", "--cert and --key go together"},
		{"bad address", []string{"probe", "nowhere"}, 2, "", "want HOST:PORT"},
		{"scan seam", []string{"probe", addr, "--scan"}, 1, "", "--scan is not available yet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, out.String())
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, errOut.String())
			}
		})
	}
	b, err := os.ReadFile(keylog)
	if err != nil || !strings.Contains(string(b), "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") {
		t.Errorf("key log lacks NSS TLS 1.3 secrets: %v\n%s", err, b)
	}
	b, err = os.ReadFile(keylog12)
	if err != nil || !strings.HasPrefix(string(b), "CLIENT_RANDOM ") {
		t.Errorf("key log lacks the NSS TLS 1.2 line: %v\n%s", err, b)
	}
}

func TestProbeCommandJSON(t *testing.T) {
	addr, ca := tlsServer(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"probe", addr, "--ca", ca, "--json", "--tls1.2", "--no-revocation"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	var r struct {
		Version     string `json:"version"`
		CipherSuite struct {
			Hex, IANA string
		} `json:"cipher_suite"`
		Chain []struct {
			Subject string `json:"subject"`
		} `json:"chain"`
		Verification struct {
			Verified bool `json:"verified"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if r.Version != "TLS 1.2" || r.CipherSuite.Hex == "" || !strings.HasPrefix(r.CipherSuite.IANA, "TLS_ECDHE_ECDSA_") || len(r.Chain) != 1 || r.Chain[0].Subject != "CN=probe test" || !r.Verification.Verified {
		t.Errorf("JSON report: %+v", r)
	}
}
