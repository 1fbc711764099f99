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
	tree, a, plain, n := aclBenchTree(b, []string{"group:CN=ANYBODY:normal:rsc"})
	anon := directory.Identity{}
	b.Run("noacl", func(b *testing.B) { benchSearch(b, plain, nil, anon, n, false) })
	b.Run("warm", func(b *testing.B) { benchSearch(b, tree, a, anon, n, false) })
	// cold: another process's write (a new store revision) drops the
	// cached decisions before every search.
	b.Run("cold", func(b *testing.B) { benchSearch(b, tree, a, anon, n, true) })
}

// BenchmarkACLSearch20 is the search of bench/certlogin-compare.sh: bound
// as user42 (as after an EXTERNAL bind), with 20 aclEntry values at
// o=bench: 10 access-id values naming others, 9 groups of 50 members
// that user42 is not in, and CN=AUTHENTICATED, which grants.
func BenchmarkACLSearch20(b *testing.B) {
	var acl []string
	for u := 1000; u < 1010; u++ {
		acl = append(acl, fmt.Sprintf("access-id:uid=user%d,o=bench:normal:rsc", u))
	}
	for g := 1; g <= 9; g++ {
		acl = append(acl, fmt.Sprintf("group:cn=group%d,o=bench:normal:rsc", g))
	}
	acl = append(acl, "group:CN=AUTHENTICATED:normal:rsc")
	tree, a, _, n := aclBenchTree(b, acl)
	user := directory.Identity{DN: "uid=user42,o=bench", Mechanism: ldap.MechanismExternal}
	b.Run("warm", func(b *testing.B) { benchSearch(b, tree, a, user, n, false) })
	b.Run("cold", func(b *testing.B) { benchSearch(b, tree, a, user, n, true) })
}

// aclBenchTree makes 2,000 users user0..user1999 and nine groups
// group1..group9 (members user50g+50..user50g+99) under o=bench, which
// carries the aclEntry values acl; plain is the same store without
// access control.
func aclBenchTree(b *testing.B, acl []string) (tree *directory.Tree, a *aclAccess, plain *directory.Tree, n int) {
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
	tree, a, err = buildACLTree(directory.Config{Store: st, Suffixes: []string{"o=bench"}, Providers: []directory.Provider{pki}})
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
		directory.Attribute{Type: "aclEntry", Values: vals(acl...)})
	n = 2000
	for i := range n {
		u := fmt.Sprintf("user%d", i)
		add("uid="+u+",o=bench",
			directory.Attribute{Type: "objectClass", Values: vals("inetOrgPerson")},
			directory.Attribute{Type: "uid", Values: vals(u)},
			directory.Attribute{Type: "cn", Values: vals("User " + u)},
			directory.Attribute{Type: "sn", Values: vals(u)})
	}
	for g := 1; g <= 9; g++ {
		var members []string
		for m := 50*g + 50; m < 50*g+100; m++ {
			members = append(members, fmt.Sprintf("uid=user%d,o=bench", m))
		}
		add(fmt.Sprintf("cn=group%d,o=bench", g),
			directory.Attribute{Type: "objectClass", Values: vals("groupOfNames")},
			directory.Attribute{Type: "cn", Values: vals(fmt.Sprintf("group%d", g))},
			directory.Attribute{Type: "member", Values: vals(members...)})
	}
	plain, err = directory.New(directory.Config{Store: st, Suffixes: []string{"o=bench"}, Providers: []directory.Provider{pki}})
	if err != nil {
		b.Fatal(err)
	}
	return tree, a, plain, n
}

func benchSearch(b *testing.B, tree *directory.Tree, a *aclAccess, caller directory.Identity, n int, cold bool) {
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if cold {
			a.changed("", nil)
		}
		f, err := ldap.ParseFilter(fmt.Sprintf("(uid=user%d)", i%n))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		_, err = tree.Search(ctx, caller, directory.SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*directory.Entry) error {
			got++
			return nil
		})
		if err != nil || got != 1 {
			b.Fatalf("search user%d: %d entries, %v", i%n, got, err)
		}
	}
}
