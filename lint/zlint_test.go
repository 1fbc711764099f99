package lint

import (
	"testing"

	zl "github.com/zmap/zlint/v3/lint"
	// Link in every zlint family, as a program that also uses zlint for
	// public-web policy would: the filter must still keep them out.
	_ "github.com/zmap/zlint/v3"
)

func TestZlintRegistryFilter(t *testing.T) {
	r := zlints()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.certLints) < 100 || len(r.crlLints) < 5 {
		t.Fatalf("too few lints selected: %d certificate, %d CRL", len(r.certLints), len(r.crlLints))
	}
	allowed := map[zl.LintSource]bool{}
	for _, s := range zlintSources {
		allowed[s] = true
	}
	for _, l := range r.certLints {
		if !allowed[l.Source] {
			t.Errorf("certificate lint %s from source %s should not run", l.Name, l.Source)
		}
		for _, x := range zlintExcluded {
			if l.Name == x {
				t.Errorf("excluded lint %s runs", x)
			}
		}
	}
	for _, l := range r.crlLints {
		if !allowed[l.Source] {
			t.Errorf("CRL lint %s from source %s should not run", l.Name, l.Source)
		}
	}
	// The public-web families are registered (linked above) but filtered.
	if len(zl.GlobalRegistry().BySource(zl.CABFBaselineRequirements)) == 0 {
		t.Error("test setup: CA/B Forum lints are not linked in")
	}
}

// TestZlintDuplicatesExist guards the duplicate table against lint renames
// in zlint upgrades: a stale name would silently report problems twice.
func TestZlintDuplicatesExist(t *testing.T) {
	reg := zl.GlobalRegistry()
	for name, id := range zlintDuplicates {
		if reg.CertificateLints().ByName(name) == nil && reg.RevocationListLints().ByName(name) == nil {
			t.Errorf("zlintDuplicates names %s (for %s), which zlint does not have", name, id)
		}
	}
}
