package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkid/pkid/store"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "garbage.db")
	os.WriteFile(notDB, []byte(strings.Repeat("this is not a database\n", 100)), 0o600)
	aFile := filepath.Join(dir, "file")
	os.WriteFile(aFile, nil, 0o600)
	tests := []struct {
		name string
		path string
		want []string // substrings of the error
	}{
		{"missing directory", filepath.Join(dir, "missing", "pkid.db"), []string{filepath.Join(dir, "missing"), "does not exist"}},
		{"parent is a file", filepath.Join(aFile, "pkid.db"), []string{aFile, "not a directory"}},
		{"path is a directory", dir, []string{dir}},
		{"not a database", notDB, []string{notDB, "not a pkid SQLite database"}},
		{"empty path", "", []string{"empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(t.Context(), tc.path)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOpenReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permission bits; TestOpenErrors covers a missing directory instead")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	path := filepath.Join(dir, "pkid.db")
	_, err := Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable") {
		t.Errorf("Open in a read-only directory: %v; want an error naming %s and saying it must be writable", err, path)
	}
	t.Log(err)

	// An existing database whose directory became read-only: SQLite cannot
	// create the -wal and -shm files beside it.
	os.Chmod(dir, 0o700)
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	os.Chmod(dir, 0o500)
	st, err = Open(t.Context(), path)
	if err == nil {
		err = st.SetMeta(t.Context(), "k", "v")
		st.Close()
	}
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable") {
		t.Errorf("store in a read-only directory: %v; want an error naming %s and saying it must be writable", err, path)
	}
	t.Log(err)
}

// TestOpenSettings: the file is private and every connection runs with
// the settings durability and multi-process use depend on.
func TestOpenSettings(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	fi, err := os.Stat(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
	if !filepath.IsAbs(st.Path()) || filepath.Base(st.Path()) != "pkid.db" {
		t.Errorf("Path() = %q", st.Path())
	}
	// Several connections at once, so the pool opens more than one.
	ctx := t.Context()
	conns := make([]interface{ Close() error }, 3)
	for i := range conns {
		c, err := st.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		for _, p := range []struct{ pragma, want string }{
			{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"busy_timeout", "30000"},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil || got != p.want {
				t.Errorf("connection %d: PRAGMA %s = %q, %v; want %q", i, p.pragma, got, err, p.want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// The WAL file SQLite creates beside it inherits the mode.
	if err := st.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(st.Path() + "-wal"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("WAL file: %v, %v; want mode 0600", fi, err)
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pkid.db")
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := st.db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != latestVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, latestVersion)
	}
	st.SetMeta(t.Context(), "kept", "yes")
	st.Close()

	// Reopening applies nothing and keeps the data.
	st, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Meta(t.Context(), "kept"); got != "yes" {
		t.Errorf("after reopen Meta = %q, %v", got, err)
	}
	var n int
	st.db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	if n != latestVersion {
		t.Errorf("%d migration records, want %d", n, latestVersion)
	}
	// A newer pkid wrote this database: refuse it clearly.
	if _, err := st.db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, latestVersion+1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a newer schema: %v; want an error naming the path and saying it is newer", err)
	}
}

// TestOpenOddPath: the path reaches SQLite intact even with characters
// that mean something in a URI.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e&f=g")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pkid.db")
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMeta(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "pkid.db" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only pkid.db", names)
	}
	st, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.Meta(t.Context(), "k"); v != "v" {
		t.Errorf("Meta after reopen = %q, %v", v, err)
	}
}

// TestMigrationUpgrade: a database from an older pkid gets the new
// migrations on Open, each in its own transaction; one that fails leaves the
// database at the last good version and names the migration.
func TestMigrationUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pkid.db")
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.SetMeta(t.Context(), "k", "v")
	st.Close()

	saved := migrations
	defer func() { migrations, latestVersion = saved, len(saved) }()
	migrations = append(append([]string(nil), saved...),
		`ALTER TABLE meta ADD COLUMN note TEXT NOT NULL DEFAULT 'added'`,
		`CREATE TABLE broken (x INTEGER); INSERT INTO no_such_table VALUES (1)`)
	latestVersion = len(migrations)

	_, err = Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(saved)+2)) {
		t.Fatalf("Open with a failing migration: %v; want an error naming migration %d", err, len(saved)+2)
	}
	migrations = migrations[:len(migrations)-1]
	latestVersion = len(migrations)
	st, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after fixing the migration: %v", err)
	}
	defer st.Close()
	var v int
	var note string
	st.db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v)
	st.db.QueryRow(`SELECT note FROM meta WHERE key = 'k'`).Scan(&note)
	if v != len(saved)+1 || note != "added" {
		t.Errorf("after upgrade: version %d, note %q; want %d, \"added\"", v, note, len(saved)+1)
	}
	var n int
	st.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'broken'`).Scan(&n)
	if n != 0 {
		t.Error("the failed migration left its table behind")
	}
}

// TestDiskFull: a write that runs out of space fails with a message saying
// so and leaves nothing behind.
func TestDiskFull(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// One connection, so the page limit below applies to every statement.
	st.db.SetMaxOpenConns(1)
	var pages int
	if err := st.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	rev, _ := st.Revision(ctx)
	var certs []*store.Certificate
	for i := 0; i < 200; i++ {
		certs = append(certs, &store.Certificate{Serial: fmt.Sprintf("%04X", i+1), CAID: "ca", DER: make([]byte, 2000)})
	}
	err := st.AddCertificates(ctx, certs)
	if err == nil || !strings.Contains(err.Error(), "is full") || !strings.Contains(err.Error(), st.Path()) {
		t.Fatalf("AddCertificates on a full disk: %v; want an error naming %s and saying it is full", err, st.Path())
	}
	t.Log(err)
	if got, _ := st.Revision(ctx); got != rev {
		t.Errorf("failed AddCertificates moved the revision %d -> %d", rev, got)
	}
	if _, err := st.Certificate(ctx, "0001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed AddCertificates stored 0001: %v", err)
	}
}
