package server_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store/sqlite"
)

// BenchmarkRevocationPropagation measures revoke → visible: each
// iteration revokes one certificate through a second store handle (as
// `pkid revoke` in another process does: the server learns of it only
// from the change feed) and polls OCSP and the CRL until both say revoked.
// It reports the median, p99 and maximum delay; run it with
// -benchtime=100x for the issue's "p99 over 100 revocations".
func BenchmarkRevocationPropagation(b *testing.B) {
	f := start(b, "")
	ctx := context.Background()
	other, err := sqlite.Open(ctx, filepath.Join(f.dir, "pkid.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
	svc := ca.New(other, ca.Options{})
	defer svc.Close()
	reqs := make([]ca.Request, b.N)
	for i := range reqs {
		reqs[i] = ca.Request{Profile: "client", Subject: "CN=bench"}
	}
	issued, err := f.srv.Service().IssueBatch(ctx, reqs)
	if err != nil {
		b.Fatal(err)
	}
	delays := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, iss := range issued {
		began := time.Now()
		if _, err := svc.Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, f.waitRevoked(iss.Certificate.SerialNumber, began, 10*time.Second))
	}
	b.StopTimer()
	slices.Sort(delays)
	q := func(p float64) float64 { return float64(delays[int(p*float64(len(delays)-1))].Milliseconds()) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.Logf("%d revocations: p50 %v ms, p99 %v ms, max %v ms", len(delays), q(0.5), q(0.99), q(1))
}
