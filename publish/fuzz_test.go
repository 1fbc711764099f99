package publish

import (
	"strings"
	"testing"
)

func TestSchemaNames(t *testing.T) {
	got := schemaNames([][]byte{
		[]byte("( 2.5.6.19 NAME 'cRLDistributionPoint' SUP top STRUCTURAL MUST cn )"),
		[]byte("( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'x' SUP name )"),
		[]byte("( 1.2.3 DESC 'no name' )"),
	})
	for _, n := range []string{"crldistributionpoint", "cn", "commonname"} {
		if !got[n] {
			t.Errorf("missing %s in %v", n, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("got %v", got)
	}
}

// FuzzSchemaNames: subschema values come from the target directory.
func FuzzSchemaNames(f *testing.F) {
	f.Add([]byte("( 2.5.6.19 NAME 'cRLDistributionPoint' SUP top STRUCTURAL MUST cn )"))
	f.Add([]byte("( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for n := range schemaNames([][]byte{b}) {
			if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, "' \t\n") {
				t.Fatalf("name %q from %q", n, b)
			}
		}
	})
}
