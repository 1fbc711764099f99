package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
)

// BenchmarkIssue: durable issuance of P-256 client certificates with
// server-generated keys through the Service and the SQLite store, from
// parallel callers (group commit). Reports certs/s.
func BenchmarkIssue(b *testing.B) {
	c := pkitest.NewCA(b, pkitest.Options{})
	ctx := context.Background()
	b.SetParallelism(32) // callers per core: enough to fill batches
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Service.Issue(ctx, ca.Request{Profile: "client", Subject: "CN=bench,O=pkid"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "certs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/cert")
}

// BenchmarkIssueCSR is BenchmarkIssue with P-256 CSRs (the requester holds
// the key), the work `openssl ca -batch -infiles` does.
func BenchmarkIssueCSR(b *testing.B) {
	c := pkitest.NewCA(b, pkitest.Options{})
	ctx := context.Background()
	csrs := make([][]byte, 64)
	for i := range csrs {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csrs[i] = benchCSR(b, k)
	}
	b.SetParallelism(32)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := c.Service.Issue(ctx, ca.Request{Profile: "client", CSR: csrs[i%len(csrs)]}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "certs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/cert")
}

// cpuTime is the CPU time (user + system) this process has used: the cost
// per certificate it yields does not depend on what else the machine runs,
// unlike certs/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
