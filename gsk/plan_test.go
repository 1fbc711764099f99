package gsk

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/tlsregistry"
)

func planLine(t *testing.T, p *EnvPlan, name string) string {
	t.Helper()
	for _, l := range p.Lines {
		if l.Name == name {
			return l.Value
		}
	}
	t.Fatalf("plan has no %s line:\n%s", name, p)
	return ""
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		req     PlanRequest
		want    map[string]string
		absent  []string
		noteHas string
	}{
		{
			name: "EC certificate, TLS 1.2 and 1.3",
			req:  PlanRequest{KeyType: KeyEC, Curve: "P-256", CertSignature: 0x0403},
			want: map[string]string{
				"GSK_PROTOCOL_TLSV1_2":         "on",
				"GSK_PROTOCOL_TLSV1_3":         "on",
				"GSK_V3_CIPHER_SPECS_EXPANDED": "130213011303C02CC02B",
				"GSK_TLS_SIG_ALG_PAIRS":        "040305030603080408050806040105010601",
				"GSK_SERVER_TLS_KEY_SHARES":    "00290023002400250030",
				"GSK_CLIENT_TLS_KEY_SHARES":    "00290023002400250030",
				"GSK_SERVER_ECURVE_LIST":       "0029002300240025",
			},
		},
		{
			name:   "EC P-384 signs with 0503 first",
			req:    PlanRequest{KeyType: KeyEC, Curve: "P-384", Role: RoleServer},
			want:   map[string]string{"GSK_TLS_SIG_ALG_PAIRS": "050304030603080408050806040105010601"},
			absent: []string{"GSK_CLIENT_TLS_KEY_SHARES"},
		},
		{
			name: "RSA certificate, TLS 1.2 only, client",
			req:  PlanRequest{KeyType: KeyRSA, Versions: []tlsregistry.Version{tlsregistry.TLS12}, Role: RoleClient},
			want: map[string]string{
				"GSK_PROTOCOL_TLSV1_3":         "off",
				"GSK_V3_CIPHER_SPECS_EXPANDED": "C030C02F009F009E",
				"GSK_TLS_SIG_ALG_PAIRS":        "080408050806040105010601040305030603",
				"GSK_CLIENT_ECURVE_LIST":       "0029002300240025",
			},
			absent: []string{"GSK_CLIENT_TLS_KEY_SHARES", "GSK_SERVER_ECURVE_LIST"},
		},
		{
			name: "peer from a scan narrows every list",
			req: PlanRequest{KeyType: KeyEC, Curve: "P-256", Peer: &Peer{
				Versions:         []tlsregistry.Version{tlsregistry.TLS12, tlsregistry.TLS13},
				Suites:           []uint16{0x1301, 0xC02B, 0xC02F, 0x0035},
				Groups:           []uint16{23, 24},
				SignatureSchemes: []uint16{0x0403, 0x0804},
			}},
			want: map[string]string{
				"GSK_V3_CIPHER_SPECS_EXPANDED": "1301C02B",
				"GSK_SERVER_TLS_KEY_SHARES":    "00230024",
				"GSK_SERVER_ECURVE_LIST":       "00230024",
			},
		},
		{
			name: "peer without TLS 1.3",
			req: PlanRequest{KeyType: KeyRSA, Peer: &Peer{
				Versions: []tlsregistry.Version{tlsregistry.TLS12},
				Suites:   []uint16{0xC030, 0xC028},
			}},
			want:    map[string]string{"GSK_PROTOCOL_TLSV1_3": "off", "GSK_V3_CIPHER_SPECS_EXPANDED": "C030"},
			absent:  []string{"GSK_SERVER_TLS_KEY_SHARES"},
			noteHas: "does not accept TLS 1.3",
		},
		{
			name:    "peer with only CBC suites",
			req:     PlanRequest{KeyType: KeyEC, Versions: []tlsregistry.Version{tlsregistry.TLS12}, Peer: &Peer{Suites: []uint16{0xC024, 0xC00A}}},
			want:    map[string]string{"GSK_V3_CIPHER_SPECS_EXPANDED": "C024C00A"},
			noteHas: "only weak (CBC)",
		},
		{
			name:    "certificate signed with SHA-1",
			req:     PlanRequest{KeyType: KeyRSA, CertSignature: 0x0201},
			want:    map[string]string{"GSK_TLS_SIG_ALG_PAIRS": "0804080508060401050106010403050306030201"},
			noteHas: "reissue it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Plan(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range tt.want {
				if got := planLine(t, p, name); got != v {
					t.Errorf("%s=%s, want %s", name, got, v)
				}
			}
			for _, name := range tt.absent {
				for _, l := range p.Lines {
					if l.Name == name {
						t.Errorf("plan has %s, want none", name)
					}
				}
			}
			if tt.noteHas != "" && !strings.Contains(strings.Join(p.Notes, "\n"), tt.noteHas) {
				t.Errorf("notes %q, want one containing %q", p.Notes, tt.noteHas)
			}
			// Every line the plan writes decodes cleanly.
			rep, err := Decode(p.String(), KindAuto)
			if err != nil {
				t.Fatalf("plan does not decode: %v\n%s", err, p)
			}
			if rep.ProblemCount() != 0 {
				t.Errorf("plan has problems: %v %v", rep.Problems, rep.Results)
			}
		})
	}
}

// TestPlanNoShared covers the blog's alert 80 / reason 434 case: an EC
// certificate while the peer offers only RSA suites such as 0x0035.
func TestPlanNoShared(t *testing.T) {
	tests := []struct {
		name string
		req  PlanRequest
		want string
	}{
		{"EC certificate, RSA-only peer", PlanRequest{KeyType: KeyEC, Versions: []tlsregistry.Version{tlsregistry.TLS12}, Peer: &Peer{Suites: []uint16{0x0035, 0x002F}}},
			"alert 80 (internal_error, reason 434). Use an RSA certificate"},
		{"RSA certificate, ECDSA-only peer", PlanRequest{KeyType: KeyRSA, Peer: &Peer{Versions: []tlsregistry.Version{tlsregistry.TLS12}, Suites: []uint16{0xC02B}}},
			"Use an EC certificate"},
		{"peer speaks only TLS 1.0", PlanRequest{KeyType: KeyRSA, Peer: &Peer{Versions: []tlsregistry.Version{tlsregistry.TLS10}}},
			"the peer accepts TLS 1.0"},
		{"no shared key share", PlanRequest{KeyType: KeyEC, Versions: []tlsregistry.Version{tlsregistry.TLS13}, Peer: &Peer{Suites: []uint16{0x1301}, Groups: []uint16{256}}},
			"no key share group"},
		{"no signature the key can make", PlanRequest{KeyType: KeyEC, Peer: &Peer{SignatureSchemes: []uint16{0x0804, 0x0401}}},
			"no signature algorithm a EC key can make"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Plan(tt.req)
			if err == nil {
				t.Fatalf("Plan succeeded:\n%s", p)
			}
			if !errors.Is(err, ErrNoShared) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrNoShared containing %q", err, tt.want)
			}
		})
	}
	if _, err := Plan(PlanRequest{KeyType: "Ed25519"}); err == nil {
		t.Error("Plan accepted an Ed25519 key type")
	}
	if _, err := Plan(PlanRequest{KeyType: KeyRSA, Versions: []tlsregistry.Version{tlsregistry.TLS10}}); err == nil {
		t.Error("Plan enabled TLS 1.0")
	}
}

func selfSigned(t *testing.T, key crypto.Signer) (*x509.Certificate, string, string) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "zos.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"zos.example"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	return cert, cf, kf
}

func TestKeyTypeOf(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cert, _, _ := selfSigned(t, ec)
	r, err := KeyTypeOf(cert)
	if err != nil || r.KeyType != KeyEC || r.Curve != "P-384" || r.CertSignature != 0x0503 {
		t.Errorf("KeyTypeOf(P-384) = %+v, %v", r, err)
	}
}

// opensslLists turns a plan into OpenSSL's -cipher, -ciphersuites, -groups
// and -sigalgs arguments through the decoder, the way an administrator
// would configure the Linux side.
func opensslLists(t *testing.T, p *EnvPlan) (cipher, suites13, groups, sigalgs string) {
	t.Helper()
	rep, err := Decode(p.String(), KindAuto)
	if err != nil {
		t.Fatal(err)
	}
	var c12, c13, gs, ss []string
	for _, res := range rep.Results {
		for _, it := range res.Items {
			switch {
			case res.Variable == "GSK_V3_CIPHER_SPECS_EXPANDED" && strings.HasPrefix(it.Versions, "TLS 1.3"):
				c13 = append(c13, it.OpenSSL)
			case res.Variable == "GSK_V3_CIPHER_SPECS_EXPANDED":
				c12 = append(c12, it.OpenSSL)
			case res.Variable == "GSK_SERVER_TLS_KEY_SHARES":
				gs = append(gs, it.OpenSSL)
			case res.Variable == "GSK_TLS_SIG_ALG_PAIRS":
				ss = append(ss, it.OpenSSL)
			}
		}
	}
	return strings.Join(c12, ":"), strings.Join(c13, ":"), strings.Join(gs, ":"), strings.Join(ss, ":")
}

// startServer runs openssl s_server on a free loopback port.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	bin := peer.Need(t, "openssl", "openssl")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"s_server", "-accept", addr, "-quiet", "-naccept", "4"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("openssl s_server did not start: %s", stderr.String())
	return ""
}

func handshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

// TestPlanWithOpenSSL proves a plan's lists form a working configuration:
// an OpenSSL server restricted to exactly the plan's suites, groups and
// signature algorithms (for an EC and for an RSA certificate) completes
// TLS 1.2 and TLS 1.3 handshakes, and negotiates a suite from the plan.
func TestPlanWithOpenSSL(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, key := range []crypto.Signer{ec, rk} {
		cert, cf, kf := selfSigned(t, key)
		req, err := KeyTypeOf(cert)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(req.KeyType), func(t *testing.T) {
			p, err := Plan(req)
			if err != nil {
				t.Fatal(err)
			}
			c12, c13, groups, sigalgs := opensslLists(t, p)
			addr := startServer(t, "-cert", cf, "-key", kf, "-cipher", c12, "-ciphersuites", c13, "-groups", groups, "-sigalgs", sigalgs)
			planned := planLine(t, p, "GSK_V3_CIPHER_SPECS_EXPANDED")
			for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				st, err := handshake(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
				if err != nil {
					t.Fatalf("%s handshake with the planned lists failed: %v", tls.VersionName(v), err)
				}
				code := fmt.Sprintf("%04X", st.CipherSuite)
				if !strings.Contains(planned, code) {
					t.Errorf("%s negotiated %s, not in the plan %s", tls.VersionName(v), code, planned)
				}
			}
		})
	}
}

// TestAlert80CaseWithOpenSSL reproduces the blog's failure with a real
// server: an EC certificate and only RSA key-exchange suites (0x0035). The
// handshake fails as on z/OS, and Plan, given the scan of that server,
// explains it instead of producing a list that cannot work.
func TestAlert80CaseWithOpenSSL(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, cf, kf := selfSigned(t, ec)
	addr := startServer(t, "-cert", cf, "-key", kf, "-cipher", "AES256-SHA", "-no_tls1_3")
	if st, err := handshake(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_256_CBC_SHA}}); err == nil {
		t.Fatalf("handshake with an EC certificate and only 0x0035 succeeded (suite 0x%04X)", st.CipherSuite)
	}
	req, _ := KeyTypeOf(cert)
	req.Peer = &Peer{Versions: []tlsregistry.Version{tlsregistry.TLS12}, Suites: []uint16{0x0035}}
	_, err := Plan(req)
	if !errors.Is(err, ErrNoShared) || !strings.Contains(err.Error(), "alert 80") {
		t.Errorf("Plan error %v, want the alert 80 explanation", err)
	}
}
