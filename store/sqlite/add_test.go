package sqlite

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

func TestChunkLen(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 1}, {2, 2}, {3, 2}, {63, 32}, {64, 64}, {65, 64}, {1000, 64},
	} {
		if got := chunkLen(tc.n); got != tc.want {
			t.Errorf("chunkLen(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestAddCertificatesBatchSizes: batches of many sizes around the INSERT
// chunk boundaries store every certificate once, with the change-feed
// revision of its own "issue" record, through statements reused across
// batches; a collision in a late chunk leaves nothing of its batch behind
// and the reused statements keep working; the error names the serial.
func TestAddCertificatesBatchSizes(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := 0
	batch := func(n int) []*store.Certificate {
		out := make([]*store.Certificate, n)
		for i := range out {
			next++
			s := fmt.Sprintf("%08X", next)
			out[i] = &store.Certificate{Serial: s, CAID: "ca", Subject: "CN=" + s, Profile: "client",
				NotBefore: day, NotAfter: day.AddDate(1, 0, 0), DER: []byte("der " + s), IssuedAt: day}
		}
		return out
	}
	total := 0
	for _, n := range []int{1, 2, 3, 7, 63, 64, 65, 127, 128, 129, 200, 257} {
		certs := batch(n)
		if err := st.AddCertificates(ctx, certs); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		total += n
		changes, err := st.Changes(ctx, certs[0].Revision-1, n+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != n {
			t.Fatalf("batch of %d: %d changes recorded", n, len(changes))
		}
		for i, c := range certs {
			if ch := changes[i]; ch.Revision != c.Revision || ch.Serial != c.Serial || ch.Kind != store.ChangeIssue {
				t.Fatalf("batch of %d, #%d: certificate %s revision %d, change %+v", n, i, c.Serial, c.Revision, ch)
			}
			got, err := st.Certificate(ctx, c.Serial)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != c.Revision || string(got.DER) != "der "+c.Serial || got.Subject != "CN="+c.Serial {
				t.Fatalf("batch of %d: stored %+v", n, got)
			}
		}
	}
	// A serial already stored, in the third chunk of a batch of 150.
	certs := batch(150)
	certs[140].Serial = fmt.Sprintf("%08X", 5)
	rev := lastRevision(t, st)
	err := st.AddCertificates(ctx, certs)
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "00000005") {
		t.Fatalf("colliding batch: %v, want ErrExists naming 00000005", err)
	}
	if got := lastRevision(t, st); got != rev {
		t.Errorf("failed batch moved the feed from %d to %d", rev, got)
	}
	if _, err := st.Certificate(ctx, certs[0].Serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed batch left %s behind: %v", certs[0].Serial, err)
	}
	certs[140].Serial = "FFFF0001"
	if err := st.AddCertificates(ctx, certs); err != nil {
		t.Fatalf("retry: %v", err)
	}
	all, err := st.Certificates(ctx, store.Query{CAID: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total+150 {
		t.Errorf("%d certificates stored, want %d", len(all), total+150)
	}
}

func lastRevision(t *testing.T, st *Store) int64 {
	t.Helper()
	var rev int64
	if err := st.db.QueryRowContext(t.Context(), `SELECT coalesce(max(revision), 0) FROM changes`).Scan(&rev); err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestAddCertificatesTempStoreReset: AddCertificates keeps its statement
// journals in memory (temp_store = MEMORY) only for its own transaction;
// the connection goes back to the pool with the default setting, after a
// commit and after a failed batch, so large sorts of later queries still
// spill to disk.
func TestAddCertificatesTempStoreReset(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	st.db.SetMaxOpenConns(1) // the connection AddCertificates used is the one asked
	tempStore := func() int {
		var v int
		if err := st.db.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := tempStore(); v != 0 {
		t.Fatalf("temp_store = %d before any write, want 0 (default)", v)
	}
	var certs []*store.Certificate
	for i := range 200 {
		// Serials spread over the index, as random ones are.
		s := fmt.Sprintf("%02X%06X", (i*37)%256, i)
		certs = append(certs, &store.Certificate{Serial: s, CAID: "ca", DER: make([]byte, 700)})
	}
	if err := st.AddCertificates(ctx, certs); err != nil {
		t.Fatal(err)
	}
	if v := tempStore(); v != 0 {
		t.Errorf("temp_store = %d after AddCertificates, want 0", v)
	}
	again := []*store.Certificate{{Serial: "FFFF", CAID: "ca"}, {Serial: certs[7].Serial, CAID: "ca"}}
	if err := st.AddCertificates(ctx, again); !errors.Is(err, store.ErrExists) {
		t.Fatalf("colliding batch: %v, want ErrExists", err)
	}
	if v := tempStore(); v != 0 {
		t.Errorf("temp_store = %d after a failed AddCertificates, want 0", v)
	}
}
