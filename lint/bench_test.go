package lint

import (
	"sort"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"

	"github.com/pkid/pkid/internal/testkey"
)

// BenchmarkCertificate lints a typical P-256 server leaf, as the CA does
// for every certificate it issues.
func BenchmarkCertificate(b *testing.B) {
	ca := newCA(b)
	key := testkey.New(b, "p256")
	leaf := sign(b, serverTemplate(b, key), key, ca)
	opts := testOpts()
	opts.Issuer = ca.cert
	if fs := Certificate(leaf.der, opts); HasErrors(fs) {
		b.Fatalf("clean leaf has errors: %v", fs)
	}
	b.ReportAllocs()
	for b.Loop() {
		Certificate(leaf.der, opts)
	}
}

// BenchmarkCRL lints a small CRL.
func BenchmarkCRL(b *testing.B) {
	ca := newCA(b)
	der := goodCRL(b, ca)
	opts := testOpts()
	opts.Issuer = ca.cert
	b.ReportAllocs()
	for b.Loop() {
		CRL(der, opts)
	}
}

// BenchmarkZlintDefault is the comparison point for BenchmarkCertificate:
// zlint's own entry point with every lint family registered (this test
// binary links them all), parsing included, on the same kind of leaf.
func BenchmarkZlintDefault(b *testing.B) {
	ca := newCA(b)
	key := testkey.New(b, "p256")
	leaf := sign(b, serverTemplate(b, key), key, ca)
	b.ReportAllocs()
	for b.Loop() {
		c, err := zx509.ParseCertificate(leaf.der)
		if err != nil {
			b.Fatal(err)
		}
		zlint.LintCertificate(c)
	}
}

// BenchmarkZlintPerLint reports what each zlint lint pkid runs costs on a
// P-256 server leaf (parsing excluded), the most expensive first, so that
// the cost of linting at issuance can be attributed. Run with -benchtime 1x
// and -v to see the table.
func BenchmarkZlintPerLint(b *testing.B) {
	ca := newCA(b)
	key := testkey.New(b, "p256")
	leaf := sign(b, serverTemplate(b, key), key, ca)
	c, err := zx509.ParseCertificate(leaf.der)
	if err != nil {
		b.Fatal(err)
	}
	r := zlints()
	if r.err != nil {
		b.Fatal(r.err)
	}
	const rounds = 300
	type cost struct {
		name string
		ns   float64
	}
	var costs []cost
	var total float64
	for range b.N {
		costs, total = costs[:0], 0
		for _, l := range r.certLints {
			start := time.Now()
			for range rounds {
				l.Execute(c, r.config)
			}
			ns := float64(time.Since(start).Nanoseconds()) / rounds
			costs = append(costs, cost{l.Name, ns})
			total += ns
		}
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].ns > costs[j].ns })
	b.Logf("%d lints, %.1f µs in all", len(costs), total/1000)
	for _, c := range costs[:min(15, len(costs))] {
		b.Logf("%8.2f µs  %s", c.ns/1000, c.name)
	}
	b.ReportMetric(total/1000, "zlint-µs/cert")
}
