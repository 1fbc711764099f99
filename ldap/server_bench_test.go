package ldap_test

import (
	"fmt"
	"testing"

	"github.com/pkid/pkid/ldap"
)

// BenchmarkServerSearch measures a (uid=...) search through the whole
// server (frontend, directory, SQLite store) over loopback, one
// outstanding request at a time. Compare with slapd with
// bench/ldap-compare.sh.
func BenchmarkServerSearch(b *testing.B) {
	ts := startServer(b, serverOpts{entries: 1000})
	rc := dialRaw(b, ts.ldapURL)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rc.send(int32(i%1000000+1), &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree,
			Filter: ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i%1000))}})
		for {
			m, err := rc.recv()
			if err != nil {
				b.Fatal(err)
			}
			if m.Op.Tag() == ldap.TagSearchResultDone {
				break
			}
		}
	}
}

// BenchmarkServerRootDSE measures the frontend with a search the
// directory answers without the store.
func BenchmarkServerRootDSE(b *testing.B) {
	ts := startServer(b, serverOpts{})
	rc := dialRaw(b, ts.ldapURL)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rc.send(int32(i%1000000+1), baseSearch)
		for {
			m, err := rc.recv()
			if err != nil {
				b.Fatal(err)
			}
			if m.Op.Tag() == ldap.TagSearchResultDone {
				break
			}
		}
	}
}
