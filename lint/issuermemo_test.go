package lint

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"go/ast"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

// sourceIssuerOnly reads zlint's source and returns the certificate lints
// pkid runs whose CheckApplies and Execute use their certificate parameter
// only as param.RawIssuer or param.Issuer, never their receiver, and
// nothing of package time: their result depends on the issuer name alone.
func sourceIssuerOnly(t *testing.T) map[string]bool {
	t.Helper()
	// verdict[lint][method] = the method reads only the issuer.
	verdict := map[string]map[string]bool{}
	eachZlintMethod(t, func(name string, _ *ast.File, fn *ast.FuncDecl) {
		if fn.Name.Name != "CheckApplies" && fn.Name.Name != "Execute" {
			return
		}
		if verdict[name] == nil {
			verdict[name] = map[string]bool{}
		}
		verdict[name][fn.Name.Name] = readsOnlyIssuer(fn)
	})
	got := map[string]bool{}
	for name, v := range verdict {
		if v["CheckApplies"] && v["Execute"] {
			got[name] = true
		}
	}
	return got
}

// readsOnlyIssuer reports whether fn (a method with one parameter) uses
// its parameter only as param.RawIssuer or param.Issuer, its receiver not
// at all, and no identifier named time.
func readsOnlyIssuer(fn *ast.FuncDecl) bool {
	params := fn.Type.Params.List
	if len(params) != 1 || len(params[0].Names) != 1 {
		return false
	}
	param := params[0].Names[0].Name
	recv := ""
	if names := fn.Recv.List[0].Names; len(names) == 1 {
		recv = names[0].Name
	}
	allowed := map[*ast.Ident]bool{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == param && (sel.Sel.Name == "RawIssuer" || sel.Sel.Name == "Issuer") {
				allowed[id] = true
			}
		}
		return true
	})
	ok := true
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		id, isID := n.(*ast.Ident)
		if !isID {
			return true
		}
		switch {
		case id.Name == param && !allowed[id], recv != "" && recv != "_" && id.Name == recv, id.Name == "time":
			ok = false
		}
		return true
	})
	return ok
}

// TestZlintIssuerOnlyMatchesSource proves zlintIssuerOnly against zlint's
// source: every entry reads only the issuer name, and every lint pkid runs
// that does is in the table (a zlint upgrade that changes them fails here).
func TestZlintIssuerOnlyMatchesSource(t *testing.T) {
	src := sourceIssuerOnly(t)
	if len(src) < 3 {
		t.Fatalf("only %d issuer-only lints found in zlint's source; the analysis is broken", len(src))
	}
	var missing []string
	for name := range src {
		if !zlintIssuerOnly[name] {
			missing = append(missing, `"`+name+`": true,`)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("lints missing from zlintIssuerOnly:\n%s", strings.Join(missing, "\n"))
	}
	for name := range zlintIssuerOnly {
		if !src[name] {
			t.Errorf("zlintIssuerOnly has %s, whose CheckApplies or Execute reads more than the issuer name (or which pkid does not run)", name)
		}
	}
}

// TestIssuerMemo: leaves of CAs whose names trip each issuer-only lint
// (leading and trailing spaces, a multi-valued RDN, a country that is not
// a PrintableString) get, from the memoised issuer results, exactly what
// zlint's own path reports: on the first leaf of each CA (memo filled),
// on a second one (memo read), and on a leaf valid before the lints took
// effect (effective dates checked per certificate).
func TestIssuerMemo(t *testing.T) {
	rdn := func(atvs ...pkix.AttributeTypeAndValue) []pkix.AttributeTypeAndValue { return atvs }
	cn := func(v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: v}
	}
	org := pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "pkid test"}
	utf8Country := pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("DE")}}
	cases := []struct {
		name string
		dn   pkix.RDNSequence
		want string // an issuer-only finding the leaves must get, or ""
	}{
		{"plain", pkix.RDNSequence{rdn(org), rdn(cn("Memo CA"))}, ""},
		{"leading space", pkix.RDNSequence{rdn(org), rdn(cn(" Memo CA"))}, "w_issuer_dn_leading_whitespace"},
		{"trailing space", pkix.RDNSequence{rdn(org), rdn(cn("Memo CA "))}, "w_issuer_dn_trailing_whitespace"},
		{"multi-valued RDN", pkix.RDNSequence{rdn(org, cn("Memo CA"))}, "w_multiple_issuer_rdn"},
		{"UTF8 country", pkix.RDNSequence{rdn(utf8Country), rdn(cn("Memo CA"))}, "e_issuer_dn_country_not_printable_string"},
		// e_issuer_field_empty takes effect in 1999: the 1990 leaf must
		// get no finding.
		{"empty", pkix.RDNSequence{}, "e_issuer_field_empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := asn1.Marshal(tc.dn)
			if err != nil {
				t.Fatal(err)
			}
			caKey := testkey.New(t, "p256")
			tmpl := caTemplate(t, "unused")
			tmpl.RawSubject = raw
			tmpl.SubjectKeyId = ski(t, caKey.Public())
			ca := sign(t, tmpl, caKey, nil)
			if _, ok := zlints().issuerMemo[string(raw)]; ok {
				t.Fatal("issuer already memoised before its first leaf")
			}
			leaves := []struct {
				name      string
				notBefore time.Time
			}{{"first", testNow.Add(-time.Hour)}, {"second", testNow.Add(-2 * time.Hour)}, {"before effective dates", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}}
			for _, lf := range leaves {
				key := testkey.New(t, "p256")
				lt := serverTemplate(t, key)
				lt.NotBefore = lf.notBefore
				der, err := x509.CreateCertificate(rand.Reader, lt, ca.cert, key.Public(), ca.key)
				if err != nil {
					t.Fatal(err)
				}
				c, err := parseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				got, want := zlintCertificate(c), referenceZlint(c)
				if !sameFindings(got, want) {
					t.Errorf("%s leaf:\npkid  %+v\nzlint %+v", lf.name, got, want)
				}
				if _, ok := zlints().issuerMemo[string(raw)]; !ok {
					t.Errorf("%s leaf: issuer not memoised", lf.name)
				}
				recent := lf.notBefore.After(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
				if tc.want != "" && recent && !hasID(got, tc.want) {
					t.Errorf("%s leaf: no %s finding: %+v", lf.name, tc.want, got)
				}
				if tc.name == "empty" && !recent && hasID(got, tc.want) {
					t.Errorf("%s leaf: %s before the lint took effect", lf.name, tc.want)
				}
			}
		})
	}
}
