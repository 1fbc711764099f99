package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
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

// cacheTree is a Tree with n users user0..user(n-1) under ou=people,o=test,
// each with description "d<i>".
func cacheTree(t *testing.T, cfg Config, n int) *Tree {
	t.Helper()
	if cfg.Store == nil {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	cfg.Suffixes = []string{"o=test"}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tr, entry("o=test", "objectClass: organization", "o: test"))
	mustAdd(t, tr, entry("ou=people,o=test", "objectClass: organizationalUnit", "ou: people"))
	for i := range n {
		mustAdd(t, tr, entry(fmt.Sprintf("uid=user%d,ou=people,o=test", i), "objectClass: inetOrgPerson",
			fmt.Sprintf("uid: user%d", i), fmt.Sprintf("cn: User %d", i), fmt.Sprintf("sn: %d", i), fmt.Sprintf("description: d%d", i)))
	}
	return tr
}

// find searches (uid=<uid>) from the suffix and returns the DNs and
// descriptions found.
func find(t *testing.T, tr *Tree, uid string) (dns, descs []string) {
	t.Helper()
	_, es, err := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(uid="+uid+")")
	if err != nil {
		t.Fatalf("search uid=%s: %v", uid, err)
	}
	for _, e := range es {
		dns = append(dns, e.DN)
		descs = append(descs, e.GetString("description"))
	}
	return dns, descs
}

// TestCacheEvictsWithinBudget: with a budget far below the directory's
// size the cache keeps evicting, stays within its budget, still hits, and
// every answer is right.
func TestCacheEvictsWithinBudget(t *testing.T) {
	const n = 300
	const budget = 24 << 10
	tr := cacheTree(t, Config{CacheBytes: budget}, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3 * n {
		// A skewed load: a tenth of the users get half the searches.
		i := rng.IntN(n)
		if rng.IntN(2) == 0 {
			i = rng.IntN(n / 10)
		}
		dns, descs := find(t, tr, fmt.Sprintf("user%d", i))
		if len(dns) != 1 || dns[0] != fmt.Sprintf("uid=user%d,ou=people,o=test", i) || descs[0] != fmt.Sprintf("d%d", i) {
			t.Fatalf("user%d: got %q %q", i, dns, descs)
		}
	}
	c := tr.cache
	c.mu.Lock()
	used, entries := c.used, len(c.entries)
	c.mu.Unlock()
	if used > budget {
		t.Errorf("cache holds %d bytes, budget %d", used, budget)
	}
	if c.evictions.Load() == 0 || entries == 0 || entries >= n {
		t.Errorf("%d evictions, %d entries cached of %d", c.evictions.Load(), entries, n)
	}
	if c.hits.Load() == 0 {
		t.Error("no cache hits")
	}
	if c.flushes.Load() > int64(n)+2+1 {
		// One flush per Add, one at the first check: eviction is gradual.
		t.Errorf("%d flushes for %d writes: eviction flushed", c.flushes.Load(), n+2)
	}
}

// TestCacheEntryCountBound: CacheEntries bounds the number of entries.
func TestCacheEntryCountBound(t *testing.T) {
	tr := cacheTree(t, Config{CacheEntries: 20}, 100)
	for i := range 100 {
		if dns, _ := find(t, tr, fmt.Sprintf("user%d", i)); len(dns) != 1 {
			t.Fatalf("user%d: %q", i, dns)
		}
	}
	tr.cache.mu.Lock()
	defer tr.cache.mu.Unlock()
	if n := len(tr.cache.entries); n > 20 || n == 0 {
		t.Errorf("%d entries cached, bound 20", n)
	}
}

// TestCacheOwnWrites: a write through the Tree is seen by the next search
// at once, whatever the cache held: the entry, the index lookup that found
// it, and the entry's DN.
func TestCacheOwnWrites(t *testing.T) {
	tr := cacheTree(t, Config{}, 10)
	replace := func(dn, attr string, vs ...string) {
		t.Helper()
		var vals [][]byte
		for _, v := range vs {
			vals = append(vals, []byte(v))
		}
		if err := tr.Modify(t.Context(), admin, dn, []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: attr, Values: vals}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		write     func()
		uid       string
		wantDN    string // "" = no match
		wantDesc  string
		staleUIDs []string // must find nothing now
	}{
		{"modify value", func() { replace("uid=user1,ou=people,o=test", "description", "changed") }, "user1", "uid=user1,ou=people,o=test", "changed", nil},
		{"add indexed value", func() { replace("uid=user2,ou=people,o=test", "uid", "user2", "newuid") }, "newuid", "uid=user2,ou=people,o=test", "d2", nil},
		{"remove indexed value", func() { replace("uid=user2,ou=people,o=test", "uid", "user2") }, "newuid", "", "", nil},
		{"delete", func() {
			if err := tr.Delete(t.Context(), admin, "uid=user3,ou=people,o=test"); err != nil {
				t.Fatal(err)
			}
		}, "user3", "", "", nil},
		{"rename", func() {
			if err := tr.ModifyDN(t.Context(), admin, "uid=user4,ou=people,o=test", "uid=renamed", true, nil); err != nil {
				t.Fatal(err)
			}
		}, "renamed", "uid=renamed,ou=people,o=test", "d4", []string{"user4"}},
		{"add", func() {
			mustAdd(t, tr, entry("uid=user99,ou=people,o=test", "objectClass: inetOrgPerson", "uid: user99", "cn: x", "sn: y", "description: new"))
		}, "user99", "uid=user99,ou=people,o=test", "new", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Warm the cache with what the write will change.
			for i := range 10 {
				find(t, tr, fmt.Sprintf("user%d", i))
			}
			find(t, tr, tc.uid)
			tc.write()
			dns, descs := find(t, tr, tc.uid)
			switch {
			case tc.wantDN == "" && len(dns) != 0:
				t.Errorf("uid=%s still found: %q", tc.uid, dns)
			case tc.wantDN != "" && (len(dns) != 1 || dns[0] != tc.wantDN || descs[0] != tc.wantDesc):
				t.Errorf("uid=%s: got %q %q, want %s %s", tc.uid, dns, descs, tc.wantDN, tc.wantDesc)
			}
			for _, u := range tc.staleUIDs {
				if dns, _ := find(t, tr, u); len(dns) != 0 {
					t.Errorf("stale uid=%s still finds %q", u, dns)
				}
			}
		})
	}
}

// TestCacheNeverStale: searches running beside a writer never see an
// older value than the last write that completed before they started.
func TestCacheNeverStale(t *testing.T) {
	tr := cacheTree(t, Config{CacheBytes: 64 << 10}, 50)
	var done atomic.Int64 // last description value written and returned
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				floor := done.Load()
				f, _ := ldap.ParseFilter("(uid=user7)")
				var got string
				_, err := tr.Search(context.Background(), admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(e *Entry) error {
					got = e.GetString("description")
					return nil
				})
				var v int64
				if err == nil {
					_, err = fmt.Sscanf(got, "v%d", &v)
				}
				if err != nil && floor > 0 {
					errs <- fmt.Errorf("reader %d: %q: %v", r, got, err)
					return
				}
				if v < floor {
					errs <- fmt.Errorf("reader %d saw v%d after v%d was written", r, v, floor)
					return
				}
				// Other users' lookups churn the small cache.
				find(t, tr, fmt.Sprintf("user%d", (k*7+r)%50))
			}
		}()
	}
	for v := int64(1); v <= 40; v++ {
		if err := tr.Modify(t.Context(), admin, "uid=user7,ou=people,o=test", []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte(fmt.Sprintf("v%d", v))}}}}); err != nil {
			t.Fatal(err)
		}
		done.Store(v)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCacheIgnoresPKIChanges: certificate issuance (another writer of the
// same store) does not empty the directory's cache, a directory change by
// another process does, within CacheMaxAge.
func TestCacheIgnoresPKIChanges(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	const maxAge = 20 * time.Millisecond
	tr := cacheTree(t, Config{Store: c.Store, CacheMaxAge: maxAge}, 5)
	find(t, tr, "user1")
	time.Sleep(2 * maxAge)
	find(t, tr, "user1") // reads the feed: now up to date
	before := tr.cache.flushes.Load()
	for range 3 {
		c.Issue(t, ca.Request{Profile: "client", Subject: "CN=someone,O=test"})
	}
	time.Sleep(2 * maxAge)
	if _, descs := find(t, tr, "user1"); len(descs) != 1 || descs[0] != "d1" {
		t.Fatalf("user1: %q", descs)
	}
	if got := tr.cache.flushes.Load(); got != before {
		t.Errorf("issuing certificates emptied the directory cache (%d flushes)", got-before)
	}
	// Another process (its own store handle and Tree) changes user1.
	st2, err := sqlite.Open(t.Context(), filepath.Join(c.Dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	other, err := New(Config{Store: st2, Suffixes: []string{"o=test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Modify(t.Context(), admin, "uid=user1,ou=people,o=test", []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "description", Values: [][]byte{[]byte("elsewhere")}}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * maxAge)
	if _, descs := find(t, tr, "user1"); len(descs) != 1 || descs[0] != "elsewhere" {
		t.Errorf("another process's change not seen after twice CacheMaxAge: %q", descs)
	}
}

// A provider top naming a type the schema lacks still normalises, but
// must not make the same string pass as a search base: the DN memo is
// shared, and parseDN rejects such a DN.
func TestNormTopKeepsBaseCheck(t *testing.T) {
	tr := newTestTree(t)
	const s = "x-not-in-schema=a,o=example"
	if n, ok := tr.normTop(s); !ok || n == "" {
		t.Fatalf("normTop(%q) = %q, %v", s, n, ok)
	}
	if _, _, err := tr.parseDNMemo(s); err == nil {
		t.Fatalf("parseDNMemo(%q) after normTop: no error, want invalidDNSyntax", s)
	}
}

// The selection memo is shared by every client: a requested name holding
// NUL must not fill the key of another list ("cn\x00mail" of ["cn",
// "mail"]), or that list would select nothing for everyone after.
func TestSelectionMemoKeys(t *testing.T) {
	tests := []struct {
		name        string
		first, then []string
	}{
		{"joined name", []string{"cn\x00mail"}, []string{"cn", "mail"}},
		{"after an empty name", []string{"", "cn\x00mail"}, []string{"", "cn", "mail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTree(t)
			cn := tr.schema.Attribute("cn")
			if tr.newSelection(tc.first, false).wants(cn) {
				t.Fatalf("selection %q wants cn", tc.first)
			}
			if !tr.newSelection(tc.then, false).wants(cn) {
				t.Fatalf("selection %q after %q does not want cn", tc.then, tc.first)
			}
		})
	}
}
