package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/storetest"
)

// openTemp opens a new store in a fresh temporary directory.
func openTemp(t testing.TB) *Store {
	t.Helper()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestCRLsPruned: only the latest keepCRLs of each kind stay stored.
func TestCRLsPruned(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= 10; n++ {
		for _, delta := range []bool{false, true} {
			if err := st.PutCRL(ctx, &store.CRL{CAID: "ca", Number: n, Delta: delta, DER: []byte("crl")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, delta := range []int{0, 1} {
		var n, min int64
		st.db.QueryRowContext(ctx, `SELECT count(*), min(number) FROM crls WHERE ca_id = 'ca' AND delta = ?`, delta).Scan(&n, &min)
		if n != keepCRLs || min != 10-keepCRLs+1 {
			t.Errorf("delta=%d: %d CRLs kept from number %d; want %d from %d", delta, n, min, keepCRLs, 10-keepCRLs+1)
		}
	}
}

// TestRevisionsNeverReused: even if the newest feed records are deleted
// (by hand, or a future pruning), a revision is never handed out again.
func TestRevisionsNeverReused(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c"} {
		if err := st.CreateCA(ctx, &store.CA{ID: k, Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := st.Revision(ctx)
	if _, err := st.db.ExecContext(ctx, `DELETE FROM changes`); err != nil {
		t.Fatal(err)
	}
	c := &store.Certificate{Serial: "01", CAID: "a"}
	if err := st.AddCertificates(ctx, []*store.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	if c.Revision <= last {
		t.Errorf("revision %d handed out again after deleting the feed (last was %d)", c.Revision, last)
	}
}
