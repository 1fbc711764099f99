package certmap

import (
	"context"
	"testing"
)

// BenchmarkAuthenticate is one EXTERNAL bind's work in certmap: path
// validation (a repeat login's from the chain cache, or verified with
// the cache emptied before every bind), the store's revocation state and
// a subject-rule lookup.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixtureTB(b)
	chain := f.issueTB(b, "client", "CN=Alice Smith,O=Example")
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		cached bool
	}{{"cached path", true}, {"path validated", false}} {
		b.Run(bc.name, func(b *testing.B) {
			m := f.mapperTB(b, Config{})
			b.ReportAllocs()
			for b.Loop() {
				if !bc.cached {
					m.chains = chainCache{}
				}
				if _, err := m.Authenticate(ctx, chain, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.pathChecks.Load())/float64(b.N), "validations/op")
		})
	}
}

// BenchmarkAuthenticatePath is the same bind as the LDAP Backend runs it,
// after the frontend validated the path.
func BenchmarkAuthenticatePath(b *testing.B) {
	f := newFixtureTB(b)
	m := f.mapperTB(b, Config{})
	chain := f.issueTB(b, "client", "CN=Alice Smith,O=Example")
	ctx := context.Background()
	v, err := m.Verify(ctx, chain)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.AuthenticatePath(ctx, v.Chain, ""); err != nil {
			b.Fatal(err)
		}
	}
}
