package directory

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store/sqlite"
)

// hiding is an AccessControl for the seams' tests: the admin may do
// anything; others read only entries under ou=public and know of nothing
// else.
type hiding struct{}

func (hiding) Allowed(_ context.Context, id Identity, r Right, dn string, _ *AttributeType) bool {
	return id.DN == admin.DN || r == RightRead && strings.HasSuffix(dn, "ou=public,o=test")
}

func (hiding) Conceal(_ context.Context, id Identity, dn, matched string) (bool, string) {
	if strings.HasSuffix(dn, "ou=public,o=test") {
		return false, matched
	}
	return true, ""
}

// TestAccessSeams: CheckValue refuses a write with invalidAttributeSyntax
// and nothing is stored; Changed hears of each committed write; a
// Concealer turns refusals into noSuchObject without a matchedDN.
func TestAccessSeams(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var changes []string
	tr, err := New(Config{Store: st, Suffixes: []string{"o=test"}, Access: hiding{}, CacheEntries: -1,
		CheckValue: func(attr string, v []byte) error {
			if attr == "description" && string(v) == "bad" {
				return errors.New("description: bad is refused")
			}
			return nil
		},
		Changed: func(dn string, attrs []string) { changes = append(changes, dn+" "+strings.Join(attrs, ",")) },
	})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tr, entry("o=test", "objectClass: organization", "o: test"))
	mustAdd(t, tr, entry("ou=public,o=test", "objectClass: organizationalUnit", "ou: public"))
	mustAdd(t, tr, entry("ou=private,o=test", "objectClass: organizationalUnit", "ou: private"))
	user := Identity{DN: "cn=u,o=test", Mechanism: "EXTERNAL"}
	ctx := t.Context()
	cases := []struct {
		name string
		err  error
		want ldap.ResultCode
	}{
		{"CheckValue refuses Add", tr.Add(ctx, admin, entry("cn=x,o=test", "objectClass: organizationalRole", "cn: x", "description: bad")), ldap.ResultInvalidAttributeSyntax},
		{"CheckValue refuses Modify", tr.Modify(ctx, admin, "ou=private,o=test", []ldap.Change{{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte("bad")}}}}), ldap.ResultInvalidAttributeSyntax},
		{"refused Modify of a secret entry", tr.Modify(ctx, user, "ou=private,o=test", []ldap.Change{{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte("x")}}}}), ldap.ResultNoSuchObject},
		{"refused Modify of a known entry", tr.Modify(ctx, user, "ou=public,o=test", []ldap.Change{{Operation: ldap.ModifyAdd, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte("x")}}}}), ldap.ResultInsufficientAccessRights},
		{"refused Delete of a secret entry", tr.Delete(ctx, user, "ou=private,o=test"), ldap.ResultNoSuchObject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code(c.err) != c.want {
				t.Errorf("got %v, want %v", c.err, c.want)
			}
			var le *ldap.Error
			if errors.As(c.err, &le) && le.MatchedDN != "" {
				t.Errorf("matchedDN %q reveals an entry", le.MatchedDN)
			}
		})
	}
	t.Run("secret search base", func(t *testing.T) {
		_, err := tr.Search(ctx, user, SearchParams{Request: &ldap.SearchRequest{BaseObject: "ou=private,o=test", Scope: ldap.ScopeBaseObject, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}}, func(*Entry) error { return nil })
		if code(err) != ldap.ResultNoSuchObject {
			t.Errorf("got %v, want noSuchObject", err)
		}
	})
	t.Run("nothing stored", func(t *testing.T) {
		if _, err := tr.Entry(ctx, "cn=x,o=test"); code(err) != ldap.ResultNoSuchObject {
			t.Errorf("refused entry stored: %v", err)
		}
		e, _ := tr.Entry(ctx, "ou=private,o=test")
		if e == nil || len(e.Get("description")) != 0 {
			t.Errorf("refused value stored: %+v", e)
		}
	})
	t.Run("Changed", func(t *testing.T) {
		if err := tr.Delete(ctx, admin, "ou=private,o=test"); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(changes, "|")
		for _, want := range []string{"o=test objectClass,o,", "ou=private,o=test |"} {
			if !strings.Contains(got+"|", want) {
				t.Errorf("Changed calls %q lack %q", got, want)
			}
		}
	})
}
