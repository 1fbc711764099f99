package lint

import (
	"go/ast"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/zmap/zcrypto/encoding/asn1"
	"github.com/zmap/zlint/v3/util"
)

// utilOIDs names the zlint util OIDs a gate may use.
var utilOIDs = map[string]asn1.ObjectIdentifier{
	"SubjectAlternateNameOID": util.SubjectAlternateNameOID,
	"IssuerAlternateNameOID":  util.IssuerAlternateNameOID,
	"NameConstOID":            util.NameConstOID,
	"KeyUsageOID":             util.KeyUsageOID,
	"PolicyMapOID":            util.PolicyMapOID,
	"CrlDistOID":              util.CrlDistOID,
	"SubjectKeyIdentityOID":   util.SubjectKeyIdentityOID,
	"SubjectInfoAccessOID":    util.SubjectInfoAccessOID,
	"SubjectDirAttrOID":       util.SubjectDirAttrOID,
	"PolicyConstOID":          util.PolicyConstOID,
	"EkuSynOid":               util.EkuSynOid,
	"CtPoisonOID":             util.CtPoisonOID,
	"CertPolicyOID":           util.CertPolicyOID,
	"BasicConstOID":           util.BasicConstOID,
	"AuthkeyOID":              util.AuthkeyOID,
	"AiaOID":                  util.AiaOID,
	"FreshCRLOID":             util.FreshCRLOID,
	"InhibitAnyPolicyOID":     util.InhibitAnyPolicyOID,
}

// sourceGates reads zlint's source and returns, for every certificate lint
// pkid runs whose CheckApplies is a single `return util.IsExtInCert(c,
// util.X)` or `return util.IsExtInCert(c, util.X) && ...`, the name X: such
// a lint cannot apply to a certificate without extension X.
func sourceGates(t *testing.T) map[string]string {
	t.Helper()
	gates := map[string]string{}
	eachZlintMethod(t, func(name string, f *ast.File, fn *ast.FuncDecl) {
		if fn.Name.Name != "CheckApplies" || !importsUtil(f) {
			return
		}
		params := fn.Type.Params.List
		if len(params) != 1 || len(params[0].Names) != 1 || len(fn.Body.List) != 1 {
			return
		}
		ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
		if !ok || len(ret.Results) != 1 {
			return
		}
		e := ret.Results[0]
		for {
			b, ok := e.(*ast.BinaryExpr)
			if !ok || b.Op != token.LAND {
				break
			}
			e = b.X // the leftmost conjunct decides first
		}
		if x := isExtInCertGate(e, params[0].Names[0].Name); x != "" {
			gates[name] = x
		}
	})
	return gates
}

// importsUtil reports whether f imports zlint's util package unrenamed, so
// that util.X in it means that package.
func importsUtil(f *ast.File) bool {
	for _, imp := range f.Imports {
		if imp.Path.Value == `"github.com/zmap/zlint/v3/util"` && imp.Name == nil {
			return true
		}
	}
	return false
}

// isExtInCertGate returns X when e is util.IsExtInCert(param, util.X).
func isExtInCertGate(e ast.Expr, param string) string {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 || call.Ellipsis.IsValid() {
		return ""
	}
	if !isSel(call.Fun, "util", "IsExtInCert") {
		return ""
	}
	if id, ok := call.Args[0].(*ast.Ident); !ok || id.Name != param {
		return ""
	}
	sel, ok := call.Args[1].(*ast.SelectorExpr)
	if !ok || !isSel(sel, "util", sel.Sel.Name) {
		return ""
	}
	return sel.Sel.Name
}

func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// TestZlintGatesMatchSource proves zlintGates against zlint's own source:
// each gated lint's CheckApplies starts with IsExtInCert of exactly that
// extension (so skipping it when the extension is absent gives zlint's NA),
// and every such lint is in the table (a zlint upgrade that changes them
// fails here).
func TestZlintGatesMatchSource(t *testing.T) {
	src := sourceGates(t)
	if len(src) < 30 {
		t.Fatalf("only %d gated lints found in zlint's source; the analysis is broken", len(src))
	}
	var missing []string
	for name, x := range src {
		oid, ok := utilOIDs[x]
		if !ok {
			t.Errorf("%s is gated by util.%s, which utilOIDs lacks", name, x)
			continue
		}
		got, ok := zlintGates[name]
		if !ok {
			missing = append(missing, `"`+name+`": util.`+x+`,`)
			continue
		}
		if !got.Equal(oid) {
			t.Errorf("zlintGates[%s] = %v, but its CheckApplies tests util.%s (%v)", name, got, x, oid)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("lints missing from zlintGates:\n%s", strings.Join(missing, "\n"))
	}
	for name := range zlintGates {
		if _, ok := src[name]; !ok {
			t.Errorf("zlintGates has %s, whose CheckApplies is not a plain extension test", name)
		}
	}
}
