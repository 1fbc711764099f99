package doctor

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/pkid/pkid/lint"
	"github.com/pkid/pkid/revocation"
)

// BenchmarkSummarize measures describing and linting one certificate, the
// doctor's per-certificate cost.
func BenchmarkSummarize(b *testing.B) {
	p := newTestPKI(b)
	for b.Loop() {
		summarize(p.server.cert, []*x509.Certificate{p.inter.cert}, lint.PurposeServer, time.Now)
	}
}

// BenchmarkProbe probes a loopback openssl s_server sending a chain, with
// the CRL of the leaf checked, and resumption; compare with
// bench/probe-compare.sh, which also times openssl s_client.
func BenchmarkProbe(b *testing.B) {
	p := newTestPKI(b)
	addr := sServer(b, "-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile)
	opts := Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Revocation: revocation.New(revocation.Config{LeafOnly: true, SoftFail: true})}
	for b.Loop() {
		r, err := Probe(context.Background(), opts)
		if err != nil || !r.HandshakeOK {
			b.Fatal(err)
		}
	}
}
