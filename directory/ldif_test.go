package directory

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/ldap"
)

func readAll(t *testing.T, s string) ([]*LDIFRecord, error) {
	t.Helper()
	r := NewLDIFReader(strings.NewReader(s))
	var out []*LDIFRecord
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestParseLDIF(t *testing.T) {
	in := "version: 1\n" +
		"# a comment\n#  folded comment\n" +
		"dn: cn=Barbara Jensen,ou=Product Development,\n dc=airius, dc=com\n" +
		"objectclass: top\nobjectclass: person\ncn: Barbara Jensen\ncn:: QmFyYmFyYSBK\n ZW5zZW4gSUk=\n" +
		"description: multi\n line\nsn: Jensen\n\n\n" +
		"dn: cn=x,dc=com\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n\n" +
		"dn: cn=x,dc=com\nchangetype: modify\nadd: mail\nmail: a@b\nmail: c@d\n-\ndelete: description\n-\nreplace: sn\nsn: y\n-\nincrement: uidNumber\nuidNumber: 1\n-\n\n" +
		"dn: cn=x,dc=com\nchangetype: moddn\nnewrdn: cn=y\ndeleteoldrdn: 1\nnewsuperior: dc=org\n"
	recs, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	e := recs[0].Entry
	if recs[0].DN != "cn=Barbara Jensen,ou=Product Development,dc=airius, dc=com" || len(e.Get("cn")) != 2 || string(e.Get("cn")[1]) != "Barbara Jensen II" || e.GetString("description") != "multiline" {
		t.Errorf("content record: %q %+v", recs[0].DN, e)
	}
	if recs[1].ChangeType != ChangeDelete || len(recs[1].Controls) != 1 || !recs[1].Controls[0].Criticality {
		t.Errorf("delete record: %+v", recs[1])
	}
	if c := recs[2].Changes; len(c) != 4 || c[0].Operation != ldap.ModifyAdd || len(c[0].Modification.Values) != 2 || c[1].Operation != ldap.ModifyDelete || c[3].Operation != ldap.ModifyIncrement {
		t.Errorf("modify record: %+v", recs[2].Changes)
	}
	if r := recs[3]; r.ChangeType != ChangeModRDN || r.NewRDN != "cn=y" || !r.DeleteOldRDN || r.NewSuperior == nil || *r.NewSuperior != "dc=org" {
		t.Errorf("moddn record: %+v", r)
	}
}

func TestParseLDIFErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no dn", "cn: x\n", "want dn:"},
		{"bad base64", "dn: cn=x\ncn:: !!!\n", "bad base64"},
		{"http URL", "dn: cn=x\njpegPhoto:< http://example.com/x.jpg\n", "only file:// URLs"},
		{"file URL off", "dn: cn=x\njpegPhoto:< file:///etc/passwd\n", "not enabled"},
		{"bad version", "version: 2\ndn: cn=x\n", "unsupported LDIF version"},
		{"bad changetype", "dn: cn=x\nchangetype: frob\n", "unknown changetype"},
		{"no colon", "dn: cn=x\ngarbage\n", "has no ':'"},
		{"leading continuation", " x\n", "continuation"},
		{"deleteoldrdn", "dn: cn=x\nchangetype: modrdn\nnewrdn: cn=y\ndeleteoldrdn: 2\n", "0 or 1"},
		{"modify value mismatch", "dn: cn=x\nchangetype: modify\nadd: mail\ncn: y\n-\n", "inside the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLDIFFileURL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "photo")
	os.WriteFile(p, []byte{0xff, 0xd8, 0}, 0o600)
	r := NewLDIFReader(strings.NewReader("dn: cn=x\njpegPhoto:< file://" + p + "\n"))
	r.AllowFiles = true
	rec, err := r.Next()
	if err != nil || !bytes.Equal(rec.Entry.Get("jpegPhoto")[0], []byte{0xff, 0xd8, 0}) {
		t.Fatalf("%v %+v", err, rec)
	}
}

func TestLDIFWriterRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 200)
	e := &Entry{DN: "cn=" + long + ",o=test", Attributes: []Attribute{
		{Type: "cn", Values: [][]byte{[]byte(long), []byte(" leading space"), []byte("trailing "), []byte(":colon"), []byte("<lt"), []byte("ünïcode"), []byte("a\nb"), {0, 1, 2, 0xff}, {}}},
		{Type: "userCertificate;binary", Values: [][]byte{{0x30, 0x00}}},
	}}
	var buf bytes.Buffer
	w := NewLDIFWriter(&buf)
	if err := w.WriteEntry(e); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	for _, l := range strings.Split(buf.String(), "\n") {
		if len(l) > 76 {
			t.Errorf("line of %d bytes: %q", len(l), l)
		}
	}
	for _, want := range []string{"cn:: IGxlYWRpbmcgc3BhY2U=", "cn:: dHJhaWxpbmcg", "cn:: OmNvbG9u", "cn:: PGx0", "cn: \n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
	recs, err := readAll(t, buf.String())
	if err != nil || len(recs) != 1 {
		t.Fatal(err)
	}
	got := recs[0].Entry
	if got.DN != e.DN || len(got.Attributes) != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	for i, v := range e.Attributes[0].Values {
		if !bytes.Equal(got.Attributes[0].Values[i], v) {
			t.Errorf("value %d: %q != %q", i, got.Attributes[0].Values[i], v)
		}
	}
}

func TestImportExport(t *testing.T) {
	tr := newTestTree(t)
	in := "dn: o=test\nobjectClass: organization\no: test\n\n" +
		"dn: ou=people,o=test\nobjectClass: organizationalUnit\nou: people\nentryUUID: 0b5d3e1c-0000-4000-8000-000000000001\ncreateTimestamp: 20200101000000Z\ncreatorsName: cn=old,o=test\n\n" +
		"dn: uid=u1,ou=people,o=test\nobjectClass: account\nuid: u1\n\n" +
		"dn: uid=u1,ou=people,o=test\nchangetype: modify\nadd: description\ndescription: hello\n-\n\n" +
		"dn: uid=u1,ou=people,o=test\nchangetype: modrdn\nnewrdn: uid=u2\ndeleteoldrdn: 1\n\n"
	st, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(in)), ImportOptions{Identity: admin})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 3 || st.Modified != 1 || st.Renamed != 1 {
		t.Errorf("stats %+v", st)
	}
	var buf bytes.Buffer
	n, err := tr.Export(t.Context(), "", NewLDIFWriter(&buf))
	if err != nil || n != 3 {
		t.Fatalf("Export: %d %v", n, err)
	}
	out := buf.String()
	for _, want := range []string{"dn: uid=u2,ou=people,o=test\n", "description: hello\n", "entryUUID: 0b5d3e1c-0000-4000-8000-000000000001\n", "creatorsName: cn=old,o=test\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "dn: o=test") > strings.Index(out, "dn: ou=people") {
		t.Error("export puts a child before its parent")
	}
	// A second tree imports the export unchanged.
	tr2 := newTestTree(t)
	if _, err := tr2.Import(t.Context(), NewLDIFReader(strings.NewReader(out)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	tr2.Export(t.Context(), "", NewLDIFWriter(&buf2))
	if buf2.String() != out {
		t.Errorf("export → import → export differs:\n%s\n---\n%s", out, buf2.String())
	}
	// A bad record stops the import and names its line.
	_, err = tr.Import(t.Context(), NewLDIFReader(strings.NewReader("dn: cn=z,o=test\nobjectClass: person\ncn: z\n")), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 1") || code(err) != ldap.ResultObjectClassViolation {
		t.Errorf("bad record: %v", err)
	}
}

// TestSlapcatImport loads slapd's own dump: slapadd a few hundred users
// with {SSHA} passwords into back-mdb, slapcat it, import the dump, check
// every entry and that each user binds with its old password.
func TestSlapcatImport(t *testing.T) {
	slapadd := peer.Need(t, "slapadd", "slapd")
	slapcat := peer.Need(t, "slapcat", "slapd")
	dir := t.TempDir()
	const users = 300
	var src strings.Builder
	src.WriteString("dn: o=bench\nobjectClass: organization\no: bench\n\ndn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n\n")
	for i := 0; i < users; i++ {
		salt := make([]byte, 8)
		rand.Read(salt)
		h := sha1.Sum(append([]byte(fmt.Sprintf("pw%d", i)), salt...))
		pw := "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
		fmt.Fprintf(&src, "dn: uid=user%d,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@bench.example\nuserPassword: %s\n\n", i, i, i, i, i, pw)
	}
	os.WriteFile(filepath.Join(dir, "users.ldif"), []byte(src.String()), 0o600)
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 1073741824
suffix "o=bench"
rootdn "cn=admin,o=bench"
directory %s/db
index objectClass eq
index uid eq
`, dir)
	os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600)
	if out, err := exec.Command(slapadd, "-q", "-f", filepath.Join(dir, "slapd.conf"), "-l", filepath.Join(dir, "users.ldif")).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	dump, err := exec.Command(slapcat, "-f", filepath.Join(dir, "slapd.conf")).Output()
	if err != nil {
		t.Fatalf("slapcat: %v", err)
	}
	tr := newTestTree(t)
	st, err := tr.Import(t.Context(), NewLDIFReader(bytes.NewReader(dump)), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != users+2 {
		t.Errorf("imported %d entries, want %d", st.Added, users+2)
	}
	// Every entry of the dump is stored with every attribute value.
	r := NewLDIFReader(bytes.NewReader(dump))
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, es, err := search(t, tr, rec.DN, ldap.ScopeBaseObject, "(objectClass=*)", "*", "+")
		if err != nil || len(es) != 1 {
			t.Fatalf("%s: %v", rec.DN, err)
		}
		for _, a := range rec.Entry.Attributes {
			got := es[0].Get(a.Type)
			if len(got) != len(a.Values) {
				t.Errorf("%s: %s has %d values, dump %d", rec.DN, a.Type, len(got), len(a.Values))
				continue
			}
			for i := range got {
				if !bytes.Equal(got[i], a.Values[i]) {
					t.Errorf("%s: %s = %q, dump %q", rec.DN, a.Type, got[i], a.Values[i])
				}
			}
		}
	}
	for _, i := range []int{0, 7, users - 1} {
		dn := fmt.Sprintf("uid=user%d,ou=people,o=bench", i)
		if _, err := tr.Bind(t.Context(), dn, []byte(fmt.Sprintf("pw%d", i))); err != nil {
			t.Errorf("bind %s with its slapd password: %v", dn, err)
		}
		if _, err := tr.Bind(t.Context(), dn, []byte("wrong")); code(err) != ldap.ResultInvalidCredentials {
			t.Errorf("bind %s with a wrong password: %v", dn, err)
		}
	}
}

// TestLDIFPhysicalLines: lines within the reader's buffer and lines longer
// than it (rawLine's two paths), LF and CRLF ends, and a last line without
// one all read the same, with the right line numbers in errors.
func TestLDIFPhysicalLines(t *testing.T) {
	long := strings.Repeat("y", 200<<10) // beyond the 64 KiB buffer
	tests := []struct {
		name, in string
		want     string // the description read back
		errLine  int    // or the line of the expected error
	}{
		{"LF", "dn: cn=a,o=t\ndescription: short\n", "short", 0},
		{"CRLF", "dn: cn=a,o=t\r\ndescription: short\r\n", "short", 0},
		{"no final newline", "dn: cn=a,o=t\ndescription: short", "short", 0},
		{"long line", "dn: cn=a,o=t\ndescription: " + long + "\n", long, 0},
		{"long CRLF line", "dn: cn=a,o=t\r\ndescription: " + long + "\r\n", long, 0},
		{"long last line", "dn: cn=a,o=t\ndescription: " + long, long, 0},
		{"error after a long line", "dn: cn=a,o=t\ndescription: " + long + "\nno colon here\n", "", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := readAll(t, tc.in)
			if tc.errLine != 0 {
				var le *LDIFError
				if !errors.As(err, &le) || le.Line != tc.errLine {
					t.Fatalf("err = %v, want an LDIFError at line %d", err, tc.errLine)
				}
				return
			}
			if err != nil || len(recs) != 1 {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			if got := recs[0].Entry.GetString("description"); got != tc.want {
				t.Errorf("description of %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

// TestLDIFValuesIndependent: values share the reader's arena and their
// attributes' first slots share one array, yet appending to one value or
// adding values to one attribute never shows through another.
func TestLDIFValuesIndependent(t *testing.T) {
	recs, err := readAll(t, "dn: cn=a,o=t\ncn: a\nsn: s\ncn: b\ndescription: x\n\ndn: cn=b,o=t\ncn: c\n")
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	e := recs[0].Entry
	if cn := e.Get("cn"); len(cn) != 2 || string(cn[0]) != "a" || string(cn[1]) != "b" {
		t.Fatalf("cn = %q", cn)
	}
	for _, a := range e.Attributes {
		for _, v := range a.Values {
			_ = append(v, "ZZZZ"...)
		}
		a.Values = append(a.Values, []byte("extra"))
	}
	for _, tc := range []struct{ attr, want string }{{"sn", "s"}, {"description", "x"}} {
		if got := e.Get(tc.attr); len(got) != 1 || string(got[0]) != tc.want {
			t.Errorf("%s = %q, want [%q]", tc.attr, got, tc.want)
		}
	}
	if cn := e.Get("cn"); string(cn[0]) != "a" || string(cn[1]) != "b" {
		t.Errorf("cn = %q after appends", cn)
	}
	if got := recs[1].Entry.GetString("cn"); got != "c" {
		t.Errorf("second record's cn = %q", got)
	}
}
