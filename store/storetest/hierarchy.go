package storetest

import (
	"errors"
	"testing"

	"github.com/pkid/pkid/store"
)

// hierarchy returns a root, an issuing CA under it (the default) and the
// issuing CA's certificate as issued by the root, the batch ca.Init
// stores; prefix keeps the IDs and the serial apart between calls.
func hierarchy(prefix, serial string) ([]*store.CA, []*store.Certificate) {
	root := &store.CA{ID: prefix + "root", Role: store.RoleRoot, Subject: "CN=" + prefix + "Root",
		CertDER: []byte(prefix + "root der"), KeyPEM: []byte("root key"), CreatedAt: day}
	issuing := &store.CA{ID: prefix + "issuing", ParentID: prefix + "root", Role: store.RoleIssuing,
		Subject: "CN=" + prefix + "Issuing", CertDER: []byte(prefix + "issuing der"), KeyPEM: []byte("issuing key"),
		URL: "http://127.0.0.1:8080", Default: true, CreatedAt: day}
	cert := newCert(serial, root.ID, day)
	cert.Subject, cert.Profile, cert.DER = issuing.Subject, "sub-ca", issuing.CertDER
	return []*store.CA{root, issuing}, []*store.Certificate{cert}
}

// testCreateCAs: a hierarchy and its issued certificate are stored
// together, with the feed records CreateCA and AddCertificates make.
func testCreateCAs(t *testing.T, st store.Store) {
	ctx := t.Context()
	before, _ := st.Revision(ctx)
	cas, issued := hierarchy("", "5eed")
	if err := st.CreateCAs(ctx, cas, issued); err != nil {
		t.Fatalf("CreateCAs: %v", err)
	}
	got, err := st.CAs(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("CAs = %v, %v; want root, issuing", got, err)
	}
	for i := range got {
		checkCA(t, got[i], cas[i])
	}
	c := issued[0]
	if c.Serial != "5EED" || c.Status != store.StatusValid || c.Revision <= before {
		t.Errorf("issued certificate after CreateCAs: serial %q status %q revision %d; want 5EED, valid, above %d",
			c.Serial, c.Status, c.Revision, before)
	}
	stored := get(t, st, "5eed")
	if stored.CAID != "root" || stored.Profile != "sub-ca" || string(stored.DER) != "issuing der" || stored.Revision != c.Revision {
		t.Errorf("stored certificate = %+v, want %+v", stored, c)
	}
	changes, err := st.Changes(ctx, before, 0)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	want := []store.Change{{Kind: store.ChangeCA, CAID: "root"}, {Kind: store.ChangeCA, CAID: "issuing"},
		{Kind: store.ChangeIssue, CAID: "root", Serial: "5EED"}}
	if len(changes) != len(want) {
		t.Fatalf("changes after CreateCAs = %+v, want %d: ca root, ca issuing, issue 5EED", changes, len(want))
	}
	for i, ch := range changes {
		if ch.Kind != want[i].Kind || ch.CAID != want[i].CAID || ch.Serial != want[i].Serial {
			t.Errorf("change %d = %+v, want %+v", i, ch, want[i])
		}
	}
	if changes[2].Revision != c.Revision {
		t.Errorf("issue change revision %d, certificate revision %d; want equal", changes[2].Revision, c.Revision)
	}
	// A hierarchy without issued certificates (pkid init --single).
	single := &store.CA{ID: "single", Role: store.RoleSingle, Subject: "CN=single", CertDER: []byte("single")}
	if err := st.CreateCAs(ctx, []*store.CA{single}, nil); err != nil {
		t.Fatalf("CreateCAs(single): %v", err)
	}
	if single.CreatedAt.IsZero() {
		t.Error("CreateCAs left a zero CreatedAt")
	}
	if _, err := st.CA(ctx, "single"); err != nil {
		t.Errorf("CA(single) after CreateCAs: %v", err)
	}
}

// testCreateCAsAllOrNone: a batch that fails anywhere stores nothing: no
// CA, no certificate, no feed record, and the default CA stays.
func testCreateCAsAllOrNone(t *testing.T, st store.Store) {
	ctx := t.Context()
	taken := &store.CA{ID: "taken", Role: store.RoleSingle, Subject: "CN=taken", CertDER: []byte("taken"), Default: true, CreatedAt: day}
	if err := st.CreateCA(ctx, taken); err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	add(t, st, newCert("01", "taken", day))
	rev, _ := st.Revision(ctx)
	tests := []struct {
		name   string
		batch  func() ([]*store.CA, []*store.Certificate)
		want   error // nil: any error
		serial string
	}{
		{"second CA ID taken", func() ([]*store.CA, []*store.Certificate) {
			cas, issued := hierarchy("a-", "02")
			cas[1].ID = "taken"
			issued[0].CAID = cas[0].ID
			return cas, issued
		}, store.ErrExists, "02"},
		{"CA ID twice in batch", func() ([]*store.CA, []*store.Certificate) {
			cas, issued := hierarchy("b-", "03")
			cas[1].ID = cas[0].ID
			return cas, issued
		}, store.ErrExists, "03"},
		{"serial taken", func() ([]*store.CA, []*store.Certificate) {
			return hierarchy("c-", "01")
		}, store.ErrExists, ""},
		{"serial taken other case", func() ([]*store.CA, []*store.Certificate) {
			cas, issued := hierarchy("d-", "0a")
			issued = append(issued, newCert("0A", cas[1].ID, day))
			return cas, issued
		}, store.ErrExists, "0A"},
		{"certificate of an unknown CA", func() ([]*store.CA, []*store.Certificate) {
			cas, issued := hierarchy("e-", "04")
			issued[0].CAID = "nope"
			return cas, issued
		}, store.ErrNotFound, "04"},
		{"serial not hex", func() ([]*store.CA, []*store.Certificate) {
			return hierarchy("f-", "not-hex")
		}, nil, ""},
		{"CA without ID", func() ([]*store.CA, []*store.Certificate) {
			cas, issued := hierarchy("g-", "05")
			cas[1].ID = ""
			return cas, issued
		}, nil, "05"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cas, issued := tc.batch()
			err := st.CreateCAs(ctx, cas, issued)
			if err == nil {
				t.Fatal("CreateCAs succeeded, want an error")
			}
			if tc.want != nil {
				wantErr(t, "CreateCAs", err, tc.want)
			}
			stored, err := st.CAs(ctx)
			if err != nil || len(stored) != 1 || stored[0].ID != "taken" || !stored[0].Default {
				t.Errorf("CAs after a failed CreateCAs = %+v, %v; want only the default CA taken", stored, err)
			}
			if tc.serial != "" {
				if _, err := st.Certificate(ctx, tc.serial); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("failed CreateCAs left certificate %s behind (err %v)", tc.serial, err)
				}
			}
			if got := get(t, st, "01"); got.CAID != "taken" {
				t.Errorf("certificate 01 now belongs to %q", got.CAID)
			}
			if got, _ := st.Revision(ctx); got != rev {
				t.Errorf("failed CreateCAs moved the revision from %d to %d", rev, got)
			}
		})
	}
	// The store is still usable: the same hierarchy, corrected, goes in.
	cas, issued := hierarchy("ok-", "06")
	if err := st.CreateCAs(ctx, cas, issued); err != nil {
		t.Fatalf("CreateCAs after failed batches: %v", err)
	}
	// The failed batches recorded nothing: the feed since holds only this
	// batch's three changes (revisions need not be consecutive).
	changes, err := st.Changes(ctx, rev, 0)
	if err != nil || len(changes) != 3 || changes[0].CAID != "ok-root" || changes[1].CAID != "ok-issuing" ||
		changes[2].Serial != "06" || changes[2].Revision != issued[0].Revision {
		t.Errorf("changes after the failed batches and a good one = %+v, %v; want ca ok-root, ca ok-issuing, issue 06", changes, err)
	}
}
