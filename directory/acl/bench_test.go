package acl

import (
	"context"
	"fmt"
	"testing"
)

// benchTree has 20 aclEntry values at o=sss (the nearest ACL source for
// every user entry): 16 access-ids of other users, two groups the caller
// is not in, CN=THIS and CN=AUTHENTICATED — the issue's "search after an
// EXTERNAL bind with 20 aclEntry values on the path".
func benchTree() *fakeTree {
	f := &fakeTree{entries: map[string]Attributes{}, groups: map[string][]string{}}
	var acl []string
	for i := range 16 {
		acl = append(acl, fmt.Sprintf("access-id:uid=user%d,ou=people,o=sss:normal:rsc", i))
	}
	acl = append(acl,
		"group:cn=g1,ou=groups,o=sss:normal:rwsc",
		"group:cn=g2,ou=groups,o=sss:sensitive:rsc",
		"access-id:cn=this:critical:w",
		"group:cn=authenticated:normal:rsc:system:r")
	f.entries["o=sss"] = Attributes{ACLEntry: acl, EntryOwner: []string{"access-id:cn=admin,o=sss"}}
	f.groups["cn=g1,ou=groups,o=sss"] = []string{"uid=a,ou=people,o=sss", "uid=b,ou=people,o=sss"}
	f.groups["cn=g2,ou=groups,o=sss"] = []string{"uid=c,ou=people,o=sss"}
	return f
}

const benchCaller = "CN=SECP521R,O=CPWEBUSER,C=GB"

func benchEntries(n int) []string {
	dns := make([]string, n)
	for i := range dns {
		dns[i] = fmt.Sprintf("uid=u%d,ou=people,o=sss", i)
	}
	return dns
}

// BenchmarkDecideCached is the steady state of a search: the decision for
// (caller, entry) is in the cache.
func BenchmarkDecideCached(b *testing.B) {
	e := newTestEngine(b, benchTree())
	ctx := context.Background()
	dns := benchEntries(1000)
	for _, d := range dns {
		e.Decide(ctx, Request{Caller: Caller{DN: benchCaller}, EntryDN: d, Op: OpRead, Attribute: "cn"})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d := e.Decide(ctx, Request{Caller: Caller{DN: benchCaller}, EntryDN: dns[i%len(dns)], Op: OpRead, Attribute: "cn"})
		if !d.Allowed {
			b.Fatal(d)
		}
	}
}

// BenchmarkDecide20 is the first decision for each entry (cache miss):
// the walk up to o=sss and the match against its 20 aclEntry values; the
// parsed ACL and group members stay cached, as they do between changes.
func BenchmarkDecide20(b *testing.B) {
	e := newTestEngine(b, benchTree())
	e.cfg.CacheSize = 1024 // cycling through more entries than this always misses
	ctx := context.Background()
	dns := benchEntries(100000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := e.Decide(ctx, Request{Caller: Caller{DN: benchCaller}, EntryDN: dns[i%len(dns)], Op: OpRead, Attribute: "cn"})
		if !d.Allowed {
			b.Fatal(d)
		}
	}
}

// BenchmarkDecide20AfterChange is the worst case: every decision follows
// an Invalidate, so the 20 values are parsed and the DNs normalised again.
func BenchmarkDecide20AfterChange(b *testing.B) {
	e := newTestEngine(b, benchTree())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		e.Invalidate()
		d := e.Decide(ctx, Request{Caller: Caller{DN: benchCaller}, EntryDN: "uid=u1,ou=people,o=sss", Op: OpRead, Attribute: "cn"})
		if !d.Allowed {
			b.Fatal(d)
		}
	}
}

// BenchmarkSearchEntry is what a search asks per candidate entry: may the
// entry be returned, may the filter use two attributes, may four
// attributes be returned — seven decisions, all cached after the first
// entry of the path.
func BenchmarkSearchEntry(b *testing.B) {
	e := newTestEngine(b, benchTree())
	ctx := context.Background()
	dns := benchEntries(1000)
	c := Caller{DN: benchCaller}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := dns[i%len(dns)]
		ok := e.Decide(ctx, Request{Caller: c, EntryDN: d, Op: OpRead}).Allowed &&
			e.CanSearch(ctx, c, d, "objectClass") && e.CanSearch(ctx, c, d, "uid")
		for _, a := range [...]string{"cn", "mail", "uid", "userPassword"} {
			e.Decide(ctx, Request{Caller: c, EntryDN: d, Op: OpRead, Attribute: a})
		}
		if !ok {
			b.Fatal("denied")
		}
	}
}
