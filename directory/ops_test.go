package directory

import (
	"errors"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
)

func TestAddResultCodes(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	tests := []struct {
		name    string
		e       *Entry
		want    ldap.ResultCode
		matched string
	}{
		{"ok", entry("uid=carol,ou=people,o=test", "objectClass: person", "cn: carol", "sn: C", "objectClass: uidObject", "uid: carol"), ldap.ResultSuccess, ""},
		{"exists", entry("uid=alice,ou=people,o=test", "objectClass: account", "uid: alice"), ldap.ResultEntryAlreadyExists, ""},
		{"exists other case", entry("UID=ALICE,OU=People,O=Test", "objectClass: account", "uid: ALICE"), ldap.ResultEntryAlreadyExists, ""},
		{"no parent", entry("uid=x,ou=nowhere,ou=people,o=test", "objectClass: account", "uid: x"), ldap.ResultNoSuchObject, "ou=people,o=test"},
		{"outside suffixes", entry("o=other", "objectClass: organization", "o: other"), ldap.ResultNoSuchObject, ""},
		{"no objectClass", entry("cn=x,o=test", "cn: x"), ldap.ResultObjectClassViolation, ""},
		{"unknown class", entry("cn=x,o=test", "objectClass: nosuchclass", "cn: x"), ldap.ResultInvalidAttributeSyntax, ""},
		{"no structural", entry("cn=x,o=test", "objectClass: posixAccount", "cn: x", "uid: x", "uidNumber: 1", "gidNumber: 1", "homeDirectory: /"), ldap.ResultObjectClassViolation, ""},
		{"two structural chains", entry("cn=x,o=test", "objectClass: person", "objectClass: organizationalUnit", "cn: x", "sn: x", "ou: x"), ldap.ResultObjectClassViolation, ""},
		{"missing MUST", entry("cn=x,o=test", "objectClass: person", "cn: x"), ldap.ResultObjectClassViolation, ""},
		{"not allowed", entry("cn=x,o=test", "objectClass: person", "cn: x", "sn: x", "mail: x@y"), ldap.ResultObjectClassViolation, ""},
		{"extensibleObject allows", entry("cn=x,o=test", "objectClass: person", "objectClass: extensibleObject", "cn: x", "sn: x", "mail: x@y"), ldap.ResultSuccess, ""},
		{"undefined type", entry("cn=y,o=test", "objectClass: person", "cn: y", "sn: y", "fooBar: 1"), ldap.ResultUndefinedAttributeType, ""},
		{"bad integer", entry("cn=y,o=test", "objectClass: posixGroup", "cn: y", "gidNumber: ten"), ldap.ResultInvalidAttributeSyntax, ""},
		{"bad IA5", entry("cn=y,o=test", "objectClass: inetOrgPerson", "cn: y", "sn: y", "mail: é@x"), ldap.ResultInvalidAttributeSyntax, ""},
		{"bad printable", entry("c=G!,o=test", "objectClass: country", "c: G!"), ldap.ResultInvalidAttributeSyntax, ""},
		{"bad boolean", entry("cn=y,o=test", "objectClass: person", "objectClass: extensibleObject", "cn: y", "sn: y", "hasSubordinates: yes"), ldap.ResultConstraintViolation, ""},
		{"bad DN value", entry("cn=y,o=test", "objectClass: groupOfNames", "cn: y", "member: not a dn"), ldap.ResultInvalidAttributeSyntax, ""},
		{"bad certificate", entry("cn=y,o=test", "objectClass: person", "objectClass: pkiUser", "cn: y", "sn: y", "userCertificate;binary: garbage"), ldap.ResultInvalidAttributeSyntax, ""},
		{"duplicate value", entry("cn=y,o=test", "objectClass: person", "cn: y", "cn: Y", "sn: y"), ldap.ResultAttributeOrValueExists, ""},
		{"duplicate among many values", entry("cn=y,o=test", "objectClass: person", "cn: y", "sn: y", "description: 1", "description: 2", "description: 3", "description: 4", "description: 5", "description: 6", "description: 7", "description: 8", "description: 9", "description: 10", "description: 3"), ldap.ResultAttributeOrValueExists, ""},
		{"many distinct values", entry("cn=many,o=test", "objectClass: person", "cn: many", "sn: y", "description: 1", "description: 2", "description: 3", "description: 4", "description: 5", "description: 6", "description: 7", "description: 8", "description: 9", "description: 10"), ldap.ResultSuccess, ""},
		{"single-valued", entry("cn=y,o=test", "objectClass: posixGroup", "cn: y", "gidNumber: 1", "gidNumber: 2"), ldap.ResultConstraintViolation, ""},
		// checkEntry compares the first fewValues values one by one, then
		// through a set: duplicates on either side of the switch.
		{"duplicate of the first of many", entry("cn=y,o=test", "objectClass: person", "cn: y", "sn: y", "description: 1", "description: 2", "description: 3", "description: 4", "description: 5", "description: 6", "description: 7", "description: 8", "description: 1"), ldap.ResultAttributeOrValueExists, ""},
		{"duplicate after the switch", entry("cn=y,o=test", "objectClass: person", "cn: y", "sn: y", "description: 1", "description: 2", "description: 3", "description: 4", "description: 5", "description: 6", "description: 7", "description: 8", "description: 9", "description: 10", "description: 10"), ldap.ResultAttributeOrValueExists, ""},
		// Object class combinations are worked out once (classSet): the
		// same classes again, in another order, are checked the same way.
		{"same classes, MUST missing", entry("cn=carl,ou=people,o=test", "objectClass: uidObject", "objectClass: person", "cn: carl", "sn: C"), ldap.ResultObjectClassViolation, ""},
		{"same classes, other order", entry("uid=carl,ou=people,o=test", "objectClass: uidObject", "objectClass: person", "cn: carl", "sn: C", "uid: carl"), ldap.ResultSuccess, ""},
		{"two structural chains again", entry("cn=x,o=test", "objectClass: person", "objectClass: organizationalUnit", "cn: x", "sn: x", "ou: x"), ldap.ResultObjectClassViolation, ""},
		{"superclass given too", entry("cn=dave,o=test", "objectClass: top", "objectClass: person", "objectClass: organizationalPerson", "cn: dave", "sn: D", "title: t"), ldap.ResultSuccess, ""},
		{"superclass given too, not allowed", entry("cn=erin,o=test", "objectClass: top", "objectClass: person", "objectClass: organizationalPerson", "cn: erin", "sn: E", "mail: e@x"), ldap.ResultObjectClassViolation, ""},
		{"no user modification", entry("cn=y,o=test", "objectClass: person", "cn: y", "sn: y", "createTimestamp: 20200101000000Z"), ldap.ResultConstraintViolation, ""},
		{"RDN value added", entry("cn=y,o=test", "objectClass: person", "cn: z", "sn: y"), ldap.ResultSuccess, ""},
		{"RDN attribute not allowed", entry("uid=y,o=test", "objectClass: person", "cn: z", "sn: y"), ldap.ResultObjectClassViolation, ""},
		{"bad DN", entry("cn=y,,o=test", "objectClass: person", "cn: y", "sn: y"), ldap.ResultInvalidDNSyntax, ""},
		{"root DSE", entry("", "objectClass: top"), ldap.ResultEntryAlreadyExists, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tr.Add(t.Context(), admin, tc.e)
			if code(err) != tc.want {
				t.Fatalf("Add = %v; want %v", err, tc.want)
			}
			var le *ldap.Error
			if errors.As(err, &le) && le.MatchedDN != tc.matched {
				t.Errorf("matchedDN = %q, want %q", le.MatchedDN, tc.matched)
			}
		})
	}
}

func TestDeleteAndCompare(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	if err := tr.Delete(ctx, admin, "ou=people,o=test"); code(err) != ldap.ResultNotAllowedOnNonLeaf {
		t.Errorf("delete non-leaf: %v", err)
	}
	err := tr.Delete(ctx, admin, "uid=zed,ou=people,o=test")
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.ResultNoSuchObject || le.MatchedDN != "ou=people,o=test" {
		t.Errorf("delete missing: %v (%+v)", err, le)
	}
	cmp := []struct {
		name, dn, attr, value string
		want                  bool
		code                  ldap.ResultCode
	}{
		{"true caseIgnore", "uid=alice,ou=people,o=test", "cn", "alice liddell", true, 0},
		{"true spaces", "uid=alice,ou=people,o=test", "cn", "  ALICE   LIDDELL ", true, 0},
		{"false", "uid=alice,ou=people,o=test", "cn", "bob", false, 0},
		{"integer", "uid=alice,ou=people,o=test", "uidNumber", "1000", true, 0},
		{"telephone", "uid=alice,ou=people,o=test", "telephoneNumber", "+442079460000", true, 0},
		{"no such attribute", "uid=bob,ou=people,o=test", "uidNumber", "1", false, ldap.ResultNoSuchAttribute},
		{"undefined type", "uid=bob,ou=people,o=test", "fooBar", "1", false, ldap.ResultUndefinedAttributeType},
		{"no such object", "uid=zed,ou=people,o=test", "cn", "x", false, ldap.ResultNoSuchObject},
		{"objectClass subclass", "uid=alice,ou=people,o=test", "objectClass", "person", true, 0},
	}
	for _, tc := range cmp {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tr.Compare(ctx, admin, tc.dn, tc.attr, []byte(tc.value))
			if code(err) != tc.code || got != tc.want {
				t.Errorf("Compare = %v, %v; want %v, %v", got, err, tc.want, tc.code)
			}
		})
	}
	if err := tr.Delete(ctx, admin, "uid=bob,ou=people,o=test"); err != nil {
		t.Fatal(err)
	}
	if dns, _, _ := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(uid=bob)"); len(dns) != 0 {
		t.Errorf("deleted entry still found: %v", dns)
	}
}

func TestModify(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	alice := "uid=alice,ou=people,o=test"
	ch := func(op ldap.ModifyOperation, typ string, vals ...string) ldap.Change {
		c := ldap.Change{Operation: op, Modification: ldap.Attribute{Type: typ}}
		for _, v := range vals {
			c.Modification.Values = append(c.Modification.Values, []byte(v))
		}
		return c
	}
	tests := []struct {
		name    string
		changes []ldap.Change
		want    ldap.ResultCode
	}{
		{"add value", []ldap.Change{ch(ldap.ModifyAdd, "mail", "a2@example.com")}, 0},
		{"add existing", []ldap.Change{ch(ldap.ModifyAdd, "mail", "ALICE@example.com")}, ldap.ResultAttributeOrValueExists},
		{"delete missing value", []ldap.Change{ch(ldap.ModifyDelete, "mail", "nope@example.com")}, ldap.ResultNoSuchAttribute},
		{"delete missing attribute", []ldap.Change{ch(ldap.ModifyDelete, "title")}, ldap.ResultNoSuchAttribute},
		{"replace", []ldap.Change{ch(ldap.ModifyReplace, "description", "changed")}, 0},
		{"replace empty removes", []ldap.Change{ch(ldap.ModifyReplace, "title")}, 0},
		{"increment", []ldap.Change{ch(ldap.ModifyIncrement, "uidNumber", "5")}, 0},
		{"increment non-integer", []ldap.Change{ch(ldap.ModifyIncrement, "cn", "5")}, ldap.ResultConstraintViolation},
		{"single-valued", []ldap.Change{ch(ldap.ModifyAdd, "uidNumber", "7")}, ldap.ResultConstraintViolation},
		{"remove MUST", []ldap.Change{ch(ldap.ModifyDelete, "sn")}, ldap.ResultObjectClassViolation},
		{"remove RDN value", []ldap.Change{ch(ldap.ModifyDelete, "uid", "alice")}, ldap.ResultNamingViolation},
		{"not allowed", []ldap.Change{ch(ldap.ModifyAdd, "dc", "x")}, ldap.ResultObjectClassViolation},
		{"no user modification", []ldap.Change{ch(ldap.ModifyReplace, "modifyTimestamp", "20200101000000Z")}, ldap.ResultConstraintViolation},
		{"undefined", []ldap.Change{ch(ldap.ModifyAdd, "fooBar", "x")}, ldap.ResultUndefinedAttributeType},
		{"bad syntax", []ldap.Change{ch(ldap.ModifyReplace, "gidNumber", "x")}, ldap.ResultInvalidAttributeSyntax},
		{"structural change", []ldap.Change{ch(ldap.ModifyReplace, "objectClass", "account", "posixAccount")}, ldap.ResultObjectClassModsProhibited},
		{"atomic: second fails", []ldap.Change{ch(ldap.ModifyReplace, "description", "never"), ch(ldap.ModifyAdd, "uidNumber", "9")}, ldap.ResultConstraintViolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tr.Modify(ctx, admin, alice, tc.changes); code(err) != tc.want {
				t.Fatalf("Modify = %v; want %v", err, tc.want)
			}
		})
	}
	_, es, err := search(t, tr, alice, ldap.ScopeBaseObject, "(objectClass=*)", "*", "+")
	if err != nil || len(es) != 1 {
		t.Fatal(err)
	}
	e := es[0]
	if got := e.GetString("description"); got != "changed" {
		t.Errorf("description = %q (atomicity broken?)", got)
	}
	if got := e.GetString("uidNumber"); got != "1005" {
		t.Errorf("uidNumber = %q, want 1005", got)
	}
	if len(e.Get("mail")) != 2 || e.GetString("modifiersName") != admin.DN || e.GetString("entryDN") != alice || e.GetString("hasSubordinates") != "FALSE" {
		t.Errorf("entry after modify: %+v", e)
	}
	if err := tr.Modify(ctx, admin, "uid=zed,ou=people,o=test", nil); code(err) != ldap.ResultNoSuchObject {
		t.Errorf("modify missing: %v", err)
	}
}

func TestModifyDN(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	sup := func(s string) *string { return &s }
	if err := tr.ModifyDN(ctx, admin, "uid=bob,ou=people,o=test", "uid=robert", true, nil); err != nil {
		t.Fatal(err)
	}
	_, es, _ := search(t, tr, "uid=robert,ou=people,o=test", ldap.ScopeBaseObject, "(objectClass=*)", "uid")
	if len(es) != 1 || len(es[0].Get("uid")) != 1 || es[0].GetString("uid") != "robert" {
		t.Errorf("after rename: %+v", es)
	}
	// Subtree move.
	if err := tr.ModifyDN(ctx, admin, "ou=people,o=test", "ou=staff", false, sup("ou=groups,o=test")); err != nil {
		t.Fatal(err)
	}
	dns, _, _ := search(t, tr, "o=test", ldap.ScopeWholeSubtree, "(uid=*)")
	if strings.Join(dns, ";") != "uid=alice,ou=staff,ou=groups,o=test;uid=robert,ou=staff,ou=groups,o=test" {
		t.Errorf("after move: %q", dns)
	}
	if ok, err := tr.Compare(ctx, admin, "ou=staff,ou=groups,o=test", "ou", []byte("people")); err != nil || !ok {
		t.Errorf("old RDN value kept without deleteOldRDN: %v %v", ok, err)
	}
	tests := []struct {
		name, dn, rdn string
		sup           *string
		want          ldap.ResultCode
	}{
		{"missing", "uid=zed,o=test", "uid=z", nil, ldap.ResultNoSuchObject},
		{"exists", "cn=admins,ou=groups,o=test", "cn=staff", nil, ldap.ResultEntryAlreadyExists},
		{"below itself", "ou=groups,o=test", "ou=groups", sup("ou=staff,ou=groups,o=test"), ldap.ResultUnwillingToPerform},
		{"no superior", "cn=admins,ou=groups,o=test", "cn=admins", sup("ou=none,o=test"), ldap.ResultNoSuchObject},
		{"RDN attribute not allowed", "cn=admins,ou=groups,o=test", "uid=admins", nil, ldap.ResultObjectClassViolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tr.ModifyDN(ctx, admin, tc.dn, tc.rdn, true, tc.sup); code(err) != tc.want {
				t.Errorf("ModifyDN = %v; want %v", err, tc.want)
			}
		})
	}
}

func TestBind(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	mustAdd(t, tr, entry("uid=carol,ou=people,o=test", "objectClass: account", "objectClass: simpleSecurityObject", "uid: carol", "userPassword: clear secret"))
	_, es, _ := search(t, tr, "uid=carol,ou=people,o=test", ldap.ScopeBaseObject, "(objectClass=*)", "userPassword")
	if got := es[0].GetString("userPassword"); !strings.HasPrefix(got, "{ARGON2}$argon2id$v=19$m=") {
		t.Errorf("stored password = %q, want an argon2id hash", got)
	}
	tests := []struct {
		name, dn, pw string
		want         ldap.ResultCode
	}{
		{"anonymous", "", "", 0},
		{"argon2", "uid=carol,ou=people,o=test", "clear secret", 0},
		{"argon2 wrong", "uid=carol,ou=people,o=test", "wrong", ldap.ResultInvalidCredentials},
		{"unauthenticated", "uid=carol,ou=people,o=test", "", ldap.ResultUnwillingToPerform},
		{"missing entry", "uid=zed,ou=people,o=test", "x", ldap.ResultInvalidCredentials},
		{"no password", "uid=bob,ou=people,o=test", "x", ldap.ResultInvalidCredentials},
		{"bad DN", "uid", "x", ldap.ResultInvalidDNSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tr.Bind(ctx, tc.dn, []byte(tc.pw))
			if code(err) != tc.want {
				t.Fatalf("Bind = %v; want %v", err, tc.want)
			}
			if err == nil && id.DN != tc.dn {
				t.Errorf("identity %q", id.DN)
			}
		})
	}
	carol := Identity{DN: "uid=carol,ou=people,o=test", Mechanism: "SIMPLE"}
	gen, err := tr.PasswordModify(ctx, carol, "", []byte("clear secret"), nil)
	if err != nil || len(gen) != 16 {
		t.Fatalf("PasswordModify: %q %v", gen, err)
	}
	if _, err := tr.Bind(ctx, carol.DN, gen); err != nil {
		t.Errorf("bind with generated password: %v", err)
	}
	if _, err := tr.PasswordModify(ctx, Identity{}, "", nil, []byte("x")); code(err) != ldap.ResultUnwillingToPerform {
		t.Errorf("anonymous password modify: %v", err)
	}
}
