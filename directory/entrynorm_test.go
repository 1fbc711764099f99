package directory

import (
	"testing"

	"github.com/pkid/pkid/ldap"
)

// TestEntryNormalized: for a normalised DN it answers as Entry does.
func TestEntryNormalized(t *testing.T) {
	tr := newTestTree(t)
	populate(t, tr)
	ctx := t.Context()
	tests := []struct {
		name    string
		dn      string
		wantErr ldap.ResultCode
	}{
		{"stored entry", "uid=alice,ou=people,o=test", ldap.ResultSuccess},
		{"suffix", "o=test", ldap.ResultSuccess},
		{"subschema", "cn=subschema", ldap.ResultSuccess},
		{"missing", "uid=nobody,ou=people,o=test", ldap.ResultNoSuchObject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := tr.Entry(ctx, tc.dn)
			got, err := tr.EntryNormalized(ctx, tc.dn)
			if code(err) != tc.wantErr || code(wantErr) != tc.wantErr {
				t.Fatalf("EntryNormalized: %v, Entry: %v, want code %d", err, wantErr, tc.wantErr)
			}
			if tc.wantErr != ldap.ResultSuccess {
				return
			}
			if got.DN != want.DN || len(got.Attributes) != len(want.Attributes) {
				t.Errorf("EntryNormalized = %s (%d attributes), Entry = %s (%d)", got.DN, len(got.Attributes), want.DN, len(want.Attributes))
			}
		})
	}
	if e, err := tr.EntryNormalized(ctx, ""); err != nil || e == nil {
		t.Errorf("root DSE: %v", err)
	}
}

// TestPrepareASCII checks prepare's byte-wise ASCII path against the
// general rune-wise one on every short string over an alphabet of the
// characters that matter (spaces, controls, cases).
func TestPrepareASCII(t *testing.T) {
	alphabet := []byte{' ', '\t', '\r', 0x01, 0x7f, 'a', 'B', 'z', 'Z', '0'}
	var gen func(prefix []byte, n int)
	count := 0
	gen = func(prefix []byte, n int) {
		for _, fold := range []bool{false, true} {
			if got, want := prepareASCII(prefix, fold), prepareRunes(string(prefix), fold); got != want {
				t.Fatalf("prepare(%q, fold %v) = %q, want %q", prefix, fold, got, want)
			}
		}
		count++
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 4)
	if count < 10000 {
		t.Fatalf("only %d strings tried", count)
	}
}
