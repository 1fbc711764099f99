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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store/sqlite"
)

// caRun runs one pkid command line in-process with empty stdin (not a
// terminal).
func caRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func caMust(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := caRun(t, args...)
	if code != 0 {
		t.Fatalf("pkid %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// caList returns `pkid list --json` as parsed JSON.
func caList(t *testing.T, dir string, extra ...string) []certJSON {
	t.Helper()
	var list []certJSON
	if err := json.Unmarshal([]byte(caMust(t, append([]string{"list", "--dir", dir, "--json"}, extra...)...)), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// caSnapshot is the store's observable state, to check a failed command
// changed nothing.
func caSnapshot(t *testing.T, dir string) string {
	t.Helper()
	b, _ := json.Marshal(caList(t, dir))
	return string(b)
}

func TestCLICALifecycle(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	out := caMust(t, "init", "--dir", dir, "--url", "http://127.0.0.1:8080", "--ldap-url", "ldap://127.0.0.1:1389")
	if !strings.Contains(out, "pkid issue --dir "+dir+" --profile server") || !strings.Contains(out, "NOT encrypted") {
		t.Fatalf("init output lacks the next command:\n%s", out)
	}
	for _, f := range []string{"ca.pem", "chain.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	chain, _ := os.ReadFile(filepath.Join(dir, "chain.pem"))
	if n := strings.Count(string(chain), "BEGIN CERTIFICATE"); n != 2 {
		t.Fatalf("chain.pem has %d certificates", n)
	}

	prefix := filepath.Join(work, "www")
	out = caMust(t, "issue", "--dir", dir, "--profile", "server", "--subject", "CN=www.example.org,O=Example", "--san", "DNS:www.example.org,IP:127.0.0.1", "--out", prefix)
	if !strings.Contains(out, "openssl verify -CAfile") {
		t.Fatalf("issue output lacks the next command:\n%s", out)
	}
	st, err := os.Stat(prefix + ".key.pem")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	leafChain, _ := os.ReadFile(prefix + ".chain.pem")
	if n := strings.Count(string(leafChain), "BEGIN CERTIFICATE"); n != 3 {
		t.Fatalf("chain has %d certificates, want leaf + issuing + root", n)
	}

	// A CSR: no key file is written.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, key)
	csrFile := filepath.Join(work, "alice.csr")
	os.WriteFile(csrFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), 0o644)
	caMust(t, "issue", "--dir", dir, "--profile", "client", "--csr", csrFile, "--days", "30", "--out", filepath.Join(work, "alice"))
	if _, err := os.Stat(filepath.Join(work, "alice.key.pem")); !os.IsNotExist(err) {
		t.Fatal("a key file was written for a CSR")
	}

	list := caList(t, dir)
	if len(list) != 3 { // issuing CA, www, alice
		t.Fatalf("list: %+v", list)
	}
	var www certJSON
	for _, c := range list {
		if c.Subject == "CN=www.example.org,O=Example" {
			www = c
		}
	}
	if www.Status != "valid" || www.Profile != "server" || len(www.Serial) != 32 {
		t.Fatalf("www in list: %+v", www)
	}
	if got := caList(t, dir, "--expiring-within", "31d"); len(got) != 1 || got[0].Subject != "CN=alice" {
		t.Fatalf("expiring within 31d: %+v", got)
	}
	if txt := caMust(t, "list", "--dir", dir); !strings.Contains(txt, "SERIAL") || !strings.Contains(txt, www.Serial) {
		t.Fatalf("list table:\n%s", txt)
	}

	// show by serial (lower case) and by file agree.
	var bySerial, byFile certJSON
	json.Unmarshal([]byte(caMust(t, "show", "--dir", dir, strings.ToLower(www.Serial), "--json")), &bySerial)
	json.Unmarshal([]byte(caMust(t, "show", prefix+".pem", "--dir", dir, "--json")), &byFile)
	if bySerial.Serial != www.Serial || byFile.Serial != www.Serial || strings.Join(byFile.SANs, ",") != "DNS:www.example.org,IP:127.0.0.1" ||
		byFile.CRLDistribution[0] != "http://127.0.0.1:8080/crl/issuing.crl" || byFile.Status != "valid" {
		t.Fatalf("show: %+v / %+v", bySerial, byFile)
	}
	if txt := caMust(t, "show", "--dir", dir, www.Serial); !strings.Contains(txt, "Ext key usage     serverAuth") {
		t.Fatalf("show text:\n%s", txt)
	}

	// Hold, release, revoke.
	caMust(t, "revoke", "--dir", dir, prefix+".pem", "--reason", "certificateHold")
	if got := caList(t, dir, "--status", "revoked"); len(got) != 1 || got[0].Status != "on-hold" {
		t.Fatalf("after hold: %+v", got)
	}
	caMust(t, "revoke", "--dir", dir, www.Serial, "--release")
	caMust(t, "revoke", "--dir", dir, www.Serial, "--reason", "certificateHold")
	caMust(t, "revoke", "--dir", dir, www.Serial, "--reason", "removeFromCRL")
	out = caMust(t, "revoke", "--dir", dir, www.Serial, "--reason", "keyCompromise", "--invalidity-date", "2020-01-02")
	if !strings.Contains(out, "pkid crl --dir "+dir) {
		t.Fatalf("revoke output lacks the next command:\n%s", out)
	}
	json.Unmarshal([]byte(caMust(t, "show", "--dir", dir, www.Serial, "--json")), &bySerial)
	if bySerial.Status != "revoked" || bySerial.Reason != "keyCompromise" || bySerial.InvalidityDate == nil || !bySerial.InvalidityDate.Equal(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after revoke: %+v", bySerial)
	}

	// Every command's --help has an example.
	for _, name := range []string{"init", "issue", "list", "show", "revoke"} {
		code, help, _ := caRun(t, name, "--help")
		if code != 0 || !strings.Contains(help, "example:\n  pkid "+name) {
			t.Errorf("pkid %s --help lacks an example:\n%s", name, help)
		}
	}
}

// TestCLIBadInput: each bad command line exits non-zero with one clear
// line on stderr and leaves the store unchanged.
func TestCLIBadInput(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	caMust(t, "init", "--dir", dir)
	leaf := filepath.Join(work, "leaf")
	caMust(t, "issue", "--dir", dir, "--profile", "client", "--subject", "CN=leaf", "--out", leaf)
	revoked := filepath.Join(work, "revoked")
	caMust(t, "issue", "--dir", dir, "--profile", "client", "--subject", "CN=revoked", "--out", revoked)
	caMust(t, "revoke", "--dir", dir, revoked+".pem", "--reason", "superseded")

	badCSR := filepath.Join(work, "bad.csr")
	os.WriteFile(badCSR, []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIBzzCCAXQ=\n-----END CERTIFICATE REQUEST-----\n"), 0o644)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	der[len(der)-3] ^= 0x10
	forged := filepath.Join(work, "forged.csr")
	os.WriteFile(forged, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	out := func(n string) string { return filepath.Join(work, n) }

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown profile", []string{"issue", "--profile", "web", "--subject", "CN=a", "--out", out("a")}, 1, `unknown profile "web"`},
		{"missing profile", []string{"issue", "--subject", "CN=a", "--out", out("a")}, 2, "--profile is required"},
		{"unknown key type", []string{"issue", "--profile", "client", "--subject", "CN=a", "--key-type", "dsa", "--out", out("a")}, 1, `unknown key type "dsa"`},
		{"san syntax", []string{"issue", "--profile", "server", "--subject", "CN=a", "--san", "DNS:a.org,IP:1.2.3", "--out", out("a")}, 1, `SAN "IP:1.2.3"`},
		{"subject syntax", []string{"issue", "--profile", "client", "--subject", "CN=a,FOO=b", "--out", out("a")}, 1, "FOO: unknown attribute type"},
		{"subject country", []string{"issue", "--profile", "client", "--subject", "CN=a,C=United Kingdom", "--out", out("a")}, 1, "two capital letters"},
		{"not-after beyond issuer", []string{"issue", "--profile", "client", "--subject", "CN=a", "--not-after", "2099-01-01", "--out", out("a")}, 1, "beyond the expiry of CA"},
		{"bad date", []string{"issue", "--profile", "client", "--subject", "CN=a", "--not-after", "tomorrow", "--out", out("a")}, 1, "not a date"},
		{"malformed csr", []string{"issue", "--profile", "client", "--csr", badCSR, "--out", out("a")}, 1, "malformed CSR"},
		{"forged csr", []string{"issue", "--profile", "client", "--csr", forged, "--out", out("a")}, 1, "signature does not verify"},
		{"out exists", []string{"issue", "--profile", "client", "--subject", "CN=a", "--out", leaf}, 1, "exists; choose another --out"},
		{"unknown reason", []string{"revoke", leaf + ".pem", "--reason", "stolen"}, 1, `unknown revocation reason "stolen"`},
		{"missing reason", []string{"revoke", leaf + ".pem"}, 2, "--reason is required"},
		{"unknown serial", []string{"revoke", "0123456789ABCDEF", "--reason", "keyCompromise"}, 1, "no certificate with serial 0123456789ABCDEF"},
		{"second revocation", []string{"revoke", revoked + ".pem", "--reason", "keyCompromise"}, 1, "already revoked (superseded"},
		{"release not on hold", []string{"revoke", leaf + ".pem", "--release"}, 1, "not on hold"},
		{"show unknown serial", []string{"show", "ABCDEF"}, 1, "no certificate with serial ABCDEF"},
		{"bad status", []string{"list", "--status", "gone"}, 2, "use valid, revoked or expired"},
		{"init twice", []string{"init"}, 1, "already has a CA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := caSnapshot(t, dir)
			code, stdout, stderr := caRun(t, append(tc.args, "--dir", dir)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q does not contain %q\nstdout: %s", code, tc.code, stderr, tc.want, stdout)
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr is more than one line: %q", stderr)
			}
			if after := caSnapshot(t, dir); after != before {
				t.Fatalf("store changed:\n%s\n%s", before, after)
			}
		})
	}

	// A missing data directory is named, and not created.
	missing := filepath.Join(work, "nope")
	for _, args := range [][]string{{"issue", "--profile", "client", "--subject", "CN=a", "--out", out("m")}, {"list"}, {"revoke", "01", "--reason", "superseded"}} {
		code, _, stderr := caRun(t, append(args, "--dir", missing)...)
		if code != 1 || !strings.Contains(stderr, "no pkid data directory at "+missing) {
			t.Errorf("pkid %s with a missing dir: exit %d, %q", args[0], code, stderr)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("pkid %s created %s", args[0], missing)
		}
	}
}

func TestCLIPassphrase(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	t.Setenv("PKID_PASSPHRASE", "s3cret pass")
	out := caMust(t, "init", "--dir", dir, "--single", "--name", "CN=Lab CA,O=Lab")
	if !strings.Contains(out, "encrypted with your passphrase") {
		t.Fatalf("init:\n%s", out)
	}
	caMust(t, "issue", "--dir", dir, "--profile", "client", "--subject", "CN=a", "--out", filepath.Join(work, "a"))

	passFile := filepath.Join(work, "pass")
	os.WriteFile(passFile, []byte("wrong\n"), 0o600)
	before := caSnapshot(t, dir)
	code, _, stderr := caRun(t, "issue", "--dir", dir, "--passphrase-file", passFile, "--profile", "client", "--subject", "CN=b", "--out", filepath.Join(work, "b"))
	if code != 1 || !strings.HasPrefix(stderr, `pkid issue: wrong passphrase for the key of CA "ca" in `+dir) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("wrong passphrase: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "b.pem")); !os.IsNotExist(err) {
		t.Fatal("files written despite the wrong passphrase")
	}
	os.WriteFile(passFile, []byte("s3cret pass\n"), 0o600)
	t.Setenv("PKID_PASSPHRASE", "")
	caMust(t, "issue", "--dir", dir, "--passphrase-file", passFile, "--profile", "client", "--subject", "CN=b", "--out", filepath.Join(work, "b"))
	code, _, stderr = caRun(t, "issue", "--dir", dir, "--profile", "client", "--subject", "CN=c", "--out", filepath.Join(work, "c"))
	if code != 1 || !strings.Contains(stderr, "--passphrase-file FILE, the PKID_PASSPHRASE environment variable, or run pkid on a terminal") {
		t.Fatalf("no passphrase: exit %d, %q", code, stderr)
	}
	if after := caSnapshot(t, dir); after == before || len(caList(t, dir)) != 2 {
		t.Fatalf("expected exactly the two good issuances: %s", after)
	}
}

// TestCLIParallelProcesses: 8 `pkid issue` processes on one data directory
// all succeed, with unique serials.
func TestCLIParallelProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "pkid")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(work, "data")
	if out, err := exec.Command(bin, "init", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	const procs = 8
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "issue", "--dir", dir, "--profile", "server",
				"--subject", fmt.Sprintf("CN=host%d.example.org", i), "--out", filepath.Join(work, fmt.Sprint("h", i))).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("process %d: %v\n%s", i, err, out)
			}
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	list := caList(t, dir)
	var serials []string
	for _, c := range list {
		serials = append(serials, c.Serial)
	}
	sort.Strings(serials)
	for i := 1; i < len(serials); i++ {
		if serials[i] == serials[i-1] {
			t.Fatalf("duplicate serial %s", serials[i])
		}
	}
	if len(list) != procs+1 {
		t.Fatalf("%d certificates stored, want %d", len(list), procs+1)
	}
}

// TestCLIListExpired: --status expired and valid split on NotAfter; the
// expired certificate was issued with a clock 20 days back.
func TestCLIListExpired(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(dir, 0o700)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	past := func() time.Time { return time.Now().Add(-20 * 24 * time.Hour) }
	if _, err := ca.Init(ctx, st, ca.InitOptions{Time: func() time.Time { return time.Now().Add(-30 * 24 * time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	old := ca.New(st, ca.Options{Time: past})
	expired, err := old.Issue(ctx, ca.Request{Profile: "client", Subject: "CN=old", Days: 1})
	old.Close()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	caMust(t, "issue", "--dir", dir, "--profile", "client", "--subject", "CN=new", "--out", filepath.Join(t.TempDir(), "new"))
	got := caList(t, dir, "--status", "expired")
	if len(got) != 1 || got[0].Serial != expired.Serial || got[0].Status != "expired" {
		t.Fatalf("expired: %+v", got)
	}
	for _, c := range caList(t, dir, "--status", "valid") {
		if c.Serial == expired.Serial {
			t.Fatal("expired certificate listed as valid")
		}
	}
}
