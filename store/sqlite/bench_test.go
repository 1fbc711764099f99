package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

// benchCert is a certificate of realistic size (an ECDSA P-256 leaf is
// about 700 bytes of DER).
func benchCert(n int, caID string, now time.Time) *store.Certificate {
	return &store.Certificate{
		Serial:    fmt.Sprintf("%016X", n),
		CAID:      caID,
		Subject:   fmt.Sprintf("CN=host-%d.example.com", n),
		Profile:   "server",
		NotBefore: now,
		NotAfter:  now.Add(90 * 24 * time.Hour),
		DER:       make([]byte, 700),
		IssuedAt:  now,
	}
}

func newBenchStore(b *testing.B, dir string) *Store {
	b.Helper()
	st, err := Open(context.Background(), filepath.Join(dir, "pkid.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateCA(context.Background(), &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkAddCertificates measures one committed (fsynced) AddCertificates
// call per op, for batches of 1 and 1,000 certificates.
func BenchmarkAddCertificates(b *testing.B) {
	for _, size := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			st := newBenchStore(b, b.TempDir())
			defer st.Close()
			ctx := context.Background()
			now := time.Now()
			serial := 0
			batch := make([]*store.Certificate, size)
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					serial++
					batch[j] = benchCert(serial, "ca", now)
				}
				if err := st.AddCertificates(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "certs/s")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkAddCertificatesRandom is the issuance service's write: batches
// of 32 certificates (the group commit's usual size) with random 128-bit
// serials, which land all over the serial index, into a store that holds
// 20,000 already. Reports CPU µs per certificate.
func BenchmarkAddCertificatesRandom(b *testing.B) {
	st := newBenchStore(b, b.TempDir())
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	batch := func(n int) []*store.Certificate {
		out := make([]*store.Certificate, n)
		for i := range out {
			var s [16]byte
			rand.Read(s[:])
			c := benchCert(0, "ca", now)
			c.Serial = hex.EncodeToString(s[:])
			out[i] = c
		}
		return out
	}
	for range 20 {
		if err := st.AddCertificates(ctx, batch(1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		if err := st.AddCertificates(ctx, batch(32)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(32*b.N), "cpu-µs/cert")
}

// revokedDB is the database BenchmarkRevokedSince streams, built once per
// test binary run because a million rows take a while to write; set
// PKID_BENCH_DIR to keep it between runs.
var revokedDB struct {
	once sync.Once
	dir  string
	keep bool
	err  error
}

const benchRevoked = 1_000_000

func buildRevokedDB(b *testing.B) string {
	revokedDB.once.Do(func() {
		if dir := os.Getenv("PKID_BENCH_DIR"); dir != "" {
			revokedDB.dir, revokedDB.keep = dir, true
			if _, err := os.Stat(filepath.Join(dir, "pkid.db")); err == nil {
				return
			}
		} else if revokedDB.dir, revokedDB.err = os.MkdirTemp("", "pkid-bench-"); revokedDB.err != nil {
			return
		}
		st := newBenchStore(b, revokedDB.dir)
		defer st.Close()
		now := time.Now()
		const batch = 10_000
		for n := 0; n < benchRevoked; n += batch {
			certs := make([]*store.Certificate, batch)
			for j := range certs {
				c := benchCert(n+j+1, "ca", now)
				c.DER = nil
				c.Status, c.RevokedAt, c.Reason = store.StatusRevoked, now, 1
				certs[j] = c
			}
			if err := st.AddCertificates(context.Background(), certs); err != nil {
				revokedDB.err = err
				return
			}
		}
	})
	if revokedDB.err != nil {
		b.Fatal(revokedDB.err)
	}
	return revokedDB.dir
}

// BenchmarkRevokedSince streams a full CRL's worth of entries: 1,000,000
// revoked certificates per op.
func BenchmarkRevokedSince(b *testing.B) {
	dir := buildRevokedDB(b)
	st, err := Open(context.Background(), filepath.Join(dir, "pkid.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := st.RevokedSince(context.Background(), "ca", 0, func(*store.RevokedEntry) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != benchRevoked {
			b.Fatalf("streamed %d entries, want %d", n, benchRevoked)
		}
	}
	b.ReportMetric(float64(b.N*benchRevoked)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in nanoseconds. The
// benchmarks report it beside wall time because on a shared machine wall
// time mostly measures the neighbours; it includes the GC and, for
// AddCertificates, none of the fsync wait.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if revokedDB.dir != "" && !revokedDB.keep {
		os.RemoveAll(revokedDB.dir)
	}
	os.Exit(code)
}

// BenchmarkRevision is the cost of one poll by store.Watch or one repeated
// certificate login, on a feed of a million records: "hit" with nothing
// committed between calls (answered from the WAL-index header), "miss"
// with the remembered answer dropped before each call (the header read
// and the query, as after every commit).
func BenchmarkRevision(b *testing.B) {
	dir := buildRevokedDB(b)
	st, err := Open(context.Background(), filepath.Join(dir, "pkid.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for _, miss := range []bool{false, true} {
		name := "hit"
		if miss {
			name = "miss"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := st.Revision(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				if miss {
					forgetRevision(st)
				}
				if _, err := st.Revision(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
