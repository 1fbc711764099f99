package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/server"
)

// aclTree is loaded by the administrator (the suffix's owner) before the
// cases run. ou=people grants alice and the readers group normal:rsc and
// everyone CN=THIS; ou=secret grants alice rsc and denies r at the same
// level; ou=local's ACL does not propagate; carol may add below ou=drop
// and add and delete below ou=move.
const aclTree = `dn: ou=people,o=pkid
objectClass: organizationalUnit
ou: people
aclEntry: access-id:uid=alice,ou=people,o=pkid:normal:rsc
aclEntry: group:cn=readers,ou=groups,o=pkid:normal:rsc
aclEntry: access-id:CN=THIS:normal:rsc

dn: uid=alice,ou=people,o=pkid
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: alice-secret

dn: uid=bob,ou=people,o=pkid
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
userPassword: bob-secret

dn: uid=carol,ou=people,o=pkid
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C

dn: ou=groups,o=pkid
objectClass: organizationalUnit
ou: groups

dn: cn=readers,ou=groups,o=pkid
objectClass: groupOfNames
cn: readers
member: uid=carol,ou=people,o=pkid

dn: ou=secret,o=pkid
objectClass: organizationalUnit
ou: secret
aclEntry: access-id:uid=alice,ou=people,o=pkid:normal:grant:rsc
aclEntry: access-id:uid=alice,ou=people,o=pkid:normal:deny:r

dn: ou=local,o=pkid
objectClass: organizationalUnit
ou: local
aclEntry: access-id:uid=bob,ou=people,o=pkid:normal:rsc
aclPropagate: FALSE

dn: cn=item,ou=local,o=pkid
objectClass: organizationalRole
cn: item

dn: ou=drop,o=pkid
objectClass: organizationalUnit
ou: drop
aclEntry: access-id:uid=carol,ou=people,o=pkid:object:a

dn: ou=move,o=pkid
objectClass: organizationalUnit
ou: move
aclEntry: access-id:uid=carol,ou=people,o=pkid:object:ad

dn: cn=m1,ou=move,o=pkid
objectClass: organizationalRole
cn: m1

dn: cn=m2,ou=move,o=pkid
objectClass: organizationalRole
cn: m2
`

// TestACLWithLDAPSearch runs pkid serve's directory with aclEntry access
// control and checks with OpenLDAP's ldapsearch and ldapmodify, bound with
// SASL EXTERNAL and client certificates whose subjects are the users'
// entry DNs, what each identity sees and may change.
func TestACLWithLDAPSearch(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	ldapmodify := peer.Need(t, "ldapmodify", "ldap-utils")
	f := start(t, "", func(c *server.Config) { c.LDAPSAddr = "127.0.0.1:0" })
	url := "ldaps://" + f.srv.LDAPSAddr().String()
	base := append(os.Environ(), "LDAPTLS_CACERT="+f.boot.CAFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME="+f.dir)
	as := func(chain, key string) []string {
		return append(base[:len(base):len(base)], "LDAPTLS_CERT="+chain, "LDAPTLS_KEY="+key)
	}
	admin := as(f.boot.AdminChain, f.boot.AdminKey)
	user := func(uid string) []string {
		_, files := f.issue(ca.Request{Profile: "client", Subject: "UID=" + uid + ",OU=people,O=pkid"})
		return as(files.Chain, files.Key)
	}
	alice, bob, carol := user("alice"), user("bob"), user("carol")
	run := func(env []string, stdin, prog string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	}
	ext := []string{"-H", url, "-Y", "EXTERNAL", "-Q"}
	anon := []string{"-H", url, "-x"}
	if out, code := run(admin, aclTree, ldapmodify, append(ext, "-a")...); code != 0 {
		t.Fatalf("loading the tree as the admin: exit %d\n%s", code, out)
	}
	search := func(bind []string, b, scope, filter string, attrs ...string) []string {
		return append(append(append([]string{}, bind...), "-LLL", "-o", "ldif-wrap=no", "-b", b, "-s", scope, filter), attrs...)
	}
	const people, alicDN, caDN = "ou=people,o=pkid", "uid=alice,ou=people,o=pkid", "cn=pkid Issuing CA,o=pkid"
	cases := []struct {
		name    string
		env     []string
		stdin   string // for ldapmodify
		args    []string
		code    int
		want    []string
		wantNot []string
	}{
		{"admin owner reads userPassword", admin, "", search(ext, alicDN, "base", "(objectClass=*)", "userPassword"), 0, []string{"userPassword:"}, nil},
		{"admin sees aclEntry with +", admin, "", search(ext, people, "base", "(objectClass=*)", "+"), 0, []string{"aclEntry: access-id:uid=alice"}, nil},
		{"admin reads computed aclSource and ownerSource", admin, "", search(ext, alicDN, "base", "(objectClass=*)", "aclSource", "ownerSource"), 0, []string{"aclSource: ou=people,o=pkid", "ownerSource: o=pkid"}, nil},
		{"aclSource of a non-propagating ACL's child", admin, "", search(ext, "cn=item,ou=local,o=pkid", "base", "(objectClass=*)", "+"), 0, []string{"ownerSource: o=pkid"}, []string{"aclSource"}},
		{"aclEntry not returned with *", admin, "", search(ext, people, "base", "(objectClass=*)", "*"), 0, []string{"ou: people"}, []string{"aclEntry"}},
		{"admin sees the whole tree", admin, "", search(ext, "o=pkid", "sub", "(objectClass=*)", "1.1"), 0, []string{"dn: ou=secret,o=pkid", "dn: cn=item,ou=local,o=pkid", "dn: uid=carol,ou=people,o=pkid"}, nil},
		{"anonymous reads the root DSE", base, "", search(anon, "", "base", "(objectClass=*)", "namingContexts"), 0, []string{"namingContexts: o=pkid"}, nil},
		{"anonymous reads the subschema", base, "", search(anon, "cn=Subschema", "base", "(objectClass=*)", "attributeTypes"), 0, []string{"NAME 'aclEntry'"}, nil},
		{"anonymous reads the CA entry's CRL", base, "", search(anon, caDN, "base", "(objectClass=*)", "certificateRevocationList;binary", "objectClass"), 0, []string{"certificateRevocationList;binary::", "objectClass: cRLDistributionPoint"}, nil},
		{"anonymous: the CA database view does not exist", base, "", search(anon, "ou=certificates,"+caDN, "one", "(objectClass=*)", "1.1"), 32, nil, []string{"serialNumber="}},
		{"admin reads the CA database view", admin, "", search(ext, "ou=certificates,"+caDN, "one", "(objectClass=*)", "1.1"), 0, []string{"dn: serialNumber="}, nil},
		{"alice: the CA database view does not exist", alice, "", search(ext, "ou=certificates,"+caDN, "one", "(objectClass=*)", "1.1"), 32, nil, []string{"serialNumber="}},
		{"anonymous: suffix does not exist", base, "", search(anon, "o=pkid", "sub", "(objectClass=*)", "1.1"), 32, nil, []string{"dn:"}},
		{"anonymous: user entry does not exist", base, "", search(anon, alicDN, "base", "(objectClass=*)", "cn"), 32, nil, []string{"Alice"}},
		{"alice reads her cn", alice, "", search(ext, alicDN, "base", "(objectClass=*)", "cn", "userPassword"), 0, []string{"cn: Alice"}, []string{"userPassword"}},
		{"alice reads bob by access-id", alice, "", search(ext, "uid=bob,"+people, "base", "(objectClass=*)", "cn"), 0, []string{"cn: Bob"}, nil},
		{"alice sees all people", alice, "", search(ext, people, "one", "(objectClass=person)", "1.1"), 0, []string{"dn: uid=alice", "dn: uid=bob", "dn: uid=carol"}, nil},
		{"filter on unreadable userPassword is Undefined", alice, "", search(ext, people, "one", "(userPassword=*)", "1.1"), 0, nil, []string{"dn:"}},
		{"negated filter on userPassword is Undefined too", alice, "", search(ext, people, "one", "(!(userPassword=*))", "1.1"), 0, nil, []string{"dn:"}},
		{"bob reads himself by CN=THIS", bob, "", search(ext, "uid=bob,"+people, "base", "(objectClass=*)", "cn", "userPassword"), 0, []string{"cn: Bob"}, []string{"userPassword"}},
		{"bob: alice does not exist", bob, "", search(ext, alicDN, "base", "(objectClass=*)", "cn"), 32, nil, []string{"Alice"}},
		{"bob: a base he may not discover does not exist", bob, "", search(ext, people, "sub", "(objectClass=*)", "1.1"), 32, nil, []string{"uid=alice", "uid=carol"}},
		{"carol reads alice by group", carol, "", search(ext, alicDN, "base", "(objectClass=*)", "cn", "userPassword"), 0, []string{"cn: Alice"}, []string{"userPassword"}},
		{"carol: groups are not readable", carol, "", search(ext, "cn=readers,ou=groups,o=pkid", "base", "(objectClass=*)", "member"), 32, nil, []string{"member:"}},
		{"deny r wins over grant r at the same level", alice, "", search(ext, "ou=secret,o=pkid", "base", "(objectClass=*)", "ou"), 0, nil, []string{"ou: secret"}},
		{"bob reads ou=local", bob, "", search(ext, "ou=local,o=pkid", "base", "(objectClass=*)", "ou"), 0, []string{"ou: local"}, nil},
		{"aclPropagate FALSE: child hidden from bob", bob, "", search(ext, "cn=item,ou=local,o=pkid", "base", "(objectClass=*)", "cn"), 32, nil, []string{"cn: item"}},
		{"non-owner changes an ACL", alice, "dn: " + people + "\nchangetype: modify\nadd: aclEntry\naclEntry: group:CN=ANYBODY:normal:rsc\n", ext, 50, nil, nil},
		{"non-owner changes a user attribute", alice, "dn: " + alicDN + "\nchangetype: modify\nreplace: sn\nsn: X\n", ext, 50, nil, nil},
		{"malformed aclEntry", admin, "dn: " + people + "\nchangetype: modify\nadd: aclEntry\naclEntry: access-id:uid=x,o=pkid:normal:grant:rzq\n", ext, 21, []string{"aclEntry"}, nil},
		{"malformed aclEntry was not stored", admin, "", search(ext, people, "base", "(objectClass=*)", "aclEntry"), 0, []string{"aclEntry: access-id:CN=THIS"}, []string{"rzq"}},
		{"add right on the parent adds a child", carol, "dn: cn=c1,ou=drop,o=pkid\nchangetype: add\nobjectClass: organizationalRole\ncn: c1\n", ext, 0, nil, nil},
		{"add right does not let a child carry an ACL", carol, "dn: cn=c2,ou=drop,o=pkid\nchangetype: add\nobjectClass: organizationalRole\ncn: c2\naclEntry: access-id:uid=carol,ou=people,o=pkid:normal:rwsc\n", ext, 50, nil, nil},
		{"add right does not let a child name its owner", carol, "dn: cn=c3,ou=drop,o=pkid\nchangetype: add\nobjectClass: organizationalRole\ncn: c3\nentryOwner: access-id:uid=carol,ou=people,o=pkid\n", ext, 50, nil, nil},
		{"no add right: parent hidden", bob, "dn: cn=b1,ou=drop,o=pkid\nchangetype: add\nobjectClass: organizationalRole\ncn: b1\n", ext, 32, []string{"does not exist"}, []string{"matched DN"}},
		{"move with delete at the old place and add at the new", carol, "dn: cn=m1,ou=move,o=pkid\nchangetype: modrdn\nnewrdn: cn=m1\ndeleteoldrdn: 1\nnewsuperior: ou=drop,o=pkid\n", ext, 0, nil, nil},
		{"the moved entry is at its new place", admin, "", search(ext, "cn=m1,ou=drop,o=pkid", "base", "(objectClass=*)", "cn"), 0, []string{"cn: m1"}, nil},
		{"move without add right below the new superior", carol, "dn: cn=m2,ou=move,o=pkid\nchangetype: modrdn\nnewrdn: cn=m2\ndeleteoldrdn: 1\nnewsuperior: ou=people,o=pkid\n", ext, 50, []string{"no add access below the new superior"}, nil},
		{"move without delete right at the old place", carol, "dn: cn=c1,ou=drop,o=pkid\nchangetype: modrdn\nnewrdn: cn=c1\ndeleteoldrdn: 1\nnewsuperior: ou=move,o=pkid\n", ext, 50, nil, nil},
		{"refused moves changed nothing", admin, "", search(ext, "o=pkid", "sub", "(|(cn=m2)(cn=c1))", "1.1"), 0, []string{"dn: cn=m2,ou=move,o=pkid", "dn: cn=c1,ou=drop,o=pkid"}, nil},
		{"owner grants bob alice", admin, "dn: " + alicDN + "\nchangetype: modify\nadd: aclEntry\naclEntry: access-id:uid=bob,ou=people,o=pkid:normal:rsc\n", ext, 0, nil, nil},
		{"bob reads alice at once", bob, "", search(ext, alicDN, "base", "(objectClass=*)", "cn"), 0, []string{"cn: Alice"}, nil},
		{"alice's own ACL replaced the inherited one", alice, "", search(ext, alicDN, "base", "(objectClass=*)", "cn"), 32, nil, []string{"cn: Alice"}},
		{"carol reads bob by group", carol, "", search(ext, "uid=bob,"+people, "base", "(objectClass=*)", "cn"), 0, []string{"cn: Bob"}, nil},
		{"owner removes carol from the readers", admin, "dn: cn=readers,ou=groups,o=pkid\nchangetype: modify\nreplace: member\nmember: uid=bob,ou=people,o=pkid\n", ext, 0, nil, nil},
		{"carol no longer reads bob at once", carol, "", search(ext, "uid=bob,"+people, "base", "(objectClass=*)", "cn"), 32, nil, []string{"cn: Bob"}},
		{"carol's subtree search no longer finds people", carol, "", search(ext, people, "sub", "(objectClass=person)", "1.1"), 32, nil, []string{"uid=bob", "uid=alice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := ldapsearch
			if c.stdin != "" {
				prog = ldapmodify
			}
			out, code := run(c.env, c.stdin, prog, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestSuffixOwnerRestored: a data directory whose suffix has no entryOwner
// (made before aclEntry access control, or an owner removed by mistake)
// gets the administrator back as owner at the next start.
func TestSuffixOwnerRestored(t *testing.T) {
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	ldapmodify := peer.Need(t, "ldapmodify", "ldap-utils")
	dir := t.TempDir()
	on := func(c *server.Config) { c.LDAPSAddr = "127.0.0.1:0" }
	f := start(t, dir, on)
	env := func(f *fixture) []string {
		return append(os.Environ(), "LDAPTLS_CACERT="+f.boot.CAFile, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null", "HOME="+f.dir,
			"LDAPTLS_CERT="+f.boot.AdminChain, "LDAPTLS_KEY="+f.boot.AdminKey)
	}
	run := func(f *fixture, stdin, prog string, args ...string) (string, error) {
		cmd := exec.Command(prog, append([]string{"-H", "ldaps://" + f.srv.LDAPSAddr().String(), "-Y", "EXTERNAL", "-Q"}, args...)...)
		cmd.Env, cmd.Stdin = env(f), strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	read := []string{"-LLL", "-b", "o=pkid", "-s", "base", "(objectClass=*)", "entryOwner", "ownerPropagate"}
	out, err := run(f, "", ldapsearch, read...)
	if err != nil || !strings.Contains(out, "entryOwner: access-id:cn=admin,o=pkid") || !strings.Contains(out, "ownerPropagate: TRUE") {
		t.Fatalf("first run: suffix owner: %v\n%s", err, out)
	}
	if out, err := run(f, "dn: o=pkid\nchangetype: modify\ndelete: entryOwner\n", ldapmodify); err != nil {
		t.Fatalf("removing the owner: %v\n%s", err, out)
	}
	if out, err := run(f, "", ldapsearch, read...); err == nil {
		t.Fatalf("the admin still reads the suffix without owning it:\n%s", out)
	}
	f.stop()
	f = start(t, dir, on)
	if out, err := run(f, "", ldapsearch, read...); err != nil || !strings.Contains(out, "entryOwner: access-id:cn=admin,o=pkid") {
		t.Fatalf("after restart: suffix owner not restored: %v\n%s", err, out)
	}
}
