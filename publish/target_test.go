package publish

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTargetValidate(t *testing.T) {
	ok := Target{Name: "corp", URL: "ldaps://ldap.example:636", Bind: BindExternal, CertFile: "c.pem", KeyFile: "k.pem"}
	cases := []struct {
		name string
		edit func(*Target)
		want string // "" = valid
	}{
		{"external over ldaps", func(*Target) {}, ""},
		{"external over starttls", func(t *Target) { t.URL, t.StartTLS = "ldap://h", true }, ""},
		{"simple", func(t *Target) { t.Bind, t.BindDN, t.PasswordFile = BindSimple, "cn=admin", "pw" }, ""},
		{"no name", func(t *Target) { t.Name = "" }, "without a name"},
		{"bad name", func(t *Target) { t.Name = "a/b" }, "letters, digits"},
		{"http url", func(t *Target) { t.URL = "http://h" }, "scheme"},
		{"no host", func(t *Target) { t.URL = "ldap:///o=x" }, "names no host"},
		{"starttls on ldaps", func(t *Target) { t.StartTLS = true }, "one or the other"},
		{"external without tls", func(t *Target) { t.URL = "ldap://h" }, "needs TLS"},
		{"external without cert", func(t *Target) { t.CertFile = "" }, "cert_file and key_file"},
		{"simple without password", func(t *Target) { t.Bind, t.BindDN = BindSimple, "cn=admin" }, "password_file"},
		{"unknown bind", func(t *Target) { t.Bind = "kerberos" }, "bind must be"},
		{"fixed dn, all CAs", func(t *Target) { t.DN = "cn=CA,o=x" }, "exactly one CA"},
		{"fixed dn, one CA", func(t *Target) { t.DN, t.CAs = "cn=CA,o=x", []string{"issuing"} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := ok
			tc.edit(&tg)
			err := tg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTargetJSON(t *testing.T) {
	var tg Target
	err := json.Unmarshal([]byte(`{"name":"corp","url":"ldap://h:389","starttls":true,"bind":"simple","bind_dn":"cn=admin,o=x",
		"password_file":"/etc/pw","cas":["issuing"],"timeout":"3s","max_backoff":"1m"}`), &tg)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "corp" || !tg.StartTLS || tg.Timeout != 3*time.Second || tg.MaxBackoff != time.Minute || tg.CAs[0] != "issuing" {
		t.Fatalf("parsed %+v", tg)
	}
	for _, bad := range []string{`{"name":"x","timeout":"soon"}`, `{"name":"x","passwd":"y"}`, `{"name":"x","timeout":"-1s"}`} {
		if err := json.Unmarshal([]byte(bad), &Target{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestBackoff(t *testing.T) {
	w := &worker{t: Target{MinBackoff: time.Second, MaxBackoff: 8 * time.Second}}
	for n, max := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: 8 * time.Second} {
		for i := 0; i < 50; i++ {
			if d := w.backoff(n); d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, max/2, max)
			}
		}
	}
}

func TestRDNAttributes(t *testing.T) {
	attrs, parent, err := rdnAttributes(`CN=pkid Issuing CA,OU=PKI+L=Leeds,O=Acme\, Ltd,C=GB`)
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 1 || attrs[0].Type != "cn" || string(attrs[0].Values[0]) != "pkid Issuing CA" {
		t.Errorf("leaf %+v", attrs)
	}
	pa, grand, err := rdnAttributes(parent)
	if err != nil || len(pa) != 2 || pa[0].Type != "ou" || pa[1].Type != "l" || !strings.Contains(grand, `Acme\, Ltd`) {
		t.Errorf("parent %q → %+v, %q, %v", parent, pa, grand, err)
	}
}
