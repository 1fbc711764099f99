package revocation_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/internal/slapdtest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
)

// TestLDAPDistributionPoint follows a certificate's ldap:// distribution
// point to a real slapd holding pkid's CRLs at the CAs' DNs.
func TestLDAPDistributionPointSlapd(t *testing.T) {
	sl := slapdtest.Start(t, slapdtest.Options{Suffix: "o=pkid", RootDN: "cn=admin,o=pkid"})
	c := pkitest.NewCA(t, pkitest.Options{LDAPURL: sl.URL})
	ctx := context.Background()
	good := c.Issue(t, ca.Request{Profile: "server", Subject: "CN=good.example"})
	bad := c.Issue(t, ca.Request{Profile: "server", Subject: "CN=bad.example"})
	if _, err := c.Service.Revoke(ctx, bad.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(good.Certificate.CRLDistributionPoints[0], "ldap://") {
		t.Fatalf("leaf CDP = %q, want an ldap:// URL", good.Certificate.CRLDistributionPoints)
	}

	// Load the CRLs into slapd as an administrator would.
	cl, err := ldap.Dial(ctx, sl.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Bind(ctx, "cn=admin,o=pkid", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Add(ctx, &ldap.AddRequest{Entry: "o=pkid", Attributes: []ldap.Attribute{
		{Type: "objectClass", Values: [][]byte{[]byte("organization")}}, {Type: "o", Values: [][]byte{[]byte("pkid")}}}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Init.CAs {
		crl, err := c.Service.CRL(ctx, a.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		attr := "certificateRevocationList;binary"
		cn := strings.TrimPrefix(strings.Split(a.Subject, ",")[0], "CN=")
		err = cl.Add(ctx, &ldap.AddRequest{Entry: a.Subject, Attributes: []ldap.Attribute{
			{Type: "objectClass", Values: [][]byte{[]byte("cRLDistributionPoint")}},
			{Type: "cn", Values: [][]byte{[]byte(cn)}},
			{Type: attr, Values: [][]byte{crl.DER}}}})
		if err != nil {
			t.Fatalf("add %s: %v", a.Subject, err)
		}
	}

	chk := revocation.New(revocation.Config{Order: []revocation.Method{revocation.MethodCRL}})
	chain := func(iss *ca.Issued) []*x509.Certificate {
		return append([]*x509.Certificate{iss.Certificate}, iss.Chain...)
	}
	if _, err := chk.CheckChain(ctx, chain(good)); err != nil {
		t.Errorf("good certificate: %v", err)
	}
	_, err = chk.CheckChain(ctx, chain(bad))
	var re *revocation.RevokedError
	if !errors.As(err, &re) {
		t.Fatalf("revoked certificate: got %v, want a *RevokedError", err)
	}
	if !strings.Contains(re.Source, "ldap://127.0.0.1") || re.Reason != revocation.Reason(ca.ReasonKeyCompromise) {
		t.Errorf("RevokedError source %q reason %v, want the ldap:// CDP and keyCompromise", re.Source, re.Reason)
	}
	t.Logf("revoked: %v", err)
}

// TestLDAPFetcherErrors: a missing entry or a dead server is "unavailable"
// (so SoftFail may tolerate it), and the message names what was missing.
func TestLDAPFetcherErrors(t *testing.T) {
	sl := slapdtest.Start(t, slapdtest.Options{Suffix: "o=pkid", RootDN: "cn=admin,o=pkid"})
	f := &revocation.LDAPFetcher{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cases := []struct {
		name, url, want string
	}{
		{"no such entry", sl.URL + "/cn=nobody,o=pkid?certificateRevocationList;binary", "noSuchObject"},
		{"refused", "ldap://127.0.0.1:1/cn=x?certificateRevocationList", "connect"},
		{"no host", "ldap:///cn=x", "names no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Fetch(ctx, tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fetch(%s) = %v, want an error containing %q", tc.url, err, tc.want)
			}
			if tc.name != "no host" && !errors.Is(err, revocation.ErrUnavailable) {
				t.Errorf("error %v is not ErrUnavailable", err)
			}
		})
	}
}
