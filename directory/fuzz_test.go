package directory

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pkid/pkid/ldap"
)

// FuzzParseLDIF: any input gives records or an error, never a panic, and
// every content record survives a write/read round trip.
func FuzzParseLDIF(f *testing.F) {
	f.Add([]byte("version: 1\ndn: cn=x,o=test\nobjectClass: person\ncn: x\nsn:: eQ==\n\n"))
	f.Add([]byte("dn: cn=x\nchangetype: modify\nadd: mail\nmail: a@b\n-\nreplace: sn\nsn: y\n-\n"))
	f.Add([]byte("dn: cn=x\ncontrol: 1.2.3 true:: AAE=\nchangetype: moddn\nnewrdn: cn=y\ndeleteoldrdn: 1\nnewsuperior: o=z\n"))
	f.Add([]byte("# c\n  folded comment\ndn: cn=long\n  value\ncn:< file:///etc/hostname\n"))
	f.Add(benchLDIF(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewLDIFReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			rec, err := r.Next()
			if err != nil {
				return
			}
			if rec.Entry == nil || rec.ChangeType != "" {
				continue
			}
			var buf bytes.Buffer
			w := NewLDIFWriter(&buf)
			w.WriteEntry(rec.Entry)
			w.Flush()
			back, err := NewLDIFReader(&buf).Next()
			if err != nil {
				t.Fatalf("re-reading written entry: %v\n%s", err, buf.String())
			}
			if back.DN != rec.DN || len(back.Entry.Attributes) != len(rec.Entry.Attributes) {
				t.Fatalf("round trip changed the entry: %+v -> %+v", rec.Entry, back.Entry)
			}
			for j, a := range rec.Entry.Attributes {
				for k, v := range a.Values {
					if !bytes.Equal(back.Entry.Attributes[j].Values[k], v) {
						t.Fatalf("value %q became %q", v, back.Entry.Attributes[j].Values[k])
					}
				}
			}
		}
	})
}

var fuzzEntries = []*Entry{
	entry("uid=alice,ou=people,o=test", "objectClass: inetOrgPerson", "objectClass: posixAccount", "uid: alice", "cn: Alice  Liddell", "sn: Liddell",
		"mail: Alice@Example.com", "uidNumber: 1000", "gidNumber: 100", "homeDirectory: /home/alice", "createTimestamp: 20260301120000Z", "cn;lang-fr: Alice"),
	entry("cn=g,o=test", "objectClass: groupOfNames", "cn: g", "member: uid=alice,ou=people,o=test", "member: cn=x\\,y,o=test"),
}

// FuzzFilterEval: any filter string that parses evaluates without panic,
// and NOT inverts it under three-valued logic.
func FuzzFilterEval(f *testing.F) {
	for _, s := range []string{"(uid=alice)", "(&(objectClass=person)(!(cn=b*)))", "(|(fooBar=x)(uidNumber>=10))", "(cn~=aliceliddell)",
		"(ou:dn:=people)", "(:caseExactMatch:=alice)", "(createTimestamp<=20270101000000Z)", "(member=UID=ALICE,OU=PEOPLE,O=TEST)", "(cn=*a*l*)", "(cn;lang-fr=*)"} {
		f.Add(s)
	}
	st := DefaultSchema()
	tr := &Tree{schema: st}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ldap.ParseFilter(s)
		if err != nil {
			return
		}
		neg := ldap.Filter{Type: ldap.FilterNot, Children: []ldap.Filter{flt}}
		for _, e := range fuzzEntries {
			r := tr.Match(&flt, e)
			if n := tr.Match(&neg, e); n != not(r) {
				t.Fatalf("%s = %v but its negation = %v", s, r, n)
			}
		}
	})
}

// FuzzParseSchema: schema text never panics; what parses formats back to
// descriptions that parse again.
func FuzzParseSchema(f *testing.F) {
	f.Add("attributetype ( 1.2.3 NAME 'x' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )")
	f.Add("objectclass ( 1.2.4 NAME ( 'a' 'b' ) SUP top AUXILIARY MAY ( cn $ sn ) )")
	f.Add("ldapsyntax ( 1.2.5 DESC 'x' X-BINARY-TRANSFER-REQUIRED 'TRUE' )\nmatchingrule ( 1.2.6 NAME 'm' SYNTAX 1.2.5 )")
	sys, _ := schemaFiles.ReadFile("schema/system.schema")
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseSchema(string(sys) + "\n" + s)
		if err != nil {
			return
		}
		for _, a := range sch.Attributes {
			if _, err := ParseDescription(a.Definition); err != nil {
				t.Fatalf("definition %q does not parse back: %v", a.Definition, err)
			}
		}
	})
}

// FuzzParseDN: a DN that parses formats to a string that parses to the
// same normal form.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"uid=a,ou=People,o=Test", "cn=a\\,b+sn=c,o=x", "cn=#0403616263,o=x", "cn= a  b ,o=x", "cn=\\20x\\20,o=\\#y", ""} {
		f.Add(s)
	}
	st := DefaultSchema()
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDN(s)
		if err != nil {
			return
		}
		str := d.String()
		d2, err := ParseDN(str)
		if err != nil {
			t.Fatalf("%q formats as %q which does not parse: %v", s, str, err)
		}
		if a, b := d.Normalize(st), d2.Normalize(st); a != b {
			t.Fatalf("%q: normal form %q, after formatting %q", s, a, b)
		}
	})
}

// FuzzPrepareASCII: prepare's byte-by-byte ASCII path gives what the
// rune-by-rune path gives, folded or not, and escapeValue's shortcut for
// values needing no escape writes them unchanged.
func FuzzPrepareASCII(f *testing.F) {
	for _, s := range []string{"", " ", "  a  B\tc\r\n", "User 1", "\x00\x01x\x7f", "\t\v\f", "#a,b+c=d;e<f>g\"h\\i ", "ABC xyz 123"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		for i := range v {
			v[i] &= 0x7f
		}
		for _, fold := range []bool{false, true} {
			if got, want := prepareASCII(v, fold), prepareRunes(string(v), fold); got != want {
				t.Fatalf("prepareASCII(%q, %v) = %q, rune path %q", v, fold, got, want)
			}
		}
		s := string(v)
		var b strings.Builder
		escapeValue(&b, s)
		if !needsEscape(s) && b.String() != s {
			t.Fatalf("escapeValue(%q) = %q though needsEscape is false", s, b.String())
		}
		if needsEscape(s) && b.String() == s {
			t.Fatalf("needsEscape(%q) but escapeValue leaves it as is", s)
		}
	})
}
