package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g := &globals{dir: dir}
	if _, err := g.openStore(t.Context(), false); err == nil || !strings.Contains(err.Error(), "no pkid data directory at "+dir) ||
		!strings.Contains(err.Error(), "pkid init") {
		t.Errorf("openStore(create=false) on a missing directory: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("openStore(create=false) created the directory")
	}

	st, err := g.openStore(t.Context(), true)
	if err != nil {
		t.Fatalf("openStore(create=true): %v", err)
	}
	if err := st.SetMeta(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want mode 0700", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "pkid.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pkid.db: %v, %v; want mode 0600", fi, err)
	}
	if len(g.closers) != 1 {
		t.Errorf("%d closers registered, want 1", len(g.closers))
	}
	g.close()

	// An existing store opens without create; the data is there.
	g2 := &globals{dir: dir}
	st, err = g2.openStore(t.Context(), false)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if v, err := st.Meta(t.Context(), "k"); v != "v" {
		t.Errorf("Meta after reopen = %q, %v", v, err)
	}
	g2.close()

	for _, tc := range []struct{ name, url, want string }{
		{"postgres unreachable", "postgres://pkid:hunter2@127.0.0.1:1/pkid?connect_timeout=5", "open store postgres://pkid:xxxxx@127.0.0.1:1/pkid?connect_timeout=5: cannot connect"},
		{"postgresql unreachable", "postgresql://127.0.0.1:1/pkid?connect_timeout=5", "cannot connect"},
		{"other scheme", "mysql://x", "unsupported store"},
		{"missing sqlite file", "sqlite:" + filepath.Join(t.TempDir(), "none.db"), "no pkid store at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &globals{dir: dir, storeURL: tc.url}
			_, err := g.openStore(t.Context(), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("openStore with --store %s: %v; want %q", tc.url, err, tc.want)
			}
			g.close()
		})
	}
	// A sqlite path names the database file itself.
	other := filepath.Join(t.TempDir(), "other.db")
	g3 := &globals{dir: dir, storeURL: "sqlite://" + other}
	if _, err := g3.openStore(t.Context(), true); err != nil {
		t.Fatalf("openStore(sqlite://%s): %v", other, err)
	}
	g3.close()
	if _, err := os.Stat(other); err != nil {
		t.Errorf("--store sqlite://PATH did not create PATH: %v", err)
	}
}
