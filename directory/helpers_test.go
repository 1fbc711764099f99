package directory

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store/sqlite"
)

// newTestTree opens a tree over a fresh SQLite store with suffix o=test.
func newTestTree(t testing.TB) *Tree {
	t.Helper()
	return newTestTreeIndexed(t, nil)
}

// newTestTreeIndexed is newTestTree with Config.Indexed set to indexed
// (nil: DefaultIndexed; empty: no index at all).
func newTestTreeIndexed(t testing.TB, indexed []string) *Tree {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Config{Store: st, Suffixes: []string{"o=test"}, Indexed: indexed, Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var admin = Identity{DN: "cn=admin,o=test", Mechanism: "EXTERNAL"}

// entry builds an Entry from "dn" and "attr: value" lines.
func entry(dn string, lines ...string) *Entry {
	e := &Entry{DN: dn}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		found := false
		for i := range e.Attributes {
			if e.Attributes[i].Type == k {
				e.Attributes[i].Values = append(e.Attributes[i].Values, []byte(v))
				found = true
			}
		}
		if !found {
			e.Attributes = append(e.Attributes, Attribute{Type: k, Values: [][]byte{[]byte(v)}})
		}
	}
	return e
}

func mustAdd(t testing.TB, tr *Tree, e *Entry) {
	t.Helper()
	if err := tr.Add(t.Context(), admin, e); err != nil {
		t.Fatalf("Add(%s): %v", e.DN, err)
	}
}

// populate adds o=test, ou=people, ou=groups and a few users.
func populate(t testing.TB, tr *Tree) {
	t.Helper()
	mustAdd(t, tr, entry("o=test", "objectClass: organization", "o: test"))
	mustAdd(t, tr, entry("ou=people,o=test", "objectClass: organizationalUnit", "ou: people"))
	mustAdd(t, tr, entry("ou=groups,o=test", "objectClass: organizationalUnit", "ou: groups"))
	mustAdd(t, tr, entry("uid=alice,ou=people,o=test", "objectClass: inetOrgPerson", "objectClass: posixAccount", "uid: alice", "cn: Alice  Liddell", "sn: Liddell",
		"mail: Alice@Example.com", "uidNumber: 1000", "gidNumber: 100", "homeDirectory: /home/alice", "telephoneNumber: +44 20 7946-0000", "userPassword: {SSHA}Hd9+6EJZhNs1j9aGHMq9zFrIYs4JPKys", "description: first user"))
	mustAdd(t, tr, entry("uid=bob,ou=people,o=test", "objectClass: inetOrgPerson", "uid: bob", "cn: Bob Builder", "sn: Builder", "mail: bob@example.com", "employeeNumber: 42"))
	mustAdd(t, tr, entry("cn=admins,ou=groups,o=test", "objectClass: groupOfNames", "cn: admins", "member: uid=alice,ou=people,o=test"))
	mustAdd(t, tr, entry("cn=staff,ou=groups,o=test", "objectClass: posixGroup", "cn: staff", "gidNumber: 100", "memberUid: alice", "memberUid: bob"))
}

// search returns the sorted DNs a search finds, or the error's code.
func search(t testing.TB, tr *Tree, base string, scope ldap.Scope, filter string, attrs ...string) ([]string, []*Entry, error) {
	t.Helper()
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		t.Fatalf("ParseFilter(%s): %v", filter, err)
	}
	var dns []string
	var entries []*Entry
	_, err = tr.Search(t.Context(), admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: base, Scope: scope, Filter: f, Attributes: attrs}}, func(e *Entry) error {
		dns = append(dns, e.DN)
		entries = append(entries, e)
		return nil
	})
	sort.Strings(dns)
	return dns, entries, err
}

func code(err error) ldap.ResultCode {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.Code
	}
	if err == nil {
		return ldap.ResultSuccess
	}
	return 255
}
