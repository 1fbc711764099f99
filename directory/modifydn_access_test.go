package directory

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store/sqlite"
)

// grants is an AccessControl for the ModifyDN tests: the admin may do
// anything, the user exactly the (right, entry) pairs listed.
type grants map[Right]map[string]bool

func (g grants) Allowed(_ context.Context, id Identity, r Right, dn string, _ *AttributeType) bool {
	return id.DN == admin.DN || r == RightRead || g[r][dn]
}

// TestModifyDNAccess: moving an entry below a new superior needs, besides
// rename access, delete access at the old place and add access below the
// new superior (z/OS LDAP: object d on the entry, object a on the new
// parent); renaming in place needs rename access only. A refused move
// changes nothing.
func TestModifyDNAccess(t *testing.T) {
	const entryDN, moved, renamed = "cn=x,ou=a,o=test", "cn=x,ou=b,o=test", "cn=y,ou=a,o=test"
	full := grants{
		RightRename: {"cn=x,ou=a,o=test": true},
		RightDelete: {"cn=x,ou=a,o=test": true},
		RightAdd:    {"cn=x,ou=b,o=test": true},
	}
	without := func(r Right) grants {
		g := grants{}
		for k, v := range full {
			if k != r {
				g[k] = v
			}
		}
		return g
	}
	b := "ou=b,o=test"
	a := "ou=a,o=test"
	cases := []struct {
		name      string
		access    grants
		rdn       string
		sup       *string
		want      ldap.ResultCode
		wantAfter string // the entry's DN afterwards
	}{
		{"move with rename, delete and add", full, "cn=x", &b, ldap.ResultSuccess, moved},
		{"move without add below the new superior", without(RightAdd), "cn=x", &b, ldap.ResultInsufficientAccessRights, entryDN},
		{"move without delete at the old place", without(RightDelete), "cn=x", &b, ldap.ResultInsufficientAccessRights, entryDN},
		{"move without rename", without(RightRename), "cn=x", &b, ldap.ResultInsufficientAccessRights, entryDN},
		{"rename in place needs rename only", grants{RightRename: {"cn=x,ou=a,o=test": true}}, "cn=y", nil, ldap.ResultSuccess, renamed},
		{"newSuperior naming the same parent is a rename", grants{RightRename: {"cn=x,ou=a,o=test": true}}, "cn=y", &a, ldap.ResultSuccess, renamed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			tr, err := New(Config{Store: st, Suffixes: []string{"o=test"}, Access: c.access, CacheEntries: -1})
			if err != nil {
				t.Fatal(err)
			}
			mustAdd(t, tr, entry("o=test", "objectClass: organization", "o: test"))
			mustAdd(t, tr, entry("ou=a,o=test", "objectClass: organizationalUnit", "ou: a"))
			mustAdd(t, tr, entry("ou=b,o=test", "objectClass: organizationalUnit", "ou: b"))
			mustAdd(t, tr, entry(entryDN, "objectClass: organizationalRole", "cn: x"))
			user := Identity{DN: "cn=u,o=test", Mechanism: "EXTERNAL"}
			err = tr.ModifyDN(t.Context(), user, entryDN, c.rdn, true, c.sup)
			if got := code(err); got != c.want {
				t.Fatalf("ModifyDN: %v (code %v), want %v", err, got, c.want)
			}
			if _, err := tr.Entry(t.Context(), c.wantAfter); err != nil {
				t.Errorf("entry %s afterwards: %v", c.wantAfter, err)
			}
		})
	}
}
