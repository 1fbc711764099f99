package directory

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
)

// benchLDIF is the LDIF of /work/shared/bench/peers/slapd.sh: n
// inetOrgPerson users with {SSHA} passwords under ou=people,o=bench.
func benchLDIF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("dn: o=bench\nobjectClass: organization\no: bench\n\ndn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n\n")
	for i := 0; i < n; i++ {
		salt := []byte{byte(i), byte(i >> 8), 3, 4, 5, 6, 7, 8}
		h := sha1.Sum(append([]byte(fmt.Sprintf("pw%d", i)), salt...))
		fmt.Fprintf(&b, "dn: uid=user%d,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@bench.example\nuserPassword: {SSHA}%s\n\n",
			i, i, i, i, i, base64.StdEncoding.EncodeToString(append(h[:], salt...)))
	}
	return b.Bytes()
}

// BenchmarkImport10k imports 10,000 entries per iteration into a new store
// (bench/ldif-compare.sh runs the 100,000-entry comparison with slapadd).
func BenchmarkImport10k(b *testing.B) { benchImport(b, 10000) }

// BenchmarkImport100k is the size: 100,000 entries per iteration
// (run with -benchtime 1x; about ten seconds).
func BenchmarkImport100k(b *testing.B) { benchImport(b, 100000) }

func benchImport(b *testing.B, n int) {
	data := benchLDIF(n)
	b.SetBytes(int64(len(data)))
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		tr := newTestTree(b)
		c0 := cpuTime()
		b.StartTimer()
		if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(data)), ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	// CPU time is the figure to read on a shared machine, where wall time
	// mostly measures the other processes.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*(n+2)), "cpu-µs/entry")
}

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSearchIndexed is the search: (uid=user{i}) over 10,000
// entries, subtree from the suffix, all user attributes.
func BenchmarkSearchIndexed(b *testing.B) {
	tr := newTestTree(b)
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(10000))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i%10000))}
		n := 0
		_, err := tr.Search(b.Context(), Identity{}, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*Entry) error { n++; return nil })
		if err != nil || n != 1 {
			b.Fatalf("%d entries, %v", n, err)
		}
		i++
	}
}

// BenchmarkBind is a simple bind against an {SSHA} password.
func BenchmarkBind(b *testing.B) {
	tr := newTestTree(b)
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(1000))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := tr.Bind(b.Context(), fmt.Sprintf("uid=user%d,ou=people,o=bench", i%1000), []byte(fmt.Sprintf("pw%d", i%1000))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearchWarm is BenchmarkSearchIndexed with the read cache warm
// (every user searched once before timing), as a server sees it after a
// while: what is left is the directory's own cost per search.
func BenchmarkSearchWarm(b *testing.B) {
	tr := newTestTree(b)
	const n = 10000
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(n))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	search := func(i int) {
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i%n))}
		got := 0
		_, err := tr.Search(b.Context(), Identity{}, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*Entry) error { got++; return nil })
		if err != nil || got != 1 {
			b.Fatalf("%d entries, %v", got, err)
		}
	}
	benchWarm(b, tr, n, search)
}

// benchWarm runs search(i) for every user i < n to warm the cache, then
// times it in a loop, reporting CPU time and cache misses per search.
func benchWarm(b *testing.B, tr *Tree, n int, search func(int)) {
	for i := range n {
		search(i)
	}
	misses := tr.cache.misses.Load()
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		search(i)
		i++
	}
	// CPU time per search (garbage collection included) says more than
	// ns/op on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(i), "cpu-ns/op")
	b.ReportMetric(float64(tr.cache.misses.Load()-misses)/float64(i), "misses/op")
}

// BenchmarkCacheMemory reports the heap the read cache holds per cached
// entry of the bench's users (their uid index lookups included).
func BenchmarkCacheMemory(b *testing.B) {
	const n = 20000
	for b.Loop() {
		b.StopTimer()
		tr := newTestTree(b)
		if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(n))), ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i := range n {
			f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i))}
			if _, err := tr.Search(b.Context(), Identity{}, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*Entry) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		tr.cache.mu.Lock()
		cachedN, used := len(tr.cache.entries), tr.cache.used
		tr.cache.mu.Unlock()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(cachedN), "heap-B/entry")
		b.ReportMetric(float64(used)/float64(cachedN), "budget-B/entry")
		runtime.KeepAlive(tr)
		b.StartTimer()
	}
}

// BenchmarkBackendSearch is BenchmarkSearchWarm through the LDAP
// frontend's entry point (LDAPBackend.Search, the transient path with
// pooled buffers) with each entry encoded into an LDAPMessage as the
// server does: the directory's whole share of a search on the wire.
// bench/ldap-compare.sh measures the server around it against slapd.
func BenchmarkBackendSearch(b *testing.B) {
	tr := newTestTree(b)
	const n = 10000
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(n))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	be := &LDAPBackend{Tree: tr}
	var buf []byte
	search := func(i int) {
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i%n))}
		got := 0
		_, err := be.Search(b.Context(), ldap.Identity{}, &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}, nil, func(e *ldap.SearchResultEntry) error {
			got++
			var err error
			buf, err = (&ldap.Message{ID: int32(i%1000 + 1), Op: e}).Append(buf[:0])
			return err
		})
		if err != nil || got != 1 {
			b.Fatalf("%d entries, %v", got, err)
		}
	}
	benchWarm(b, tr, n, search)
}
