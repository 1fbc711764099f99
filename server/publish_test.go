package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/slapdtest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/server"
)

// TestServePublishes: with a publish target in the config, a revocation
// made through the server reaches an external slapd (via the CRL the
// server signs) and the publisher's metrics are served.
func TestServePublishes(t *testing.T) {
	sl := slapdtest.Start(t, slapdtest.Options{Suffix: "o=pkid", RootDN: "cn=admin,o=pkid"})
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	f := start(t, "", func(c *server.Config) {
		c.Publish = []publish.Target{{Name: "corp", URL: sl.URL, Bind: publish.BindSimple, BindDN: "cn=admin,o=pkid", PasswordFile: pw}}
	})
	ctx := context.Background()
	cl, err := ldap.Dial(ctx, sl.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	issuing := f.boot.DefaultCA
	all, _ := ldap.ParseFilter("(objectClass=*)")
	visible := func(der []byte) bool {
		es, err := cl.Search(ctx, &ldap.SearchRequest{BaseObject: issuing.Subject, Filter: all, Attributes: []string{"certificateRevocationList;binary"}})
		return err == nil && len(es) == 1 && len(es[0].Attributes) == 1 && bytes.Equal(es[0].Attributes[0].Values[0], der)
	}

	iss, _ := f.issue(ca.Request{Profile: "server", Subject: "CN=www.example"})
	before, _ := f.st.LatestCRL(ctx, issuing.ID, false)
	start := time.Now()
	if _, err := f.srv.Service().Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for {
		crl, err := f.st.LatestCRL(ctx, issuing.ID, false)
		if err == nil && (before == nil || crl.Number > before.Number) && visible(crl.DER) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the CRL with the revocation is not in slapd after 5 s; status %+v", f.srv.PublishStatus())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("revocation → CRL in the external slapd: %v", time.Since(start))

	_, body := f.get("/metrics")
	for _, m := range []string{`pkid_publish_lag_seconds{target="corp"} 0`, `pkid_publish_errors_total{target="corp"} 0`, `pkid_publish_last_success_timestamp_seconds{target="corp"}`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if s := f.srv.PublishStatus(); len(s) != 1 || s[0].LastError != "" || s[0].LastSuccess.IsZero() {
		t.Errorf("PublishStatus: %+v", s)
	}
}
