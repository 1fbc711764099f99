package directory

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/postgres"
	"github.com/pkid/pkid/store/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// dirStore is a store with a directory, as both implementations are.
type dirStore interface {
	store.Store
	store.DirectoryStore
}

// indexSpy is a store that counts directory searches through an index
// and without one.
type indexSpy struct {
	dirStore
	indexed, scans atomic.Int64
}

func (s *indexSpy) DirSearch(ctx context.Context, q store.DirQuery, fn func(*store.DirEntry) error) error {
	if q.Index != nil {
		s.indexed.Add(1)
	} else {
		s.scans.Add(1)
	}
	return s.dirStore.DirSearch(ctx, q, fn)
}

// TestObjectClassIndex: an entry's index rows name the object classes it
// lists, not their superclasses, and a search on any class of the chain,
// or on an auxiliary class, finds each entry once through the index,
// whether the store holds only listed classes or, as stores written by
// earlier versions do, their superclasses too; on SQLite and PostgreSQL.
func TestObjectClassIndex(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache int // Config.CacheEntries
		open  func(t *testing.T) (dirStore, error)
	}{
		{"sqlite cached", 0, openSQLite},
		{"sqlite uncached", -1, openSQLite},
		{"postgres uncached", -1, func(t *testing.T) (dirStore, error) { return postgres.Open(t.Context(), pgtest.Start(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := tc.open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			spy := &indexSpy{dirStore: st}
			tr, err := New(Config{Store: spy, Suffixes: []string{"o=test"}, CacheEntries: tc.cache})
			if err != nil {
				t.Fatal(err)
			}
			populate(t, tr)

			alice := entry("uid=alice,ou=people,o=test", "objectClass: inetOrgPerson", "objectClass: posixAccount", "uid: alice")
			var classes []string
			for _, k := range tr.indexKeys(alice.Attributes) {
				if k.Attr == "objectclass" {
					classes = append(classes, k.Value)
				}
			}
			if want := []string{"2.16.840.1.113730.3.2.2", "1.3.6.1.1.1.2.0"}; !slices.Equal(classes, want) {
				t.Errorf("objectClass index rows of alice = %q, want %q (the listed classes only)", classes, want)
			}

			// Pages of one entry each through a lookup of several keys
			// (person and its subclasses) give every entry once.
			paged := func(t *testing.T) {
				f, _ := ldap.ParseFilter("(objectClass=person)")
				var all []string
				var cookie []byte
				for page := 0; page < 10; page++ {
					res, err := tr.Search(t.Context(), admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f}, PageSize: 1, Cookie: cookie}, func(e *Entry) error { all = append(all, e.DN); return nil })
					if err != nil {
						t.Fatal(err)
					}
					if cookie = res.Cookie; cookie == nil {
						break
					}
				}
				slices.Sort(all)
				if got, want := strings.Join(all, ";"), "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"; got != want {
					t.Errorf("paged (objectClass=person): %q, want %q", got, want)
				}
			}
			check := func(t *testing.T) {
				t.Run("paged", paged)
				for _, s := range []struct{ filter, want string }{
					{"(objectClass=person)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
					{"(objectClass=organizationalPerson)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
					{"(objectClass=inetOrgPerson)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
					{"(objectClass=2.5.6.6)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
					{"(objectClass=posixAccount)", "uid=alice,ou=people,o=test"},
					{"(objectClass=groupOfNames)", "cn=admins,ou=groups,o=test"},
					{"(objectClass=organizationalUnit)", "ou=groups,o=test;ou=people,o=test"},
					{"(&(objectClass=person)(objectClass=posixAccount))", "uid=alice,ou=people,o=test"},
					{"(&(objectClass=person)(!(objectClass=posixAccount)))", "uid=bob,ou=people,o=test"},
				} {
					for _, base := range []string{"o=test", "ou=people,o=test"} {
						spy.scans.Store(0)
						spy.indexed.Store(0)
						dns, _, err := search(t, tr, base, ldap.ScopeWholeSubtree, s.filter)
						if err != nil {
							t.Fatalf("%s: %v", s.filter, err)
						}
						want := s.want
						if base != "o=test" {
							var in []string
							for _, dn := range strings.Split(want, ";") {
								if dn == base || strings.HasSuffix(dn, ","+base) {
									in = append(in, dn)
								}
							}
							want = strings.Join(in, ";")
						}
						if got := strings.Join(dns, ";"); got != want {
							t.Errorf("%s under %s: %q, want %q", s.filter, base, got, want)
						}
						if spy.scans.Load() != 0 {
							t.Errorf("%s under %s: %d scans, want the index only (%d lookups)", s.filter, base, spy.scans.Load(), spy.indexed.Load())
						}
					}
				}
			}
			t.Run("listed classes", check)

			// Rewrite the people's rows as earlier versions wrote them: a
			// row for every superclass (but top) besides the listed ones.
			if _, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
				for _, dn := range []string{"uid=alice,ou=people,o=test", "uid=bob,ou=people,o=test"} {
					se, err := tx.Entry(dn)
					if err != nil {
						return err
					}
					e, err := decode(se)
					if err != nil {
						return err
					}
					se.Index = tr.indexKeys(e.Attributes)
					for _, v := range e.Get("objectClass") {
						for _, c := range tr.classSet([]*ObjectClass{tr.schema.Class(string(v))}).all {
							if c.OID != oidTop {
								se.Index = append(se.Index, store.DirIndexKey{Attr: "objectclass", Value: c.OID})
							}
						}
					}
					if err := tx.Put(se); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			tr.cache.flush(0)
			t.Run("superclass rows too", check)
		})
	}
}

func openSQLite(t *testing.T) (dirStore, error) {
	return sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
}
