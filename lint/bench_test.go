package lint

import "testing"

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
