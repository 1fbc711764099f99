package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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

// TestAddCertificatesChunks: batches larger than one multi-row INSERT get
// one feed record per certificate, in batch order, and a repeated serial in
// a later chunk is named and leaves nothing stored.
func TestAddCertificatesChunks(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	batch := func(n, from int) []*store.Certificate {
		certs := make([]*store.Certificate, n)
		for i := range certs {
			certs[i] = &store.Certificate{Serial: fmt.Sprintf("%x", from+i), CAID: "ca", DER: []byte{byte(i)}}
		}
		return certs
	}
	before, _ := st.Revision(ctx)
	n := 2*addChunk + 7
	certs := batch(n, 0x1000)
	if err := st.AddCertificates(ctx, certs); err != nil {
		t.Fatal(err)
	}
	for i, c := range certs {
		if want := before + 1 + int64(i); c.Revision != want {
			t.Fatalf("certificate %d: revision %d, want %d", i, c.Revision, want)
		}
		got, err := st.Certificate(ctx, c.Serial)
		if err != nil || got.Revision != c.Revision || len(got.DER) != 1 || got.DER[0] != byte(i) {
			t.Fatalf("certificate %d stored as %+v, %v", i, got, err)
		}
	}
	changes, err := st.Changes(ctx, before, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != n {
		t.Fatalf("%d feed records for %d certificates", len(changes), n)
	}
	for i, ch := range changes {
		if ch.Revision != certs[i].Revision || ch.Serial != certs[i].Serial || ch.Kind != store.ChangeIssue {
			t.Fatalf("feed record %d = %+v, want issue of %s at %d", i, ch, certs[i].Serial, certs[i].Revision)
		}
	}

	after, _ := st.Revision(ctx)
	dup := batch(n, 0x9000)
	dup[addChunk+3].Serial = certs[5].Serial
	err = st.AddCertificates(ctx, dup)
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), strings.ToUpper(certs[5].Serial)) {
		t.Fatalf("repeated serial: %v, want ErrExists naming %s", err, certs[5].Serial)
	}
	if _, err := st.Certificate(ctx, dup[0].Serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first certificate of a refused batch: %v, want ErrNotFound", err)
	}
	if rev, _ := st.Revision(ctx); rev != after {
		t.Errorf("revision %d after a refused batch, want %d", rev, after)
	}
}
