package store

// InScope reports whether the entry with normalised DN n and parent ID
// parent lies in scope of the base entry (ID baseID, normalised DN
// baseNorm). An entry is below the base when its DN ends with "," and the
// base's: normalised DNs escape every ',' and '=' inside values, so the suffix
// test is exact. The empty base DN is the root, above everything.
func InScope(n string, parent int64, baseID int64, baseNorm string, scope DirScope) bool {
	switch scope {
	case DirBase:
		return n == baseNorm
	case DirOne:
		return parent == baseID
	}
	if n == baseNorm || baseNorm == "" {
		return true
	}
	return len(n) > len(baseNorm)+1 && n[len(n)-len(baseNorm):] == baseNorm && n[len(n)-len(baseNorm)-1] == ','
}
