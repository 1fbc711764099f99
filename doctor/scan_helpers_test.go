package doctor

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/tlsregistry"
)

// scanKey makes a self-signed certificate for localhost and 127.0.0.1 with
// an EC P-256 ("ec") or RSA-2048 ("rsa") key, writes both as PEM into dir
// and returns the paths and the parsed pair.
func scanKey(t testing.TB, dir, kind string) (certPath, keyPath string, cert *x509.Certificate, key crypto.Signer) {
	t.Helper()
	var err error
	switch kind {
	case "ec":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, kind+".pem"), filepath.Join(dir, kind+".key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, cert, key
}

// scanFreeAddr returns a loopback address with a port nobody listens on.
func scanFreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// scanOutput collects a peer's output from several goroutines.
type scanOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *scanOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *scanOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scanPeer runs a server program until the test ends and waits until
// addr accepts connections.
func scanPeer(t testing.TB, addr string, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	out := &scanOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			t.Fatalf("%s %s exited: %s", prog, strings.Join(args, " "), out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %s", prog, addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scanOpenSSL runs `openssl s_server` with the given key kind and flags.
func scanOpenSSL(t testing.TB, kind string, flags ...string) string {
	t.Helper()
	openssl := peer.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	cert, key, _, _ := scanKey(t, dir, kind)
	addr := scanFreeAddr(t)
	args := append([]string{"s_server", "-accept", addr, "-cert", cert, "-key", key, "-www", "-quiet"}, flags...)
	scanPeer(t, addr, openssl, args...)
	return addr
}

// peerView is a scanner's findings reduced to what sslscan and pkid both
// report: versions, accepted suites per version and groups per version.
type peerView struct {
	Versions []tlsregistry.Version
	Suites   map[tlsregistry.Version][]uint16
	Groups   map[tlsregistry.Version][]uint16
}

var sslscanVersions = map[string]tlsregistry.Version{
	"SSLv2": tlsregistry.SSL20, "SSLv3": tlsregistry.SSL30, "TLSv1.0": tlsregistry.TLS10,
	"TLSv1.1": tlsregistry.TLS11, "TLSv1.2": tlsregistry.TLS12, "TLSv1.3": tlsregistry.TLS13,
}

var (
	sslscanProtocol = regexp.MustCompile(`^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)`)
	sslscanSuite    = regexp.MustCompile(`^(?:Preferred|Accepted)\s+(\S+)\s+\d+\s+bits\s+(\S+)`)
	sslscanGroup    = regexp.MustCompile(`^(TLSv1\.[0-3])\s+\d+\s+bits\s+(\S+)`)
)

// parseSSLScan reads `sslscan --no-colour` output (sslscan 2.x).
func parseSSLScan(t testing.TB, out string) peerView {
	t.Helper()
	v := peerView{Suites: map[tlsregistry.Version][]uint16{}, Groups: map[tlsregistry.Version][]uint16{}}
	section := ""
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "  ") && strings.HasSuffix(line, ":") {
			section = strings.TrimSpace(line)
			continue
		}
		switch {
		case section == "SSL/TLS Protocols:":
			if m := sslscanProtocol.FindStringSubmatch(line); m != nil && m[2] == "enabled" {
				v.Versions = append(v.Versions, sslscanVersions[m[1]])
			}
		case section == "Supported Server Cipher(s):":
			if m := sslscanSuite.FindStringSubmatch(line); m != nil {
				s, ok := tlsregistry.SuiteByName(m[2])
				if !ok {
					t.Fatalf("sslscan names a suite the registry does not know: %q", line)
				}
				ver := sslscanVersions[m[1]]
				v.Suites[ver] = append(v.Suites[ver], s.Code)
			}
		case strings.HasPrefix(section, "Server Key Exchange Group"):
			if m := sslscanGroup.FindStringSubmatch(line); m != nil {
				g, ok := tlsregistry.GroupByName(m[2])
				if !ok {
					t.Fatalf("sslscan names a group the registry does not know: %q", line)
				}
				ver := sslscanVersions[m[1]]
				v.Groups[ver] = append(v.Groups[ver], g.ID)
			}
		}
	}
	v.normalize()
	return v
}

func (v *peerView) normalize() {
	slices.Sort(v.Versions)
	for k := range v.Suites {
		slices.Sort(v.Suites[k])
		v.Suites[k] = slices.Compact(v.Suites[k])
	}
	for k := range v.Groups {
		slices.Sort(v.Groups[k])
		v.Groups[k] = slices.Compact(v.Groups[k])
	}
}

// view reduces a report to a peerView.
func (r *ScanReport) view() peerView {
	v := peerView{Suites: map[tlsregistry.Version][]uint16{}, Groups: map[tlsregistry.Version][]uint16{}}
	for _, p := range r.Protocols {
		if p.Supported {
			v.Versions = append(v.Versions, p.Version)
		}
	}
	for _, l := range r.CipherSuites {
		for _, s := range l.Suites {
			v.Suites[l.Version] = append(v.Suites[l.Version], s.Code)
		}
	}
	for _, g := range r.Groups {
		v.Groups[g.Version] = append(v.Groups[g.Version], g.ID)
	}
	v.normalize()
	return v
}

func (v peerView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "versions %v\n", v.Versions)
	for _, ver := range slices.Backward(scanVersions) {
		if len(v.Suites[ver]) > 0 {
			fmt.Fprintf(&b, "%s suites %04X\n", ver, v.Suites[ver])
		}
		if len(v.Groups[ver]) > 0 {
			fmt.Fprintf(&b, "%s groups %04X\n", ver, v.Groups[ver])
		}
	}
	return b.String()
}

// runSSLScan scans addr with sslscan and returns its parsed findings.
func runSSLScan(t testing.TB, addr string) (peerView, string) {
	t.Helper()
	sslscan := peer.Need(t, "sslscan", "sslscan")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, sslscan, "--no-colour", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("sslscan %s: %v\n%s", addr, err, out)
	}
	return parseSSLScan(t, string(out)), string(out)
}

// scanFor runs Scan against addr with test-sized timeouts.
func scanFor(t testing.TB, addr string, mod ...func(*ScanOptions)) (*ScanReport, error) {
	t.Helper()
	// Generous bounds: the machine running the tests may be busy, and a
	// timed-out probe shows up as a problem, which mustScan fails on.
	opts := ScanOptions{Addr: addr, Timeout: 10 * time.Second, Deadline: 2 * time.Minute}
	for _, m := range mod {
		m(&opts)
	}
	return Scan(context.Background(), opts)
}

func mustScan(t testing.TB, addr string, mod ...func(*ScanOptions)) *ScanReport {
	t.Helper()
	rep, err := scanFor(t, addr, mod...)
	if err != nil {
		t.Fatalf("Scan(%s): %v", addr, err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("Scan(%s) problems: %q", addr, rep.Problems)
	}
	return rep
}

func reportText(r *ScanReport) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

func scanSplitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }
