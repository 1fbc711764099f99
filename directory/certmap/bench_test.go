package certmap

import (
	"context"
	"testing"
)

// BenchmarkAuthenticate is one EXTERNAL bind's work in certmap: path
// validation, the store's revocation state and a subject-rule lookup.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixtureTB(b)
	m := f.mapperTB(b, Config{})
	chain := f.issueTB(b, "client", "CN=Alice Smith,O=Example")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Authenticate(ctx, chain, ""); err != nil {
			b.Fatal(err)
		}
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
