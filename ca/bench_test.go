package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"runtime"
	"runtime/metrics"
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
	start, cpu0, idle := time.Now(), cpuTime(), startIdle()
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
	b.ReportMetric(idle.percent(), "idle-%")
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
	start, cpu0, idle := time.Now(), cpuTime(), startIdle()
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
	b.ReportMetric(idle.percent(), "idle-%")
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

// idleMeter measures the share of the Go scheduler's processors (Ps) that
// had no goroutine to run: the part of GOMAXPROCS cores that the service
// leaves unused by serialising (a writer everyone waits for, a lock). Unlike
// the wall rate it does not count the neighbours: a P whose thread the OS
// has descheduled still counts as busy. The runtime updates the figures at
// the end of a GC cycle, so start and stop force one.
type idleMeter struct{ idle0, total0 float64 }

func cpuClasses() (idle, total float64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/cpu/classes/idle:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 || s[1].Value.Kind() != metrics.KindFloat64 {
		return 0, 0
	}
	return s[0].Value.Float64(), s[1].Value.Float64()
}

func startIdle() idleMeter {
	i, t := cpuClasses()
	return idleMeter{i, t}
}

// percent is the idle share since start, in percent.
func (m idleMeter) percent() float64 {
	i, t := cpuClasses()
	if t <= m.total0 {
		return 0
	}
	return 100 * (i - m.idle0) / (t - m.total0)
}
