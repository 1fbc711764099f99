package ldap_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/slapdtest"
	"github.com/pkid/pkid/ldap"
)

func TestClientAgainstSlapd(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Suffix: "o=test", RootDN: "cn=admin,o=test"})
	ctx := context.Background()
	c, err := ldap.Dial(ctx, s.URL, &ldap.ClientConfig{MaxEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var le *ldap.Error
	if err := c.Bind(ctx, "cn=admin,o=test", "wrong"); !errors.As(err, &le) || le.Code != ldap.ResultInvalidCredentials {
		t.Fatalf("bind with a wrong password: %v, want invalidCredentials", err)
	}
	if err := c.Bind(ctx, "cn=admin,o=test", "secret"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	attr := func(typ string, vals ...string) ldap.Attribute {
		a := ldap.Attribute{Type: typ}
		for _, v := range vals {
			a.Values = append(a.Values, []byte(v))
		}
		return a
	}
	if err := c.Add(ctx, &ldap.AddRequest{Entry: "o=test", Attributes: []ldap.Attribute{attr("objectClass", "organization"), attr("o", "test")}}); err != nil {
		t.Fatal(err)
	}
	for _, ou := range []string{"a", "b", "c", "d"} {
		if err := c.Add(ctx, &ldap.AddRequest{Entry: "ou=" + ou + ",o=test", Attributes: []ldap.Attribute{attr("objectClass", "organizationalUnit"), attr("ou", ou)}}); err != nil {
			t.Fatal(err)
		}
	}
	err = c.Add(ctx, &ldap.AddRequest{Entry: "ou=a,o=test", Attributes: []ldap.Attribute{attr("objectClass", "organizationalUnit"), attr("ou", "a")}})
	if !errors.As(err, &le) || le.Code != ldap.ResultEntryAlreadyExists {
		t.Fatalf("add twice: %v", err)
	}
	if err := c.Modify(ctx, &ldap.ModifyRequest{Object: "ou=a,o=test", Changes: []ldap.Change{{Operation: ldap.ModifyReplace, Modification: attr("description", "first")}}}); err != nil {
		t.Fatal(err)
	}
	err = c.Modify(ctx, &ldap.ModifyRequest{Object: "ou=a,o=test", Changes: []ldap.Change{{Operation: ldap.ModifyAdd, Modification: attr("noSuchAttr", "x")}}})
	if !errors.As(err, &le) || le.Code != ldap.ResultUndefinedAttributeType || le.Message == "" {
		t.Fatalf("modify with an unknown attribute: %v, want undefinedAttributeType with a diagnostic", err)
	}
	if err := c.Delete(ctx, "ou=d,o=test"); err != nil {
		t.Fatal(err)
	}
	f, _ := ldap.ParseFilter("(objectClass=organizationalUnit)")
	es, err := c.Search(ctx, &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f, Attributes: []string{"description"}})
	if err != nil || len(es) != 3 {
		t.Fatalf("search: %d entries, %v; want a, b, c", len(es), err)
	}
	f, _ = ldap.ParseFilter("(objectClass=*)")
	_, err = c.Search(ctx, &ldap.SearchRequest{BaseObject: "o=test", Scope: ldap.ScopeWholeSubtree, Filter: f})
	if !errors.As(err, &le) || le.Code != ldap.ResultSizeLimitExceeded {
		t.Fatalf("search beyond MaxEntries: %v, want sizeLimitExceeded", err)
	}
	if err := c.Bind(ctx, "", ""); err == nil {
		t.Fatal("the connection is still used after a search was cut short")
	}

	// What the client wrote is what ldapsearch reads.
	out, err := exec.Command(peer.Need(t, "ldapsearch", "ldap-utils"), "-LLL", "-x", "-H", s.URL, "-b", "ou=a,o=test", "-s", "base", "description").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "description: first") {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}

	// StartTLS against a server without TLS fails instead of continuing
	// in clear text.
	if _, err := ldap.Dial(ctx, s.URL, &ldap.ClientConfig{StartTLS: true, TLSConfig: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "StartTLS") {
		t.Fatalf("StartTLS to a server without TLS: %v", err)
	}
}

// TestClientStalledServer: a server that accepts and never answers costs
// at most the timeout, and cancelling the context interrupts a read.
func TestClientStalledServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	url := "ldap://" + l.Addr().String()
	cases := []struct {
		name    string
		timeout time.Duration
		cancel  time.Duration // cancel the context after this long; 0 = never
		want    error
	}{
		{"timeout", 200 * time.Millisecond, 0, nil},
		{"cancel", 10 * time.Second, 100 * time.Millisecond, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := ldap.Dial(ctx, url, &ldap.ClientConfig{Timeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			err = c.Bind(ctx, "cn=x", "y")
			took := time.Since(start)
			if err == nil || took > 2*time.Second {
				t.Fatalf("Bind returned %v after %v", err, took)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			var ne net.Error
			if tc.want == nil && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Errorf("error %v is not a timeout", err)
			}
			if err := c.Bind(ctx, "", ""); err == nil {
				t.Error("connection still usable after a failed read")
			}
		})
	}
}
