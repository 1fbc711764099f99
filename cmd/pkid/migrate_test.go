package main

import (
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store/postgres"
	"github.com/pkid/pkid/store/sqlite"
)

// readCRL parses a PEM CRL file and returns its number and revoked serials.
func readCRL(t *testing.T, path string) (int64, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var serials []string
	for _, e := range crl.RevokedCertificateEntries {
		serials = append(serials, fmt.Sprintf("%X", e.SerialNumber))
	}
	sort.Strings(serials)
	return crl.Number.Int64(), serials
}

// TestMigrateToPostgres: a store made with init, issue, revoke and crl is
// copied completely; list and crl against the target agree with the source.
func TestMigrateToPostgres(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	work := t.TempDir()
	caMust(t, "init", "--dir", dir)
	for _, name := range []string{"a", "b", "c"} {
		caMust(t, "issue", "--dir", dir, "--profile", "server", "--subject", "CN="+name+".example", "--san", "DNS:"+name+".example", "--out", filepath.Join(work, name))
	}
	caMust(t, "revoke", "--dir", dir, filepath.Join(work, "b.pem"), "--reason", "keyCompromise")
	caMust(t, "revoke", "--dir", dir, filepath.Join(work, "c.pem"), "--reason", "certificateHold")
	caMust(t, "crl", "--dir", dir, "--out", filepath.Join(work, "before.pem"))
	ldif := filepath.Join(work, "tree.ldif")
	if err := os.WriteFile(ldif, []byte(migrateLDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	caMust(t, "ldif", "import", "--dir", dir, ldif)
	treeBefore := caMust(t, "ldif", "export", "--dir", dir)
	before, beforeSerials := readCRL(t, filepath.Join(work, "before.pem"))

	src, err := sqlite.Open(t.Context(), filepath.Join(dir, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	srcRev, _ := src.Revision(t.Context())
	src.Close()

	url := pgtest.Start(t)
	out := caMust(t, "migrate", "--dir", dir, "--to", url)
	t.Log(out)
	for _, want := range []string{"every count matches", "certificates", "crl_numbers"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q", want)
		}
	}
	dst, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if rev, _ := dst.Revision(t.Context()); rev != srcRev {
		t.Errorf("target revision %d, source %d", rev, srcRev)
	}
	dst.Close()

	// list agrees, from a data directory that holds nothing.
	empty := filepath.Join(t.TempDir(), "none")
	want, _ := json.Marshal(caList(t, dir))
	got, _ := json.Marshal(caList(t, empty, "--store", url))
	if string(got) != string(want) {
		t.Errorf("list --store postgres differs:\n got %s\nwant %s", got, want)
	}
	// The directory came along, index rows included.
	if tree := caMust(t, "ldif", "export", "--dir", empty, "--store", url); tree != treeBefore || !strings.Contains(tree, "uid=alice") {
		t.Errorf("ldif export --store postgres differs:\n%s\nwant\n%s", tree, treeBefore)
	}
	if !strings.Contains(out, "dir_index") || strings.Contains(out, "dir_entries          0 rows") {
		t.Errorf("directory tables not copied:\n%s", out)
	}

	// The next CRL from the target continues the numbering and lists the
	// same certificates.
	caMust(t, "crl", "--dir", empty, "--store", url, "--out", filepath.Join(work, "after.pem"))
	after, afterSerials := readCRL(t, filepath.Join(work, "after.pem"))
	if after != before+1 {
		t.Errorf("CRL number after migration %d, want %d", after, before+1)
	}
	if fmt.Sprint(afterSerials) != fmt.Sprint(beforeSerials) || len(afterSerials) != 2 {
		t.Errorf("CRL after migration lists %v, before %v (want the 2 revoked)", afterSerials, beforeSerials)
	}

	// A second migration into the same, now non-empty, database is refused.
	code, _, errOut := caRun(t, "migrate", "--dir", dir, "--to", url)
	if code == 0 || !strings.Contains(errOut, "already holds a pkid store") {
		t.Errorf("migrate into a non-empty database: exit %d, %s", code, errOut)
	}
}

const migrateLDIF = `dn: o=example
objectClass: organization
o: example

dn: ou=people,o=example
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,o=example
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Liddell
mail: alice@example.org
`

// TestMigrateRefuses: bad targets and sources are refused with a clear
// sentence, and nothing is written.
func TestMigrateRefuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	caMust(t, "init", "--dir", dir, "--single")
	newer := filepath.Join(t.TempDir(), "data")
	caMust(t, "init", "--dir", newer, "--single")
	st, err := sqlite.Open(t.Context(), filepath.Join(newer, "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := execSQLite(filepath.Join(newer, "pkid.db"), `CREATE TABLE acl_rules (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	url := pgtest.Start(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"migrate", "--dir", dir}, "--to must be a postgres:// URL"},
		{"sqlite target", []string{"migrate", "--dir", dir, "--to", "sqlite:/tmp/x.db"}, "--to must be a postgres:// URL"},
		{"postgres source", []string{"migrate", "--dir", dir, "--store", url, "--to", url}, "names PostgreSQL already"},
		{"unknown table", []string{"migrate", "--dir", newer, "--to", url}, "table acl_rules that this pkid cannot migrate"},
		{"unreachable target", []string{"migrate", "--dir", dir, "--to", "postgres://u:pw@127.0.0.1:1/x?connect_timeout=5"}, "postgres://u:xxxxx@127.0.0.1:1/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := caRun(t, tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("pkid %s: exit %d, %q; want an error containing %q", strings.Join(tc.args, " "), code, errOut, tc.want)
			}
		})
	}
	dst, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if cas, _ := dst.CAs(t.Context()); len(cas) != 0 {
		t.Errorf("a refused migration stored %d CAs", len(cas))
	}
}

func execSQLite(path, stmt string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

// TestCommandsOnPostgres: every command works on a PostgreSQL store named
// by --store or PKID_STORE; the data directory gets the client files but
// no SQLite database.
func TestCommandsOnPostgres(t *testing.T) {
	url := pgtest.Start(t)
	dir := filepath.Join(t.TempDir(), "data")
	work := t.TempDir()
	caMust(t, "init", "--dir", dir, "--store", url)
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Errorf("init --store postgres wrote no ca.pem: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pkid.db")); err == nil {
		t.Error("init --store postgres created an SQLite database too")
	}
	t.Setenv("PKID_STORE", url)
	caMust(t, "issue", "--dir", dir, "--profile", "server", "--subject", "CN=pg.example", "--out", filepath.Join(work, "pg"))
	caMust(t, "revoke", "--dir", dir, filepath.Join(work, "pg.pem"), "--reason", "superseded")
	var leaf *certJSON
	for _, c := range caList(t, dir) { // the issuing CA's certificate is listed too
		if c.Subject == "CN=pg.example" {
			leaf = &c
		}
	}
	if leaf == nil || leaf.Status != "revoked" || leaf.Reason != "superseded" {
		t.Fatalf("list on PostgreSQL: leaf %+v", leaf)
	}
	caMust(t, "crl", "--dir", dir, "--out", filepath.Join(work, "crl.pem"))
	if _, serials := readCRL(t, filepath.Join(work, "crl.pem")); len(serials) != 1 || serials[0] != strings.TrimLeft(leaf.Serial, "0") {
		t.Errorf("CRL lists %v, want [%s]", serials, leaf.Serial)
	}
	// A second init on the same database is refused: a CA exists.
	if code, _, errOut := caRun(t, "init", "--dir", filepath.Join(t.TempDir(), "other")); code == 0 {
		t.Errorf("a second init on the same PostgreSQL store succeeded: %s", errOut)
	}
}
