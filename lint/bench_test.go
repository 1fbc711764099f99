package lint

import (
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
)

// BenchmarkCertificate lints a typical P-256 server leaf, as the CA does
// for every certificate it issues.
func BenchmarkCertificate(b *testing.B) {
	ca := newCA(b)
	key := newKey(b, "p256")
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
	key := newKey(b, "p256")
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
