package directory

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/ldap"
)

// diffLDIF is varied data for the differential test.
func diffLDIF() string {
	var b strings.Builder
	b.WriteString("dn: o=diff\nobjectClass: organization\no: diff\n\n")
	b.WriteString("dn: ou=people,o=diff\nobjectClass: organizationalUnit\nou: people\n\n")
	b.WriteString("dn: ou=groups,o=diff\nobjectClass: organizationalUnit\nou: groups\ndescription: Groups of people\n\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "dn: uid=u%d,ou=people,o=diff\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: u%d\ncn: User  %d\ncn: Nick%d\nsn: Surname%d\n", i, i, i, i%7, i%5)
		fmt.Fprintf(&b, "givenName: Given %d\nmail: U%d@Example.COM\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/u%d\ntelephoneNumber: +1 555-01%02d\n", i, i, 1000+i*7, 100+i%3, i, i)
		if i%4 == 0 {
			fmt.Fprintf(&b, "description: manager of %d things\nemployeeType: staff\n", i)
		}
		b.WriteString("\n")
	}
	for g := 0; g < 3; g++ {
		fmt.Fprintf(&b, "dn: cn=grp%d,ou=groups,o=diff\nobjectClass: groupOfNames\ncn: grp%d\n", g, g)
		for i := g; i < 60; i += 7 {
			fmt.Fprintf(&b, "member: uid=u%d,ou=people,o=diff\n", i)
		}
		fmt.Fprintf(&b, "\ndn: cn=posix%d,ou=groups,o=diff\nobjectClass: posixGroup\ncn: posix%d\ngidNumber: %d\nmemberUid: u%d\nmemberUid: u%d\n\n", g, g, 100+g, g, g+10)
	}
	return b.String()
}

// startSlapd loads data into a new back-mdb database and serves it on a
// loopback port; it returns the address.
func startSlapd(t *testing.T, data string) string {
	slapd := peer.Need(t, "slapd", "slapd")
	slapadd := peer.Need(t, "slapadd", "slapd")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data.ldif"), []byte(data), 0o600)
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 1073741824
suffix "o=diff"
rootdn "cn=admin,o=diff"
rootpw secret
directory %[1]s/db
`, dir)
	os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600)
	if out, err := exec.Command(slapadd, "-q", "-f", filepath.Join(dir, "slapd.conf"), "-l", filepath.Join(dir, "data.ldif")).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(slapd, "-f", filepath.Join(dir, "slapd.conf"), "-h", "ldap://"+addr+"/", "-d", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("slapd did not start listening")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr
}

// TestDifferentialSlapd loads the same LDIF into slapd (back-mdb) and two
// Trees, one with the default equality indexes and one with none, and
// checks a table of searches finds the same entries in all three. It
// drives slapd through ldapsearch, so it needs slapd and ldap-utils.
func TestDifferentialSlapd(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	data := diffLDIF()
	addr := startSlapd(t, data)
	trees := []struct {
		name string
		tr   *Tree
	}{
		{"indexed", newTestTree(t)},
		{"unindexed", newTestTreeIndexed(t, []string{})},
	}
	for _, x := range trees {
		if _, err := x.tr.Import(t.Context(), NewLDIFReader(strings.NewReader(data)), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scopes := map[ldap.Scope]string{ldap.ScopeBaseObject: "base", ldap.ScopeSingleLevel: "one", ldap.ScopeWholeSubtree: "sub"}
	tests := []struct {
		base   string
		scope  ldap.Scope
		filter string
	}{
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=*)"},
		{"o=diff", ldap.ScopeSingleLevel, "(objectClass=*)"},
		{"o=diff", ldap.ScopeBaseObject, "(objectClass=organization)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=person)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=organizationalPerson)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=2.5.6.6)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=PERSON)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=posixAccount)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=groupOfNames)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=account)"},
		{"ou=people,o=diff", ldap.ScopeSingleLevel, "(objectClass=organizationalPerson)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(&(objectClass=person)(objectClass=posixAccount))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(&(objectClass=person)(cn=nick3))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(|(objectClass=person)(objectClass=posixGroup))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(objectClass=top)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uid=u7)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(UID=U7)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=user 7)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=nick3)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(name=nick3)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=user*)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=*ck1)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=u*r*5)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn=user 1*)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(sn=surname2)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(mail=u3@example.com)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(mail=*@EXAMPLE.com)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uidNumber=1014)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uidNumber>=1300)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uidNumber<=1020)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(gidNumber=101)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(&(gidNumber=101)(uidNumber>=1200))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(|(uid=u1)(uid=u2)(cn=grp0))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(!(objectClass=inetOrgPerson))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(&(objectClass=posixAccount)(!(description=*)))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(description=*things)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(description=*)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(employeeType=staff)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(telephoneNumber=+15550107)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(telephoneNumber=*555*)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(member=uid=u7,ou=people,o=diff)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(member=UID=U14, OU=People, O=Diff)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(memberUid=u10)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(memberUid=U10)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(fooBar=x)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(!(fooBar=x))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(|(fooBar=x)(uid=u3))"},
		{"o=diff", ldap.ScopeWholeSubtree, "(cn>=m)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uid:caseExactMatch:=u5)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(ou:dn:=people)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(:dn:2.5.13.2:=groups)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(uidNumber:2.5.13.14:=1007)"},
		{"ou=people,o=diff", ldap.ScopeSingleLevel, "(uid=u1*)"},
		{"ou=groups,o=diff", ldap.ScopeWholeSubtree, "(cn=*)"},
		{"ou=groups,o=diff", ldap.ScopeBaseObject, "(description=groups of PEOPLE)"},
		{"uid=u5,ou=people,o=diff", ldap.ScopeBaseObject, "(objectClass=*)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(createTimestamp>=20000101000000Z)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(structuralObjectClass=groupOfNames)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(entryDN=uid=u9,ou=people,o=diff)"},
		{"o=diff", ldap.ScopeWholeSubtree, "(hasSubordinates=TRUE)"},
	}
	for _, tc := range tests {
		t.Run(scopes[tc.scope]+" "+tc.filter, func(t *testing.T) {
			out, err := exec.Command(ldapsearch, "-x", "-H", "ldap://"+addr, "-b", tc.base, "-s", scopes[tc.scope], "-LLL", "-o", "ldif-wrap=no", tc.filter, "1.1").Output()
			if err != nil {
				t.Fatalf("ldapsearch: %v", err)
			}
			var want []string
			for _, l := range strings.Split(string(out), "\n") {
				if dn, ok := strings.CutPrefix(l, "dn: "); ok {
					want = append(want, dn)
				}
			}
			sort.Strings(want)
			for _, x := range trees {
				got, _, err := search(t, x.tr, tc.base, tc.scope, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("pkid (%s) found %d entries, slapd %d\npkid:  %q\nslapd: %q", x.name, len(got), len(want), got, want)
				}
			}
		})
	}
}

// TestDifferentialSlapdUpdates runs the same sequence of updates through
// ldapmodify against slapd and through a Tree, and compares result codes
// (ldapmodify exits with the LDAP result code) and the final entries.
func TestDifferentialSlapdUpdates(t *testing.T) {
	ldapmodify := peer.Need(t, "ldapmodify", "ldap-utils")
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	data := diffLDIF()
	addr := startSlapd(t, data)
	tr := newTestTree(t)
	if _, err := tr.Import(t.Context(), NewLDIFReader(strings.NewReader(data)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ops := []struct{ name, ldif string }{
		{"add ok", "dn: uid=n1,ou=people,o=diff\nchangetype: add\nobjectClass: inetOrgPerson\nuid: n1\ncn: New One\nsn: One\n"},
		{"add exists", "dn: uid=n1,ou=people,o=diff\nchangetype: add\nobjectClass: inetOrgPerson\nuid: n1\ncn: New One\nsn: One\n"},
		{"add no parent", "dn: uid=n2,ou=nowhere,o=diff\nchangetype: add\nobjectClass: account\nuid: n2\n"},
		{"add missing must", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: inetOrgPerson\nuid: n3\ncn: x\n"},
		{"add not allowed", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nuid: n3\nmail: a@b\n"},
		{"add undefined", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nuid: n3\nfooBar: x\n"},
		{"add bad syntax", "dn: cn=p9,ou=groups,o=diff\nchangetype: add\nobjectClass: posixGroup\ncn: p9\ngidNumber: nine\n"},
		{"add no structural", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: posixAccount\nuid: n3\ncn: x\nuidNumber: 1\ngidNumber: 1\nhomeDirectory: /\n"},
		{"add two chains", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nobjectClass: organizationalUnit\nuid: n3\nou: x\n"},
		{"add rdn missing", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nuid: other\n"},
		{"add single-valued", "dn: cn=p9,ou=groups,o=diff\nchangetype: add\nobjectClass: posixGroup\ncn: p9\ngidNumber: 1\ngidNumber: 2\n"},
		{"add duplicate value", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nuid: n3\ndescription: a\ndescription: a\n"},
		{"add no user mod", "dn: uid=n3,ou=people,o=diff\nchangetype: add\nobjectClass: account\nuid: n3\ncreateTimestamp: 20200101000000Z\n"},
		{"modify add value", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nadd: mail\nmail: second@example.com\n-\n"},
		{"modify add existing", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nadd: mail\nmail: SECOND@example.com\n-\n"},
		{"modify delete missing value", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\ndelete: mail\nmail: none@example.com\n-\n"},
		{"modify delete missing attr", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\ndelete: title\n-\n"},
		{"modify replace", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nreplace: sn\nsn: Changed\n-\n"},
		{"modify increment", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nincrement: uidNumber\nuidNumber: 5\n-\n"},
		{"modify single-valued", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nadd: uidNumber\nuidNumber: 5\n-\n"},
		{"modify remove must", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\ndelete: sn\n-\n"},
		{"modify rdn value", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\ndelete: uid\nuid: u1\n-\n"},
		{"modify not allowed", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nadd: dc\ndc: x\n-\n"},
		{"modify no such object", "dn: uid=zz,ou=people,o=diff\nchangetype: modify\nreplace: sn\nsn: x\n-\n"},
		{"modify undefined", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nadd: fooBar\nfooBar: x\n-\n"},
		{"modify no user mod", "dn: uid=u1,ou=people,o=diff\nchangetype: modify\nreplace: modifyTimestamp\nmodifyTimestamp: 20200101000000Z\n-\n"},
		{"modrdn ok", "dn: uid=u2,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=u2b\ndeleteoldrdn: 1\n"},
		{"modrdn keep old", "dn: uid=u3,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=u3b\ndeleteoldrdn: 0\n"},
		{"modrdn exists", "dn: uid=u4,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=u5\ndeleteoldrdn: 1\n"},
		{"modrdn no such", "dn: uid=zz,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=zy\ndeleteoldrdn: 1\n"},
		{"modrdn move", "dn: uid=u6,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=u6\ndeleteoldrdn: 1\nnewsuperior: ou=groups,o=diff\n"},
		{"modrdn subtree", "dn: ou=groups,o=diff\nchangetype: modrdn\nnewrdn: ou=teams\ndeleteoldrdn: 1\n"},
		{"modrdn bad superior", "dn: uid=u7,ou=people,o=diff\nchangetype: modrdn\nnewrdn: uid=u7\ndeleteoldrdn: 1\nnewsuperior: ou=none,o=diff\n"},
		{"modrdn not allowed", "dn: cn=grp1,ou=teams,o=diff\nchangetype: modrdn\nnewrdn: uid=grp1\ndeleteoldrdn: 1\n"},
		{"delete non-leaf", "dn: ou=people,o=diff\nchangetype: delete\n"},
		{"delete ok", "dn: uid=u8,ou=people,o=diff\nchangetype: delete\n"},
		{"delete missing", "dn: uid=u8,ou=people,o=diff\nchangetype: delete\n"},
	}
	for _, op := range ops {
		text := op.ldif
		cmd := exec.Command(ldapmodify, "-x", "-H", "ldap://"+addr, "-D", "cn=admin,o=diff", "-w", "secret")
		cmd.Stdin = strings.NewReader(text)
		cmd.Run()
		want := ldap.ResultCode(cmd.ProcessState.ExitCode())
		rec, err := NewLDIFReader(strings.NewReader(text)).Next()
		if err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		switch rec.ChangeType {
		case ChangeAdd:
			err = tr.Add(t.Context(), admin, rec.Entry)
		case ChangeModify:
			err = tr.Modify(t.Context(), admin, rec.DN, rec.Changes)
		case ChangeModRDN:
			err = tr.ModifyDN(t.Context(), admin, rec.DN, rec.NewRDN, rec.DeleteOldRDN, rec.NewSuperior)
		case ChangeDelete:
			err = tr.Delete(t.Context(), admin, rec.DN)
		}
		if got := code(err); got != want {
			t.Errorf("%s: pkid %v (%v), slapd %v", op.name, got, err, want)
		}
	}
	// Both hold the same entries with the same user attributes.
	out, err := exec.Command(ldapsearch, "-x", "-H", "ldap://"+addr, "-b", "o=diff", "-LLL", "-o", "ldif-wrap=no", "(objectClass=*)").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := NewLDIFReader(strings.NewReader(string(out)))
	n := 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		n++
		_, es, err := search(t, tr, rec.DN, ldap.ScopeBaseObject, "(objectClass=*)")
		if err != nil || len(es) != 1 {
			t.Errorf("%s: in slapd, not in pkid (%v)", rec.DN, err)
			continue
		}
		for _, a := range rec.Entry.Attributes {
			var got []string
			for _, v := range es[0].Get(a.Type) {
				got = append(got, string(v))
			}
			var want []string
			for _, v := range a.Values {
				want = append(want, string(v))
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s: %s = %q in pkid, %q in slapd", rec.DN, a.Type, got, want)
			}
		}
	}
	dns, _, _ := search(t, tr, "o=diff", ldap.ScopeWholeSubtree, "(objectClass=*)")
	if len(dns) != n {
		t.Errorf("pkid holds %d entries, slapd %d", len(dns), n)
	}
}
