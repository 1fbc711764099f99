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
