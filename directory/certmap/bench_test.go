package certmap

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
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
// after the frontend validated the path: a repeat EXTERNAL login of the
// same certificate, with the store's answer cached (revCache: a read of
// the revision), and without (a store.Notifier: every bind reads the
// certificate's row). cpu-µs/op is the process's CPU time per bind
// (getrusage), which a loaded machine disturbs less than ns/op.
func BenchmarkAuthenticatePath(b *testing.B) {
	f := newFixtureTB(b)
	chain := f.issueTB(b, "client", "CN=Alice Smith,O=Example")
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		store store.Store
	}{
		{"revcache", f.ca.Store},
		{"no revcache", pushingStore{f.ca.Store}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := New(Config{Store: bc.store, Tree: f.tree})
			if err != nil {
				b.Fatal(err)
			}
			v, err := m.Verify(ctx, chain)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := m.AuthenticatePath(ctx, v.Chain, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(m.revs.hits.Load())/float64(b.N), "cachehits/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
