package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/pkid/pkid/store"
)

// RunDirectory runs the conformance suite of store.DirectoryStore. Run calls
// it for every store: the directory is not optional.
func RunDirectory(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.DirectoryStore)
	}{
		{"PutAndRead", testDirPut},
		{"Scopes", testDirScopes},
		{"Index", testDirIndex},
		{"IndexDuplicateKeys", testDirIndexDuplicates},
		{"Rollback", testDirRollback},
		{"MoveSubtree", testDirMove},
		{"Delete", testDirDelete},
		{"BulkInOneTransaction", testDirBulk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			ds, ok := st.(store.DirectoryStore)
			if !ok {
				t.Fatalf("%T does not implement store.DirectoryStore", st)
			}
			tc.fn(t, ds)
		})
	}
}

// dirTree stores o=x, ou=a,o=x, ou=b,o=x, cn=c,ou=a,o=x and returns their IDs by NormDN.
func dirTree(t *testing.T, st store.DirectoryStore) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	add := func(tx store.DirTx, dn, parent string, idx ...store.DirIndexKey) error {
		e := &store.DirEntry{ParentID: ids[parent], DN: dn, NormDN: dn, Data: []byte("data of " + dn), Index: idx}
		if err := tx.Put(e); err != nil {
			return err
		}
		ids[dn] = e.ID
		return nil
	}
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		for _, e := range []struct{ dn, parent, cn string }{
			{"o=x", "", ""}, {"ou=a,o=x", "o=x", ""}, {"ou=b,o=x", "o=x", ""}, {"cn=c,ou=a,o=x", "ou=a,o=x", "c"}, {"cn=d,ou=b,o=x", "ou=b,o=x", "c"},
		} {
			var idx []store.DirIndexKey
			if e.cn != "" {
				idx = append(idx, store.DirIndexKey{Attr: "cn", Value: e.cn}, store.DirIndexKey{Attr: "objectclass", Value: "person"})
			}
			if err := add(tx, e.dn, e.parent, idx...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("DirUpdate: %v", err)
	}
	return ids
}

func dirSearch(t *testing.T, st store.DirectoryStore, q store.DirQuery) []string {
	t.Helper()
	var out []string
	if err := st.DirSearch(t.Context(), q, func(e *store.DirEntry) error { out = append(out, e.NormDN); return nil }); err != nil {
		t.Fatalf("DirSearch(%+v): %v", q, err)
	}
	sort.Strings(out)
	return out
}

func testDirPut(t *testing.T, st store.DirectoryStore) {
	ctx := t.Context()
	rev0 := revisionOf(t, st)
	ids := dirTree(t, st)
	if rev := revisionOf(t, st); rev != rev0+1 {
		t.Errorf("revision after one DirUpdate = %d, want %d", rev, rev0+1)
	}
	e, err := st.DirEntry(ctx, "cn=c,ou=a,o=x")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != ids["cn=c,ou=a,o=x"] || e.ParentID != ids["ou=a,o=x"] || string(e.Data) != "data of cn=c,ou=a,o=x" {
		t.Errorf("DirEntry = %+v", e)
	}
	if _, err := st.DirEntry(ctx, "cn=zz,o=x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing entry: %v, want ErrNotFound", err)
	}
	_, err = st.DirUpdate(ctx, func(tx store.DirTx) error {
		return tx.Put(&store.DirEntry{ParentID: ids["o=x"], DN: "ou=a,o=x", NormDN: "ou=a,o=x", Data: []byte("dup")})
	})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate DN: %v, want ErrExists", err)
	}
	_, err = st.DirUpdate(ctx, func(tx store.DirTx) error {
		return tx.Put(&store.DirEntry{ParentID: 99999, DN: "ou=q,o=nowhere", NormDN: "ou=q,o=nowhere", Data: []byte("orphan")})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing parent: %v, want ErrNotFound", err)
	}
	if n, err := st.DirChildren(ctx, ids["o=x"]); err != nil || n != 2 {
		t.Errorf("DirChildren(o=x) = %d, %v; want 2", n, err)
	}
	// Replace by ID.
	_, err = st.DirUpdate(ctx, func(tx store.DirTx) error {
		e, err := tx.Entry("ou=b,o=x")
		if err != nil {
			return err
		}
		e.Data = []byte("new data")
		return tx.Put(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := st.DirEntry(ctx, "ou=b,o=x"); err != nil || string(e.Data) != "new data" {
		t.Errorf("after replace: %+v, %v", e, err)
	}
}

func revisionOf(t *testing.T, st store.DirectoryStore) int64 {
	t.Helper()
	r, err := st.(store.Store).Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testDirScopes(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	tests := []struct {
		name string
		q    store.DirQuery
		want []string
	}{
		{"base", store.DirQuery{Base: ids["ou=a,o=x"], Scope: store.DirBase}, []string{"ou=a,o=x"}},
		{"one", store.DirQuery{Base: ids["o=x"], Scope: store.DirOne}, []string{"ou=a,o=x", "ou=b,o=x"}},
		{"sub", store.DirQuery{Base: ids["ou=a,o=x"], Scope: store.DirSub}, []string{"cn=c,ou=a,o=x", "ou=a,o=x"}},
		{"root one", store.DirQuery{Base: 0, Scope: store.DirOne}, []string{"o=x"}},
		{"root sub", store.DirQuery{Base: 0, Scope: store.DirSub}, []string{"cn=c,ou=a,o=x", "cn=d,ou=b,o=x", "o=x", "ou=a,o=x", "ou=b,o=x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dirSearch(t, st, tc.q); !equalStrings(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testDirIndex(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	key := &store.DirIndexKey{Attr: "cn", Value: "c"}
	if got := dirSearch(t, st, store.DirQuery{Base: ids["o=x"], Scope: store.DirSub, Index: key}); !equalStrings(got, []string{"cn=c,ou=a,o=x", "cn=d,ou=b,o=x"}) {
		t.Errorf("indexed sub = %q", got)
	}
	if got := dirSearch(t, st, store.DirQuery{Base: ids["ou=b,o=x"], Scope: store.DirSub, Index: key}); !equalStrings(got, []string{"cn=d,ou=b,o=x"}) {
		t.Errorf("indexed sub of ou=b = %q", got)
	}
	if got := dirSearch(t, st, store.DirQuery{Base: ids["o=x"], Scope: store.DirOne, Index: key}); len(got) != 0 {
		t.Errorf("indexed one = %q, want none", got)
	}
	// Put replaces index rows.
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		e, err := tx.Entry("cn=c,ou=a,o=x")
		if err != nil {
			return err
		}
		e.Index = []store.DirIndexKey{{Attr: "cn", Value: "other"}}
		return tx.Put(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirSearch(t, st, store.DirQuery{Base: 0, Scope: store.DirSub, Index: key}); !equalStrings(got, []string{"cn=d,ou=b,o=x"}) {
		t.Errorf("after re-index = %q", got)
	}
}

// testDirIndexDuplicates: an entry's index keys may repeat (two values
// of an attribute can normalise alike); Put stores them once, for an
// entry of a few keys as for one of many (a large group's members).
func testDirIndexDuplicates(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	tests := []struct {
		name string
		keys int
	}{
		{"few keys", 3},
		{"many keys", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dn := "cn=" + tc.name + ",o=x"
			var idx []store.DirIndexKey
			for i := range tc.keys {
				k := store.DirIndexKey{Attr: "member", Value: fmt.Sprintf("uid=%d,%s", i, dn)}
				idx = append(idx, k, k)
			}
			_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
				return tx.Put(&store.DirEntry{ParentID: ids["o=x"], DN: dn, NormDN: dn, Data: []byte("group"), Index: idx})
			})
			if err != nil {
				t.Fatalf("Put with repeated index keys: %v", err)
			}
			for _, v := range []string{"uid=0," + dn, fmt.Sprintf("uid=%d,%s", tc.keys-1, dn)} {
				key := &store.DirIndexKey{Attr: "member", Value: v}
				if got := dirSearch(t, st, store.DirQuery{Base: 0, Scope: store.DirSub, Index: key}); !equalStrings(got, []string{dn}) {
					t.Errorf("indexed search for %s = %q, want [%s] once", v, got, dn)
				}
			}
		})
	}
}

func testDirRollback(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	rev := revisionOf(t, st)
	boom := errors.New("boom")
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		if err := tx.Put(&store.DirEntry{ParentID: ids["o=x"], DN: "ou=new,o=x", NormDN: "ou=new,o=x", Data: []byte("x")}); err != nil {
			return err
		}
		if _, err := tx.Entry("ou=new,o=x"); err != nil {
			t.Errorf("own write not visible in the transaction: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("DirUpdate = %v, want boom", err)
	}
	if _, err := st.DirEntry(context.Background(), "ou=new,o=x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled-back entry visible: %v", err)
	}
	if r := revisionOf(t, st); r != rev {
		t.Errorf("revision moved on a failed update: %d -> %d", rev, r)
	}
}

func testDirMove(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		e, err := tx.Entry("ou=a,o=x")
		if err != nil {
			return err
		}
		e.ParentID = ids["ou=b,o=x"]
		e.DN, e.NormDN = "ou=a,ou=b,o=x", "ou=a,ou=b,o=x"
		if err := tx.Put(e); err != nil {
			return err
		}
		return tx.Descendants(e.ID, func(d *store.DirEntry) error {
			n := d.NormDN[:len(d.NormDN)-len("ou=a,o=x")] + "ou=a,ou=b,o=x"
			return tx.Rename(d.ID, n, n)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dirSearch(t, st, store.DirQuery{Base: ids["ou=b,o=x"], Scope: store.DirSub}); !equalStrings(got, []string{"cn=c,ou=a,ou=b,o=x", "cn=d,ou=b,o=x", "ou=a,ou=b,o=x", "ou=b,o=x"}) {
		t.Errorf("after move: %q", got)
	}
	if _, err := st.DirEntry(t.Context(), "cn=c,ou=a,o=x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old DN of moved child still found: %v", err)
	}
}

func testDirDelete(t *testing.T, st store.DirectoryStore) {
	ids := dirTree(t, st)
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error { return tx.Delete(ids["cn=c,ou=a,o=x"]) })
	if err != nil {
		t.Fatal(err)
	}
	if got := dirSearch(t, st, store.DirQuery{Base: 0, Scope: store.DirSub, Index: &store.DirIndexKey{Attr: "cn", Value: "c"}}); !equalStrings(got, []string{"cn=d,ou=b,o=x"}) {
		t.Errorf("index after delete: %q", got)
	}
	_, err = st.DirUpdate(t.Context(), func(tx store.DirTx) error { return tx.Delete(ids["cn=c,ou=a,o=x"]) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

// testDirBulk: an import-sized transaction (thousands of entries, each
// with index rows) that also replaces, deletes and re-adds entries it
// wrote itself: stores may write index rows late (in bulk), but the
// committed index must be exactly that of the final entries, and a
// deleted entry must not serve as a parent later in the transaction.
func testDirBulk(t *testing.T, st store.DirectoryStore) {
	const n = 3000
	ids := map[int]int64{}
	_, err := st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		root := &store.DirEntry{DN: "o=bulk", NormDN: "o=bulk", Data: []byte("o"), Index: []store.DirIndexKey{{Attr: "objectclass", Value: "org"}}}
		if err := tx.Put(root); err != nil {
			return err
		}
		for i := range n {
			dn := fmt.Sprintf("uid=u%d,o=bulk", i)
			e := &store.DirEntry{ParentID: root.ID, DN: dn, NormDN: dn, Data: []byte(dn), Index: []store.DirIndexKey{
				{Attr: "objectclass", Value: "person"}, {Attr: "uid", Value: fmt.Sprintf("u%d", i)}, {Attr: "cn", Value: "same"}, {Attr: "cn", Value: "same"},
			}}
			if err := tx.Put(e); err != nil {
				return err
			}
			ids[i] = e.ID
		}
		// Replace u1's index rows, delete u2, then try to add a child of u2.
		e, err := tx.Entry("uid=u1,o=bulk")
		if err != nil {
			return err
		}
		e.Index = []store.DirIndexKey{{Attr: "uid", Value: "renamed"}}
		if err := tx.Put(e); err != nil {
			return err
		}
		if err := tx.Delete(ids[2]); err != nil {
			return err
		}
		if err := tx.Put(&store.DirEntry{ParentID: ids[2], DN: "cn=x,uid=u2,o=bulk", NormDN: "cn=x,uid=u2,o=bulk", Data: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("child of an entry deleted in the same transaction: Put = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A DN stored before is refused by the Put that repeats it (the
	// transaction then fails: PostgreSQL aborts it at the first error).
	_, err = st.DirUpdate(t.Context(), func(tx store.DirTx) error {
		for i := range 100 {
			dn := fmt.Sprintf("uid=v%d,o=bulk", i)
			if err := tx.Put(&store.DirEntry{ParentID: ids[0], DN: dn, NormDN: dn, Data: []byte("x"), Index: []store.DirIndexKey{{Attr: "uid", Value: dn}}}); err != nil {
				return err
			}
		}
		err := tx.Put(&store.DirEntry{DN: "uid=u3,o=bulk", NormDN: "uid=u3,o=bulk", Data: []byte("x")})
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate Put = %v, want ErrExists", err)
		}
		return err
	})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("DirUpdate with a duplicate = %v, want ErrExists", err)
	}
	count := func(k store.DirIndexKey) int {
		return len(dirSearch(t, st, store.DirQuery{Scope: store.DirSub, Index: &k}))
	}
	for _, tc := range []struct {
		key  store.DirIndexKey
		want int
	}{
		{store.DirIndexKey{Attr: "objectclass", Value: "person"}, n - 2},
		{store.DirIndexKey{Attr: "cn", Value: "same"}, n - 2},
		{store.DirIndexKey{Attr: "uid", Value: "u0"}, 1},
		{store.DirIndexKey{Attr: "uid", Value: "u1"}, 0},
		{store.DirIndexKey{Attr: "uid", Value: "renamed"}, 1},
		{store.DirIndexKey{Attr: "uid", Value: "u2"}, 0},
		{store.DirIndexKey{Attr: "uid", Value: fmt.Sprintf("u%d", n-1)}, 1},
		{store.DirIndexKey{Attr: "objectclass", Value: "org"}, 1},
	} {
		if got := count(tc.key); got != tc.want {
			t.Errorf("index %s=%s: %d entries, want %d", tc.key.Attr, tc.key.Value, got, tc.want)
		}
	}
	if got := len(dirSearch(t, st, store.DirQuery{Scope: store.DirSub})); got != n {
		t.Errorf("%d entries stored, want %d", got, n)
	}
}
