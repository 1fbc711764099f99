package store

import "testing"

func TestInScope(t *testing.T) {
	const base, baseID = "ou=people,o=x", 7
	tests := []struct {
		name   string
		n      string
		parent int64
		scope  DirScope
		want   bool
	}{
		{"base itself", base, 1, DirBase, true},
		{"child at base scope", "uid=a," + base, baseID, DirBase, false},
		{"child at one level", "uid=a," + base, baseID, DirOne, true},
		{"grandchild at one level", "cn=b,uid=a," + base, 9, DirOne, false},
		{"grandchild in subtree", "cn=b,uid=a," + base, 9, DirSub, true},
		{"base in subtree", base, 1, DirSub, true},
		{"sibling sharing a suffix", "uid=a,xou=people,o=x", 3, DirSub, false},
		{"parent of base", "o=x", 0, DirSub, false},
		{"a value holding the base DN (normalised: ',' and '=' escaped)", `cn=a\,ou\=people\,o\=x,o=x`, 3, DirSub, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := InScope(tc.n, tc.parent, baseID, base, tc.scope); got != tc.want {
				t.Errorf("InScope(%q) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
	if !InScope("o=x", 0, 0, "", DirSub) {
		t.Error("the root (empty base) does not contain o=x")
	}
}
