package directory

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// pkiFixture is a two-tier pkitest CA named as in the seed
// (cn=SSCA256,ou=CA,o=SSS,c=GB) with CRLs for both CAs, and a Tree with
// the PKI provider over the same store.
type pkiFixture struct {
	ca            *pkitest.CA
	tree          *Tree
	pki           *PKI
	root, issuing *store.CA
}

const seedCA = "CN=SSCA256,OU=CA,O=SSS,C=GB"

func newPKIFixture(t *testing.T, now time.Time) *pkiFixture {
	t.Helper()
	c := pkitest.NewCA(t, pkitest.Options{Name: seedCA})
	f := &pkiFixture{ca: c, root: c.Init.CAs[0], issuing: c.Init.CAs[len(c.Init.CAs)-1]}
	for _, x := range c.Init.CAs {
		if _, err := c.Service.CRL(t.Context(), x.ID, false); err != nil {
			t.Fatalf("CRL of %s: %v", x.ID, err)
		}
	}
	cfg := PKIConfig{Store: c.Store}
	if !now.IsZero() {
		cfg.Now = func() time.Time { return now }
	}
	p, err := NewPKI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{Store: c.Store, Suffixes: []string{"o=test"}, Providers: []Provider{p}})
	if err != nil {
		t.Fatal(err)
	}
	f.tree, f.pki = tr, p
	return f
}

func (f *pkiFixture) latestCRL(t *testing.T, caID string) []byte {
	t.Helper()
	crl, err := f.ca.Store.LatestCRL(t.Context(), caID, false)
	if err != nil {
		t.Fatal(err)
	}
	return crl.DER
}

func TestPKIEntriesAndParents(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	if !strings.EqualFold(f.issuing.Subject, seedCA) {
		t.Fatalf("issuing CA subject %q, want %q", f.issuing.Subject, seedCA)
	}
	tests := []struct {
		name, base, class string
	}{
		{"country", "c=GB", "country"},
		{"organization", "o=SSS,c=GB", "organization"},
		{"unit", "ou=CA,o=SSS,c=GB", "organizationalUnit"},
		{"issuing CA", "cn=ssca256, ou=ca, o=sss, c=gb", "cRLDistributionPoint"},
		{"root CA", f.root.Subject, "cRLDistributionPoint"},
		{"view", "ou=certificates," + seedCA, "organizationalUnit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dns, es, err := search(t, f.tree, tc.base, ldap.ScopeBaseObject, "(objectClass="+tc.class+")")
			if err != nil || len(dns) != 1 {
				t.Fatalf("base search %q: %v %v", tc.base, dns, err)
			}
			if es[0].Get("objectClass") == nil {
				t.Errorf("no objectClass in %v", es[0])
			}
		})
	}
	// A subtree search from c=GB finds both CA entries.
	dns, _, err := search(t, f.tree, "c=GB", ldap.ScopeWholeSubtree, "(&(objectClass=pkiCA)(objectClass=certificationAuthority)(objectClass=cRLDistributionPoint))", "1.1")
	if err != nil || len(dns) != 2 {
		t.Fatalf("CA entries under c=GB: %v %v", dns, err)
	}
	// One level below ou=CA: the CA entries whose parent it is.
	dns, _, err = search(t, f.tree, "ou=CA,o=SSS,c=GB", ldap.ScopeSingleLevel, "(objectClass=*)", "1.1")
	if err != nil || len(dns) == 0 {
		t.Fatalf("one level under ou=CA: %v %v", dns, err)
	}
	for _, d := range dns {
		if n, _ := NormalizeDN(f.tree.Schema(), d); strings.Count(n, ",") != 3 {
			t.Errorf("one-level search returned %q", d)
		}
	}
	// Compare works on a provider entry.
	if ok, err := f.tree.Compare(t.Context(), Identity{}, seedCA, "cn", []byte("ssca256")); err != nil || !ok {
		t.Errorf("Compare cn: %v %v", ok, err)
	}
	// Access control learns what kind of entry it is.
	for dn, want := range map[string]string{seedCA: ClassPublic, "ou=certificates," + seedCA: ClassRestricted, "c=GB": ClassVirtualParent, "o=test": ""} {
		n, _ := NormalizeDN(f.tree.Schema(), dn)
		o, err := f.tree.Ownership(t.Context(), n)
		if err != nil || o.Class != want {
			t.Errorf("Ownership(%s) = %+v, %v; want class %q", dn, o, err, want)
		}
		if pub := want == ClassPublic || want == ClassVirtualParent; f.tree.Public(n) != pub {
			t.Errorf("Public(%s) = %v, want %v", dn, !pub, pub)
		}
	}
}

func TestPKICRLAttributes(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	tests := []struct {
		name, ca, attr, want string
	}{
		{"plain name", seedCA, "certificateRevocationList", "certificateRevocationList;binary"},
		{"binary option", seedCA, "certificateRevocationList;binary", "certificateRevocationList;binary"},
		{"ARL of root", f.root.Subject, "authorityRevocationList", "authorityRevocationList;binary"},
		{"CA certificate", seedCA, "cACertificate", "cACertificate;binary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, es, err := search(t, f.tree, tc.ca, ldap.ScopeBaseObject, "(objectClass=*)", tc.attr)
			if err != nil || len(es) != 1 {
				t.Fatalf("search: %v %v", es, err)
			}
			e := es[0]
			if len(e.Attributes) != 1 || e.Attributes[0].Type != tc.want {
				t.Fatalf("attributes %v, want only %s", e.Attributes, tc.want)
			}
			v := e.Attributes[0].Values[0]
			if tc.want == "cACertificate;binary" {
				if _, err := x509.ParseCertificate(v); err != nil {
					t.Fatal(err)
				}
				return
			}
			id := f.issuing.ID
			if tc.ca == f.root.Subject {
				id = f.root.ID
			}
			if !bytes.Equal(v, f.latestCRL(t, id)) {
				t.Error("value differs from store.LatestCRL's DER")
			}
			if _, err := x509.ParseRevocationList(v); err != nil {
				t.Errorf("ParseRevocationList: %v", err)
			}
		})
	}
}

func TestPKICRLFollowsRevocation(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	ctx := t.Context()
	leaf := f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=alice,O=SSS,C=GB"})
	if _, err := f.ca.Service.Revoke(ctx, leaf.Serial, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ca.Service.CRL(ctx, leaf.CAID, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, es, err := search(t, f.tree, seedCA, ldap.ScopeBaseObject, "(objectClass=*)", "certificateRevocationList")
		if err != nil || len(es) != 1 {
			t.Fatalf("search: %v", err)
		}
		crl, err := x509.ParseRevocationList(es[0].Get("certificateRevocationList;binary")[0])
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range crl.RevokedCertificateEntries {
			found = found || r.SerialNumber.Cmp(leaf.Certificate.SerialNumber) == 0
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CA entry's CRL does not list %s 1 s after the revocation", leaf.Serial)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPKIWritesRefused(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	ctx := t.Context()
	leaf := f.ca.Issue(t, ca.Request{Profile: "server", Subject: "CN=www.example.com"})
	certDN := "serialNumber=" + leaf.Serial + ",ou=certificates," + seedCA
	sup := "o=test"
	tests := []struct {
		name string
		op   func() error
		want string
	}{
		{"modify CA", func() error {
			return f.tree.Modify(ctx, admin, seedCA, []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "certificateRevocationList;binary", Values: [][]byte{[]byte("x")}}}})
		}, "pkid revoke"},
		{"delete CA", func() error { return f.tree.Delete(ctx, admin, seedCA) }, "maintained by pkid"},
		{"add CA again", func() error {
			return f.tree.Add(ctx, admin, entry(seedCA, "objectClass: cRLDistributionPoint", "cn: SSCA256"))
		}, "maintained by pkid"},
		{"rename CA", func() error { return f.tree.ModifyDN(ctx, admin, seedCA, "cn=other", true, nil) }, "maintained by pkid"},
		{"modify view entry", func() error {
			return f.tree.Modify(ctx, admin, certDN, []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "status", Values: [][]byte{[]byte("valid")}}}})
		}, "read-only view"},
		{"add in view", func() error {
			return f.tree.Add(ctx, admin, entry("serialNumber=01,ou=certificates,"+seedCA, "objectClass: pkidCertificate"))
		}, "read-only view"},
		{"delete view entry", func() error { return f.tree.Delete(ctx, admin, certDN) }, "read-only view"},
		{"move view entry", func() error { return f.tree.ModifyDN(ctx, admin, certDN, "serialNumber=01", true, &sup) }, "read-only view"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if code(err) != ldap.ResultUnwillingToPerform || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want unwillingToPerform saying %q", err, tc.want)
			}
		})
	}
}

func TestPKICAView(t *testing.T) {
	// The view's clock is 400 days on: the 30-day certificate is expired.
	now := time.Now().Add(400 * 24 * time.Hour)
	f := newPKIFixture(t, now)
	ctx := t.Context()
	short := f.ca.Issue(t, ca.Request{Profile: "server", Subject: "CN=short.example.com", Days: 30})
	long := f.ca.Issue(t, ca.Request{Profile: "server", Subject: "CN=long.example.com", SANs: "DNS:long.example.com,IP:127.0.0.1", Days: 700})
	gone := f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=gone", Days: 700})
	if _, err := f.ca.Service.Revoke(ctx, gone.Serial, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	view := "ou=certificates," + seedCA
	dnOf := func(iss *ca.Issued) string { return "serialNumber=" + iss.Serial + "," + view }
	cutoff := generalizedTime(time.Now().Add(365 * 24 * time.Hour))
	tests := []struct {
		name, filter string
		scope        ldap.Scope
		base         string
		want         []*ca.Issued
	}{
		{"all", "(objectClass=pkidCertificate)", ldap.ScopeSingleLevel, view, []*ca.Issued{short, long, gone}},
		{"from the CA", "(objectClass=pkidCertificate)", ldap.ScopeWholeSubtree, seedCA, []*ca.Issued{short, long, gone}},
		{"revoked", "(status=revoked)", ldap.ScopeSingleLevel, view, []*ca.Issued{gone}},
		{"expired", "(status=expired)", ldap.ScopeSingleLevel, view, []*ca.Issued{short}},
		{"valid", "(status=valid)", ldap.ScopeSingleLevel, view, []*ca.Issued{long}},
		{"revoked and late", "(&(status=revoked)(notAfter>=" + cutoff + "))", ldap.ScopeWholeSubtree, seedCA, []*ca.Issued{gone}},
		{"notAfter ordering", "(notAfter>=" + cutoff + ")", ldap.ScopeWholeSubtree, view, []*ca.Issued{long, gone}},
		{"notAfter before", "(notAfter<=" + cutoff + ")", ldap.ScopeWholeSubtree, view, []*ca.Issued{short}},
		{"serial", "(serialNumber=" + strings.ToLower(long.Serial) + ")", ldap.ScopeWholeSubtree, view, []*ca.Issued{long}},
		{"SAN", "(subjectAltName=IP:127.0.0.1)", ldap.ScopeWholeSubtree, view, []*ca.Issued{long}},
		{"subject", "(subject=cn=gone)", ldap.ScopeWholeSubtree, view, []*ca.Issued{gone}},
		{"reason", "(revocationReason=keyCompromise)", ldap.ScopeWholeSubtree, view, []*ca.Issued{gone}},
		{"base entry", "(objectClass=*)", ldap.ScopeBaseObject, dnOf(long), []*ca.Issued{long}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dns, _, err := search(t, f.tree, tc.base, tc.scope, tc.filter, "1.1")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, iss := range tc.want {
				want = append(want, dnOf(iss))
			}
			if len(dns) != len(want) {
				t.Fatalf("got %v, want %v", dns, want)
			}
			for _, w := range want {
				found := false
				for _, d := range dns {
					found = found || strings.EqualFold(d, w)
				}
				if !found {
					t.Errorf("missing %s in %v", w, dns)
				}
			}
		})
	}
	// The root's view holds the one certificate it issued: the issuing CA's.
	dns, es, err := search(t, f.tree, f.root.Subject, ldap.ScopeWholeSubtree, "(objectClass=pkidCertificate)")
	if err != nil || len(dns) != 1 || !strings.EqualFold(es[0].GetString("subject"), f.issuing.Subject) {
		t.Errorf("root's view: %v %v", dns, err)
	}
	// The revoked entry's attributes.
	_, es, err = search(t, f.tree, dnOf(gone), ldap.ScopeBaseObject, "(objectClass=*)")
	if err != nil || len(es) != 1 {
		t.Fatal(err)
	}
	e := es[0]
	for attr, want := range map[string]string{"status": "revoked", "revocationReason": "keyCompromise", "serialNumber": gone.Serial, "subject": "CN=gone", "issuer": f.issuing.Subject} {
		if got := e.GetString(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if !bytes.Equal(e.Get("userCertificate;binary")[0], gone.DER) {
		t.Error("userCertificate;binary is not the certificate")
	}
	if _, err := time.Parse("20060102150405Z", e.GetString("revocationDate")); err != nil {
		t.Errorf("revocationDate: %v", err)
	}
	// An unknown serial is noSuchObject.
	if _, _, err := search(t, f.tree, "serialNumber=00AB,"+view, ldap.ScopeBaseObject, "(objectClass=*)"); code(err) != ldap.ResultNoSuchObject {
		t.Errorf("unknown serial: %v", err)
	}
}

func TestPKICAViewPaged(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	for i := 0; i < 5; i++ {
		f.ca.Issue(t, ca.Request{Profile: "client", Subject: "CN=user" + string(rune('a'+i))})
	}
	flt, _ := ldap.ParseFilter("(objectClass=*)")
	req := &ldap.SearchRequest{BaseObject: "c=GB", Scope: ldap.ScopeWholeSubtree, Filter: flt, Attributes: []string{"1.1"}}
	seen := map[string]bool{}
	var cookie []byte
	pages := 0
	for {
		res, err := f.tree.Search(context.Background(), admin, SearchParams{Request: req, PageSize: 2, Cookie: cookie}, func(e *Entry) error {
			if seen[e.DN] {
				t.Errorf("%s returned twice", e.DN)
			}
			seen[e.DN] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if res.Entries > 2 {
			t.Fatalf("page of %d entries", res.Entries)
		}
		if cookie = res.Cookie; cookie == nil {
			break
		}
	}
	// c=GB, o=SSS, ou=CA, root CA, its view, the issuing CA's certificate,
	// issuing CA, its view, 5 certificates.
	if len(seen) != 13 || pages != 7 {
		t.Errorf("%d entries in %d pages: %v", len(seen), pages, seen)
	}
	// A size limit stops a search of the view.
	req.SizeLimit = 3
	n := 0
	_, err := f.tree.Search(context.Background(), admin, SearchParams{Request: req}, func(*Entry) error { n++; return nil })
	if code(err) != ldap.ResultSizeLimitExceeded || n != 3 {
		t.Errorf("size limit: %d entries, %v", n, err)
	}
}

func TestPKIStoredEntries(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	ctx := t.Context()
	// A stored parent is used as it is, not replaced by a virtual one.
	stored, err := New(Config{Store: f.ca.Store, Suffixes: []string{"c=GB"}})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, stored, entry("c=GB", "objectClass: country", "c: GB", "description: stored"))
	mustAdd(t, stored, entry("o=SSS,c=GB", "objectClass: organization", "o: SSS"))
	mustAdd(t, stored, entry("ou=CA,o=SSS,c=GB", "objectClass: organizationalUnit", "ou: CA"))
	// A hand-published CA entry, as the seed's LDIF made, is hidden by the live one.
	mustAdd(t, stored, entry(seedCA, "objectClass: cRLDistributionPoint", "objectClass: extensibleObject", "cn: SSCA256", "description: stale by hand"))
	_, es, err := search(t, f.tree, "c=GB", ldap.ScopeBaseObject, "(objectClass=*)", "description")
	if err != nil || len(es) != 1 || es[0].GetString("description") != "stored" {
		t.Errorf("c=GB: %v %v", es, err)
	}
	dns, es, err := search(t, f.tree, "c=GB", ldap.ScopeWholeSubtree, "(cn=SSCA256)", "description", "objectClass")
	if err != nil || len(dns) != 1 || es[0].GetString("description") != "" || len(es[0].Get("objectClass")) < 4 {
		t.Errorf("subtree: %v %v %v", dns, es, err)
	}
	_, es, err = search(t, f.tree, seedCA, ldap.ScopeBaseObject, "(objectClass=*)", "description")
	if err != nil || len(es) != 1 || es[0].GetString("description") != "" {
		t.Errorf("base: %v %v", es, err)
	}
	// Stored entries beside the CAs are still found and writable.
	mustAdd(t, f.tree, entry("cn=other,ou=CA,o=SSS,c=GB", "objectClass: device", "cn: other"))
	if err := f.tree.Delete(ctx, admin, "cn=other,ou=CA,o=SSS,c=GB"); err != nil {
		t.Errorf("delete a stored entry beside the CAs: %v", err)
	}
}

func TestPKIDeltaCRL(t *testing.T) {
	f := newPKIFixture(t, time.Time{})
	ctx := t.Context()
	c := *f.issuing
	c.DeltaCRL = true
	if err := f.ca.Store.UpdateCA(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ca.Service.CRL(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	delta, err := f.ca.Store.LatestCRL(ctx, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, es, err := search(t, f.tree, seedCA, ldap.ScopeBaseObject, "(objectClass=*)", "deltaRevocationList")
		if err != nil || len(es) != 1 {
			t.Fatal(err)
		}
		if v := es[0].Get("deltaRevocationList;binary"); len(v) == 1 && bytes.Equal(v[0], delta.DER) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deltaRevocationList;binary 1 s after the delta CRL: %v", es[0].Attributes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The root issues no deltas: no attribute.
	_, es, err := search(t, f.tree, f.root.Subject, ldap.ScopeBaseObject, "(objectClass=*)", "deltaRevocationList")
	if err != nil || len(es) != 1 || len(es[0].Attributes) != 0 {
		t.Errorf("root: %v %v", es, err)
	}
}

// BenchmarkPKICRLSearch is what a TLS stack's CRL fetch costs the
// directory: a base search of the CA entry for certificateRevocationList.
func BenchmarkPKICRLSearch(b *testing.B) {
	c := pkitest.NewCA(b, pkitest.Options{Name: seedCA})
	if _, err := c.Service.CRL(b.Context(), c.Init.CAs[1].ID, false); err != nil {
		b.Fatal(err)
	}
	p, err := NewPKI(PKIConfig{Store: c.Store})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := New(Config{Store: c.Store, Providers: []Provider{p}})
	if err != nil {
		b.Fatal(err)
	}
	flt, _ := ldap.ParseFilter("(objectClass=*)")
	req := &ldap.SearchRequest{BaseObject: seedCA, Scope: ldap.ScopeBaseObject, Filter: flt, Attributes: []string{"certificateRevocationList"}}
	for b.Loop() {
		n := 0
		if _, err := tr.Search(b.Context(), Identity{}, SearchParams{Request: req}, func(*Entry) error { n++; return nil }); err != nil || n != 1 {
			b.Fatal(n, err)
		}
	}
}
