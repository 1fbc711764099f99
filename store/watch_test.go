package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// TestWatchAcrossHandles: a change made through one handle on the database
// file reaches a watcher on another handle (as a server in another process
// would see it) within a second.
func TestWatchAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pkid.db")
	writer, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	reader, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	ca := &store.CA{ID: "ca", Role: store.RoleSingle, Subject: "CN=ca", CertDER: []byte("x")}
	if err := writer.CreateCA(t.Context(), ca); err != nil {
		t.Fatal(err)
	}
	start, err := reader.Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch := store.Watch(ctx, reader, start, 20*time.Millisecond)

	// Nothing happened after start: nothing is delivered.
	select {
	case c := <-ch:
		t.Fatalf("Watch delivered %+v before any change", c)
	case <-time.After(100 * time.Millisecond):
	}

	c := &store.Certificate{Serial: "01", CAID: "ca", NotAfter: time.Now().Add(time.Hour)}
	if err := writer.AddCertificates(t.Context(), []*store.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	revoked, err := writer.Revoke(t.Context(), "01", store.Revocation{Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Change
	deadline := time.After(time.Second)
	for len(got) < 2 {
		select {
		case batch := <-ch:
			got = append(got, batch...)
		case <-deadline:
			t.Fatalf("after 1s Watch delivered %+v, want issue and revoke", got)
		}
	}
	if len(got) != 2 || got[0].Kind != store.ChangeIssue || got[1].Kind != store.ChangeRevoke ||
		got[1].Serial != "01" || got[1].Revision != revoked.Revision || got[0].Revision <= start {
		t.Errorf("Watch delivered %+v", got)
	}

	cancel()
	for range ch { // must close once ctx is done
	}
}

// TestWatchCatchesUpInBatches: a backlog larger than one batch arrives
// complete and in order.
func TestWatchCatchesUpInBatches(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateCA(t.Context(), &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	var certs []*store.Certificate
	for i := 0; i < 2500; i++ {
		certs = append(certs, &store.Certificate{Serial: fmtHex(i + 1), CAID: "ca"})
	}
	if err := st.AddCertificates(t.Context(), certs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch := store.Watch(ctx, st, 0, 0)
	defer stopWatch(cancel, ch)
	var last int64
	n := 0
	for n < 2501 {
		select {
		case batch := <-ch:
			if len(batch) > 1000 {
				t.Errorf("batch of %d changes", len(batch))
			}
			for _, c := range batch {
				if c.Revision <= last {
					t.Fatalf("revision %d after %d", c.Revision, last)
				}
				last = c.Revision
				n++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of 2501 changes delivered", n)
		}
	}
}

// stopWatch cancels a Watch and waits until it stopped reading the store,
// so the deferred Close that follows never races a read in flight.
func stopWatch(cancel context.CancelFunc, ch <-chan []store.Change) {
	cancel()
	for range ch {
	}
}

func fmtHex(i int) string {
	const digits = "0123456789ABCDEF"
	b := []byte{digits[i>>12&15], digits[i>>8&15], digits[i>>4&15], digits[i&15]}
	return string(b)
}

// TestWatchRestoredStore: a store whose revision went back (restored from a
// backup) is followed from its new revision rather than ignored.
func TestWatchRestoredStore(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(t.Context())
	ch := store.Watch(ctx, st, 1000, 10*time.Millisecond) // far beyond the store
	defer stopWatch(cancel, ch)
	time.Sleep(50 * time.Millisecond)
	if err := st.CreateCA(t.Context(), &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if len(got) != 1 || got[0].Kind != store.ChangeCA {
			t.Errorf("Watch delivered %+v, want the CA change", got)
		}
	case <-time.After(time.Second):
		t.Error("Watch ignored a change to a store whose revision is below the one it started from")
	}
}
