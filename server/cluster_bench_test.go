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
	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store/postgres"
)

// BenchmarkCrossNodePropagation revokes certificates on node A and
// measures how long until node B's OCSP answers "revoked" and its CRL
// lists them (two servers, one PostgreSQL database); it reports the
// median and the 99th percentile over 100 revocations per iteration.
func BenchmarkCrossNodePropagation(b *testing.B) {
	cluster := pgtest.New(b)
	url := cluster.Database(b)
	quiet := slog.New(slog.DiscardHandler)
	a := startBenchNode(b, url, b.TempDir(), quiet)
	n := startBenchNode(b, url, b.TempDir(), quiet)
	ctx := context.Background()
	var delays []time.Duration
	for b.Loop() {
		for range 100 {
			iss, err := a.srv.Service().Issue(ctx, ca.Request{Profile: "client", Subject: "CN=p"})
			if err != nil {
				b.Fatal(err)
			}
			begin := time.Now()
			if _, err := a.srv.Service().Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
				b.Fatal(err)
			}
			delays = append(delays, n.waitRevoked(iss.Certificate.SerialNumber, begin, 5*time.Second))
		}
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
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
				startBenchNode(b, url, b.TempDir(), quiet)
				f = startBenchNode(b, url, b.TempDir(), quiet)
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

// startBenchNode is startNode for benchmarks.
func startBenchNode(b *testing.B, url, dir string, log *slog.Logger) *fixture {
	b.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{Dir: dir, Store: st, HTTPAddr: "127.0.0.1:0", Logger: log})
	if err != nil {
		st.Close()
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done; st.Close() })
	f := &fixture{t: b, dir: dir, st: st, srv: srv, url: srv.URL(), boot: srv.Bootstrap()}
	for _, c := range f.boot.CAs {
		if c.ID == "issuing" {
			cert, err := ca.ParseCertificate(ca.CertPEM(c.CertDER))
			if err != nil {
				b.Fatal(err)
			}
			f.issuer = cert
		}
	}
	return f
}
