package directory

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// storedCount counts every stored entry (all naming contexts, subtree).
func storedCount(t *testing.T, tr *Tree) int {
	t.Helper()
	n := 0
	if err := tr.st.DirSearch(t.Context(), store.DirQuery{Scope: store.DirSub}, func(*store.DirEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportAtomic: whatever goes wrong in the middle of a large file, the
// error names the record's line and nothing is imported.
func TestImportAtomic(t *testing.T) {
	const users = 5000
	good := string(benchLDIF(users))
	// The line where the middle user's record starts.
	mid := fmt.Sprintf("dn: uid=user%d,ou=people,o=bench\n", users/2)
	at := strings.Index(good, mid)
	line := strings.Count(good[:at], "\n") + 1
	tests := []struct {
		name string
		ldif string
		want string // in the error
		code ldap.ResultCode
	}{
		{"malformed line", good[:at] + "dn: uid=bad,ou=people,o=bench\nthis line has no colon\n\n" + good[at:], fmt.Sprintf("LDIF line %d", line+1), 0},
		{"schema violation", good[:at] + "dn: uid=bad,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: bad\n\n" + good[at:], fmt.Sprintf("LDIF line %d", line), ldap.ResultObjectClassViolation},
		{"duplicate entry", good[:at] + mid[:len(mid)-1] + "X\n" + good[at+len(mid):] + "dn: uid=user1,ou=people,o=bench\nobjectClass: account\nuid: user1\n\n", "already exists", ldap.ResultEntryAlreadyExists},
		{"failing change record", good + "dn: uid=nobody,ou=people,o=bench\nchangetype: modify\nreplace: description\ndescription: x\n-\n\n", "modify): ", ldap.ResultNoSuchObject},
		{"change record mid-file", good[:at] + "dn: uid=user0,ou=people,o=bench\nchangetype: delete\n\n" + "dn: uid=user0,ou=people,o=bench\nchangetype: delete\n\n" + good[at:], fmt.Sprintf("LDIF line %d", line+3), ldap.ResultNoSuchObject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTree(t)
			st, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(tc.ldif)), ImportOptions{Identity: admin})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import = %+v, %v; want an error with %q", st, err, tc.want)
			}
			if tc.code != 0 && code(err) != tc.code {
				t.Errorf("result code %v, want %v (%v)", code(err), tc.code, err)
			}
			if st != (ImportStats{}) {
				t.Errorf("stats %+v after a failed import", st)
			}
			if n := storedCount(t, tr); n != 0 {
				t.Errorf("%d entries stored after a failed import, want none", n)
			}
		})
	}
	// The same file without the fault imports completely.
	tr := newTestTree(t)
	st, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(good)), ImportOptions{})
	if err != nil || st.Added != users+2 {
		t.Fatalf("Import = %+v, %v", st, err)
	}
	if n := storedCount(t, tr); n != users+2 {
		t.Errorf("%d entries stored, want %d", n, users+2)
	}
}

// TestImportChangeRecordsInOrder: change records see the entries added
// before them in the same import, and entries after them see their effect.
func TestImportChangeRecordsInOrder(t *testing.T) {
	tr := newTestTree(t)
	in := "dn: o=test\nobjectClass: organization\no: test\n\n" +
		"dn: ou=a,o=test\nobjectClass: organizationalUnit\nou: a\n\n" +
		"dn: cn=x,ou=a,o=test\nobjectClass: person\ncn: x\nsn: x\n\n" +
		"dn: cn=x,ou=a,o=test\nchangetype: delete\n\n" +
		"dn: ou=a,o=test\nchangetype: modrdn\nnewrdn: ou=b\ndeleteoldrdn: 1\n\n" +
		// ou=a is gone: this entry's parent no longer exists, so (as with
		// slapadd) it becomes a naming context of its own, not a child of
		// a stale parent.
		"dn: cn=y,ou=a,o=test\nobjectClass: person\ncn: y\nsn: y\n\n" +
		"dn: cn=z,ou=b,o=test\nobjectClass: person\ncn: z\nsn: z\n\n" +
		"dn: cn=z,ou=b,o=test\nchangetype: modify\nreplace: sn\nsn: zed\n-\n\n"
	st, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(in)), ImportOptions{Identity: admin, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImportStats{Added: 5, Deleted: 1, Renamed: 1, Modified: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	dns, _, err := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(objectClass=*)")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dns)
	if got := strings.Join(dns, ";"); got != "cn=z,ou=b,o=test;o=test;ou=b,o=test" {
		t.Errorf("o=test subtree: %s", got)
	}
	_, es, err := search(t, tr, "cn=z,ou=b,o=test", ldap.ScopeBaseObject, "(sn=zed)")
	if err != nil || len(es) != 1 {
		t.Errorf("modified entry: %v %v", es, err)
	}
	var buf bytes.Buffer
	if n, err := tr.Export(t.Context(), "", NewLDIFWriter(&buf)); err != nil || n != 4 || !strings.Contains(buf.String(), "dn: cn=y,ou=a,o=test\n") {
		t.Errorf("export: %d %v\n%s", n, err, buf.String())
	}
}

// TestImportPasswords: clear-text userPassword values are hashed (on
// several workers) with argon2id, while hashes from a slapcat dump are
// stored exactly as given; every user then binds with its password.
func TestImportPasswords(t *testing.T) {
	sha512crypt := "{CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	salt := []byte("12345678")
	h := sha512.Sum512(append([]byte("pw-ssha512"), salt...))
	ssha512 := "{SSHA512}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
	kept := map[string]struct{ stored, pw string }{
		"crypt":   {sha512crypt, "Hello world!"},
		"ssha512": {ssha512, "pw-ssha512"},
		"ssha":    {"{SSHA}Hd9+6EJZhNs1j9aGHMq9zFrIYs4JPKys", ""},
		"argon2i": {"{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$NGmvIcr3LPUtYGY4EldHNw$CpNCDuU7eTrXlXdoeNLzRVGWkDmP+xqVrI/0hxud2z0", "secret"},
	}
	var in strings.Builder
	in.WriteString("dn: o=test\nobjectClass: organization\no: test\n\n")
	const plain = 12
	for i := range plain {
		fmt.Fprintf(&in, "dn: uid=p%d,o=test\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: p%d\nuserPassword: pw%d\n\n", i, i, i)
	}
	for name, k := range kept {
		fmt.Fprintf(&in, "dn: uid=%s,o=test\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: %s\nuserPassword: %s\n\n", name, name, k.stored)
	}
	tr := newTestTree(t)
	if _, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(in.String())), ImportOptions{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range plain {
		dn := fmt.Sprintf("uid=p%d,o=test", i)
		_, es, err := search(t, tr, dn, ldap.ScopeBaseObject, "(objectClass=*)", "userPassword")
		if err != nil || len(es) != 1 {
			t.Fatalf("%s: %v", dn, err)
		}
		v := es[0].GetString("userPassword")
		if !strings.HasPrefix(v, fmt.Sprintf("{ARGON2}$argon2id$v=19$m=%d,t=%d,p=%d$", argon2Memory, argon2Time, argon2Threads)) || seen[v] {
			t.Errorf("%s: stored %q, want a fresh argon2id hash", dn, v)
		}
		seen[v] = true
		if _, err := tr.Bind(t.Context(), dn, []byte(fmt.Sprintf("pw%d", i))); err != nil {
			t.Errorf("bind %s: %v", dn, err)
		}
		if _, err := tr.Bind(t.Context(), dn, []byte("pw")); code(err) != ldap.ResultInvalidCredentials {
			t.Errorf("bind %s with a wrong password: %v", dn, err)
		}
	}
	for name, k := range kept {
		dn := "uid=" + name + ",o=test"
		_, es, err := search(t, tr, dn, ldap.ScopeBaseObject, "(objectClass=*)", "userPassword")
		if err != nil || len(es) != 1 {
			t.Fatalf("%s: %v", dn, err)
		}
		if got := es[0].GetString("userPassword"); got != k.stored {
			t.Errorf("%s: stored %q, want %q unchanged", dn, got, k.stored)
		}
		if k.pw == "" {
			continue
		}
		if _, err := tr.Bind(t.Context(), dn, []byte(k.pw)); err != nil {
			t.Errorf("bind %s: %v", dn, err)
		}
	}
}

// TestImportCancel: a cancelled import stops and stores nothing.
func TestImportCancel(t *testing.T) {
	tr := newTestTree(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := NewLDIFReader(&cancelAfter{data: benchLDIF(3000), n: 100000, cancel: cancel})
	_, err := tr.Import(ctx, r, ImportOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Import after cancel: %v", err)
	}
	if n := storedCount(t, tr); n != 0 {
		t.Errorf("%d entries stored after a cancelled import", n)
	}
}

// cancelAfter reads data and calls cancel once n bytes have been read.
type cancelAfter struct {
	data   []byte
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p, c.data)
	c.data = c.data[k:]
	if c.n -= k; c.n <= 0 && c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	return k, nil
}

// TestImportErrorWhileReaderBlocks: an error ends the import even while
// the reader waits for more input (a pipe or terminal that stays open).
func TestImportErrorWhileReaderBlocks(t *testing.T) {
	tr := newTestTree(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		var b strings.Builder
		b.WriteString("dn: cn=bad,o=test\nobjectClass: person\ncn: bad\n\n") // no sn
		for i := range 2 * importChunk {
			fmt.Fprintf(&b, "dn: cn=p%d,o=test\nobjectClass: person\ncn: p%d\nsn: p\n\n", i, i)
		}
		pw.Write([]byte(b.String()))
		// The pipe stays open: the reader blocks in its next read.
	}()
	_, err := tr.Import(t.Context(), NewLDIFReader(pr), ImportOptions{})
	if code(err) != ldap.ResultObjectClassViolation || !strings.Contains(err.Error(), "LDIF line 1") {
		t.Fatalf("Import = %v, want objectClassViolation at line 1", err)
	}
}

// TestImportStoredDNs: a naming context (its parent missing) keeps its DN
// as written; entries below get their RDN as written plus the parent's
// stored DN, and find their parent through the normal form, also under a
// multi-valued RDN and an escaped value.
func TestImportStoredDNs(t *testing.T) {
	tr := newTestTree(t)
	in := "dn: OU=Top,O=Missing\nobjectClass: organizationalUnit\nou: Top\n\n" +
		"dn: SN=Lee+CN=Ann,OU=Top,O=Missing\nobjectClass: person\ncn: Ann\nsn: Lee\n\n" +
		"dn: cn=x\\,y,CN=Ann+SN=Lee,ou=top,o=missing\nobjectClass: person\ncn: x,y\nsn: z\n\n"
	if _, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(in)), ImportOptions{Identity: admin}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		norm, dn, parent string
	}{
		{"ou=top,o=missing", "OU=Top,O=Missing", ""},
		{"cn=ann+sn=lee,ou=top,o=missing", "SN=Lee+CN=Ann,OU=Top,O=Missing", "ou=top,o=missing"},
		{"cn=x\\,y,cn=ann+sn=lee,ou=top,o=missing", "cn=x\\,y,SN=Lee+CN=Ann,OU=Top,O=Missing", "cn=ann+sn=lee,ou=top,o=missing"},
	}
	for _, tc := range tests {
		e, err := tr.st.DirEntry(t.Context(), tc.norm)
		if err != nil {
			t.Fatalf("%s: %v", tc.norm, err)
		}
		if e.DN != tc.dn {
			t.Errorf("%s stored as %q, want %q", tc.norm, e.DN, tc.dn)
		}
		var want int64
		if tc.parent != "" {
			p, err := tr.st.DirEntry(t.Context(), tc.parent)
			if err != nil {
				t.Fatal(err)
			}
			want = p.ID
		}
		if e.ParentID != want {
			t.Errorf("%s: parent #%d, want #%d (%s)", tc.norm, e.ParentID, want, tc.parent)
		}
	}
}
