package certmap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
)

func TestMapRules(t *testing.T) {
	f := newFixture(t)
	issuingSubject := f.ca.Init.CAs[len(f.ca.Init.CAs)-1].Subject
	bobCert := f.issue(t, "client", "CN=nobody,O=Other", "")
	ctx := context.Background()
	f.add(t, "cn=certholder,o=Example", "objectClass: person", "objectClass: pkiUser", "cn: certholder", "sn: H")
	setCert(t, f, "cn=certholder,o=Example", bobCert[0].Raw)

	subject := Rule{Kind: KindSubject}
	regexpDN := Rule{Kind: KindRegexp, Match: `^cn=([^,]+),ou=people,o=example$`, Replace: "uid=$1,ou=people,o=example"}
	regexpURL := Rule{Kind: KindRegexp, Match: `^cn=([^,]+),ou=staff,o=example$`, Replace: "ldap:///ou=people,o=example??sub?(mail=$1@example.com)"}
	salesRACF := Rule{Name: "sales", Kind: KindDNFilter, SDNFilter: "OU=Sales.O=Example", DN: "cn=sales,o=Example"}
	byEmail := Rule{Name: "email", Kind: KindDNFilter, IDNFilter: issuingSubject, Base: "o=Example", Filter: "(mail={email})"}
	certRule := Rule{Kind: KindCertificate, Base: "o=Example"}
	anyExample := Rule{Name: "anyExample", Kind: KindDNFilter, SDNFilter: "O=Example", DN: "cn=sales,o=Example"}

	tests := []struct {
		name     string
		rules    []Rule
		chain    []*x509.Certificate
		wantDN   string
		wantRule string
		wantErr  string
	}{
		{"subject", []Rule{subject}, f.issue(t, "client", "CN=Alice Smith,O=Example", ""), "cn=Alice Smith,o=Example", "subject#1", ""},
		{"subject case and spaces differ", []Rule{subject}, f.issue(t, "client", "CN=alice  smith,O=EXAMPLE", ""), "cn=Alice Smith,o=Example", "subject#1", ""},
		{"subject multi-valued RDN", []Rule{subject}, f.issue(t, "client", "UID=carol+CN=Carol,O=Example", ""), "cn=Carol+uid=carol,o=Example", "subject#1", ""},
		{"subject escaped comma", []Rule{subject}, f.issue(t, "client", `CN=Smith\, John,O=Example`, ""), `cn=Smith\, John,o=Example`, "subject#1", ""},
		{"subject UTF-8", []Rule{subject}, f.issue(t, "client", "CN=Zoë Ångström,O=Example", ""), "cn=Zoë Ångström,o=Example", "subject#1", ""},
		{"subject without entry", []Rule{subject}, f.issue(t, "client", "CN=ghost,O=Example", ""), "", "", "rules tried: subject#1: no entry CN=ghost,O=Example"},
		{"regexp to DN", []Rule{regexpDN}, f.issue(t, "client", "CN=alice,OU=people,O=Example", ""), "uid=alice,ou=people,o=Example", "regexp#1", ""},
		{"regexp to search", []Rule{regexpURL}, f.issue(t, "client", "CN=Bob,OU=staff,O=Example", ""), "uid=bob,ou=people,o=Example", "regexp#1", ""},
		{"regexp search injection stays a value", []Rule{regexpURL}, f.issue(t, "client", "CN=*,OU=staff,O=Example", ""), "", "", "found no entry"},
		{"regexp no match", []Rule{regexpDN}, f.issue(t, "client", "CN=alice,OU=else,O=Example", ""), "", "", "does not match"},
		{"dnfilter RACF fixed", []Rule{salesRACF}, f.issue(t, "client", "CN=dave,OU=Sales,O=Example", ""), "cn=sales,o=Example", "sales", ""},
		{"dnfilter must reach the top", []Rule{salesRACF}, f.issue(t, "client", "CN=dave,OU=Sales,O=Example,C=GB", ""), "", "", "subject does not end with OU=Sales.O=Example"},
		{"dnfilter issuer + email search", []Rule{byEmail}, f.issue(t, "client", "CN=whoever,O=Other", "email:alice@example.com"), "uid=alice,ou=people,o=Example", "email", ""},
		{"dnfilter missing placeholder", []Rule{byEmail}, f.issue(t, "client", "CN=whoever,O=Other", ""), "", "", "no value for {email}"},
		{"certificate", []Rule{certRule}, bobCert, "cn=certholder,o=Example", "certificate#1", ""},
		{"certificate other cert", []Rule{certRule}, f.issue(t, "client", "CN=nobody,O=Other", ""), "", "", "found no entry"},
		{"order: filter first", []Rule{anyExample, subject}, f.issue(t, "client", "CN=Alice Smith,O=Example", ""), "cn=sales,o=Example", "anyExample", ""},
		{"order: subject first", []Rule{subject, anyExample}, f.issue(t, "client", "CN=Alice Smith,O=Example", ""), "cn=Alice Smith,o=Example", "subject#1", ""},
		{"fall through to later rule", []Rule{regexpDN, salesRACF, subject}, f.issue(t, "client", "CN=Alice Smith,O=Example", ""), "cn=Alice Smith,o=Example", "subject#3", ""},
		{"no subject, SAN only", []Rule{subject}, f.forge(t, withEmail(clientTemplate(pkix.Name{}), "alice@example.com"), true), "", "", "(no subject) matched no mapping rule; rules tried: subject#1: the certificate has no subject"},
		{"no subject, SAN email rule", []Rule{subject, byEmail}, f.forge(t, withEmail(clientTemplate(pkix.Name{}), "alice@example.com"), true), "uid=alice,ou=people,o=Example", "email", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.mapper(t, Config{Rules: tc.rules})
			res, err := m.Authenticate(ctx, tc.chain, "")
			if tc.wantErr != "" {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *Error containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), ca.FormatSerial(tc.chain[0].SerialNumber)) {
					t.Fatalf("err = %q, want it to contain %q and the serial", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !directoryEqual(f, res.Identity.DN, tc.wantDN) || res.Rule != tc.wantRule || res.Identity.Mechanism != "EXTERNAL" {
				t.Fatalf("mapped to %q by %q (%s), want %q by %q", res.Identity.DN, res.Rule, res.How, tc.wantDN, tc.wantRule)
			}
		})
	}
}

func directoryEqual(f *fixture, a, b string) bool {
	na, err1 := directory.NormalizeDN(f.tree.Schema(), a)
	nb, err2 := directory.NormalizeDN(f.tree.Schema(), b)
	return err1 == nil && err2 == nil && na == nb
}

func withEmail(c *x509.Certificate, email string) *x509.Certificate {
	c.EmailAddresses = []string{email}
	return c
}

func setCert(t *testing.T, f *fixture, dn string, der []byte) {
	t.Helper()
	err := f.tree.Modify(context.Background(), admin, dn, []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "userCertificate;binary", Values: [][]byte{der}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	ctx := context.Background()
	alice := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	self, _ := selfSigned(t, pkix.Name{CommonName: "Alice Smith", Organization: []string{"Example"}}, false)
	past := time.Now().Add(-48 * time.Hour)
	tests := []struct {
		name    string
		chain   []*x509.Certificate
		now     time.Time
		wantErr string
	}{
		{"expired", alice, alice[0].NotAfter.Add(time.Minute), "has expired (notAfter "},
		{"not yet valid", alice, alice[0].NotBefore.Add(-time.Minute), "is not yet valid (notBefore "},
		{"serverAuth only", f.issue(t, "server", "CN=svc.example.org,O=Example", ""), time.Time{}, "lacks clientAuth in extendedKeyUsage"},
		{"self-signed", []*x509.Certificate{self}, time.Time{}, "is a self-signed certificate"},
		{"unknown CA", other.issue(t, "client", "CN=Alice Smith,O=Example", ""), time.Time{}, "was not issued by a trusted CA (issuer CN="},
		{"signed by pkid but not stored", f.forge(t, clientTemplate(pkix.Name{CommonName: "Alice Smith", Organization: []string{"Example"}}), false), time.Time{}, "is not in its store"},
		{"expired forged", f.forge(t, expire(clientTemplate(pkix.Name{CommonName: "x"}), past), true), time.Time{}, "has expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{}
			if !tc.now.IsZero() {
				cfg.Now = func() time.Time { return tc.now }
			}
			m := f.mapper(t, cfg)
			// AuthenticatePath trusts only paths that end at one of the
			// mapper's anchors; for the rest it must verify and refuse too.
			for _, auth := range []func(context.Context, []*x509.Certificate, string) (*Result, error){m.Authenticate, m.AuthenticatePath} {
				_, err := auth(ctx, tc.chain, "")
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *Error", err)
				}
				want := "certificate serial " + ca.FormatSerial(tc.chain[0].SerialNumber) + " ("
				if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %q, want prefix %q and %q", err, want, tc.wantErr)
				}
			}
		})
	}
}

func expire(c *x509.Certificate, at time.Time) *x509.Certificate {
	c.NotBefore, c.NotAfter = at.Add(-time.Hour), at
	return c
}

// TestRevokedInStore: the store is consulted at every bind, so the bind
// right after a revocation fails (the revocation cache is emptied when the
// store's revision moves).
func TestRevokedInStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.mapper(t, Config{})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	if _, err := m.Authenticate(ctx, chain, ""); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	serial := ca.FormatSerial(chain[0].SerialNumber)
	if _, err := f.ca.Service.Revoke(ctx, serial, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Authenticate(ctx, chain, "")
	want := "certificate serial " + serial + " (CN=Alice Smith,O=Example) is revoked (keyCompromise since "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("after revocation: err = %v, want prefix %q", err, want)
	}
}

// TestRevokedByForeignCRL: a foreign CA's leaf is checked with package
// revocation against the CRL its distribution point names.
func TestRevokedByForeignCRL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	root, rootKey := selfSigned(t, pkix.Name{CommonName: "Foreign Root", Organization: []string{"Elsewhere"}}, true)
	var crlDER []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(crlDER) }))
	defer srv.Close()
	leaf := func(cn string) *x509.Certificate {
		tmpl := clientTemplate(pkix.Name{CommonName: cn, Organization: []string{"Example"}})
		tmpl.CRLDistributionPoints = []string{srv.URL + "/root.crl"}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, rootKey.Public(), rootKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	good, revoked := leaf("Alice Smith"), leaf("Alice Smith")
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: revoked.SerialNumber, RevocationTime: time.Now().Add(-time.Minute), ReasonCode: 1}},
	}, root, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	m := f.mapper(t, Config{Roots: []*x509.Certificate{root}, Revocation: revocation.New(revocation.Config{LeafOnly: true})})
	res, err := m.Authenticate(ctx, []*x509.Certificate{good}, "")
	if err != nil || !directoryEqual(f, res.Identity.DN, "cn=Alice Smith,o=Example") {
		t.Fatalf("good foreign certificate: %+v, %v", res, err)
	}
	_, err = m.Authenticate(ctx, []*x509.Certificate{revoked}, "")
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), ca.FormatSerial(revoked.SerialNumber)+" (CN=Alice Smith,O=Example) is revoked (keyCompromise") {
		t.Fatalf("revoked foreign certificate: err = %v", err)
	}
	// Without the foreign root it is just unknown.
	m = f.mapper(t, Config{})
	if _, err := m.Authenticate(ctx, []*x509.Certificate{good}, ""); err == nil || !strings.Contains(err.Error(), "was not issued by a trusted CA (issuer CN=Foreign Root,O=Elsewhere)") {
		t.Fatalf("untrusted foreign root: err = %v", err)
	}
}

func TestAuthzID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	tests := []struct {
		name    string
		proxy   []string
		authz   string
		wantDN  string
		wantErr string
	}{
		{"none", nil, "", "cn=Alice Smith,o=Example", ""},
		{"self", nil, "dn:CN=alice smith,O=example", "cn=Alice Smith,o=Example", ""},
		{"other refused", nil, "dn:uid=bob,ou=people,o=Example", "", "may not assume authorization identity"},
		{"anonymous refused", nil, "dn:", "", "anonymous"},
		{"u: without UserBase", nil, "u:bob", "", "u: identities are not configured"},
		{"garbage", nil, "bob", "", `starts with "dn:" or "u:"`},
		{"proxy may assume", []string{"cn=alice smith,o=example"}, "dn:uid=bob,ou=people,o=Example", "uid=bob,ou=people,o=Example", ""},
		{"proxy u:", []string{"cn=Alice Smith,o=Example"}, "u:bob", "uid=bob,ou=people,o=Example", ""},
		{"proxy but no entry", []string{"cn=Alice Smith,o=Example"}, "dn:uid=ghost,o=Example", "", "no entry"},
		{"u: injection", []string{"cn=Alice Smith,o=Example"}, "u:*", "", "found no entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Proxy: tc.proxy}
			if strings.HasPrefix(tc.name, "proxy u:") || tc.name == "u: injection" {
				cfg.UserBase = "ou=people,o=Example"
			}
			m := f.mapper(t, cfg)
			res, err := m.Authenticate(ctx, chain, tc.authz)
			if tc.wantErr != "" {
				var ce *Error
				if !errors.As(err, &ce) || !ce.Authz || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want authz *Error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !directoryEqual(f, res.Identity.DN, tc.wantDN) {
				t.Fatalf("got %q, %v; want %q", res.Identity.DN, err, tc.wantDN)
			}
		})
	}
}

func TestLogBind(t *testing.T) {
	f := newFixture(t)
	m := f.mapper(t, Config{})
	chain := f.issue(t, "client", "CN=Alice Smith,O=Example", "")
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	res, err := m.Authenticate(context.Background(), chain, "")
	LogBind(context.Background(), l, res, err)
	serial := ca.FormatSerial(chain[0].SerialNumber)
	for _, want := range []string{"msg=bind", `dn="cn=Alice Smith,o=Example"`, "mech=EXTERNAL", "serial=" + serial, `subject="CN=Alice Smith,O=Example"`, "rule=subject#1", "result=success"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
	buf.Reset()
	res, err = m.Authenticate(context.Background(), f.issue(t, "client", "CN=ghost,O=Example", ""), "")
	LogBind(context.Background(), l, res, err)
	if !strings.Contains(buf.String(), "no mapping rule") && !strings.Contains(buf.String(), "matched no mapping rule") {
		t.Errorf("failure log line %q lacks the reason", buf.String())
	}
}

func TestNewRejectsBadRules(t *testing.T) {
	f := newFixture(t)
	for _, r := range []Rule{
		{Kind: "nope"},
		{Kind: KindRegexp, Match: "(", Replace: "x"},
		{Kind: KindRegexp, Match: "x", Replace: "ldap://host/o=x??sub?(uid=$1)"},
		{Kind: KindDNFilter, DN: "cn=x"},
		{Kind: KindDNFilter, SDNFilter: "O=x", Base: "o=x", Filter: "(mail={phone})"},
		{Kind: KindDNFilter, SDNFilter: "O=x"},
		{Kind: KindCertificate},
	} {
		if _, err := New(Config{Store: f.ca.Store, Tree: f.tree, Rules: []Rule{r}}); err == nil {
			t.Errorf("New accepted %+v", r)
		}
	}
}

func TestConfigJSON(t *testing.T) {
	f := newFixture(t)
	var cfg Config
	in := `{"rules": [{"kind": "dnfilter", "sdnfilter": "OU=Sales.O=Example", "dn": "cn=sales,o=Example"}, {"kind": "subject"}], "proxy": ["cn=sales,o=Example"]}`
	if err := json.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	m := f.mapper(t, cfg)
	res, err := m.Authenticate(context.Background(), f.issue(t, "client", "CN=dave,OU=Sales,O=Example", ""), "dn:uid=bob,ou=people,o=Example")
	if err != nil || res.Rule != "dnfilter#1" || !directoryEqual(f, res.Identity.DN, "uid=bob,ou=people,o=Example") {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := m.Authenticate(context.Background(), nil, ""); err == nil {
		t.Fatal("empty chain accepted")
	}
}
