package directory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
)

// TestTransientSearch checks that the LDAP backend's transient search,
// which reuses one set of buffers for every entry and every search and
// memoises attribute selections, returns exactly what Search returns:
// entry after entry, with cached and uncached index results, attribute
// lists and typesOnly, and filters on the computed attributes (which it
// adds to an entry only when the filter may test them). A change through
// the Tree shows in the next search.
func TestTransientSearch(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	b := &LDAPBackend{Tree: tr}
	tests := []struct {
		name      string
		base      string
		scope     ldap.Scope
		filter    string
		attrs     []string
		typesOnly bool
	}{
		{"every entry", "o=test", ldap.ScopeWholeSubtree, "(objectClass=*)", nil, false},
		{"indexed, several entries", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", nil, false},
		{"indexed, one entry", "o=test", ldap.ScopeWholeSubtree, "(uid=alice)", nil, false},
		{"one attribute", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", []string{"cn"}, false},
		{"one attribute, types only", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", []string{"cn"}, true},
		{"two attributes", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", []string{"cn", "sn"}, false},
		{"two attributes, other order", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", []string{"sn", "cn"}, false},
		{"no attributes", "o=test", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", []string{"1.1"}, false},
		{"empty attribute name", "o=test", ldap.ScopeWholeSubtree, "(uid=bob)", []string{""}, false},
		{"operational", "o=test", ldap.ScopeWholeSubtree, "(uid=bob)", []string{"+"}, false},
		{"all and hasSubordinates", "o=test", ldap.ScopeSingleLevel, "(objectClass=*)", []string{"*", "hasSubordinates"}, false},
		{"entryDN asked for", "o=test", ldap.ScopeWholeSubtree, "(uid=bob)", []string{"entryDN"}, false},
		{"filter on entryDN", "o=test", ldap.ScopeWholeSubtree, "(entryDN=uid=bob,ou=people,o=test)", nil, false},
		{"filter on subschemaSubentry", "ou=people,o=test", ldap.ScopeSingleLevel, "(subschemaSubentry=cn=Subschema)", nil, false},
		{"filter on hasSubordinates", "o=test", ldap.ScopeWholeSubtree, "(hasSubordinates=TRUE)", nil, false},
		{"extensible match without a type", "o=test", ldap.ScopeWholeSubtree, "(:distinguishedNameMatch:=uid=bob,ou=people,o=test)", nil, false},
		{"AND with entryDN", "o=test", ldap.ScopeWholeSubtree, "(&(objectClass=person)(!(entryDN=uid=bob,ou=people,o=test)))", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ldap.ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			req := &ldap.SearchRequest{BaseObject: tc.base, Scope: tc.scope, Filter: f, Attributes: tc.attrs, TypesOnly: tc.typesOnly}
			// Twice: the first search may fill the cache, the second reads it.
			for round := range 2 {
				var want []string
				if _, err := tr.Search(t.Context(), admin, SearchParams{Request: req}, func(e *Entry) error {
					want = append(want, formatEntry(e.DN, e.Attributes))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				got := backendSearch(t, b, req)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("round %d: LDAPBackend.Search returned\n%s\nSearch returned\n%s", round, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if len(want) == 0 {
					t.Errorf("round %d: no entries; the case tests nothing", round)
				}
			}
		})
	}

	t.Run("change shows at once", func(t *testing.T) {
		f, _ := ldap.ParseFilter("(uid=bob)")
		req := &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f, Attributes: []string{"cn"}}
		before := backendSearch(t, b, req)
		if len(before) != 1 || !strings.Contains(before[0], `cn: ["Bob Builder"]`) {
			t.Fatalf("before: %q", before)
		}
		err := tr.Modify(t.Context(), admin, "uid=bob,ou=people,o=test", []ldap.Change{{Operation: ldap.ModifyReplace,
			Modification: ldap.Attribute{Type: "cn", Values: [][]byte{[]byte("Robert Builder")}}}})
		if err != nil {
			t.Fatal(err)
		}
		after := backendSearch(t, b, req)
		if len(after) != 1 || !strings.Contains(after[0], `cn: ["Robert Builder"]`) || strings.Contains(after[0], "Bob") {
			t.Fatalf("after Modify: %q", after)
		}
	})
}

// backendSearch runs req through b and formats each entry as send saw it.
func backendSearch(t *testing.T, b *LDAPBackend, req *ldap.SearchRequest) []string {
	t.Helper()
	var got []string
	if _, err := b.Search(t.Context(), ldap.Identity{DN: admin.DN, Mechanism: admin.Mechanism}, req, nil, func(e *ldap.SearchResultEntry) error {
		as := make([]Attribute, len(e.Attributes))
		for i, a := range e.Attributes {
			as[i] = Attribute(a)
		}
		got = append(got, formatEntry(e.ObjectName, as))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func formatEntry(dn string, attrs []Attribute) string {
	var sb strings.Builder
	sb.WriteString("dn: " + dn)
	for _, a := range attrs {
		fmt.Fprintf(&sb, "\n  %s: %q", a.Type, a.Values)
	}
	return sb.String()
}
