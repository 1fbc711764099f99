package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
)

// BenchmarkIssueVsOpenSSLCA issues the same P-256 CSRs (10,000, or
// PKID_BENCH_CSRS) once through the Service (parallel callers, group
// commit, durable SQLite) and once with `openssl ca -batch -infiles`, in
// the same run, and reports both rates and their ratio. b.N is ignored; run
// with -benchtime 1x (scripts/bench-issue does).
func BenchmarkIssueVsOpenSSLCA(b *testing.B) {
	openssl := peer.Need(b, "openssl", "openssl")
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PKID_BENCH_CSRS")); err == nil && v > 0 {
		n = v
	}
	c := pkitest.NewCA(b, pkitest.Options{})
	dir := b.TempDir()
	csrs := make([][]byte, n)
	files := make([]string, n)
	for i := range csrs {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csrs[i] = benchCSR(b, k)
		files[i] = filepath.Join(dir, fmt.Sprintf("r%05d.csr", i))
		if err := os.WriteFile(files[i], csrs[i], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// openssl ca with the same issuing CA, extensions like pkid's client
	// profile.
	a, err := c.Service.Authority(context.Background(), "issuing")
	if err != nil {
		b.Fatal(err)
	}
	keyPEM, _ := ca.MarshalPrivateKey(a.Signer, nil, nil)
	os.WriteFile(filepath.Join(dir, "ca.key"), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM(a.Cert.Raw), 0o644)
	os.WriteFile(filepath.Join(dir, "index.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "index.txt.attr"), []byte("unique_subject = no\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "certs"), 0o755)
	conf := fmt.Sprintf(`[ca]
default_ca = pkid
[pkid]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/certs
certificate = $dir/ca.crt
private_key = $dir/ca.key
rand_serial = yes
default_md = sha256
default_days = 397
policy = anything
unique_subject = no
x509_extensions = client
copy_extensions = none
[anything]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`, dir)
	os.WriteFile(filepath.Join(dir, "openssl.cnf"), []byte(conf), 0o644)

	b.ResetTimer()
	start, cpu0, idle := time.Now(), cpuTime(), startIdle()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	per := (n + 63) / 64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w * per; i < min(n, (w+1)*per); i++ {
				if _, err := c.Service.Issue(context.Background(), ca.Request{Profile: "client", CSR: csrs[i]}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	pkidTime, pkidCPU, pkidIdle := time.Since(start), cpuTime()-cpu0, idle.percent()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}

	start = time.Now()
	args := append([]string{"ca", "-batch", "-notext", "-config", filepath.Join(dir, "openssl.cnf"), "-out", filepath.Join(dir, "out.pem"), "-infiles"}, files...)
	cmd := exec.Command(openssl, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("openssl ca: %v\n%.2000s", err, out)
	}
	opensslCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	opensslTime := time.Since(start)
	b.StopTimer()
	pkidRate, opensslRate := float64(n)/pkidTime.Seconds(), float64(n)/opensslTime.Seconds()
	b.ReportMetric(pkidRate, "pkid-certs/s")
	b.ReportMetric(opensslRate, "openssl-certs/s")
	b.ReportMetric(pkidRate/opensslRate, "ratio")
	b.ReportMetric(float64(pkidCPU)/float64(time.Microsecond)/float64(n), "pkid-cpu-µs/cert")
	b.ReportMetric(float64(opensslCPU)/float64(time.Microsecond)/float64(n), "openssl-cpu-µs/cert")
	b.ReportMetric(pkidIdle, "pkid-idle-%")
}
