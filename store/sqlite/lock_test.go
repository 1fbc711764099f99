//go:build unix

package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/store"
)

// TestTryLock: one holder at a time across handles on the same file.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pkid.db")
	a, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	unlock, ok, err := store.TryLock(ctx, a, "crl/issuing")
	if !ok || err != nil {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "crl/issuing"); ok || err != nil {
		t.Errorf("second handle took a held lock: %v, %v", ok, err)
	}
	if u, ok, err := b.TryLock(ctx, "crl/root"); !ok || err != nil {
		t.Errorf("another name was refused: %v, %v", ok, err)
	} else {
		u()
	}
	unlock()
	unlock()
	u, ok, err := b.TryLock(ctx, "crl/issuing")
	if !ok || err != nil {
		t.Errorf("TryLock after unlock = %v, %v", ok, err)
	} else {
		u()
	}
}
