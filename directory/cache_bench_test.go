package directory

import (
	"bytes"
	"fmt"
	"runtime"
	"syscall"
	"testing"

	"github.com/pkid/pkid/ldap"
)

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
	for i := range n {
		search(i)
	}
	misses := tr.cache.misses.Load()
	b.ReportAllocs()
	cpu0 := processCPU()
	i := 0
	for b.Loop() {
		search(i)
		i++
	}
	// CPU time per search (garbage collection included) says more than
	// ns/op on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(i), "cpu-ns/op")
	b.ReportMetric(float64(tr.cache.misses.Load()-misses)/float64(i), "misses/op")
}

// processCPU is the process's user and system CPU time so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
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
