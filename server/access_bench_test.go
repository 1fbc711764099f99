package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store/sqlite"
)

// BenchmarkACLSearch is the anonymous (uid=userN) subtree search of
// bench/ldap-compare.sh through the server's aclEntry tree: 2,000
// inetOrgPerson entries under o=bench, which grants CN=ANYBODY normal:rsc.
func BenchmarkACLSearch(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "pkid.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	pki, err := directory.NewPKI(directory.PKIConfig{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	tree, a, err := buildACLTree(directory.Config{Store: st, Suffixes: []string{"o=bench"}, Providers: []directory.Provider{pki}})
	if err != nil {
		b.Fatal(err)
	}
	admin := directory.Identity{DN: "cn=admin,o=bench", Mechanism: mechanismInternal}
	add := func(dn string, attrs ...directory.Attribute) {
		if err := tree.Add(ctx, admin, &directory.Entry{DN: dn, Attributes: attrs}); err != nil {
			b.Fatalf("add %s: %v", dn, err)
		}
	}
	vals := func(s ...string) [][]byte {
		var out [][]byte
		for _, v := range s {
			out = append(out, []byte(v))
		}
		return out
	}
	add("o=bench",
		directory.Attribute{Type: "objectClass", Values: vals("organization")},
		directory.Attribute{Type: "o", Values: vals("bench")},
		directory.Attribute{Type: "aclEntry", Values: vals("group:CN=ANYBODY:normal:rsc")})
	const n = 2000
	for i := range n {
		u := fmt.Sprintf("user%d", i)
		add("uid="+u+",o=bench",
			directory.Attribute{Type: "objectClass", Values: vals("inetOrgPerson")},
			directory.Attribute{Type: "uid", Values: vals(u)},
			directory.Attribute{Type: "cn", Values: vals("User " + u)},
			directory.Attribute{Type: "sn", Values: vals(u)})
	}
	// noacl: the same store without access control, for comparison.
	plain, err := directory.New(directory.Config{Store: st, Suffixes: []string{"o=bench"}, Providers: []directory.Provider{pki}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("noacl", func(b *testing.B) { benchSearch(b, plain, nil, n, false) })
	b.Run("warm", func(b *testing.B) { benchSearch(b, tree, a, n, false) })
	// cold: another process's write (a new store revision) drops the
	// cached decisions before every search.
	b.Run("cold", func(b *testing.B) { benchSearch(b, tree, a, n, true) })
}

func benchSearch(b *testing.B, tree *directory.Tree, a *aclAccess, n int, cold bool) {
	ctx := context.Background()
	anon := directory.Identity{}
	for i := 0; b.Loop(); i++ {
		if cold {
			a.changed("", nil)
		}
		f, err := ldap.ParseFilter(fmt.Sprintf("(uid=user%d)", i%n))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		_, err = tree.Search(ctx, anon, directory.SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*directory.Entry) error {
			got++
			return nil
		})
		if err != nil || got != 1 {
			b.Fatalf("search user%d: %d entries, %v", i%n, got, err)
		}
	}
}
