package ldap

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func eq(a, v string) Filter { return Filter{Type: FilterEqualityMatch, Attr: a, Value: []byte(v)} }

// Filter strings, their AST, their canonical string and their BER (worked
// out by hand from RFC 4511 §4.5.1).
var filterVectors = []struct {
	name string
	in   string
	want Filter
	str  string // String(), when it differs from in
	ber  string
}{
	{"equality", "(cn=x)", eq("cn", "x"), "", `a3 07 04 02 'cn' 04 01 'x'`},
	{"equality empty value", "(cn=)", eq("cn", ""), "", `a3 06 04 02 'cn' 04 00`},
	{"without parentheses", "cn=x", eq("cn", "x"), "(cn=x)", `a3 07 04 02 'cn' 04 01 'x'`},
	{"substrings", "(cn=a*b*c)", Filter{Type: FilterSubstrings, Attr: "cn", Initial: []byte("a"), Any: [][]byte{[]byte("b")}, Final: []byte("c")}, "",
		`a4 0f 04 02 'cn' 30 09 80 01 'a' 81 01 'b' 82 01 'c'`},
	{"substrings any only", "(cn=*b*)", Filter{Type: FilterSubstrings, Attr: "cn", Any: [][]byte{[]byte("b")}}, "",
		`a4 09 04 02 'cn' 30 03 81 01 'b'`},
	{"greaterOrEqual", "(age>=5)", Filter{Type: FilterGreaterOrEqual, Attr: "age", Value: []byte("5")}, "", `a5 08 04 03 'age' 04 01 '5'`},
	{"lessOrEqual", "(age<=5)", Filter{Type: FilterLessOrEqual, Attr: "age", Value: []byte("5")}, "", `a6 08 04 03 'age' 04 01 '5'`},
	{"present", "(cn=*)", Filter{Type: FilterPresent, Attr: "cn"}, "", `87 02 'cn'`},
	{"approx", "(cn~=x)", Filter{Type: FilterApproxMatch, Attr: "cn", Value: []byte("x")}, "", `a8 07 04 02 'cn' 04 01 'x'`},
	{"extensible dn rule", "(cn:dn:caseExactMatch:=x)", Filter{Type: FilterExtensibleMatch, Attr: "cn", MatchingRule: "caseExactMatch", DNAttributes: true, Value: []byte("x")}, "",
		`a9 1a 81 0e 'caseExactMatch' 82 02 'cn' 83 01 'x' 84 01 ff`},
	{"extensible numeric rule only", "(:1.2.3:=x)", Filter{Type: FilterExtensibleMatch, MatchingRule: "1.2.3", Value: []byte("x")}, "",
		`a9 0a 81 05 '1.2.3' 83 01 'x'`},
	{"extensible attr only", "(o:=Acme)", Filter{Type: FilterExtensibleMatch, Attr: "o", Value: []byte("Acme")}, "",
		`a9 09 82 01 'o' 83 04 'Acme'`},
	{"extensible upper DN", "(o:DN:=x)", Filter{Type: FilterExtensibleMatch, Attr: "o", DNAttributes: true, Value: []byte("x")}, "(o:dn:=x)",
		`a9 09 82 01 'o' 83 01 'x' 84 01 ff`},
	{"extensible dn without attr", "(:dn:2.5.13.5:=x)", Filter{Type: FilterExtensibleMatch, MatchingRule: "2.5.13.5", DNAttributes: true, Value: []byte("x")}, "",
		`a9 10 81 08 '2.5.13.5' 83 01 'x' 84 01 ff`},
	{"or", "(|(a=1)(b=2))", Filter{Type: FilterOr, Children: []Filter{eq("a", "1"), eq("b", "2")}}, "",
		`a1 10 a3 06 04 01 'a' 04 01 '1' a3 06 04 01 'b' 04 01 '2'`},
	{"not", "(!(a=1))", Filter{Type: FilterNot, Children: []Filter{eq("a", "1")}}, "", `a2 08 a3 06 04 01 'a' 04 01 '1'`},
	{"blanks between parts", "(& (a=1)\t(!\n(b=2)) )", Filter{Type: FilterAnd, Children: []Filter{eq("a", "1"),
		{Type: FilterNot, Children: []Filter{eq("b", "2")}}}}, "(&(a=1)(!(b=2)))",
		`a0 12 a3 06 04 01 'a' 04 01 '1' a2 08 a3 06 04 01 'b' 04 01 '2'`},
	{"absolute true", "(&)", Filter{Type: FilterAnd}, "", `a0 00`},
	{"absolute false", "(|)", Filter{Type: FilterOr}, "", `a1 00`},
	{"escapes", `(cn=\2a\28x\29\5c)`, eq("cn", "*(x)\\"), "", `a3 0b 04 02 'cn' 04 05 2a 28 78 29 5c`},
	{"upper-case escapes", `(cn=\2A)`, eq("cn", "*"), `(cn=\2a)`, `a3 07 04 02 'cn' 04 01 2a`},
	{"utf-8 kept, controls escaped", "(cn=Jos\u00e9\\00)", eq("cn", "Jos\u00e9\x00"), `(cn=Jos` + "\u00e9" + `\00)`,
		`a3 0c 04 02 'cn' 04 06 'Jos' c3 a9 00`},
	{"binary option", "(certificateRevocationList;binary=*)", Filter{Type: FilterPresent, Attr: "certificateRevocationList;binary"}, "",
		`87 20 'certificateRevocationList;binary'`},
	{"numeric oid attribute", "(2.5.4.3=x)", eq("2.5.4.3", "x"), "", `a3 0c 04 07 '2.5.4.3' 04 01 'x'`},
	{"value with equals sign", "(description=a=b)", eq("description", "a=b"), "", `a3 12 04 0b 'description' 04 03 'a=b'`},
}

func TestFilterVectors(t *testing.T) {
	for _, tt := range filterVectors {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tt.want) {
				t.Fatalf("parse:\n got %#v\nwant %#v", f, tt.want)
			}
			want := tt.str
			if want == "" {
				want = tt.in
			}
			if got := f.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			enc, err := f.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, bx(t, tt.ber)) {
				t.Errorf("encode:\n got % x\nwant % x", enc, bx(t, tt.ber))
			}
			dec, err := DecodeFilter(enc)
			if err != nil {
				t.Fatal(err)
			}
			if dec.String() != f.String() {
				t.Errorf("decode gives %s", dec.String())
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	deep := strings.Repeat("(!", MaxFilterDepth) + "(a=b)" + strings.Repeat(")", MaxFilterDepth)
	okDeep := strings.Repeat("(!", MaxFilterDepth-1) + "(a=b)" + strings.Repeat(")", MaxFilterDepth-1)
	if _, err := ParseFilter(okDeep); err != nil {
		t.Fatalf("depth %d refused: %v", MaxFilterDepth, err)
	}
	tests := []struct{ name, in, why string }{
		{"empty", "", "without '='"},
		{"empty parens", "()", "without '='"},
		{"unbalanced", "(cn=x", "missing ')'"},
		{"extra close", "(cn=x))", "data after"},
		{"no attribute", "(=x)", "attribute description"},
		{"bad attribute", "(c n=x)", "attribute description"},
		{"bad option", "(cn;=x)", "empty option"},
		{"bad escape", `(cn=\zz)`, "two hex digits"},
		{"truncated escape", `(cn=\2)`, "truncated escape"},
		{"empty any (libldap refuses it too)", "(cn=a**b)", "empty substring"},
		{"star in ge", "(age>=*)", "unescaped '*'"},
		{"star in extensible", "(cn:=a*)", "unescaped '*'"},
		{"open paren in value", "(cn=a(b)", "unescaped"},
		{"extensible nothing", "(:=x)", "extensible match"},
		{"extensible dn only", "(:dn:=x)", "needs a matching rule"},
		{"extensible bad rule", "(cn:ca$e:=x)", "matching rule"},
		{"extensible too many parts", "(cn:dn:a:b:=x)", "too many"},
		{"and garbage", "(&(a=b)x)", "expected ')'"},
		{"not without filter", "(!)", "expected '('"},
		{"not with two", "(!(a=b)(c=d))", "expected ')'"},
		{"too deep", deep, "nested deeper"},
		{"too long", "(cn=" + strings.Repeat("x", MaxFilterLength) + ")", "longer than"},
		{"leading zero oid", "(01.2=x)", "attribute description"},
		{"leading blank (libldap refuses it too)", " (uid=a)", "attribute description"},
		{"blank inside an item", "(uid =a)", "attribute description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFilter(tt.in)
			var fe *FilterSyntaxError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FilterSyntaxError", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("err = %v, want %q", err, tt.why)
			}
		})
	}
}

func TestDecodeFilterErrors(t *testing.T) {
	for name, h := range map[string]string{
		"universal tag":              `30 00`,
		"constructed present":        `a7 02 04 00`,
		"unknown choice":             `aa 00`,
		"empty not":                  `a2 00`,
		"not with two":               `a2 04 87 00 87 00`,
		"substrings none":            `a4 06 04 02 'cn' 30 00`,
		"substrings two initials":    `a4 0c 04 02 'cn' 30 06 80 01 'a' 80 01 'b'`,
		"substrings any after final": `a4 0c 04 02 'cn' 30 06 82 01 'a' 81 01 'b'`,
		"equality missing value":     `a3 04 04 02 'cn'`,
		"equality extra garbage":     `a3 08 04 02 'cn' 04 01 'x' 00`,
		"extensible no value":        `a9 04 82 02 'cn'`,
		"extensible no rule/type":    `a9 03 83 01 'x'`,
		"trailing":                   `87 02 'cn' 00`,
	} {
		if f, err := DecodeFilter(bx(t, h)); err == nil {
			t.Errorf("%s: decoded %s", name, f.String())
		}
	}
	// Nesting beyond MaxDepth is refused without recursion blowing up.
	deep := []byte{0x87, 0x01, 'a'}
	for range 200 {
		deep = wrapTLV(0xa2, deep)
	}
	if _, err := DecodeFilter(deep); err == nil {
		t.Error("200 nested not filters accepted")
	}
}

func wrapTLV(tag byte, content []byte) []byte {
	n := len(content)
	switch {
	case n < 0x80:
		return append([]byte{tag, byte(n)}, content...)
	case n < 0x100:
		return append([]byte{tag, 0x81, byte(n)}, content...)
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, content...)
	}
}

func TestAttributeDescription(t *testing.T) {
	tests := []struct {
		in   string
		want AttributeDescription
		ok   bool
	}{
		{"cn", AttributeDescription{Type: "cn"}, true},
		{"certificateRevocationList;binary", AttributeDescription{"certificateRevocationList", []string{"binary"}}, true},
		{"cn;lang-en;x-foo", AttributeDescription{"cn", []string{"lang-en", "x-foo"}}, true},
		{"2.5.4.3;binary", AttributeDescription{"2.5.4.3", []string{"binary"}}, true},
		{"", AttributeDescription{}, false},
		{"cn;", AttributeDescription{}, false},
		{"1cn", AttributeDescription{}, false},
		{"2.5..3", AttributeDescription{}, false},
		{"c_n", AttributeDescription{}, false},
		{"cn;bi nary", AttributeDescription{}, false},
	}
	for _, tt := range tests {
		got, err := ParseAttributeDescription(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || got.String() != tt.in {
			t.Errorf("%q: got %#v (%s)", tt.in, got, got.String())
		}
	}
	ad, _ := ParseAttributeDescription("userCertificate;Binary")
	if !ad.HasOption("binary") || ad.HasOption("lang-en") {
		t.Error("HasOption")
	}
}
