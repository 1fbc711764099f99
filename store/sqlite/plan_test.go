package sqlite

import (
	"strings"
	"testing"
)

// TestQueryPlans guards the indexes the hot queries depend on: a full CRL
// of a million entries must come from the covering index, a delta CRL must
// not scan every certificate of the CA, and Revision must be one seek.
func TestQueryPlans(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	tests := []struct {
		name, query string
		args        []any
		want        string // substring of the plan
		notWant     string
	}{
		{"full CRL", fullCRLQuery, []any{"ca"}, "COVERING INDEX certificates_revoked", "TEMP B-TREE"},
		{"delta CRL", deltaCRLQuery, []any{"ca", 5}, "INDEX certificates_ca_revision (ca_id=? AND revision>?)", ""},
		{"revision", `SELECT max(revision) FROM changes`, nil, "SEARCH changes", "SCAN"},
		{"changes", `SELECT revision FROM changes WHERE revision > ? ORDER BY revision LIMIT ?`, []any{1, 10}, "SEARCH changes USING INTEGER PRIMARY KEY", "TEMP B-TREE"},
		{"list by CA and status", `SELECT serial FROM certificates WHERE ca_id = ? AND status = ? ORDER BY issued_at, serial`, []any{"ca", "valid"}, "INDEX certificates_ca_status (ca_id=? AND status=?)", ""},
		{"expiring", `SELECT serial FROM certificates WHERE not_after < ?`, []any{1}, "INDEX certificates_not_after", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.db.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			p := strings.Join(plan, "; ")
			if !strings.Contains(p, tc.want) || (tc.notWant != "" && strings.Contains(p, tc.notWant)) {
				t.Errorf("plan %q; want %q without %q", p, tc.want, tc.notWant)
			}
		})
	}
}

// TestDirQueryPlans: an indexed equality search seeks the index and never
// scans the entries; scopes use the parent index.
func TestDirQueryPlans(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	tests := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"indexed equality", dirIndexedQuery, []any{"uid", "user1"}, "SEARCH i USING PRIMARY KEY (attr=? AND value=?)"},
		{"one level", dirOneQuery, []any{1}, "SEARCH dir_entries USING INDEX dir_entries_parent (parent_id=?)"},
		{"by DN", `SELECT id FROM dir_entries WHERE norm_dn = ?`, []any{"o=x"}, "SEARCH dir_entries USING COVERING INDEX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.db.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			p := strings.Join(plan, "; ")
			if !strings.Contains(p, tc.want) || strings.Contains(p, "SCAN") {
				t.Errorf("plan %q; want %q and no SCAN", p, tc.want)
			}
		})
	}
}
