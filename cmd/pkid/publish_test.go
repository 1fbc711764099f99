package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/internal/slapdtest"
	"github.com/pkid/pkid/publish"
)

// TestCLIPublishStatus: a target with wrong credentials shows its error in
// `pkid publish status` while the other target is current.
func TestCLIPublishStatus(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	ctx := context.Background()
	issuing := c.Init.CAs[1].ID
	crl, err := c.Service.CRL(ctx, issuing, false)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := caRun(t, "publish", "status", "--dir", c.Dir); code != 0 || out != "" {
		t.Fatalf("status before any publisher ran: exit %d, %q", code, out)
	}

	sl := slapdtest.Start(t, slapdtest.Options{Suffix: "o=pkid", RootDN: "cn=admin,o=pkid"})
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("secret\n"), 0o600)
	os.WriteFile(bad, []byte("guess\n"), 0o600)
	target := func(name, pw string) publish.Target {
		return publish.Target{Name: name, URL: sl.URL, Bind: publish.BindSimple, BindDN: "cn=admin,o=pkid", PasswordFile: pw,
			CAs: []string{issuing}, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	}
	p, err := publish.New(c.Store, []publish.Target{target("directory-a", good), target("directory-b", bad)}, publish.Options{WatchInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(rctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := p.Status()
		if !st[0].LastSuccess.IsZero() && st[1].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publisher did not settle: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	out := caMust(t, "publish", "status", "--dir", c.Dir)
	t.Logf("pkid publish status:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TARGET") {
		t.Fatalf("want a header and two rows:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "directory-a" || f[2] != f[3] || !strings.HasSuffix(lines[1], " -") {
		t.Errorf("current target row: %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "directory-b") || !strings.Contains(lines[2], "invalidCredentials") || !strings.Contains(lines[2], "never") {
		t.Errorf("failing target row: %q", lines[2])
	}

	var rows []publish.CAStatus
	if err := json.Unmarshal([]byte(caMust(t, "publish", "status", "--json", "--dir", c.Dir)), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !rows[0].Current || rows[0].CRLNumber != crl.Number || rows[1].Current || !strings.Contains(rows[1].LastError, "invalidCredentials") || rows[1].LagSeconds <= 0 {
		t.Errorf("JSON rows: %+v", rows)
	}
	cfg := filepath.Join(dir, "serve.json")
	os.WriteFile(cfg, []byte(`{"publish": [{"name": "directory-b", "url": "`+sl.URL+`", "bind": "simple", "bind_dn": "cn=admin,o=pkid", "password_file": "`+bad+`"}]}`), 0o600)
	if out := caMust(t, "publish", "status", "--dir", c.Dir, "--config", cfg); strings.Count(out, "\n") != 2 || !strings.Contains(out, "directory-b") {
		t.Errorf("status --config: want the one configured target:\n%s", out)
	}
	if code, _, errOut := caRun(t, "publish", "--dir", c.Dir); code == 0 || !strings.Contains(errOut, "publish status") {
		t.Errorf("`pkid publish` without status: exit %d, %q", code, errOut)
	}
}
