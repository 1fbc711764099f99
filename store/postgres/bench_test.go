package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store"
)

// benchCert is a certificate of realistic size (an ECDSA P-256 leaf is
// about 700 bytes of DER).
func benchCert(n int64, now time.Time) *store.Certificate {
	return &store.Certificate{
		Serial:    fmt.Sprintf("%016X", n),
		CAID:      "ca",
		Subject:   fmt.Sprintf("CN=host-%d.example.com", n),
		Profile:   "server",
		NotBefore: now,
		NotAfter:  now.Add(90 * 24 * time.Hour),
		DER:       make([]byte, 700),
		IssuedAt:  now,
	}
}

func newBenchStore(b *testing.B, url string) *Store {
	b.Helper()
	st, err := Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkAddCertificates measures one committed AddCertificates call
// per op from one caller, for batches of 1 and 1,000 certificates. The
// test cluster runs with fsync=off unless PKID_PGTEST_FSYNC=1.
func BenchmarkAddCertificates(b *testing.B) {
	for _, size := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			st := newBenchStore(b, pgtest.Start(b))
			ctx := context.Background()
			if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			var serial int64
			batch := make([]*store.Certificate, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					serial++
					batch[j] = benchCert(serial, now)
				}
				if err := st.AddCertificates(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "certs/s")
		})
	}
}

// BenchmarkAddCertificatesTwoNodes: two Store handles ("nodes"), 8
// callers each adding one certificate per call: the commit path when
// nothing batches (each call one durable commit; concurrent commits share
// WAL flushes).
func BenchmarkAddCertificatesTwoNodes(b *testing.B) {
	url := pgtest.Start(b)
	nodes := []*Store{newBenchStore(b, url), newBenchStore(b, url)}
	ctx := context.Background()
	if err := nodes[0].CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var serial, caller atomic.Int64
	b.SetParallelism(4) // 8 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		st := nodes[caller.Add(1)%2]
		for pb.Next() {
			if err := st.AddCertificates(ctx, []*store.Certificate{benchCert(serial.Add(1), now)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkIssueTwoNodes: P-256 certificates issued (keys generated,
// signed, committed) through two ca.Services, one per node, on one
// database, from 64 parallel callers; each Service group-commits.
func BenchmarkIssueTwoNodes(b *testing.B) {
	url := pgtest.Start(b)
	a, c := newBenchStore(b, url), newBenchStore(b, url)
	ctx := context.Background()
	if _, err := ca.Init(ctx, a, ca.InitOptions{}); err != nil {
		b.Fatal(err)
	}
	var stats commitStats
	svcs := []*ca.Service{ca.New(&countingStore{a, &stats}, ca.Options{}), ca.New(&countingStore{c, &stats}, ca.Options{})}
	for _, s := range svcs {
		b.Cleanup(func() { s.Close() })
	}
	var caller atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	stats.reset()
	cpu, pgCPU := cpuTime(), pgtest.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		svc := svcs[caller.Add(1)%2]
		for pb.Next() {
			if _, err := svc.Issue(ctx, ca.Request{Profile: "client", Subject: "CN=bench,O=pkid"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	// pkid's own CPU (keys, signing, encoding; not the PostgreSQL server's):
	// on 2 cores it bounds the rate at 2e6 / this figure.
	b.ReportMetric(float64(cpuTime()-cpu)/1e3/float64(b.N), "cpu-µs/cert")
	// The PostgreSQL server's CPU (all its processes) per certificate.
	b.ReportMetric(float64(pgtest.CPUTime()-pgCPU)/1e3/float64(b.N), "pg-cpu-µs/cert")
	stats.report(b)
}

// commitStats counts the AddCertificates calls (group commits) of a
// benchmark: how many certificates each carried and how long it took.
type commitStats struct {
	calls, certs, nanos atomic.Int64
}

func (s *commitStats) reset() { s.calls.Store(0); s.certs.Store(0); s.nanos.Store(0) }

func (s *commitStats) report(b *testing.B) {
	if n := s.calls.Load(); n > 0 {
		b.ReportMetric(float64(s.certs.Load())/float64(n), "certs/commit")
		b.ReportMetric(float64(s.nanos.Load())/1e6/float64(n), "ms/commit")
	}
}

// countingStore is a Store whose AddCertificates calls are counted.
type countingStore struct {
	*Store
	stats *commitStats
}

func (c *countingStore) AddCertificates(ctx context.Context, certs []*store.Certificate) error {
	begin := time.Now()
	err := c.Store.AddCertificates(ctx, certs)
	c.stats.calls.Add(1)
	c.stats.certs.Add(int64(len(certs)))
	c.stats.nanos.Add(int64(time.Since(begin)))
	return err
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
