package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/server"
)

// BenchmarkCrossNodePropagation revokes certificates on node A and
// measures how long until node B's OCSP answers "revoked", its HTTP CRL
// lists them and the CRL at the CA's DN in its LDAP directory does (two
// servers, one PostgreSQL database; read with in-process clients, each
// polled every 5 ms). It reports, over 100 revocations per iteration, the
// median, 90th and 99th percentile and maximum of the time until all three
// show it, and the 99th percentile of each.
func BenchmarkCrossNodePropagation(b *testing.B) {
	cluster := pgtest.New(b)
	url := cluster.Database(b)
	quiet := slog.New(slog.DiscardHandler)
	a := startNode(b, url, b.TempDir(), quiet)
	n := startNode(b, url, b.TempDir(), quiet, func(c *server.Config) { c.LDAPAddr = "127.0.0.1:0" })
	ctx := context.Background()
	cl, err := ldap.Dial(ctx, "ldap://"+n.srv.LDAPAddr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	caDN := n.boot.DefaultCA.Subject
	var all, ocspD, crlD, ldapD []time.Duration
	for b.Loop() {
		for range 100 {
			iss, err := a.srv.Service().Issue(ctx, ca.Request{Profile: "client", Subject: "CN=p"})
			if err != nil {
				b.Fatal(err)
			}
			sn := iss.Certificate.SerialNumber
			begin := time.Now()
			if _, err := a.srv.Service().Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
				b.Fatal(err)
			}
			var o, c, l time.Duration
			for (o == 0 || c == 0 || l == 0) && time.Since(begin) < 10*time.Second {
				if o == 0 {
					if r, err := n.ocspStatus(sn); err == nil && r.Status == xocsp.Revoked {
						o = time.Since(begin)
					}
				}
				if c == 0 {
					if crl, err := n.crl(); err == nil && crlLists(crl, sn) {
						c = time.Since(begin)
					}
				}
				if l == 0 {
					if crl, err := clientCRL(ctx, cl, caDN); err == nil && crlLists(crl, sn) {
						l = time.Since(begin)
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			if o == 0 || c == 0 || l == 0 {
				b.Fatalf("revocation not seen on node B within 10 s: OCSP %v, CRL %v, LDAP %v (0 = never)", o, c, l)
			}
			all = append(all, max(o, c, l))
			ocspD, crlD, ldapD = append(ocspD, o), append(crlD, c), append(ldapD, l)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(d []time.Duration, p int) time.Duration {
		slices.Sort(d)
		return d[(len(d)*p+99)/100-1]
	}
	b.ReportMetric(ms(pct(all, 50)), "p50-ms")
	b.ReportMetric(ms(pct(all, 90)), "p90-ms")
	b.ReportMetric(ms(pct(all, 99)), "p99-ms")
	b.ReportMetric(ms(pct(all, 100)), "max-ms")
	b.ReportMetric(ms(pct(ocspD, 99)), "ocsp-p99-ms")
	b.ReportMetric(ms(pct(crlD, 99)), "crl-p99-ms")
	b.ReportMetric(ms(pct(ldapD, 99)), "ldap-p99-ms")
}

// BenchmarkOCSPNode measures cached OCSP answers (POST, no nonce, 8
// parallel clients) of one server on SQLite and of one of two servers on
// PostgreSQL, in the same run: compare the ns/op of the two. With
// OCSPLOAD=path/to/ocspload (built from bench/cmd/ocspload) it also runs
// that load generator for 5 s against each and logs its JSON line.
func BenchmarkOCSPNode(b *testing.B) {
	quiet := slog.New(slog.DiscardHandler)
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var f *fixture
			if kind == "sqlite" {
				f = start(b, "", func(c *server.Config) { c.Logger = quiet })
			} else {
				url := pgtest.New(b).Database(b)
				startNode(b, url, b.TempDir(), quiet)
				f = startNode(b, url, b.TempDir(), quiet)
			}
			var reqs [][]byte
			var certs []*x509.Certificate
			for i := range 100 {
				iss, err := f.srv.Service().Issue(context.Background(), ca.Request{Profile: "client", Subject: fmt.Sprintf("CN=o%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				req, err := xocsp.CreateRequest(iss.Certificate, f.issuer, nil)
				if err != nil {
					b.Fatal(err)
				}
				reqs, certs = append(reqs, req), append(certs, iss.Certificate)
			}
			if bin := os.Getenv("OCSPLOAD"); bin != "" && !ocsploadRan[kind] {
				ocsploadRan[kind] = true
				// The shared load generator (bench/cmd/ocspload) from
				// another process, every response verified.
				dir := b.TempDir()
				var leaves []byte
				for _, c := range certs {
					leaves = append(leaves, ca.CertPEM(c.Raw)...)
				}
				os.WriteFile(filepath.Join(dir, "leaves.pem"), leaves, 0o644)
				os.WriteFile(filepath.Join(dir, "issuer.pem"), ca.CertPEM(f.issuer.Raw), 0o644)
				out, err := exec.Command(bin, "-url", f.url+"/ocsp", "-issuer", filepath.Join(dir, "issuer.pem"),
					"-certs", filepath.Join(dir, "leaves.pem"), "-duration", "5s", "-warmup", "1s").CombinedOutput()
				if err != nil {
					b.Fatalf("ocspload: %v\n%s", err, out)
				}
				b.Logf("ocspload against %s: %s", kind, bytes.TrimSpace(out))
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			post := func(req []byte) {
				resp, err := client.Post(f.url+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("HTTP %d", resp.StatusCode)
				}
			}
			for _, r := range reqs {
				post(r) // signs and caches
			}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					post(reqs[i%len(reqs)])
					i++
				}
			})
		})
	}
}

// ocsploadRan: the benchmark function runs once per b.N tried; the
// external load generator runs on the first only.
var ocsploadRan = map[string]bool{}
