package postgres

import (
	"context"
	"errors"
	"fmt"

	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/storetest"
)

func TestMain(m *testing.M) {
	if helperMain() {
		return
	}
	pgtest.Main(m)
}

// openTemp opens a store on a new database of the shared test cluster.
func openTemp(t testing.TB) *Store {
	t.Helper()
	st, err := Open(t.Context(), pgtest.Start(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"user and password", "postgres://pkid:s3cret@db.example:5432/pkid", "postgres://pkid:xxxxx@db.example:5432/pkid"},
		{"user only", "postgres://pkid@db.example/pkid", "postgres://pkid@db.example/pkid"},
		{"password parameter", "postgresql://db/pkid?password=s3cret&sslmode=require", "postgresql://db/pkid?password=xxxxx&sslmode=require"},
		{"key=value", "host=db user=pkid password=s3cret dbname=pkid", "host=db user=pkid password=xxxxx dbname=pkid"},
		{"key=value quoted", "host=db password='s3 cret' dbname=pkid", "host=db password=xxxxx dbname=pkid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestOpenUnreachable: a database that is not there fails Open at once
// with an error naming the URL without its password.
func TestOpenUnreachable(t *testing.T) {
	port := pgtestFreePort(t)
	url := "postgres://pkid:topsecret@127.0.0.1:" + port + "/pkid?sslmode=disable"
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, url)
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "topsecret") {
		t.Errorf("error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "postgres://pkid:xxxxx@127.0.0.1:"+port+"/pkid") || !strings.Contains(msg, "cannot connect") {
		t.Errorf("error does not name the redacted URL and the cause: %s", msg)
	}
	t.Log(msg)
}

// TestOpenEnv: an empty URL means PKID_STORE.
func TestOpenEnv(t *testing.T) {
	url := pgtest.Start(t)
	t.Setenv("PKID_STORE", url)
	st, err := Open(t.Context(), "")
	if err != nil {
		t.Fatalf("Open(\"\") with PKID_STORE set: %v", err)
	}
	st.Close()
	t.Setenv("PKID_STORE", "")
	if _, err := Open(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "PKID_STORE") {
		t.Errorf("Open(\"\") without PKID_STORE: %v", err)
	}
}

// TestMigrateConcurrent: nodes opening a new database at once apply the
// schema exactly once, and a newer schema is refused.
func TestMigrateConcurrent(t *testing.T) {
	url := pgtest.Start(t)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			st, err := Open(t.Context(), url)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	st, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n, v int
	st.pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v)
	if n != latestVersion || v != latestVersion {
		t.Errorf("schema_migrations holds %d rows up to %d, want %d", n, v, latestVersion)
	}
	if _, err := st.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version) VALUES ($1)`, latestVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), url); err == nil || !strings.Contains(err.Error(), "newer than this pkid") {
		t.Errorf("Open of a newer schema: %v", err)
	}
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
	for _, delta := range []bool{false, true} {
		var n, min int64
		st.pool.QueryRow(ctx, `SELECT count(*), min(number) FROM crls WHERE ca_id = 'ca' AND delta = $1`, delta).Scan(&n, &min)
		if n != keepCRLs || min != 10-keepCRLs+1 {
			t.Errorf("delta=%v: %d CRLs kept from number %d; want %d from %d", delta, n, min, keepCRLs, 10-keepCRLs+1)
		}
	}
}

// TestRevisionsNeverReused: deleting feed records never makes a revision
// available again: the counter row remembers the last one.
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
	if _, err := st.pool.Exec(ctx, `DELETE FROM changes`); err != nil {
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

// TestTryLock: one holder at a time across Store handles; unlock and a
// closed holder release it.
func TestTryLock(t *testing.T) {
	url := pgtest.Start(t)
	a, b := mustOpen(t, url), mustOpen(t, url)
	ctx := t.Context()
	unlock, ok, err := a.TryLock(ctx, "crl/issuing")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "crl/issuing"); ok || err != nil {
		t.Errorf("second node took a held lock: %v, %v", ok, err)
	}
	// The lock lives on a pooled connection that stays checked out: the
	// same handle cannot take it twice either (session advisory locks
	// would nest on one connection).
	for range 3 {
		if _, ok, err := a.TryLock(ctx, "crl/issuing"); ok || err != nil {
			t.Errorf("the holder's own handle took its held lock again: %v, %v", ok, err)
		}
	}
	if u, ok, err := b.TryLock(ctx, "crl/root"); !ok || err != nil {
		t.Errorf("another name was refused: %v, %v", ok, err)
	} else {
		u()
	}
	unlock()
	unlock() // safe twice
	u2, ok, err := b.TryLock(ctx, "crl/issuing")
	if !ok || err != nil {
		t.Fatalf("TryLock after unlock = %v, %v", ok, err)
	}
	defer u2()
	if _, ok, _ := store.TryLock(ctx, a, "crl/issuing"); ok {
		t.Error("store.TryLock ignored the Locker")
	}
}

func mustOpen(t testing.TB, url string) *Store {
	t.Helper()
	st, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestAddLargeBatchErrors: batches large enough for COPY report the same
// errors as small ones, naming the serial or CA, and store nothing.
func TestAddLargeBatchErrors(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddCertificates(ctx, []*store.Certificate{{Serial: "AAAA", CAID: "ca"}}); err != nil {
		t.Fatal(err)
	}
	batch := func(mod func([]*store.Certificate)) []*store.Certificate {
		var certs []*store.Certificate
		for i := 0; i < 2*copyThreshold; i++ {
			certs = append(certs, &store.Certificate{Serial: fmt.Sprintf("%04X", i+1), CAID: "ca"})
		}
		mod(certs)
		return certs
	}
	for _, tc := range []struct {
		name  string
		certs []*store.Certificate
		want  error
		names string
	}{
		{"stored serial", batch(func(c []*store.Certificate) { c[100].Serial = "aaaa" }), store.ErrExists, "AAAA"},
		{"repeated serial", batch(func(c []*store.Certificate) { c[100].Serial = c[3].Serial }), store.ErrExists, "0004"},
		{"unknown CA", batch(func(c []*store.Certificate) { c[70].CAID = "nope" }), store.ErrNotFound, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev, _ := st.Revision(ctx)
			err := st.AddCertificates(ctx, tc.certs)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.names) {
				t.Errorf("AddCertificates: %v; want %v naming %s", err, tc.want, tc.names)
			}
			if got, _ := st.Revision(ctx); got != rev {
				t.Errorf("failed batch moved the revision %d -> %d", rev, got)
			}
			if all, _ := st.Certificates(ctx, store.Query{}); len(all) != 1 {
				t.Errorf("failed batch stored %d certificates", len(all)-1)
			}
		})
	}
}
