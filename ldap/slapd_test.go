package ldap_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/ldap"
)

// diffLDIF is the data both servers load: 1,000+ entries of people
// (inetOrgPerson, some posixAccount), groups (groupOfNames, posixGroup)
// and devices, with multi-valued, UTF-8 and DN-valued attributes.
func diffLDIF(users int) string {
	var b strings.Builder
	salt := []byte("saltsalt")
	h := sha1.Sum(append([]byte(adminPW), salt...))
	ssha := "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
	fmt.Fprintf(&b, "dn: o=pkid\nobjectClass: organization\no: pkid\ndescription: differential test\n\n")
	fmt.Fprintf(&b, "dn: cn=admin,o=pkid\nobjectClass: person\ncn: admin\nsn: Administrator\nuserPassword: %s\n\n", ssha)
	for _, ou := range []string{"people", "groups", "devices", "empty"} {
		fmt.Fprintf(&b, "dn: ou=%s,o=pkid\nobjectClass: organizationalUnit\nou: %s\n\n", ou, ou)
	}
	cities := []string{"London", "Zürich", "Paris", "São Paulo", "Tokyo"}
	titles := []string{"Engineer", "Manager", "Director", "Analyst"}
	for i := range users {
		fmt.Fprintf(&b, "dn: uid=u%04d,ou=people,o=pkid\nobjectClass: inetOrgPerson\n", i)
		if i%3 == 0 {
			fmt.Fprintf(&b, "objectClass: posixAccount\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/u%04d\n", 10000+i, 100+i%7, i)
			if i%6 == 0 {
				fmt.Fprintf(&b, "loginShell: /bin/bash\n")
			}
		}
		fmt.Fprintf(&b, "uid: u%04d\ncn: User %04d\ncn: U%d Alias\nsn: Surname%d\ngivenName: Given%d\n", i, i, i, i%50, i%20)
		fmt.Fprintf(&b, "mail: u%04d@example.org\n", i)
		if i%4 == 0 {
			fmt.Fprintf(&b, "mail: u%04d@other.example\n", i)
		}
		fmt.Fprintf(&b, "l: %s\ntitle: %s\nemployeeNumber: %d\n", cities[i%len(cities)], titles[i%len(titles)], i)
		if i%5 == 0 {
			fmt.Fprintf(&b, "telephoneNumber: +44 20 7946 %04d\n", i)
		}
		if i%7 == 0 {
			fmt.Fprintf(&b, "description: Ünïcödé %d\n", i)
		}
		if i%11 == 0 {
			fmt.Fprintf(&b, "departmentNumber: D%d\n", i%3)
		}
		b.WriteString("\n")
	}
	for g := range 40 {
		fmt.Fprintf(&b, "dn: cn=group%d,ou=groups,o=pkid\nobjectClass: groupOfNames\ncn: group%d\n", g, g)
		for m := g; m < users; m += 37 {
			fmt.Fprintf(&b, "member: uid=u%04d,ou=people,o=pkid\n", m)
		}
		fmt.Fprintf(&b, "description: group number %d\n\n", g)
	}
	for g := range 20 {
		fmt.Fprintf(&b, "dn: cn=pg%d,ou=groups,o=pkid\nobjectClass: posixGroup\ncn: pg%d\ngidNumber: %d\n", g, g, 100+g)
		for m := g; m < users; m += 53 {
			fmt.Fprintf(&b, "memberUid: u%04d\n", m)
		}
		b.WriteString("\n")
	}
	for d := range 30 {
		fmt.Fprintf(&b, "dn: cn=dev%d,ou=devices,o=pkid\nobjectClass: device\ncn: dev%d\nserialNumber: SN-%05d\nl: %s\n", d, d, d*17, cities[d%len(cities)])
		if d%2 == 0 {
			fmt.Fprintf(&b, "owner: uid=u%04d,ou=people,o=pkid\n", d)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// slapd starts OpenLDAP's slapd (back-mdb) with ldif loaded by slapadd,
// on a free port, and returns its URL; it is killed when t ends.
func startSlapd(t *testing.T, ldif string) string {
	slapdPath := peer.Need(t, "slapd", "slapd")
	slapadd := peer.Need(t, "slapadd", "slapd")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
database mdb
maxsize 1073741824
suffix "o=pkid"
rootdn "cn=admin,o=pkid"
directory %[1]s/db
index objectClass eq
index uid eq
index cn eq
access to * by * read
`, dir)
	confFile := filepath.Join(dir, "slapd.conf")
	ldifFile := filepath.Join(dir, "data.ldif")
	os.WriteFile(confFile, []byte(conf), 0o600)
	os.WriteFile(ldifFile, []byte(ldif), 0o600)
	if out, err := exec.Command(slapadd, "-q", "-f", confFile, "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(slapdPath, "-f", confFile, "-h", "ldap://"+addr+"/", "-d", "0")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("slapd does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "ldap://" + addr
}

// startPkidWith serves ldif from a pkid directory with no access control,
// as the slapd above gives everyone read access and the rootdn all.
func startPkidWith(t *testing.T, ldif string) *testServer {
	ts := startServer(t, serverOpts{skipData: true})
	st, err := ts.tree.Import(context.Background(), directory.NewLDIFReader(strings.NewReader(ldif)), directory.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v (%+v)", err, st)
	}
	return ts
}

// normLDIF normalises ldapsearch -LLL -o ldif-wrap=no output: entries
// sorted by lower-case DN, attribute names lower-cased and sorted, values
// sorted.
func normLDIF(out string) string {
	var recs []string
	for _, rec := range strings.Split(strings.TrimSpace(out), "\n\n") {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		lines := strings.Split(rec, "\n")
		dn := strings.ToLower(lines[0])
		var attrs []string
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "#") || l == "" {
				continue
			}
			name, val, _ := strings.Cut(l, ":")
			attrs = append(attrs, strings.ToLower(name)+":"+val)
		}
		slices.Sort(attrs)
		recs = append(recs, dn+"\n"+strings.Join(attrs, "\n"))
	}
	slices.Sort(recs)
	return strings.Join(recs, "\n\n")
}

type diffSearch struct {
	base, scope, filter string
	attrs               []string
	extra               []string // more ldapsearch flags (-z, -A)
	countOnly           bool     // size limits: which entries is the server's choice
}

func diffSearches() []diffSearch {
	p, g := "ou=people,o=pkid", "ou=groups,o=pkid"
	s := []diffSearch{
		{base: "o=pkid", scope: "sub", filter: "(objectClass=*)"},
		{base: "o=pkid", scope: "one", filter: "(objectClass=*)"},
		{base: "o=pkid", scope: "base", filter: "(objectClass=*)"},
		{base: "o=pkid", scope: "children", filter: "(objectClass=organizationalUnit)"},
		{base: "ou=empty,o=pkid", scope: "one", filter: "(objectClass=*)"},
		{base: "ou=missing,o=pkid", scope: "sub", filter: "(objectClass=*)"},
		{base: "uid=u0001,ou=missing,o=pkid", scope: "base", filter: "(objectClass=*)"},
		{base: p, scope: "sub", filter: "(uid=u0042)"},
		{base: p, scope: "sub", filter: "(UID=U0042)"},
		{base: p, scope: "sub", filter: "(cn=user 0042)"},
		{base: p, scope: "sub", filter: "(cn=U42 alias)"},
		{base: p, scope: "sub", filter: "(mail=U0100@EXAMPLE.ORG)"},
		{base: p, scope: "sub", filter: "(uid=u01*)"},
		{base: p, scope: "sub", filter: "(uid=*99)"},
		{base: p, scope: "sub", filter: "(cn=*ser 00*)"},
		{base: p, scope: "sub", filter: "(mail=u0*@other*)"},
		{base: p, scope: "sub", filter: "(l=Zürich)"},
		{base: p, scope: "sub", filter: "(l=zürich)"},
		{base: p, scope: "sub", filter: "(l=S*Paulo)"},
		{base: p, scope: "sub", filter: "(description=*cödé 7*)"},
		{base: p, scope: "sub", filter: "(telephoneNumber=+442079460005)"},
		{base: p, scope: "sub", filter: "(telephoneNumber=*7946 01*)"},
		{base: p, scope: "sub", filter: "(uidNumber=10003)"},
		{base: p, scope: "sub", filter: "(gidNumber=103)"},
		{base: p, scope: "sub", filter: "(&(objectClass=posixAccount)(loginShell=*))"},
		{base: p, scope: "sub", filter: "(|(uid=u0001)(uid=u0002)(mail=u0003@example.org))"},
		{base: p, scope: "sub", filter: "(&(title=Manager)(l=Paris))"},
		{base: p, scope: "sub", filter: "(&(title=Manager)(!(l=Paris)))"},
		{base: p, scope: "one", filter: "(!(objectClass=posixAccount))", attrs: []string{"uid"}},
		{base: p, scope: "sub", filter: "(&(departmentNumber=D1)(|(l=London)(l=Tokyo)))"},
		{base: p, scope: "sub", filter: "(employeeNumber=500)"},
		{base: p, scope: "sub", filter: "(sn=surname4)", attrs: []string{"cn", "mail"}},
		{base: p, scope: "sub", filter: "(givenName=given1*)", attrs: []string{"1.1"}},
		{base: p, scope: "sub", filter: "(uid=u000*)", attrs: []string{"*"}},
		{base: p, scope: "sub", filter: "(uid=u000*)", attrs: []string{"mail", "nonexistentAttr"}},
		{base: p, scope: "sub", filter: "(uid=u001*)", extra: []string{"-A"}},
		{base: p, scope: "sub", filter: "(objectClass=inetOrgPerson)", extra: []string{"-z", "10"}, countOnly: true},
		{base: p, scope: "sub", filter: "(uid=u0001)", extra: []string{"-z", "1"}},
		// Approximate matching is the server's choice (RFC 4511
		// §4.5.1.7.6); slapd's phonetic rule ignores digits, so only
		// letter-only values compare alike.
		{base: p, scope: "sub", filter: "(title~=manager)", attrs: []string{"1.1"}},
		{base: p, scope: "sub", filter: "(&(l~=tokyo)(title=Analyst))", attrs: []string{"l"}},
		{base: p, scope: "sub", filter: "(cn:caseExactMatch:=User 0077)"},
		{base: p, scope: "sub", filter: "(cn:caseExactMatch:=user 0077)"},
		{base: "o=pkid", scope: "sub", filter: "(ou:dn:=groups)", attrs: []string{"1.1"}},
		{base: p, scope: "sub", filter: "(:caseIgnoreMatch:=given3)", attrs: []string{"1.1"}},
		{base: p, scope: "sub", filter: "(uidNumber:integerMatch:=10009)"},
		{base: p, scope: "sub", filter: "(fooBar=1)"},
		{base: p, scope: "sub", filter: "(!(fooBar=1))", attrs: []string{"1.1"}, extra: []string{"-z", "5"}, countOnly: true},
		{base: p, scope: "sub", filter: "(|(fooBar=1)(uid=u0005))"},
		{base: g, scope: "sub", filter: "(member=uid=u0037,ou=people,o=pkid)"},
		{base: g, scope: "sub", filter: "(member=UID=U0074, OU=People, O=pkid)"},
		{base: g, scope: "sub", filter: "(memberUid=u0053)"},
		{base: g, scope: "one", filter: "(objectClass=posixGroup)", attrs: []string{"cn", "gidNumber"}},
		{base: g, scope: "sub", filter: "(cn=group1*)", attrs: []string{"cn"}},
		{base: "ou=devices,o=pkid", scope: "sub", filter: "(serialNumber=SN-00017)"},
		{base: "ou=devices,o=pkid", scope: "sub", filter: "(owner=*)"},
		{base: "ou=devices,o=pkid", scope: "one", filter: "(&(objectClass=device)(l=Tokyo))"},
		{base: "cn=dev3,ou=devices,o=pkid", scope: "base", filter: "(objectClass=device)"},
		{base: "cn=dev3,ou=devices,o=pkid", scope: "base", filter: "(objectClass=person)"},
		{base: "cn=dev3,ou=devices,o=pkid", scope: "one", filter: "(objectClass=*)"},
		{base: "o=pkid", scope: "sub", filter: "(&)", attrs: []string{"1.1"}, extra: []string{"-z", "3"}, countOnly: true},
		{base: "o=pkid", scope: "sub", filter: "(|)"},
		{base: "o=pkid", scope: "sub", filter: "(objectClass=top)", attrs: []string{"1.1"}},
		{base: "o=pkid", scope: "sub", filter: "(objectClass=organizationalUnit)", attrs: []string{"ou"}},
	}
	return s
}

// TestDifferentialSlapd loads the same LDIF into slapd and pkid and runs
// the same searches and changes with ldapsearch/ldapmodify against both:
// result codes and (normalised) entries must be the same.
func TestDifferentialSlapd(t *testing.T) {
	if testing.Short() {
		t.Skip("slapd differential test")
	}
	ldif := diffLDIF(960)
	if n := strings.Count(ldif, "\ndn: ") + 1; n < 1000 {
		t.Fatalf("only %d entries", n)
	}
	slapdURL := startSlapd(t, ldif)
	ts := startPkidWith(t, ldif)
	search := func(url string, s diffSearch) (string, int) {
		args := []string{"-H", url, "-x", "-D", adminDN, "-w", adminPW, "-LLL", "-o", "ldif-wrap=no", "-b", s.base, "-s", s.scope}
		args = append(append(append(args, s.extra...), s.filter), s.attrs...)
		out, _, code := ts.run(t, "", nil, "ldapsearch", args...)
		return out, code
	}
	compare := func(t *testing.T, s diffSearch) {
		t.Helper()
		want, wantCode := search(slapdURL, s)
		got, gotCode := search(ts.ldapURL, s)
		if gotCode != wantCode {
			t.Errorf("%s %s %s %v: pkid exit %d, slapd %d", s.base, s.scope, s.filter, s.attrs, gotCode, wantCode)
		}
		if s.base == "o=pkid" && s.scope == "sub" && s.filter == "(objectClass=*)" && len(dns(want)) < 1000 {
			t.Errorf("the whole tree has only %d entries", len(dns(want)))
		}
		if s.countOnly {
			if a, b := len(dns(got)), len(dns(want)); a != b {
				t.Errorf("%s: pkid %d entries, slapd %d", s.filter, a, b)
			}
			return
		}
		if g, w := normLDIF(got), normLDIF(want); g != w {
			t.Errorf("%s %s %s %v: entries differ\npkid:\n%.1500s\nslapd:\n%.1500s", s.base, s.scope, s.filter, s.attrs, g, w)
		}
	}
	searches := diffSearches()
	if len(searches) < 50 {
		t.Fatalf("only %d searches", len(searches))
	}
	for i, s := range searches {
		t.Run(fmt.Sprintf("search%02d", i), func(t *testing.T) { compare(t, s) })
	}

	changes := []struct {
		name, prog, ldif string
		args             []string
		// pkid is the code pkid must give where it follows the RFC
		// and slapd does not (0: the same as slapd).
		pkid int
	}{
		{"add", "ldapadd", "dn: uid=new1,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: new1\ncn: New One\nsn: One\nmail: new1@example.org\n", nil, 0},
		{"add existing", "ldapadd", "dn: uid=new1,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: new1\ncn: New One\nsn: One\n", nil, 0},
		{"add no parent", "ldapadd", "dn: uid=x,ou=nowhere,o=pkid\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\n", nil, 0},
		{"add missing must", "ldapadd", "dn: uid=x,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: x\ncn: x\n", nil, 0},
		{"add unknown attribute", "ldapadd", "dn: uid=x,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\nfooBar: 1\n", nil, 0},
		{"add not allowed attribute", "ldapadd", "dn: uid=x,ou=people,o=pkid\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\nuidNumber: 5\n", nil, 0},
		{"add bad syntax", "ldapadd", "dn: cn=pgx,ou=groups,o=pkid\nobjectClass: posixGroup\ncn: pgx\ngidNumber: abc\n", nil, 0},
		{"add two structural", "ldapadd", "dn: cn=x,ou=groups,o=pkid\nobjectClass: device\nobjectClass: groupOfNames\ncn: x\nmember: o=pkid\n", nil, 0},
		{"modify replace", "ldapmodify", "dn: uid=u0001,ou=people,o=pkid\nchangetype: modify\nreplace: title\ntitle: Boss\n-\nadd: mail\nmail: boss@example.org\n", nil, 0},
		{"modify delete value", "ldapmodify", "dn: uid=u0004,ou=people,o=pkid\nchangetype: modify\ndelete: mail\nmail: u0004@other.example\n", nil, 0},
		{"modify delete missing value", "ldapmodify", "dn: uid=u0004,ou=people,o=pkid\nchangetype: modify\ndelete: mail\nmail: nothere@example.org\n", nil, 0},
		{"modify delete missing attribute", "ldapmodify", "dn: uid=u0002,ou=people,o=pkid\nchangetype: modify\ndelete: telephoneNumber\n", nil, 0},
		{"modify add existing value", "ldapmodify", "dn: uid=u0002,ou=people,o=pkid\nchangetype: modify\nadd: mail\nmail: U0002@example.org\n", nil, 0},
		{"modify delete must", "ldapmodify", "dn: uid=u0002,ou=people,o=pkid\nchangetype: modify\ndelete: sn\n", nil, 0},
		{"modify delete rdn", "ldapmodify", "dn: uid=u0002,ou=people,o=pkid\nchangetype: modify\ndelete: uid\n", nil, 0},
		{"modify increment", "ldapmodify", "dn: uid=u0003,ou=people,o=pkid\nchangetype: modify\nincrement: uidNumber\nuidNumber: 5\n", nil, 0},
		{"modify single-valued twice", "ldapmodify", "dn: uid=u0003,ou=people,o=pkid\nchangetype: modify\nadd: uidNumber\nuidNumber: 7\n", nil, 0},
		{"modify no such object", "ldapmodify", "dn: uid=nobody,ou=people,o=pkid\nchangetype: modify\nreplace: sn\nsn: x\n", nil, 0},
		{"modify add objectClass", "ldapmodify", "dn: uid=u0005,ou=people,o=pkid\nchangetype: modify\nadd: objectClass\nobjectClass: posixAccount\n-\nadd: uidNumber\nuidNumber: 99\n-\nadd: gidNumber\ngidNumber: 99\n-\nadd: homeDirectory\nhomeDirectory: /h\n", nil, 0},
		{"modrdn keep old", "ldapmodrdn", "", []string{"uid=u0006,ou=people,o=pkid", "uid=renamed6"}, 0},
		{"modrdn delete old", "ldapmodrdn", "", []string{"-r", "uid=u0007,ou=people,o=pkid", "uid=renamed7"}, 0},
		{"modrdn to existing", "ldapmodrdn", "", []string{"-r", "uid=u0008,ou=people,o=pkid", "uid=u0009"}, 0},
		{"modrdn new superior", "ldapmodrdn", "", []string{"-r", "-s", "ou=empty,o=pkid", "uid=u0010,ou=people,o=pkid", "uid=u0010"}, 0},
		{"modrdn subtree move", "ldapmodrdn", "", []string{"-s", "ou=empty,o=pkid", "ou=devices,o=pkid", "ou=devices"}, 0},
		{"modrdn missing", "ldapmodrdn", "", []string{"uid=nobody,ou=people,o=pkid", "uid=x"}, 0},
		{"delete leaf", "ldapdelete", "", []string{"uid=u0011,ou=people,o=pkid"}, 0},
		{"delete non-leaf", "ldapdelete", "", []string{"ou=groups,o=pkid"}, 0},
		{"delete missing", "ldapdelete", "", []string{"uid=u0011,ou=people,o=pkid"}, 0},
	}
	for _, c := range changes {
		t.Run("change/"+c.name, func(t *testing.T) {
			run := func(url string) (int, string) {
				args := append([]string{"-H", url, "-x", "-D", adminDN, "-w", adminPW}, c.args...)
				_, errOut, code := ts.run(t, c.ldif, nil, c.prog, args...)
				return code, errOut
			}
			want, wantErr := run(slapdURL)
			got, gotErr := run(ts.ldapURL)
			if c.pkid != 0 {
				if got != c.pkid {
					t.Errorf("pkid exit %d, want %d (slapd %d)\npkid: %s", got, c.pkid, want, gotErr)
				}
				return
			}
			if got != want {
				t.Errorf("pkid exit %d, slapd %d\npkid: %sslapd: %s", got, want, gotErr, wantErr)
			}
		})
	}
	// Afterwards both trees hold the same entries.
	for _, s := range []diffSearch{
		{base: "o=pkid", scope: "sub", filter: "(objectClass=*)"},
		{base: "ou=empty,o=pkid", scope: "sub", filter: "(l=Tokyo)"},
	} {
		t.Run("after changes "+s.filter, func(t *testing.T) { compare(t, s) })
	}
	_ = ldap.ResultSuccess
}
