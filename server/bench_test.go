package server_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

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

// BenchmarkOCSPHandler is the cost of one pre-signed OCSP answer through
// the server's whole HTTP handler (routing, metrics) without the network,
// beside the responder alone, for a ratio.
func BenchmarkOCSPHandler(b *testing.B) {
	f := start(b, "")
	leaf := &x509.Certificate{SerialNumber: f.issuer.SerialNumber, RawIssuer: f.issuer.RawSubject}
	der, err := xocsp.CreateRequest(leaf, f.issuer, nil)
	if err != nil {
		b.Fatal(err)
	}
	path := "/ocsp/" + base64.StdEncoding.EncodeToString(der)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"server", f.srv.Handler()}, {"responder", f.srv.OCSPResponder()}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("HTTP %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkRevocationPropagationProcess is BenchmarkRevocationPropagation
// with `pkid revoke` run as a separate OS process for each revocation.
// The delay is measured from the process's exit (the revocation is
// committed by then) to OCSP and the CRL both saying revoked; the
// server's own pkid_revocation_propagation_seconds (commit → served) is
// logged beside it.
func BenchmarkRevocationPropagationProcess(b *testing.B) {
	pkid := pkidBinary(b)
	f := start(b, "")
	reqs := make([]ca.Request, b.N)
	for i := range reqs {
		reqs[i] = ca.Request{Profile: "client", Subject: "CN=bench"}
	}
	issued, err := f.srv.Service().IssueBatch(context.Background(), reqs)
	if err != nil {
		b.Fatal(err)
	}
	delays := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, iss := range issued {
		if out, err := run(b, pkid, "revoke", "--dir", f.dir, iss.Serial, "--reason", "keyCompromise"); err != nil {
			b.Fatalf("pkid revoke: %v\n%s", err, out)
		}
		delays = append(delays, f.waitRevoked(iss.Certificate.SerialNumber, time.Now(), 10*time.Second))
	}
	b.StopTimer()
	slices.Sort(delays)
	q := func(p float64) float64 { return float64(delays[int(p*float64(len(delays)-1))].Milliseconds()) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	_, metrics := f.get("/metrics")
	var hist []string
	for _, l := range strings.Split(string(metrics), "\n") {
		if rest, ok := strings.CutPrefix(l, "pkid_revocation_propagation_seconds_bucket{le=\""); ok {
			hist = append(hist, strings.Replace(rest, `"} `, ":", 1))
		}
	}
	b.Logf("%d revocations by separate processes: after exit p50 %v ms, p99 %v ms, max %v ms; server histogram (commit → served, cumulative) %s",
		len(delays), q(0.5), q(0.99), q(1), strings.Join(hist, " "))
}
