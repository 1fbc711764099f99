package directory

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
)

// TestFilterEvaluation covers every filter type and RFC 4511's Undefined.
func TestFilterEvaluation(t *testing.T) {
	tr := newTestTree(t)
	alice := entry("uid=alice,ou=people,o=test", "objectClass: inetOrgPerson", "objectClass: posixAccount", "uid: alice", "cn: Alice  Liddell", "sn: Liddell",
		"mail: Alice@Example.com", "uidNumber: 1000", "gidNumber: 100", "homeDirectory: /home/alice", "telephoneNumber: +44 20 7946-0000",
		"createTimestamp: 20260301120000Z", "cn;lang-fr: Alice au pays", "employeeNumber: 0042")
	tests := []struct {
		filter string
		want   Tri
	}{
		{"(uid=alice)", True},
		{"(uid=ALICE)", True},
		{"(uid=bob)", False},
		{"(cn=alice liddell)", True},
		{"(cn= ALICE   LIDDELL )", True},
		{"(name=alice liddell)", True}, // subtype
		{"(cn;lang-fr=alice au pays)", True},
		{"(cn;lang-de=alice au pays)", False},
		{"(mail=alice@example.COM)", True},
		{"(objectClass=person)", True},
		{"(objectClass=top)", True},
		{"(objectClass=2.5.6.6)", True},
		{"(objectClass=organization)", False},
		{"(uidNumber=1000)", True},
		{"(uidNumber=01000)", Undefined}, // not a valid integer
		{"(uidNumber=abc)", Undefined},
		{"(uidNumber>=999)", True}, // slapd gives uidNumber integerOrderingMatch
		{"(uidNumber<=999)", False},
		{"(sn>=a)", Undefined}, // sn has no ORDERING rule
		{"(createTimestamp>=20260101000000Z)", True},
		{"(createTimestamp<=20260101000000Z)", False},
		{"(createTimestamp>=202603011300+0100)", True},
		{"(cn>=a)", Undefined}, // name has no ORDERING rule
		{"(telephoneNumber=+442079460000)", True},
		{"(cn=al*)", True},
		{"(cn=*LIDD*)", True},
		{"(cn=*dell)", True},
		{"(cn=alice *)", True},
		{"(cn=a*c*l)", True},
		{"(cn=a*x*l)", False},
		{"(cn=*)", True},
		{"(title=*)", False},
		{"(fooBar=*)", Undefined},
		{"(fooBar=x)", Undefined},
		{"(!(fooBar=x))", Undefined},
		{"(|(fooBar=x)(uid=alice))", True},
		{"(|(fooBar=x)(uid=bob))", Undefined},
		{"(&(fooBar=x)(uid=bob))", False},
		{"(&(fooBar=x)(uid=alice))", Undefined},
		{"(!(uid=bob))", True},
		{"(cn~=alice liddel)", False},
		{"(cn~=aliceliddell)", True},
		{"(uid:caseExactMatch:=alice)", True},
		{"(uid:caseExactMatch:=Alice)", False},
		{"(uid:=ALICE)", True},
		{"(:caseIgnoreMatch:=liddell)", True},
		{"(ou:dn:=people)", True},
		{"(ou=people)", False},
		{"(:dn:caseIgnoreMatch:=PEOPLE)", True},
		{"(uid:noSuchMatch:=alice)", Undefined},
		{"(uidNumber:integerOrderingMatch:=2000)", True},
		{"(employeeNumber=42)", False},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ldap.ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Match(&f, alice); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	tests := []struct {
		name, base string
		scope      ldap.Scope
		filter     string
		want       string // ;-joined sorted DNs, or "!code"
	}{
		{"base", "o=test", ldap.ScopeBaseObject, "(objectClass=*)", "o=test"},
		{"one", "o=test", ldap.ScopeSingleLevel, "(objectClass=*)", "ou=groups,o=test;ou=people,o=test"},
		{"sub indexed", "o=test", ldap.ScopeWholeSubtree, "(uid=alice)", "uid=alice,ou=people,o=test"},
		{"sub indexed other subtree", "ou=groups,o=test", ldap.ScopeWholeSubtree, "(uid=alice)", ""},
		{"children", "ou=people,o=test", ldap.ScopeChildren, "(objectClass=*)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
		{"and with index", "o=test", ldap.ScopeWholeSubtree, "(&(objectClass=person)(mail=BOB@example.com))", "uid=bob,ou=people,o=test"},
		{"member DN match", "o=test", ldap.ScopeWholeSubtree, "(member=UID=Alice, OU=People, O=Test)", "cn=admins,ou=groups,o=test"},
		{"memberUid exact", "o=test", ldap.ScopeWholeSubtree, "(memberUid=bob)", "cn=staff,ou=groups,o=test"},
		{"objectClass superclass via index", "o=test", ldap.ScopeWholeSubtree, "(objectClass=organizationalPerson)", "uid=alice,ou=people,o=test;uid=bob,ou=people,o=test"},
		{"unindexed", "o=test", ldap.ScopeWholeSubtree, "(employeeNumber=42)", "uid=bob,ou=people,o=test"},
		{"no such base", "ou=x,o=test", ldap.ScopeWholeSubtree, "(objectClass=*)", "!32"},
		{"bad base", "ou=x,,o=test", ldap.ScopeWholeSubtree, "(objectClass=*)", "!34"},
		{"root one", "", ldap.ScopeSingleLevel, "(objectClass=*)", "!32"},
		{"root sub", "", ldap.ScopeWholeSubtree, "(objectClass=*)", "!32"},
		{"subschema one", "cn=Subschema", ldap.ScopeSingleLevel, "(objectClass=*)", "!32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dns, _, err := search(t, tr, tc.base, tc.scope, tc.filter)
			got := strings.Join(dns, ";")
			if err != nil {
				got = "!" + strconv.Itoa(int(code(err)))
			}
			if got != tc.want {
				t.Errorf("got %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func TestSearchLimitsAndSelection(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	f, _ := ldap.ParseFilter("(objectClass=*)")
	n := 0
	_, err := tr.Search(ctx, admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f, SizeLimit: 2}}, func(*Entry) error { n++; return nil })
	if code(err) != ldap.ResultSizeLimitExceeded || n != 2 {
		t.Errorf("size limit: %d entries, %v", n, err)
	}
	// Paging walks every entry once.
	var all []string
	var cookie []byte
	for pages := 0; pages < 10; pages++ {
		res, err := tr.Search(ctx, admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f}, PageSize: 3, Cookie: cookie}, func(e *Entry) error { all = append(all, e.DN); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if cookie = res.Cookie; cookie == nil {
			break
		}
	}
	if len(all) != 7 {
		t.Errorf("paged search returned %d entries: %q", len(all), all)
	}
	sel := []struct {
		name  string
		attrs []string
		has   []string
		lacks []string
	}{
		{"default", nil, []string{"uid", "cn", "mail"}, []string{"entryUUID", "createTimestamp"}},
		{"plus", []string{"+"}, []string{"entryUUID", "createTimestamp", "entryDN", "subschemaSubentry", "hasSubordinates", "structuralObjectClass", "creatorsName"}, []string{"uid"}},
		{"named", []string{"CN", "mail"}, []string{"cn", "mail"}, []string{"uid", "sn"}},
		{"supertype", []string{"name"}, []string{"cn", "sn"}, []string{"uid"}},
		{"1.1", []string{"1.1"}, nil, []string{"uid", "cn"}},
		{"object class", []string{"@posixAccount"}, []string{"uid", "uidNumber", "homeDirectory", "cn"}, []string{"mail", "sn"}},
	}
	for _, tc := range sel {
		t.Run(tc.name, func(t *testing.T) {
			_, es, err := search(t, tr, "uid=alice,ou=people,o=test", ldap.ScopeBaseObject, "(objectClass=*)", tc.attrs...)
			if err != nil || len(es) != 1 {
				t.Fatal(err)
			}
			for _, h := range tc.has {
				if es[0].Get(h) == nil {
					t.Errorf("missing %s in %+v", h, es[0].Attributes)
				}
			}
			for _, l := range tc.lacks {
				if es[0].Get(l) != nil {
					t.Errorf("unexpected %s", l)
				}
			}
		})
	}
}

func TestRootDSEAndSubschema(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	_, es, err := search(t, tr, "", ldap.ScopeBaseObject, "(objectClass=*)", "+")
	if err != nil || len(es) != 1 {
		t.Fatal(err)
	}
	r := es[0]
	for attr, want := range map[string]string{"namingContexts": "o=test", "supportedLDAPVersion": "3", "subschemaSubentry": "cn=Subschema", "supportedSASLMechanisms": "EXTERNAL", "vendorName": "pkid"} {
		if got := r.GetString(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if len(r.Get("supportedExtension")) != 3 || r.GetString("supportedControl") != ldap.OIDPagedResults || len(r.Get("supportedFeatures")) != 3 {
		t.Errorf("root DSE: %+v", r.Attributes)
	}
	_, es, err = search(t, tr, "cn=subschema", ldap.ScopeBaseObject, "(objectClass=subschema)", "attributeTypes", "objectClasses", "ldapSyntaxes", "matchingRules")
	if err != nil || len(es) != 1 {
		t.Fatalf("subschema: %v %d", err, len(es))
	}
	s := es[0]
	found := false
	for _, v := range s.Get("objectClasses") {
		if strings.HasPrefix(string(v), "( 2.5.6.22 NAME 'pkiCA'") {
			found = true
		}
		if _, err := ParseDescription(string(v)); err != nil {
			t.Errorf("objectClasses value does not parse: %v", err)
		}
	}
	if !found || len(s.Get("attributeTypes")) < 150 || len(s.Get("ldapSyntaxes")) < 30 || len(s.Get("matchingRules")) < 30 {
		t.Errorf("subschema: pkiCA %v, %d types, %d syntaxes, %d rules", found, len(s.Get("attributeTypes")), len(s.Get("ldapSyntaxes")), len(s.Get("matchingRules")))
	}
}

func TestBinaryTransfer(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	e := entry("cn=ca,o=test", "objectClass: applicationProcess", "objectClass: certificationAuthority", "cn: ca")
	e.Attributes = append(e.Attributes,
		Attribute{Type: "cACertificate;binary", Values: [][]byte{der}},
		Attribute{Type: "certificateRevocationList;binary", Values: [][]byte{der}},
		Attribute{Type: "authorityRevocationList;binary", Values: [][]byte{der}})
	mustAdd(t, tr, e)
	for _, req := range []string{"certificateRevocationList", "certificateRevocationList;binary"} {
		_, es, err := search(t, tr, "cn=ca,o=test", ldap.ScopeBaseObject, "(certificateRevocationList=*)", req)
		if err != nil || len(es) != 1 {
			t.Fatalf("%s: %v", req, err)
		}
		if string(es[0].Get("certificateRevocationList;binary")[0]) != string(der) {
			t.Errorf("%s: got %+v", req, es[0].Attributes)
		}
	}
}

func TestDerefAliases(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	mustAdd(t, tr, entry("ou=aliases,o=test", "objectClass: organizationalUnit", "ou: aliases"))
	mustAdd(t, tr, entry("cn=al,ou=aliases,o=test", "objectClass: alias", "objectClass: extensibleObject", "cn: al", "aliasedObjectName: uid=alice,ou=people,o=test"))
	mustAdd(t, tr, entry("cn=dangling,o=test", "objectClass: alias", "objectClass: extensibleObject", "cn: dangling", "aliasedObjectName: uid=zed,o=test"))
	f, _ := ldap.ParseFilter("(objectClass=*)")
	run := func(base string, scope ldap.Scope, deref ldap.DerefAliases) ([]string, error) {
		var dns []string
		_, err := tr.Search(t.Context(), admin, SearchParams{Request: &ldap.SearchRequest{BaseObject: base, Scope: scope, DerefAliases: deref, Filter: f}}, func(e *Entry) error {
			dns = append(dns, e.DN)
			return nil
		})
		return dns, err
	}
	if dns, err := run("cn=al,ou=aliases,o=test", ldap.ScopeBaseObject, ldap.NeverDerefAliases); err != nil || len(dns) != 1 || dns[0] != "cn=al,ou=aliases,o=test" {
		t.Errorf("never: %q %v", dns, err)
	}
	if dns, err := run("cn=al,ou=aliases,o=test", ldap.ScopeBaseObject, ldap.DerefFindingBaseObj); err != nil || len(dns) != 1 || dns[0] != "uid=alice,ou=people,o=test" {
		t.Errorf("finding: %q %v", dns, err)
	}
	if dns, err := run("ou=aliases,o=test", ldap.ScopeSingleLevel, ldap.DerefInSearching); err != nil || len(dns) != 1 || dns[0] != "uid=alice,ou=people,o=test" {
		t.Errorf("searching: %q %v", dns, err)
	}
	if _, err := run("cn=dangling,o=test", ldap.ScopeBaseObject, ldap.DerefAlways); code(err) != ldap.ResultAliasProblem {
		t.Errorf("dangling alias: %v", err)
	}
}
