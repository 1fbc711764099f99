package dn

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	tests := []struct {
		name, in, want string // want: String of the parsed DN
	}{
		{"simple", "CN=SSCA256,OU=CA,O=SSS,C=GB", "CN=SSCA256,OU=CA,O=SSS,C=GB"},
		{"spaces around", "  CN = web , O = Example  ", "CN=web,O=Example"},
		{"long type names", "commonName=x,organizationName=y,countryName=GB", "CN=x,O=y,C=GB"},
		{"type case", "cn=x,o=y", "CN=x,O=y"},
		{"escaped comma", `CN=Smith\, John,O=Example`, `CN=Smith\, John,O=Example`},
		{"hex escaped comma", `CN=Smith\2C John`, `CN=Smith\, John`},
		{"hex utf8", `CN=Lu\C4\8Di\C4\87`, "CN=Lučić"},
		{"raw utf8", "CN=Jörg,O=Ünïcode", "CN=Jörg,O=Ünïcode"},
		{"escaped leading and trailing space", `CN=\ x\ `, `CN=\ x\ `},
		{"leading hash", `CN=\#1`, `CN=\#1`},
		{"multi-valued", "CN=a+UID=b,O=c", "CN=a+UID=b,O=c"},
		{"semicolon separator", "CN=a;O=b", "CN=a,O=b"},
		{"hex value string", "CN=#0c03616263", "CN=abc"},
		{"dotted oid", "2.5.4.3=x", "CN=x"},
		{"OID prefix", "OID.2.5.4.10=x", "O=x"},
		{"unknown oid hex", "1.2.3.4=#0403010203", "1.2.3.4=#0403010203"},
		{"unknown oid string", "1.2.3.4=ab", "1.2.3.4=#1302" + "6162"},
		{"email alias", "E=a@b.example,CN=x", "emailAddress=a@b.example,CN=x"},
		{"dc uid", "UID=jdoe,DC=example,DC=org", "UID=jdoe,DC=example,DC=org"},
		{"special chars escaped on output", `CN=a\<b\>c\;d\"e\+f\\g`, `CN=a\<b\>c\;d\"e\+f\\g`},
		{"empty", "", ""},
		{"slash", "/C=GB/O=SSS/CN=x", "CN=x,O=SSS,C=GB"},
		{"slash escaped", `/O=A\/B/CN=x\+y`, `CN=x\+y,O=A/B`},
		{"slash multi-valued", "/O=o/CN=a+UID=b", "CN=a+UID=b,O=o"},
		{"slash keeps spaces", "/CN= x", `CN=\ x`},
		{"serialNumber", "serialNumber=1234,CN=x", "serialNumber=1234,CN=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdns, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := String(rdns); got != tc.want {
				t.Errorf("String(Parse(%q)) = %q, want %q", tc.in, got, tc.want)
			}
			// The output parses back to the same name.
			again, err := Parse(String(rdns))
			if err != nil {
				t.Fatalf("reparse %q: %v", String(rdns), err)
			}
			if String(again) != tc.want {
				t.Errorf("round trip %q -> %q", tc.want, String(again))
			}
		})
	}
}

func TestOrder(t *testing.T) {
	rdns, err := Parse("CN=leaf,O=org,C=GB")
	if err != nil {
		t.Fatal(err)
	}
	if TypeName(rdns[0][0].Type) != "C" || TypeName(rdns[2][0].Type) != "CN" {
		t.Fatalf("ASN.1 order wrong: %v", rdns)
	}
	slash, _ := Parse("/C=GB/O=org/CN=leaf")
	if String(slash) != String(rdns) {
		t.Fatalf("slash %q != rfc4514 %q", String(slash), String(rdns))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, wantPart string }{
		{"no equals", "CN", "CN"},
		{"unknown type", "FOO=bar", "FOO"},
		{"empty value", "CN=,O=x", "CN"},
		{"trailing comma", "CN=x,", "ends with a separator"},
		{"bad escape", `CN=a\qb`, `bad escape`},
		{"lone backslash", `CN=a\`, "lone"},
		{"unescaped quote", `CN=a"b`, `'"'`},
		{"country length", "C=GBR", "two capital letters"},
		{"country lower", "C=gb", "C=gb"},
		{"cn too long", "CN=" + strings.Repeat("a", 65), "more than the 64"},
		{"email not ascii", "emailAddress=jörg@example.org", "IA5String"},
		{"printable serial", "serialNumber=a_b", "PrintableString"},
		{"control char", "CN=a\x01b", "control character"},
		{"odd hex", "CN=#0c0", "even number"},
		{"hex not der", "CN=#0c05ab", "not one DER"},
		{"hex not string for CN", "CN=#020101", "must be a string"},
		{"bad utf8 escape", `CN=\C4`, "UTF-8"},
		{"duplicate in RDN", "CN=a+CN=b", "twice"},
		{"slash empty rdn", "/C=GB//CN=x", "empty RDN"},
		{"slash no equals", "/C=GB/CN", "type=value"},
		{"too long", "CN=" + strings.Repeat("a", MaxLength), "longer than"},
		{"too many rdns", strings.Repeat("OU=a,", MaxRDNs) + "CN=x", "more than 64 RDNs"},
		{"bad oid", "1.2..3=x", "1.2..3"},
		{"garbage after value", "CN=a=b, ,O=x", "attribute type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tc.in)
			}
			if !strings.Contains(err.Error(), tc.wantPart) {
				t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, tc.wantPart)
			}
		})
	}
}

func TestMarshalStringTypes(t *testing.T) {
	rdns, err := Parse("CN=Jörg,emailAddress=j@example.org,DC=example,O=Plain,C=GB")
	if err != nil {
		t.Fatal(err)
	}
	der, err := Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	var raw rawRDNSequence
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"C": asn1.TagPrintableString, "O": asn1.TagPrintableString, "DC": asn1.TagIA5String,
		"emailAddress": asn1.TagIA5String, "CN": asn1.TagUTF8String}
	for _, rdn := range raw {
		for _, atv := range rdn {
			if w := want[TypeName(atv.Type)]; atv.Value.Tag != w {
				t.Errorf("%s encoded with tag %d, want %d", TypeName(atv.Type), atv.Value.Tag, w)
			}
		}
	}
	back, err := FormatDER(der)
	if err != nil || back != String(rdns) {
		t.Fatalf("FormatDER = %q, %v; want %q", back, err, String(rdns))
	}
	// Go's own parser agrees on the order and values.
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		t.Fatal(err)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&seq)
	if n.CommonName != "Jörg" || n.Country[0] != "GB" {
		t.Fatalf("pkix.Name = %+v", n)
	}
	_ = x509.Certificate{}
}

func TestMultiValuedDERIsSorted(t *testing.T) {
	a, _ := Parse("UID=b+CN=a")
	b, _ := Parse("CN=a+UID=b")
	da, _ := Marshal(a)
	db, _ := Marshal(b)
	if string(da) != string(db) {
		t.Fatalf("SET OF not in DER order: %x vs %x", da, db)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, a, b string
		equal      bool
	}{
		{"case of types and values", "CN=Web,O=Example", "cn=web,o=EXAMPLE", true},
		{"insignificant spaces", "CN=  web   server ,O=x", "CN=web server,O=x", true},
		{"escaped vs hex", `CN=a\,b`, `CN=a\2Cb`, true},
		{"slash vs rfc4514", "/O=x/CN=y", "CN=y,O=x", true},
		{"multi-valued order", "CN=a+UID=b", "UID=b+CN=a", true},
		{"alias", "E=a@b,CN=x", "emailAddress=A@B,commonName=X", true},
		{"different values", "CN=a", "CN=b", false},
		{"different order", "CN=a,O=b", "O=b,CN=a", false},
		{"invalid equals nothing", "CN=", "CN=", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.a, tc.b); got != tc.equal {
				na, _ := Normalize(tc.a)
				nb, _ := Normalize(tc.b)
				t.Errorf("Equal(%q, %q) = %v, want %v (%q vs %q)", tc.a, tc.b, got, tc.equal, na, nb)
			}
		})
	}
	n, err := Normalize(" CN = Web  Server , O=Example ")
	if err != nil || n != "cn=web server,o=example" {
		t.Fatalf("Normalize = %q, %v", n, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"CN=SSCA256,OU=CA,O=SSS,C=GB", `CN=a\,b\2C`, "CN=#0c03616263", "/C=GB/O=x/CN=y+UID=z",
		"1.2.3=#0403010203", `CN=\ x\ `, "cn=Jörg;o=x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rdns, err := Parse(s)
		if err != nil {
			return
		}
		out := String(rdns)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("formatted %q (from %q) does not parse: %v", out, s, err)
		}
		if String(again) != out {
			t.Fatalf("not stable: %q -> %q -> %q", s, out, String(again))
		}
		if _, err := Marshal(rdns); err != nil {
			t.Fatalf("Marshal(%q): %v", s, err)
		}
		if _, err := Normalize(s); err != nil {
			t.Fatalf("Normalize(%q): %v", s, err)
		}
	})
}
