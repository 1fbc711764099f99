package directory

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store/sqlite"
)

// TestCacheSeesOtherWriters: two Trees on one database file (as two
// processes would be) see each other's changes within CacheMaxAge, and a
// Tree sees its own at once.
func TestCacheSeesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pkid.db")
	open := func() *Tree {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		tr, err := New(Config{Store: st, Suffixes: []string{"o=test"}, CacheMaxAge: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b := open(), open()
	populate(t, a)
	read := func(tr *Tree) string {
		_, es, err := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(uid=alice)", "description")
		if err != nil || len(es) != 1 {
			t.Fatalf("search: %v", err)
		}
		return es[0].GetString("description")
	}
	if got := read(b); got != "first user" {
		t.Fatalf("b reads %q", got)
	}
	set := func(tr *Tree, v string) {
		if err := tr.Modify(t.Context(), admin, "uid=alice,ou=people,o=test", []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte(v)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	set(a, "second")
	if got := read(a); got != "second" {
		t.Errorf("a reads its own write as %q", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for read(b) != "second" {
		if time.Now().After(deadline) {
			t.Fatal("b never saw a's change")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A bind after a password change elsewhere uses the new password.
	if _, err := b.PasswordModify(t.Context(), admin, "uid=bob,ou=people,o=test", nil, []byte("newpw")); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for {
		if _, err := a.Bind(t.Context(), "uid=bob,ou=people,o=test", []byte("newpw")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a never accepted the password set through b")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// denyMail is an AccessControl that hides mail and refuses writes to bob.
type denyMail struct{}

func (denyMail) Allowed(_ context.Context, id Identity, r Right, dn string, at *AttributeType) bool {
	if at != nil && at.Name() == "mail" && (r == RightRead || r == RightSearch || r == RightCompare) {
		return false
	}
	if dn == "uid=bob,ou=people,o=test" && r != RightRead && r != RightSearch {
		return false
	}
	return true
}

func TestAccessControlSeam(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	tr.cfg.Access = denyMail{}
	dns, es, err := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(uid=alice)")
	if err != nil || len(es) != 1 || es[0].Get("mail") != nil {
		t.Errorf("mail returned though unreadable: %v %+v", err, es)
	}
	// A filter on an unsearchable attribute is Undefined: no match, and
	// its negation matches nothing either.
	if dns, _, _ = search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(mail=bob@example.com)"); len(dns) != 0 {
		t.Errorf("filter on hidden attribute matched %q", dns)
	}
	if dns, _, _ = search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(!(mail=bob@example.com))"); len(dns) != 0 {
		t.Errorf("negated filter on hidden attribute matched %q", dns)
	}
	if _, err := tr.Compare(t.Context(), admin, "uid=bob,ou=people,o=test", "mail", []byte("bob@example.com")); code(err) != ldap.ResultInsufficientAccessRights {
		t.Errorf("compare hidden attribute: %v", err)
	}
	if err := tr.Delete(t.Context(), admin, "uid=bob,ou=people,o=test"); code(err) != ldap.ResultInsufficientAccessRights {
		t.Errorf("delete denied entry: %v", err)
	}
}
