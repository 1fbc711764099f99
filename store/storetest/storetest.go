package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

// RFC 5280 reason codes the suite uses.
const (
	reasonKeyCompromise = 1
	reasonSuperseded    = 4
	reasonHold          = 6
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; Run closes it when the sub-test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"CA", testCA},
		{"CADefault", testCADefault},
		{"CreateCAs", testCreateCAs},
		{"CreateCAsAllOrNone", testCreateCAsAllOrNone},
		{"AddCertificates", testAddCertificates},
		{"AddCertificatesAllOrNone", testAddAllOrNone},
		{"AddImportedRevoked", testAddImportedRevoked},
		{"Revoke", testRevoke},
		{"Release", testRelease},
		{"RevokedSince", testRevokedSince},
		{"RevokedSinceReentrant", testRevokedSinceReentrant},
		{"Canceled", testCanceled},
		{"CRLNumber", testCRLNumber},
		{"CRL", testCRL},
		{"Changes", testChanges},
		{"Meta", testMeta},
		{"Query", testQuery},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, st)
		})
	}
	t.Run("Directory", func(t *testing.T) { RunDirectory(t, open) })
}

// day is a fixed reference time with whole seconds, so every store's
// precision keeps it exactly.
var day = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T, st store.Store, id string) *store.CA {
	t.Helper()
	ca := &store.CA{
		ID:        id,
		Role:      store.RoleSingle,
		Subject:   "CN=" + id,
		CertDER:   []byte("der of " + id),
		KeyPEM:    []byte("-----BEGIN PRIVATE KEY-----\n" + id + "\n-----END PRIVATE KEY-----\n"),
		URL:       "http://127.0.0.1:8080",
		CreatedAt: day,
	}
	if err := st.CreateCA(t.Context(), ca); err != nil {
		t.Fatalf("CreateCA(%s): %v", id, err)
	}
	return ca
}

func newCert(serial, caID string, issued time.Time) *store.Certificate {
	return &store.Certificate{
		Serial:    serial,
		CAID:      caID,
		Subject:   "CN=host-" + serial,
		Profile:   "server",
		NotBefore: issued,
		NotAfter:  issued.Add(90 * 24 * time.Hour),
		DER:       []byte("cert " + serial),
		IssuedAt:  issued,
		Status:    store.StatusValid,
	}
}

func add(t *testing.T, st store.Store, certs ...*store.Certificate) {
	t.Helper()
	if err := st.AddCertificates(t.Context(), certs); err != nil {
		t.Fatalf("AddCertificates: %v", err)
	}
}

func get(t *testing.T, st store.Store, serial string) *store.Certificate {
	t.Helper()
	c, err := st.Certificate(t.Context(), serial)
	if err != nil {
		t.Fatalf("Certificate(%s): %v", serial, err)
	}
	return c
}

func revoke(t *testing.T, st store.Store, serial string, reason int) *store.Certificate {
	t.Helper()
	c, err := st.Revoke(t.Context(), serial, store.Revocation{At: day.Add(time.Hour), Reason: reason})
	if err != nil {
		t.Fatalf("Revoke(%s, %d): %v", serial, reason, err)
	}
	return c
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func testCA(t *testing.T, st store.Store) {
	ctx := t.Context()
	if cas, err := st.CAs(ctx); err != nil || len(cas) != 0 {
		t.Fatalf("CAs on an empty store = %v, %v; want none", cas, err)
	}
	root := newCA(t, st, "root")
	issuing := &store.CA{
		ID: "issuing", ParentID: "root", Role: store.RoleIssuing, Subject: "CN=Issuing",
		CertDER: []byte{0x30, 0x01, 0x00}, KeyPEM: []byte("ENC"), Encrypted: true,
		URL: "http://pki.example", LDAPURL: "ldap://127.0.0.1:1389", DeltaCRL: true, Default: true,
		CreatedAt: day.Add(time.Minute),
	}
	if err := st.CreateCA(ctx, issuing); err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	got, err := st.CA(ctx, "issuing")
	if err != nil {
		t.Fatalf("CA: %v", err)
	}
	checkCA(t, got, issuing)

	dup := *root
	dup.Subject = "CN=other"
	wantErr(t, "CreateCA duplicate", st.CreateCA(ctx, &dup), store.ErrExists)
	if got, _ := st.CA(ctx, "root"); got == nil || got.Subject != root.Subject {
		t.Errorf("duplicate CreateCA changed the stored CA: %+v", got)
	}
	_, err = st.CA(ctx, "nope")
	wantErr(t, "CA(nope)", err, store.ErrNotFound)

	cas, err := st.CAs(ctx)
	if err != nil || len(cas) != 2 || cas[0].ID != "root" || cas[1].ID != "issuing" {
		t.Fatalf("CAs = %v, %v; want root, issuing in creation order", cas, err)
	}

	upd := *issuing
	upd.KeyPEM, upd.Encrypted, upd.URL, upd.LDAPURL, upd.DeltaCRL, upd.Default = []byte("PLAIN"), false, "http://new", "", false, false
	upd.Subject, upd.CertDER, upd.Role = "CN=ignored", []byte("ignored"), store.RoleRoot
	if err := st.UpdateCA(ctx, &upd); err != nil {
		t.Fatalf("UpdateCA: %v", err)
	}
	got, _ = st.CA(ctx, "issuing")
	want := *issuing
	want.KeyPEM, want.Encrypted, want.URL, want.LDAPURL, want.DeltaCRL, want.Default = upd.KeyPEM, false, "http://new", "", false, false
	checkCA(t, got, &want)

	missing := upd
	missing.ID = "nope"
	wantErr(t, "UpdateCA(nope)", st.UpdateCA(ctx, &missing), store.ErrNotFound)
}

func checkCA(t *testing.T, got, want *store.CA) {
	t.Helper()
	if got.ID != want.ID || got.ParentID != want.ParentID || got.Role != want.Role || got.Subject != want.Subject ||
		string(got.CertDER) != string(want.CertDER) || string(got.KeyPEM) != string(want.KeyPEM) ||
		got.Encrypted != want.Encrypted || got.URL != want.URL || got.LDAPURL != want.LDAPURL ||
		got.DeltaCRL != want.DeltaCRL || got.Default != want.Default || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CA = %+v\nwant %+v", got, want)
	}
}

// testCADefault: at most one CA is the default; setting it moves it.
func testCADefault(t *testing.T, st store.Store) {
	ctx := t.Context()
	a := newCA(t, st, "a")
	b := &store.CA{ID: "b", Role: store.RoleIssuing, Subject: "CN=b", CertDER: []byte("b"), Default: true}
	if err := st.CreateCA(ctx, b); err != nil {
		t.Fatal(err)
	}
	a.Default = true
	if err := st.UpdateCA(ctx, a); err != nil {
		t.Fatal(err)
	}
	cas, _ := st.CAs(ctx)
	var defaults []string
	for _, ca := range cas {
		if ca.Default {
			defaults = append(defaults, ca.ID)
		}
	}
	if len(defaults) != 1 || defaults[0] != "a" {
		t.Errorf("default CAs = %v, want [a]", defaults)
	}
}

func testAddCertificates(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	if err := st.AddCertificates(ctx, nil); err != nil {
		t.Errorf("AddCertificates(nil): %v", err)
	}
	c1 := newCert("0A1B", "ca", day)
	c1.InvalidityDate = day // ignored: not revoked
	c2 := newCert("7F00", "ca", day.Add(time.Second))
	c2.DER = nil // imported entry without its certificate file
	c2.Profile = ""
	add(t, st, c1, c2)
	if c1.Revision <= 0 || c2.Revision <= c1.Revision {
		t.Errorf("revisions after AddCertificates = %d, %d; want positive and increasing", c1.Revision, c2.Revision)
	}
	for _, want := range []*store.Certificate{c1, c2} {
		got := get(t, st, want.Serial)
		if got.Serial != want.Serial || got.CAID != want.CAID || got.Subject != want.Subject || got.Profile != want.Profile ||
			!got.NotBefore.Equal(want.NotBefore) || !got.NotAfter.Equal(want.NotAfter) || !got.IssuedAt.Equal(want.IssuedAt) ||
			string(got.DER) != string(want.DER) || got.Status != store.StatusValid || !got.RevokedAt.IsZero() ||
			!got.InvalidityDate.IsZero() || got.Revision != want.Revision {
			t.Errorf("Certificate(%s) = %+v\nwant %+v", want.Serial, got, want)
		}
	}
	if got := get(t, st, "0a1b"); got.Serial != "0A1B" {
		t.Errorf("lower-case lookup found %q", got.Serial)
	}
	_, err := st.Certificate(ctx, "ABCD")
	wantErr(t, "Certificate(unknown)", err, store.ErrNotFound)

	// Serials stored upper-case even when given lower-case.
	c3 := newCert("beef", "ca", day)
	add(t, st, c3)
	if got := get(t, st, "BEEF"); got.Serial != "BEEF" {
		t.Errorf("serial stored as %q, want BEEF", got.Serial)
	}
}

func testAddAllOrNone(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	add(t, st, newCert("01", "ca", day))
	rev, _ := st.Revision(ctx)
	tests := []struct {
		name  string
		batch []*store.Certificate
		want  error
	}{
		{"stored serial", []*store.Certificate{newCert("02", "ca", day), newCert("01", "ca", day)}, store.ErrExists},
		{"stored serial other case", []*store.Certificate{newCert("02", "ca", day), newCert("0a", "ca", day), newCert("0A", "ca", day)}, store.ErrExists},
		{"serial twice in batch", []*store.Certificate{newCert("02", "ca", day), newCert("03", "ca", day), newCert("03", "ca", day)}, store.ErrExists},
		{"unknown CA", []*store.Certificate{newCert("02", "ca", day), newCert("04", "other", day)}, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := st.AddCertificates(ctx, tc.batch)
			wantErr(t, "AddCertificates", err, tc.want)
			for _, c := range tc.batch {
				if c.Serial == "01" {
					continue
				}
				if _, err := st.Certificate(ctx, c.Serial); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("failed batch left %s behind (err %v)", c.Serial, err)
				}
			}
			if got, _ := st.Revision(ctx); got != rev {
				t.Errorf("failed batch moved the revision from %d to %d", rev, got)
			}
		})
	}
	if err := st.AddCertificates(ctx, []*store.Certificate{newCert("not-hex", "ca", day)}); err == nil {
		t.Error("AddCertificates accepted a non-hex serial")
	}
}

func testAddImportedRevoked(t *testing.T, st store.Store) {
	newCA(t, st, "ca")
	c := newCert("AA", "ca", day)
	c.Profile = ""
	c.Status, c.RevokedAt, c.Reason, c.InvalidityDate = store.StatusRevoked, day.Add(time.Hour), reasonSuperseded, day
	add(t, st, c)
	got := get(t, st, "AA")
	if got.Status != store.StatusRevoked || !got.RevokedAt.Equal(c.RevokedAt) || got.Reason != reasonSuperseded || !got.InvalidityDate.Equal(day) {
		t.Errorf("imported revoked certificate = %+v", got)
	}
	var n int
	st.RevokedSince(t.Context(), "ca", 0, func(e *store.RevokedEntry) error { n++; return nil })
	if n != 1 {
		t.Errorf("RevokedSince lists %d entries for the imported revocation, want 1", n)
	}
}

func testRevoke(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	tests := []struct {
		name    string
		before  []int // reasons to revoke with first (each must succeed)
		reason  int
		want    error
		wantRsn int
	}{
		{"valid to keyCompromise", nil, reasonKeyCompromise, nil, reasonKeyCompromise},
		{"valid to hold", nil, reasonHold, nil, reasonHold},
		{"hold to final reason", []int{reasonHold}, reasonKeyCompromise, nil, reasonKeyCompromise},
		{"hold to hold", []int{reasonHold}, reasonHold, store.ErrAlreadyRevoked, reasonHold},
		{"final to final", []int{reasonSuperseded}, reasonKeyCompromise, store.ErrAlreadyRevoked, reasonSuperseded},
		{"final to hold", []int{reasonSuperseded}, reasonHold, store.ErrAlreadyRevoked, reasonSuperseded},
		{"reason 7 is unused", nil, 7, errAny, 0},
		{"removeFromCRL is not a revocation", nil, 8, errAny, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serial := fmt.Sprintf("%04X", i+1)
			c := newCert(serial, "ca", day)
			add(t, st, c)
			for _, r := range tc.before {
				revoke(t, st, serial, r)
			}
			prev := get(t, st, serial)
			inv := day.Add(-time.Hour)
			got, err := st.Revoke(ctx, serial, store.Revocation{At: day.Add(2 * time.Hour), Reason: tc.reason, InvalidityDate: inv})
			after := get(t, st, serial)
			if tc.want != nil {
				if err == nil || (tc.want != errAny && !errors.Is(err, tc.want)) {
					t.Fatalf("Revoke: error %v, want %v", err, tc.want)
				}
				if after.Revision != prev.Revision || after.Reason != prev.Reason || after.Status != prev.Status {
					t.Errorf("refused Revoke changed the certificate: %+v -> %+v", prev, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			for _, c := range []*store.Certificate{got, after} {
				if c.Status != store.StatusRevoked || c.Reason != tc.wantRsn || !c.RevokedAt.Equal(day.Add(2*time.Hour)) ||
					!c.InvalidityDate.Equal(inv) || c.Revision <= prev.Revision {
					t.Errorf("after Revoke: %+v (before: revision %d)", c, prev.Revision)
				}
			}
			if rev, _ := st.Revision(ctx); got.Revision != rev {
				t.Errorf("revoked certificate's Revision %d, store revision %d", got.Revision, rev)
			}
		})
	}
	_, err := st.Revoke(ctx, "DEAD", store.Revocation{Reason: reasonKeyCompromise})
	wantErr(t, "Revoke(unknown)", err, store.ErrNotFound)

	// A zero At means now.
	add(t, st, newCert("FF01", "ca", day))
	before := time.Now().Add(-time.Second)
	c, err := st.Revoke(ctx, "ff01", store.Revocation{Reason: reasonKeyCompromise})
	if err != nil || c.RevokedAt.Before(before) || c.RevokedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("Revoke with zero At: %+v, %v; want RevokedAt about now", c, err)
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

func testRelease(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	add(t, st, newCert("01", "ca", day), newCert("02", "ca", day), newCert("03", "ca", day))
	held := revoke(t, st, "01", reasonHold)
	revoke(t, st, "02", reasonKeyCompromise)

	c, err := st.Release(ctx, "01")
	if err != nil {
		t.Fatalf("Release(held): %v", err)
	}
	if c.Status != store.StatusValid || !c.RevokedAt.IsZero() || c.Revision <= held.Revision {
		t.Errorf("released certificate = %+v", c)
	}
	if got := get(t, st, "01"); got.Status != store.StatusValid || got.Revision != c.Revision {
		t.Errorf("stored after Release = %+v", got)
	}
	for _, tc := range []struct {
		name, serial string
		want         error
	}{
		{"released again", "01", store.ErrNotRevoked},
		{"final reason", "02", store.ErrNotRevoked},
		{"valid", "03", store.ErrNotRevoked},
		{"unknown", "04", store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Release(ctx, tc.serial)
			wantErr(t, "Release", err, tc.want)
		})
	}
	// Held again after release, then revoked for good.
	revoke(t, st, "01", reasonHold)
	if c := revoke(t, st, "01", reasonKeyCompromise); c.Reason != reasonKeyCompromise {
		t.Errorf("hold after release then keyCompromise: reason %d", c.Reason)
	}
}

func collect(t *testing.T, st store.Store, caID string, after int64) []store.RevokedEntry {
	t.Helper()
	var out []store.RevokedEntry
	if err := st.RevokedSince(t.Context(), caID, after, func(e *store.RevokedEntry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatalf("RevokedSince(%s, %d): %v", caID, after, err)
	}
	return out
}

func summary(entries []store.RevokedEntry) []string {
	var s []string
	for _, e := range entries {
		if e.Released {
			s = append(s, e.Serial+":released")
		} else {
			s = append(s, fmt.Sprintf("%s:%d", e.Serial, e.Reason))
		}
	}
	return s
}

func testRevokedSince(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	newCA(t, st, "other")
	for _, s := range []string{"05", "01", "03", "02", "04", "06"} {
		add(t, st, newCert(s, "ca", day))
	}
	add(t, st, newCert("99", "other", day))
	revoke(t, st, "99", reasonKeyCompromise)
	if got := collect(t, st, "ca", 0); len(got) != 0 {
		t.Fatalf("RevokedSince with nothing revoked = %v", summary(got))
	}
	r3 := revoke(t, st, "03", reasonKeyCompromise)
	revoke(t, st, "01", reasonSuperseded)
	revoke(t, st, "05", reasonHold)
	revoke(t, st, "06", reasonHold)

	full := collect(t, st, "ca", 0)
	if got, want := fmt.Sprint(summary(full)), "[01:4 03:1 05:6 06:6]"; got != want {
		t.Errorf("full: %s, want %s", got, want)
	}
	if e := full[1]; e.Serial != "03" || !e.RevokedAt.Equal(day.Add(time.Hour)) || e.Revision != r3.Revision || !e.InvalidityDate.IsZero() {
		t.Errorf("entry = %+v, want revision %d", e, r3.Revision)
	}

	base, _ := st.Revision(ctx)
	if got := collect(t, st, "ca", base); len(got) != 0 {
		t.Errorf("since the current revision: %v, want none", summary(got))
	}
	revoke(t, st, "02", reasonKeyCompromise)
	if _, err := st.Release(ctx, "05"); err != nil {
		t.Fatal(err)
	}
	revoke(t, st, "06", reasonKeyCompromise) // hold -> final after the base

	delta := collect(t, st, "ca", base)
	if got, want := fmt.Sprint(summary(delta)), "[02:1 05:released 06:1]"; got != want {
		t.Errorf("since %d: %s, want %s", base, got, want)
	}
	full = collect(t, st, "ca", 0)
	if got, want := fmt.Sprint(summary(full)), "[01:4 02:1 03:1 06:1]"; got != want {
		t.Errorf("full after changes: %s, want %s (released certificates never appear in a full CRL)", got, want)
	}
	if got := collect(t, st, "nope", 0); len(got) != 0 {
		t.Errorf("unknown CA: %v", summary(got))
	}

	stop := errors.New("stop")
	n := 0
	err := st.RevokedSince(ctx, "ca", 0, func(*store.RevokedEntry) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: RevokedSince returned %v after %d calls; want stop after 1", err, n)
	}
}

func testCRLNumber(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "a")
	newCA(t, st, "b")
	next := func(ca string) int64 {
		t.Helper()
		n, err := st.NextCRLNumber(ctx, ca)
		if err != nil {
			t.Fatalf("NextCRLNumber(%s): %v", ca, err)
		}
		return n
	}
	if got := []int64{next("a"), next("a"), next("b"), next("a")}; fmt.Sprint(got) != "[1 2 1 3]" {
		t.Errorf("NextCRLNumber sequence = %v, want [1 2 1 3]", got)
	}
	if err := st.SetCRLNumber(ctx, "a", 10); err != nil {
		t.Fatal(err)
	}
	if n := next("a"); n != 11 {
		t.Errorf("after SetCRLNumber(10): %d, want 11", n)
	}
	if err := st.SetCRLNumber(ctx, "a", 5); err != nil {
		t.Fatal(err)
	}
	if n := next("a"); n != 12 {
		t.Errorf("SetCRLNumber(5) lowered the counter: next %d, want 12", n)
	}
	if err := st.SetCRLNumber(ctx, "b", 100); err != nil {
		t.Fatal(err)
	}
	if n := next("b"); n != 101 {
		t.Errorf("b after SetCRLNumber(100): %d", n)
	}
	_, err := st.NextCRLNumber(ctx, "nope")
	wantErr(t, "NextCRLNumber(unknown CA)", err, store.ErrNotFound)

	// Concurrent allocation never hands out a number twice.
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				n, err := st.NextCRLNumber(ctx, "a")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("CRL number %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 80 {
		t.Errorf("%d distinct numbers, want 80", len(seen))
	}
}

func testCRL(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	_, err := st.LatestCRL(ctx, "ca", false)
	wantErr(t, "LatestCRL(none)", err, store.ErrNotFound)
	put := func(n int64, delta bool) {
		t.Helper()
		crl := &store.CRL{CAID: "ca", Number: n, Delta: delta, ThisUpdate: day, NextUpdate: day.Add(24 * time.Hour),
			Revision: 100 + n, DER: []byte(fmt.Sprintf("crl %d %v", n, delta))}
		if delta {
			crl.BaseNumber = n - 1
		}
		if err := st.PutCRL(ctx, crl); err != nil {
			t.Fatalf("PutCRL(%d, delta=%v): %v", n, delta, err)
		}
	}
	latest := func(delta bool) int64 {
		t.Helper()
		crl, err := st.LatestCRL(ctx, "ca", delta)
		if err != nil {
			t.Fatalf("LatestCRL(delta=%v): %v", delta, err)
		}
		return crl.Number
	}
	put(1, false)
	if n := latest(false); n != 1 {
		t.Errorf("latest full = %d, want 1", n)
	}
	_, err = st.LatestCRL(ctx, "ca", true)
	wantErr(t, "LatestCRL(delta, none stored)", err, store.ErrNotFound)
	put(3, false)
	rev, _ := st.Revision(ctx)
	put(2, false) // older: must not replace 3
	if n := latest(false); n != 3 {
		t.Errorf("an older PutCRL replaced the newer: latest %d, want 3", n)
	}
	if got, _ := st.Revision(ctx); got != rev {
		t.Errorf("an ignored PutCRL appended a change (revision %d -> %d)", rev, got)
	}
	put(4, true)
	if n := latest(false); n != 3 {
		t.Errorf("delta replaced full: latest full %d", n)
	}
	crl, err := st.LatestCRL(ctx, "ca", true)
	if err != nil {
		t.Fatal(err)
	}
	if crl.Number != 4 || !crl.Delta || crl.BaseNumber != 3 || crl.CAID != "ca" || !crl.ThisUpdate.Equal(day) ||
		!crl.NextUpdate.Equal(day.Add(24*time.Hour)) || crl.Revision != 104 || string(crl.DER) != "crl 4 true" {
		t.Errorf("LatestCRL(delta) = %+v", crl)
	}
	for n := int64(5); n < 12; n++ {
		put(n, false)
	}
	if n := latest(false); n != 11 {
		t.Errorf("latest full = %d, want 11", n)
	}
	err = st.PutCRL(ctx, &store.CRL{CAID: "nope", Number: 1, DER: []byte("x")})
	wantErr(t, "PutCRL(unknown CA)", err, store.ErrNotFound)
}

func testChanges(t *testing.T, st store.Store) {
	ctx := t.Context()
	if rev, err := st.Revision(ctx); err != nil || rev != 0 {
		t.Fatalf("Revision of an empty store = %d, %v; want 0", rev, err)
	}
	newCA(t, st, "ca")
	c1, c2 := newCert("01", "ca", day), newCert("02", "ca", day)
	add(t, st, c1, c2)
	r := revoke(t, st, "01", reasonHold)
	rel, err := st.Release(ctx, "01")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCRL(ctx, &store.CRL{CAID: "ca", Number: 1, DER: []byte("crl")}); err != nil {
		t.Fatal(err)
	}
	all, err := st.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type kv struct {
		kind   store.ChangeKind
		serial string
	}
	want := []kv{{store.ChangeCA, ""}, {store.ChangeIssue, "01"}, {store.ChangeIssue, "02"},
		{store.ChangeRevoke, "01"}, {store.ChangeRelease, "01"}, {store.ChangeCRL, ""}}
	if len(all) != len(want) {
		t.Fatalf("Changes = %+v, want %d records", all, len(want))
	}
	for i, c := range all {
		if c.Kind != want[i].kind || c.Serial != want[i].serial || c.CAID != "ca" || c.At.IsZero() {
			t.Errorf("change %d = %+v, want %v", i, c, want[i])
		}
		if i > 0 && c.Revision <= all[i-1].Revision {
			t.Errorf("revisions not increasing: %d after %d", c.Revision, all[i-1].Revision)
		}
	}
	if all[1].Revision != c1.Revision || all[2].Revision != c2.Revision || all[3].Revision != r.Revision || all[4].Revision != rel.Revision {
		t.Errorf("certificate revisions %d %d %d %d do not match the feed %+v", c1.Revision, c2.Revision, r.Revision, rel.Revision, all)
	}
	if rev, _ := st.Revision(ctx); rev != all[len(all)-1].Revision {
		t.Errorf("Revision = %d, want %d", rev, all[len(all)-1].Revision)
	}
	some, err := st.Changes(ctx, all[1].Revision, 2)
	if err != nil || len(some) != 2 || some[0].Revision != all[2].Revision || some[1].Revision != all[3].Revision {
		t.Errorf("Changes(after %d, 2) = %+v, %v", all[1].Revision, some, err)
	}
	if none, err := st.Changes(ctx, all[len(all)-1].Revision, 10); err != nil || len(none) != 0 {
		t.Errorf("Changes after the last = %+v, %v", none, err)
	}
	// Failed operations append nothing.
	rev, _ := st.Revision(ctx)
	st.Revoke(ctx, "77", store.Revocation{Reason: reasonKeyCompromise})
	st.Release(ctx, "02")
	st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleRoot, CertDER: []byte("x")})
	if got, _ := st.Revision(ctx); got != rev {
		t.Errorf("failed operations moved the revision %d -> %d", rev, got)
	}
}

func testMeta(t *testing.T, st store.Store) {
	ctx := t.Context()
	v, err := st.Meta(ctx, "k")
	if v != "" || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Meta(missing) = %q, %v; want \"\", ErrNotFound", v, err)
	}
	for _, want := range []string{"one", "", "two\nlines ü"} {
		if err := st.SetMeta(ctx, "k", want); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Meta(ctx, "k"); got != want || err != nil {
			t.Errorf("Meta = %q, %v; want %q", got, err, want)
		}
	}
	if err := st.SetMeta(ctx, "other", "x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Meta(ctx, "k"); got != "two\nlines ü" {
		t.Errorf("SetMeta of another key changed k to %q", got)
	}
}

func testQuery(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "a")
	newCA(t, st, "b")
	now := day.Add(100 * 24 * time.Hour)
	mk := func(serial, ca string, issued time.Time, notAfter time.Time) *store.Certificate {
		c := newCert(serial, ca, issued)
		c.NotAfter = notAfter
		return c
	}
	add(t, st,
		mk("03", "a", day.Add(2*time.Hour), now.Add(-time.Hour)),    // expired
		mk("01", "a", day.Add(2*time.Hour), now.Add(10*time.Hour)),  // valid, expiring soon
		mk("02", "a", day.Add(1*time.Hour), now.Add(900*time.Hour)), // valid
		mk("04", "b", day, now.Add(900*time.Hour)),                  // other CA
		mk("05", "a", day.Add(3*time.Hour), now.Add(900*time.Hour)), // revoked below
	)
	revoke(t, st, "05", reasonKeyCompromise)
	yes, no := true, false
	tests := []struct {
		name string
		q    store.Query
		want string
	}{
		{"all by IssuedAt then serial", store.Query{}, "[04 02 01 03 05]"},
		{"CA", store.Query{CAID: "a"}, "[02 01 03 05]"},
		{"valid", store.Query{Status: store.StatusValid}, "[04 02 01 03]"},
		{"revoked", store.Query{Status: store.StatusRevoked}, "[05]"},
		{"expired", store.Query{Expired: &yes, Now: now}, "[03]"},
		{"not expired", store.Query{Expired: &no, Now: now}, "[04 02 01 05]"},
		{"valid and not expired in a", store.Query{CAID: "a", Status: store.StatusValid, Expired: &no, Now: now}, "[02 01]"},
		{"expiring within a day", store.Query{NotAfterBefore: now.Add(24 * time.Hour), Expired: &no, Now: now}, "[01]"},
		{"NotAfterBefore alone", store.Query{NotAfterBefore: now.Add(24 * time.Hour)}, "[01 03]"},
		{"limit", store.Query{Limit: 2}, "[04 02]"},
		{"none", store.Query{CAID: "nope"}, "[]"},
		{"expired by default clock", store.Query{Expired: &yes}, "[]"},
	}
	// With the real clock (Now zero), everything issued in 2026 for 90 days
	// is expired or not depending on today; compute the expectation.
	var exp []string
	for _, c := range []struct {
		s  string
		na time.Time
	}{{"04", now.Add(900 * time.Hour)}, {"02", now.Add(900 * time.Hour)}, {"01", now.Add(10 * time.Hour)}, {"03", now.Add(-time.Hour)}, {"05", now.Add(900 * time.Hour)}} {
		if c.na.Before(time.Now()) {
			exp = append(exp, c.s)
		}
	}
	if exp == nil {
		exp = []string{}
	}
	tests[len(tests)-1].want = fmt.Sprint(exp)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Certificates(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			serials := []string{}
			for _, c := range got {
				serials = append(serials, c.Serial)
			}
			if s := fmt.Sprint(serials); s != tc.want {
				t.Errorf("Certificates(%+v) = %s, want %s", tc.q, s, tc.want)
			}
		})
	}
	if _, err := st.Certificates(ctx, store.Query{Status: "bogus"}); err == nil {
		t.Error("Certificates accepted an unknown status")
	}
}

// testConcurrent: goroutines issuing and revoking at once all succeed, and
// the feed hands out each revision once.
func testConcurrent(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	const workers, batches, per = 8, 5, 20
	start, _ := st.Revision(ctx)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watched := store.Watch(wctx, st, start, 5*time.Millisecond)
	var seenMu sync.Mutex
	var seen []int64
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for batch := range watched {
			seenMu.Lock()
			for _, c := range batch {
				seen = append(seen, c.Revision)
			}
			seenMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var certs []*store.Certificate
				for i := 0; i < per; i++ {
					certs = append(certs, newCert(fmt.Sprintf("%02X%02X%02X", w, b, i), "ca", day))
				}
				if err := st.AddCertificates(ctx, certs); err != nil {
					t.Errorf("worker %d: AddCertificates: %v", w, err)
					return
				}
				for i := 0; i < per; i += 2 {
					if _, err := st.Revoke(ctx, certs[i].Serial, store.Revocation{Reason: reasonKeyCompromise}); err != nil {
						t.Errorf("worker %d: Revoke: %v", w, err)
						return
					}
				}
				if _, err := st.Certificates(ctx, store.Query{Status: store.StatusRevoked, Limit: 5}); err != nil {
					t.Errorf("worker %d: Certificates: %v", w, err)
				}
			}
		}()
	}
	wg.Wait()
	all, err := st.Certificates(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != workers*batches*per {
		t.Errorf("%d certificates stored, want %d", len(all), workers*batches*per)
	}
	var revoked int
	st.RevokedSince(ctx, "ca", 0, func(*store.RevokedEntry) error { revoked++; return nil })
	if revoked != workers*batches*per/2 {
		t.Errorf("%d revoked, want %d", revoked, workers*batches*per/2)
	}
	changes, err := st.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	revs := make([]int64, len(changes))
	for i, c := range changes {
		revs[i] = c.Revision
	}
	if !sort.SliceIsSorted(revs, func(i, j int) bool { return revs[i] < revs[j] }) {
		t.Error("Changes not in revision order")
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] == revs[i-1] {
			t.Errorf("revision %d used twice", revs[i])
		}
	}
	if want := 1 + workers*batches*per*3/2; len(changes) != want {
		t.Errorf("%d changes, want %d", len(changes), want)
	}

	// A watcher polling while the writers ran saw every revision, in order:
	// none became visible before a lower one.
	want := revs[1:] // all but the CA's
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		seenMu.Lock()
		caughtUp := len(seen) > 0 && seen[len(seen)-1] >= want[len(want)-1]
		seenMu.Unlock()
		if caughtUp {
			break
		}
	}
	stopWatch()
	<-watchDone
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("Watch during concurrent writes delivered %d revisions, want %d, in order", len(seen), len(want))
	}
}

// testRevokedSinceReentrant: fn may use the store while entries stream (a
// CRL builder looks certificates up; a revocation may land meanwhile).
func testRevokedSinceReentrant(t *testing.T, st store.Store) {
	ctx := t.Context()
	newCA(t, st, "ca")
	var certs []*store.Certificate
	for i := 1; i <= 50; i++ {
		certs = append(certs, newCert(fmt.Sprintf("%02X", i), "ca", day))
	}
	add(t, st, certs...)
	for _, c := range certs[:40] {
		revoke(t, st, c.Serial, reasonKeyCompromise)
	}
	n, done := 0, make(chan error, 1)
	go func() {
		done <- st.RevokedSince(ctx, "ca", 0, func(e *store.RevokedEntry) error {
			n++
			if _, err := st.Certificate(ctx, e.Serial); err != nil {
				return err
			}
			if n <= 5 {
				_, err := st.Revoke(ctx, certs[40+n].Serial, store.Revocation{Reason: reasonKeyCompromise})
				return err
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RevokedSince with a reentrant fn: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RevokedSince with a fn that uses the store did not finish in 30s (deadlock?)")
	}
	if n < 40 {
		t.Errorf("streamed %d entries, want at least the 40 revoked before it began", n)
	}
	if got := len(collect(t, st, "ca", 0)); got != 45 {
		t.Errorf("%d revoked afterwards, want 45", got)
	}
}

// testCanceled: a canceled context stops reads and writes, and a canceled
// write changes nothing.
func testCanceled(t *testing.T, st store.Store) {
	newCA(t, st, "ca")
	var certs []*store.Certificate
	for i := 1; i <= 300; i++ {
		c := newCert(fmt.Sprintf("%04X", i), "ca", day)
		c.Status, c.Reason = store.StatusRevoked, reasonKeyCompromise
		certs = append(certs, c)
	}
	add(t, st, certs...)
	rev, _ := st.Revision(t.Context())

	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err := st.RevokedSince(ctx, "ca", 0, func(*store.RevokedEntry) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	})
	if err == nil || n >= 300 {
		t.Errorf("RevokedSince canceled after 10 entries: %v after %d entries; want an error, stopping early", err, n)
	}
	if err := st.AddCertificates(ctx, []*store.Certificate{newCert("FFFF", "ca", day)}); err == nil {
		t.Error("AddCertificates with a canceled context succeeded")
	}
	if _, err := st.Revoke(ctx, "0001", store.Revocation{Reason: reasonHold}); err == nil {
		t.Error("Revoke with a canceled context succeeded")
	}
	if got, _ := st.Revision(t.Context()); got != rev {
		t.Errorf("canceled writes moved the revision %d -> %d", rev, got)
	}
	if _, err := st.Certificate(t.Context(), "FFFF"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("canceled AddCertificates stored FFFF: %v", err)
	}
}
