package acl

import (
	"errors"
	"strings"
	"testing"
)

func TestParseACLEntry(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"seed: certificate user on o=Your Company",
			"access-id:CN=SECP521R,O=CPWEBUSER,C=GB:object:ad:normal:grant:rscw:sensitive:rsc",
			"access-id:CN=SECP521R,O=CPWEBUSER,C=GB:object:grant:ad:normal:grant:rwsc:sensitive:grant:rsc"},
		{"issue example",
			"access-id:uid=x,o=SSS:object:ad:normal:grant:rscw:sensitive:rsc",
			"access-id:uid=x,o=SSS:object:grant:ad:normal:grant:rwsc:sensitive:grant:rsc"},
		{"deny clause", "group:cn=staff,o=SSS:normal:grant:rsc:normal:deny:w",
			"group:cn=staff,o=SSS:normal:grant:rsc:normal:deny:w"},
		{"IBM pseudo DN with blanks", "access-id: cn = this:critical:rwsc", "access-id:cn = this:critical:grant:rwsc"},
		{"group anybody", "group: cn=Anybody: normal:rsc", "group:cn=Anybody:normal:grant:rsc"},
		{"keywords in upper case", "GROUP:CN=AUTHENTICATED:NORMAL:GRANT:RSC", "group:CN=AUTHENTICATED:normal:grant:rsc"},
		{"role subject", "role:cn=auditor,o=SSS:system:r", "role:cn=auditor,o=SSS:system:grant:r"},
		{"object deny", "access-id:uid=a,o=SSS:object:deny:d", "access-id:uid=a,o=SSS:object:deny:d"},
		{"bare subject grants nothing", "access-id:uid=a,o=SSS", "access-id:uid=a,o=SSS"},
		{"DN with a colon", "access-id:cn=a:b,o=SSS:normal:r", "access-id:cn=a:b,o=SSS:normal:grant:r"},
		{"escaped comma in DN", `access-id:cn=Smith\, John,o=SSS:restricted:rw`, `access-id:cn=Smith\, John,o=SSS:restricted:grant:rw`},
		{"all classes", "group:cn=g,o=x:normal:r:sensitive:s:critical:c:restricted:w:system:r",
			"group:cn=g,o=x:normal:grant:r:sensitive:grant:s:critical:grant:c:restricted:grant:w:system:grant:r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseACLEntry(tc.in)
			if err != nil {
				t.Fatalf("ParseACLEntry(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			again, err := ParseACLEntry(e.String())
			if err != nil || again != e {
				t.Errorf("round trip of %q: %+v, %v; want %+v", e.String(), again, err, e)
			}
		})
	}
}

func TestParseACLEntryPermissions(t *testing.T) {
	e, err := ParseACLEntry("access-id:uid=x,o=SSS:object:ad:normal:grant:rscw:sensitive:rsc:normal:deny:w")
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject.Type != AccessID || e.Subject.DN != "uid=x,o=SSS" {
		t.Errorf("subject = %+v", e.Subject)
	}
	if e.Grant.Object != Add|Delete {
		t.Errorf("object grant = %v, want ad", e.Grant.Object)
	}
	if e.Grant.Class[Normal] != Read|Write|Search|Compare || e.Deny.Class[Normal] != Write {
		t.Errorf("normal = grant %v deny %v, want grant rwsc deny w", e.Grant.Class[Normal], e.Deny.Class[Normal])
	}
	if e.Grant.Class[Sensitive] != Read|Search|Compare || e.Grant.Class[Critical] != 0 {
		t.Errorf("sensitive = %v, critical = %v", e.Grant.Class[Sensitive], e.Grant.Class[Critical])
	}
}

func TestParseACLEntryErrors(t *testing.T) {
	tests := []struct {
		name, in, part string
	}{
		{"empty", "", ""},
		{"no subject type", "uid=x,o=SSS:normal:r", "uid=x,o=SSS"},
		{"unknown subject type", "user:uid=x,o=SSS:normal:r", "user"},
		{"empty DN", "access-id::normal:r", "access-id:"},
		{"DN without =", "access-id:nonsense:normal:r", "nonsense"},
		{"bad attribute type", "access-id:u_id=x:normal:r", "u_id=x"},
		{"unknown class", "access-id:uid=x,o=SSS:normal:r:secret:r", "secret"},
		{"missing permissions", "access-id:uid=x,o=SSS:normal:grant", "normal:grant"},
		{"missing permissions, next clause", "access-id:uid=x,o=SSS:normal:grant:sensitive:r", "sensitive"},
		{"bad letter for class", "access-id:uid=x,o=SSS:normal:rx", "rx"},
		{"object letters on class", "access-id:uid=x,o=SSS:normal:ad", "ad"},
		{"class letters on object", "access-id:uid=x,o=SSS:object:rw", "rw"},
		{"empty letters", "access-id:uid=x,o=SSS:normal:grant:", ":"},
		{"trailing colon after the DN", "group:CN=ANYBODY:", ":"},
		{"attribute-level", "access-id:uid=x,o=SSS:at.cn:grant:r", "at.cn"},
		{"bad escape", `access-id:cn=a\,o=SSS\:normal:r`, ""},
		{"too long", "access-id:cn=" + strings.Repeat("a", MaxValueLength) + ":normal:r", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseACLEntry(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseACLEntry(%q) = %v, want a *SyntaxError", tc.in, err)
			}
			if se.Attr != "aclEntry" || !strings.Contains(err.Error(), "aclEntry") {
				t.Errorf("error %q does not name aclEntry", err)
			}
			if tc.part != "" && se.Part != tc.part {
				t.Errorf("Part = %q, want %q (error %q)", se.Part, tc.part, err)
			}
		})
	}
}

func TestParseOwner(t *testing.T) {
	for _, ok := range []string{"access-id:cn=admin,o=SSS", "group:cn=admins,o=SSS", "role:cn=dirAdmin,o=SSS"} {
		if s, err := ParseOwner(ok); err != nil || s.String() != ok {
			t.Errorf("ParseOwner(%q) = %v, %v", ok, s, err)
		}
	}
	for _, bad := range []string{"cn=admin,o=SSS", "access-id:cn=admin,o=SSS:normal:r", "group:CN=ANYBODY", "access-id:cn=this", "owner:cn=x"} {
		var se *SyntaxError
		if _, err := ParseOwner(bad); !errors.As(err, &se) || se.Attr != "entryOwner" {
			t.Errorf("ParseOwner(%q) = %v, want an entryOwner *SyntaxError", bad, err)
		}
	}
}

func TestCheckValue(t *testing.T) {
	tests := []struct {
		attr, value string
		ok          bool
	}{
		{"aclEntry", "group:cn=anybody:normal:rsc", true},
		{"ACLENTRY", "group:cn=anybody:normal:rsx", false},
		{"aclPropagate", "TRUE", true},
		{"aclPropagate", "FALSE", true},
		{"aclPropagate", "yes", false},
		{"ownerPropagate", "false", false},
		{"entryOwner", "access-id:cn=admin,o=SSS", true},
		{"entryOwner", "cn=admin", false},
		{"aclSource", "o=SSS", false},
		{"cn", "anything:at:all", true},
	}
	for _, tc := range tests {
		err := CheckValue(tc.attr, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("CheckValue(%q, %q) = %v, want ok=%v", tc.attr, tc.value, err, tc.ok)
		}
	}
}

func TestClasses(t *testing.T) {
	cs := DefaultClasses()
	for attr, want := range map[string]Class{
		"userPassword": Critical, "USERPASSWORD": Critical, "userPassword;x-foo": Critical,
		"cn": Normal, "mail": Normal, "cACertificate;binary": Normal,
		"homePhone": Sensitive, "aclEntry": Restricted, "entryOwner": Restricted,
		"aclSource": System, "modifyTimestamp": System,
		"HOMEPHONE": Sensitive, "AclEntry;binary": Restricted, "ModifyTimestamp": System,
		"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXUSERPASSWORD": Normal,
		"UserPassworD\u00c9": Normal,
	} {
		if got := cs.Of(attr); got != want {
			t.Errorf("Of(%q) = %v, want %v", attr, got, want)
		}
	}
}

func TestAffectsAccess(t *testing.T) {
	for attr, want := range map[string]bool{
		"aclEntry": true, "ACLPROPAGATE": true, "entryOwner": true, "ownerPropagate": true,
		"member": true, "uniqueMember": true, "roleOccupant": true,
		"objectClass": false, "cn": false, "userPassword": false, "member;x-opt": true,
	} {
		if got := AffectsAccess(attr); got != want {
			t.Errorf("AffectsAccess(%q) = %v, want %v", attr, got, want)
		}
	}
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{
		"uid=a,ou=people,o=sss": "ou=people,o=sss",
		`cn=a\,b,o=sss`:         "o=sss",
		"o=sss":                 "",
		"":                      "",
	} {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseACLEntry(f *testing.F) {
	for _, s := range []string{
		"access-id:CN=SECP521R,O=CPWEBUSER,C=GB:object:ad:normal:grant:rscw:sensitive:rsc",
		"group:cn=staff,o=SSS:normal:grant:rsc:normal:deny:w",
		"access-id: cn = this:critical:rwsc",
		`access-id:cn=Smith\, John,o=SSS:restricted:rw`,
		"role:cn=r,o=x:object:deny:d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseACLEntry(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			return
		}
		again, err := ParseACLEntry(e.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", e.String(), s, err)
		}
		if again.Grant != e.Grant || again.Deny != e.Deny || again.Subject.Type != e.Subject.Type {
			t.Fatalf("round trip of %q changed %+v to %+v", s, e, again)
		}
	})
}
