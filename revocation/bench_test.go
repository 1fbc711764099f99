package revocation

import (
	"context"
	"crypto/x509"
	"math/big"
	"testing"
)

// BenchmarkCheckCached is the per-handshake cost once the CRL is cached:
// what a server pays for each TLS client certificate or LDAP bind.
func BenchmarkCheckCached(b *testing.B) {
	r := newRepo(b)
	ca := newCA(b, "Bench CA", nil)
	leaf := issue(b, &x509.Certificate{SerialNumber: big.NewInt(99999), CRLDistributionPoints: []string{r.url("/ca.crl")}}, ca)
	var entries []revoked
	for i := 0; i < 10000; i++ {
		entries = append(entries, revoked{big.NewInt(int64(i)), KeyCompromise})
	}
	r.set("/ca.crl", makeCRL(b, ca, crlOpts{number: 1}, entries...))
	now := testNow
	ck := New(Config{Time: fixedClock(&now), DisableDeltaCRLs: true})
	chain := []*x509.Certificate{leaf.cert, ca.cert}
	ctx := context.Background()
	if _, err := ck.CheckChain(ctx, chain); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ck.CheckChain(ctx, chain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCRL parses and indexes a 10,000-entry CRL.
func BenchmarkParseCRL(b *testing.B) {
	ca := newCA(b, "Bench CA", nil)
	var entries []revoked
	for i := 0; i < 10000; i++ {
		entries = append(entries, revoked{big.NewInt(int64(i)), KeyCompromise})
	}
	der := makeCRL(b, ca, crlOpts{number: 1}, entries...)
	b.SetBytes(int64(len(der)))
	for b.Loop() {
		if _, err := parseCRL(der, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
