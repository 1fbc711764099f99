package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// crlRun runs one pkid command line in-process.
func crlRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// crlTestOpenSSLDir writes what an `openssl ca` directory holds: a CA
// certificate and key, an index.txt with valid, revoked and expired
// lines, a crlnumber file and newcerts/ with one certificate.
func crlTestOpenSSLDir(t *testing.T) (dir string, leafSerial string) {
	t.Helper()
	dir = t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Legacy CA", Organization: []string{"Legacy"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(0x1000), Subject: pkix.Name{CommonName: "legacy leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour),
	}, caCert, leafKey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	leafKeyDER, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	index := "V\t271124020000Z\t\t1000\tunknown\t/CN=legacy leaf\n" +
		"R\t271124020000Z\t261101000000Z,keyCompromise\t1001\tunknown\t/O=Legacy/CN=gone\n" +
		"R\t271124020000Z\t261101000000Z,certificateHold\t1002\tunknown\t/O=Legacy/CN=held\n" +
		"E\t250101000000Z\t\t1003\tunknown\t/O=Legacy/CN=old\n"
	files := map[string][]byte{
		"ca.pem":            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"ca.key":            pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"leaf.key":          pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER}),
		"index.txt":         []byte(index),
		"crlnumber":         []byte("0F\n"),
		"newcerts/1000.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		"bad-index.txt":     []byte(index + "R\t271124020000Z\t261101000000Z,stolen\t1004\tunknown\t/CN=x\n"),
		"passphrase":        []byte("s3cret\n"),
		"p12-password":      []byte("p12 pass\n"),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, "1000"
}

func TestCLIImportCRLExport(t *testing.T) {
	src, leaf := crlTestOpenSSLDir(t)
	s := func(n string) string { return filepath.Join(src, n) }
	data := filepath.Join(t.TempDir(), "pkid-data")
	g := []string{"--dir", data, "--passphrase-file", s("passphrase")}

	// Bad input changes nothing: the data directory is not even created.
	for name, args := range map[string][]string{
		"missing key file": {"import", "openssl", "--ca-cert", s("ca.pem"), "--ca-key", s("nosuch.key"), "--index", s("index.txt")},
		"corrupt index":    {"import", "openssl", "--ca-cert", s("ca.pem"), "--ca-key", s("ca.key"), "--index", s("bad-index.txt")},
		"wrong key":        {"import", "openssl", "--ca-cert", s("ca.pem"), "--ca-key", s("leaf.key"), "--index", s("index.txt")},
		"no source":        {"import", "--ca-cert", s("ca.pem"), "--ca-key", s("ca.key"), "--index", s("index.txt")},
	} {
		code, _, stderr := crlRun(t, append(args, g...)...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
		if name == "corrupt index" && !strings.Contains(stderr, "index line 5") {
			t.Errorf("corrupt index: %q lacks the line number", stderr)
		}
		if _, err := os.Stat(filepath.Join(data, "pkid.db")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: the store exists after a failed import (%v)", name, err)
		}
	}

	code, _, stderr := crlRun(t, append([]string{"import", "openssl", "--ca-cert", s("ca.pem"), "--ca-key", s("ca.key"),
		"--index", s("index.txt"), "--crlnumber", s("crlnumber"), "--certs", s("newcerts")}, g...)...)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	for _, want := range []string{`imported CA "imported"`, "1 valid, 2 revoked, 1 expired", "1 with their certificate", "encrypted", "next CRL number 15", "next: pkid crl"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("import said %q, want %q in it", stderr, want)
		}
	}

	crlFile := filepath.Join(t.TempDir(), "crl.pem")
	code, _, stderr = crlRun(t, append([]string{"crl", "--out", crlFile}, g...)...)
	if code != 0 {
		t.Fatalf("crl: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `CRL 15 of CA "imported": 2 revoked`) || !strings.Contains(stderr, "openssl verify") {
		t.Errorf("crl said %q", stderr)
	}
	blk, _ := pem.Decode(crlRead(t, crlFile))
	if blk == nil || blk.Type != "X509 CRL" {
		t.Fatalf("crl --out wrote no PEM CRL")
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range crl.RevokedCertificateEntries {
		got[e.SerialNumber.Text(16)] = e.ReasonCode
	}
	if len(got) != 2 || got["1001"] != 1 || got["1002"] != 6 {
		t.Errorf("CRL entries %v", got)
	}

	// DER to stdout, and a delta CRL.
	code, stdout, stderr := crlRun(t, append([]string{"crl", "--der", "--delta"}, g...)...)
	if code != 0 {
		t.Fatalf("crl --delta: exit %d: %s", code, stderr)
	}
	if _, err := x509.ParseRevocationList([]byte(stdout)); err != nil || !strings.Contains(stderr, "delta CRL (base 15) 16") {
		t.Errorf("crl --der --delta: %v; %q", err, stderr)
	}
	if code, _, stderr := crlRun(t, append([]string{"crl", "--ca", "nosuch"}, g...)...); code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Errorf("crl --ca nosuch: exit %d, %q", code, stderr)
	}
	if code, _, _ := crlRun(t, "crl", "--dir", data); code != 1 {
		t.Errorf("crl without the passphrase: exit %d, want 1", code)
	}

	// Export: a p12 with a generated password, and with a password file.
	p12File := filepath.Join(t.TempDir(), "leaf.p12")
	code, _, stderr = crlRun(t, append([]string{"export", leaf, "--format", "p12", "--key", s("leaf.key"), "--out", p12File}, g...)...)
	if code != 0 {
		t.Fatalf("export p12: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`p12 password \(shown once\): (\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("export printed no password: %q", stderr)
	}
	if k, c, _, err := pkcs12.DecodeChain(crlRead(t, p12File), m[1]); err != nil || k == nil || c.SerialNumber.Int64() != 0x1000 {
		t.Errorf("exported p12: %v", err)
	}
	if fi, _ := os.Stat(p12File); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("p12 file mode %v, want 0600", fi.Mode())
	}
	code, stdout, stderr = crlRun(t, append([]string{"export", "ca", "--format", "p12", "--password-file", s("p12-password")}, g...)...)
	if code != 0 || strings.Contains(stderr, "shown once") {
		t.Fatalf("export ca p12: exit %d: %s", code, stderr)
	}
	if certs, err := pkcs12.DecodeTrustStore([]byte(stdout), "p12 pass"); err != nil || len(certs) != 1 {
		t.Errorf("export ca p12: %d certificates, %v", len(certs), err)
	}
	code, stdout, _ = crlRun(t, append([]string{"export", s("newcerts/1000.pem"), "--format", "der"}, g...)...)
	if c, err := x509.ParseCertificate([]byte(stdout)); code != 0 || err != nil || c.SerialNumber.Int64() != 0x1000 {
		t.Errorf("export CERTFILE --format der: exit %d, %v", code, err)
	}
	code, stdout, _ = crlRun(t, append([]string{"export", "ca", "--format", "chain"}, g...)...)
	if code != 0 || strings.Count(stdout, "BEGIN CERTIFICATE") != 1 {
		t.Errorf("export ca chain: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := crlRun(t, append([]string{"export", "1001", "--format", "pem"}, g...)...); code != 1 || !strings.Contains(stderr, "only the index entry") {
		t.Errorf("export of an entry without its certificate: exit %d, %q", code, stderr)
	}
	if code, _, _ := crlRun(t, append([]string{"export", leaf, "--format", "jks"}, g...)...); code != 2 {
		t.Errorf("export --format jks: exit %d, want 2", code)
	}
}

// TestCLICRLConcurrent runs `pkid crl` from several goroutines, each with
// its own store handle as separate processes would have: CRL numbers never
// repeat.
func TestCLICRLConcurrent(t *testing.T) {
	src, _ := crlTestOpenSSLDir(t)
	s := func(n string) string { return filepath.Join(src, n) }
	data := filepath.Join(t.TempDir(), "pkid-data")
	if code, _, stderr := crlRun(t, "import", "openssl", "--dir", data, "--ca-cert", s("ca.pem"), "--ca-key", s("ca.key"), "--index", s("index.txt")); code != 0 {
		t.Fatal(stderr)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[int64]bool{}
	)
	for range 3 {
		wg.Go(func() {
			for range 4 {
				code, stdout, stderr := crlRun(t, "crl", "--der", "--dir", data)
				if code != 0 {
					t.Error(stderr)
					return
				}
				crl, err := x509.ParseRevocationList([]byte(stdout))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[crl.Number.Int64()] {
					t.Errorf("CRL number %v handed out twice", crl.Number)
				}
				seen[crl.Number.Int64()] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 12 {
		t.Errorf("%d distinct CRL numbers, want 12", len(seen))
	}
}

// TestCLICRLProcesses runs `pkid crl` in several OS processes at once
// (this test binary re-executed as pkid): CRL numbers never repeat.
func TestCLICRLProcesses(t *testing.T) {
	src, _ := crlTestOpenSSLDir(t)
	s := func(n string) string { return filepath.Join(src, n) }
	data := filepath.Join(t.TempDir(), "pkid-data")
	if code, _, stderr := crlRun(t, "import", "openssl", "--dir", data, "--ca-cert", s("ca.pem"), "--ca-key", s("ca.key"), "--index", s("index.txt")); code != 0 {
		t.Fatal(stderr)
	}
	const procs = 6
	out := t.TempDir()
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestCRLHelperProcess$")
		cmds[i].Env = append(os.Environ(), "PKID_CRL_HELPER=crl --der --dir "+data+" --out "+filepath.Join(out, fmt.Sprint(i)))
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]bool{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		crl, err := x509.ParseRevocationList(crlRead(t, filepath.Join(out, fmt.Sprint(i))))
		if err != nil {
			t.Fatal(err)
		}
		if seen[crl.Number.Int64()] {
			t.Errorf("CRL number %v made by two processes", crl.Number)
		}
		seen[crl.Number.Int64()] = true
	}
}

// TestCRLHelperProcess is pkid itself when TestCLICRLProcesses starts this
// binary with PKID_CRL_HELPER set; otherwise it does nothing.
func TestCRLHelperProcess(t *testing.T) {
	args := os.Getenv("PKID_CRL_HELPER")
	if args == "" {
		return
	}
	os.Exit(run(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
}

func crlRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
