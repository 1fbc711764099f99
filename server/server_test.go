package server_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store/sqlite"
)

// TestBootstrap: a first run creates the CA with URLs pointing at the
// real listener, the administrator's files (key 0600) and a responder
// certificate per CA; a second run on the same directory creates nothing
// and, the revoked set being unchanged, signs no new CRL.
func TestBootstrap(t *testing.T) {
	f := start(t, "")
	b := f.boot
	if !b.CreatedCA || !b.CreatedAdmin {
		t.Fatalf("first run: CreatedCA=%v CreatedAdmin=%v", b.CreatedCA, b.CreatedAdmin)
	}
	if b.URL != f.url {
		t.Errorf("CA URL %q, want the listener's %q", b.URL, f.url)
	}
	for _, name := range []string{"ca.pem", "chain.pem", "admin.pem", "admin.key.pem", "admin.chain.pem", "ocsp/root.pem", "ocsp/issuing.pem", "ocsp/issuing.key.pem"} {
		fi, err := os.Stat(filepath.Join(f.dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.HasSuffix(name, ".key.pem") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(b.AdminCert)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ca.ParseCertificate(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := admin.OCSPServer; len(got) != 1 || got[0] != f.url+"/ocsp" {
		t.Errorf("admin certificate OCSP %v, want %s/ocsp", got, f.url)
	}
	if got := admin.CRLDistributionPoints; len(got) != 1 || got[0] != f.url+"/crl/issuing.crl" {
		t.Errorf("admin certificate CRL DP %v", got)
	}
	if admin.Subject.CommonName != "admin" || len(admin.ExtKeyUsage) != 1 || admin.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("admin certificate: subject %v, EKU %v", admin.Subject, admin.ExtKeyUsage)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: pool(f.root), Intermediates: pool(f.issuer), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin certificate does not verify: %v", err)
	}
	responder, err := ca.ParseCertificate(must(os.ReadFile(filepath.Join(f.dir, "ocsp", "issuing.pem"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(responder.ExtKeyUsage) != 1 || responder.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning || responder.CheckSignatureFrom(f.issuer) != nil {
		t.Errorf("responder certificate: EKU %v, signature %v", responder.ExtKeyUsage, responder.CheckSignatureFrom(f.issuer))
	}
	crl1, err := f.crl()
	if err != nil {
		t.Fatal(err)
	}
	f.stop()

	g := start(t, f.dir)
	if g.boot.CreatedCA || g.boot.CreatedAdmin {
		t.Errorf("second run created again: CreatedCA=%v CreatedAdmin=%v", g.boot.CreatedCA, g.boot.CreatedAdmin)
	}
	crl2, err := g.crl()
	if err != nil {
		t.Fatal(err)
	}
	if crl1.Number.Cmp(crl2.Number) != 0 {
		t.Errorf("an idle restart signed a new CRL: number %v, then %v", crl1.Number, crl2.Number)
	}
	again, err := ca.ParseCertificate(must(os.ReadFile(filepath.Join(f.dir, "ocsp", "issuing.pem"))))
	if err != nil || !again.Equal(responder) {
		t.Errorf("the restart replaced a responder certificate that was not due for renewal")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// TestEndpoints: CA certificates and CRLs at the URLs ca writes into
// certificates, DER and PEM with their media types; unknown CAs 404;
// wrong methods 405; HEAD; /healthz and /metrics.
func TestEndpoints(t *testing.T) {
	f := start(t, "")
	// The change-feed watcher catches up with the bootstrap's own changes
	// asynchronously; /healthz reports the revision it has applied.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body := f.do("GET", "/healthz", nil)
		var h server.Health
		if json.Unmarshal(body, &h) == nil && h.Revision >= 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("/healthz never reported a change-feed revision: %s", body)
		}
	}
	issPath := strings.TrimPrefix(ca.CAIssuersURL(f.url, "issuing"), f.url)
	crlPath := strings.TrimPrefix(ca.CRLURL(f.url, "issuing"), f.url)
	for _, tc := range []struct {
		name, method, path string
		code               int
		ctype              string
		check              func(t *testing.T, body []byte)
	}{
		{"CA certificate DER", "GET", issPath, 200, "application/pkix-cert", func(t *testing.T, b []byte) {
			if c, err := x509.ParseCertificate(b); err != nil || !c.Equal(f.issuer) {
				t.Errorf("not the issuing CA: %v", err)
			}
		}},
		{"CA certificate PEM", "GET", "/ca/issuing.pem", 200, "application/x-pem-file", func(t *testing.T, b []byte) {
			if blk, _ := pem.Decode(b); blk == nil || blk.Type != "CERTIFICATE" || string(blk.Bytes) != string(f.issuer.Raw) {
				t.Errorf("not the issuing CA in PEM: %q", b)
			}
		}},
		{"root certificate", "GET", "/ca/root.der", 200, "application/pkix-cert", nil},
		{"CRL DER", "GET", crlPath, 200, "application/pkix-crl", func(t *testing.T, b []byte) {
			crl, err := x509.ParseRevocationList(b)
			if err != nil || crl.CheckSignatureFrom(f.issuer) != nil {
				t.Errorf("CRL does not parse or verify: %v", err)
			}
		}},
		{"CRL PEM", "GET", "/crl/issuing.pem", 200, "application/x-pem-file", func(t *testing.T, b []byte) {
			if blk, _ := pem.Decode(b); blk == nil || blk.Type != "X509 CRL" {
				t.Errorf("not a PEM CRL: %q", b)
			}
		}},
		{"root CRL", "GET", "/crl/root.crl", 200, "application/pkix-crl", nil},
		{"HEAD CRL", "HEAD", crlPath, 200, "application/pkix-crl", func(t *testing.T, b []byte) {
			if len(b) != 0 {
				t.Errorf("HEAD returned %d body bytes", len(b))
			}
		}},
		{"unknown CA certificate", "GET", "/ca/nope.der", 404, "", nil},
		{"unknown CA CRL", "GET", "/crl/nope.crl", 404, "", func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), "issuing") {
				t.Errorf("404 does not name the CAs: %q", b)
			}
		}},
		{"no delta CRLs", "GET", "/crl/issuing-delta.crl", 404, "", nil},
		{"unknown path", "GET", "/nothing", 404, "", nil},
		{"index", "GET", "/", 200, "text/plain", func(t *testing.T, b []byte) {
			for _, want := range []string{f.url + "/ocsp", f.url + "/crl/issuing.crl", f.url + "/ca/root.der", "/healthz"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("index lacks %s:\n%s", want, b)
				}
			}
		}},
		{"POST CRL", "POST", crlPath, 405, "", nil},
		{"DELETE CA", "DELETE", issPath, 405, "", nil},
		{"PUT OCSP", "PUT", "/ocsp", 405, "", nil},
		{"healthz", "GET", "/healthz", 200, "application/json", func(t *testing.T, b []byte) {
			var h server.Health
			if err := json.Unmarshal(b, &h); err != nil {
				t.Fatal(err)
			}
			if h.Status != "ok" || h.Store != "ok" || len(h.CAs) != 2 || h.CAs[1].CRLNumber < 1 || !h.CAs[1].OCSP || h.Revision < 1 {
				t.Errorf("health %+v", h)
			}
		}},
		{"metrics", "GET", "/metrics", 200, "text/plain", func(t *testing.T, b []byte) {
			for _, name := range []string{"pkid_http_requests_total", "pkid_crl_generations_total", "pkid_revocation_propagation_seconds", "pkid_change_feed_revision"} {
				if !strings.Contains(string(b), name) {
					t.Errorf("metrics lack %s", name)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(tc.method, tc.path, nil)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s: HTTP %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.code, body)
			}
			if tc.code == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if ct := resp.Header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// TestConditionalGET: ETag and Last-Modified answer 304 until a
// revocation changes the CRL.
func TestConditionalGET(t *testing.T) {
	f := start(t, "")
	resp, _ := f.get("/crl/issuing.crl")
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" || resp.Header.Get("Expires") == "" {
		t.Fatalf("CRL headers: %v", resp.Header)
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		code int
	}{
		{"If-None-Match", []string{"If-None-Match", etag}, 304},
		{"If-Modified-Since", []string{"If-Modified-Since", lm}, 304},
		{"other ETag", []string{"If-None-Match", `"other"`}, 200},
		{"older date", []string{"If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp, _ := f.get("/crl/issuing.crl", tc.hdr...); resp.StatusCode != tc.code {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tc.code)
			}
		})
	}
	caResp, _ := f.get("/ca/issuing.der")
	if resp, _ := f.get("/ca/issuing.der", "If-None-Match", caResp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("CA certificate If-None-Match: HTTP %d", resp.StatusCode)
	}

	iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=conditional"})
	if _, err := f.srv.Service().Revoke(context.Background(), iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.waitRevoked(iss.Certificate.SerialNumber, time.Now(), 10*time.Second)
	for _, hdr := range [][]string{{"If-None-Match", etag}, {"If-Modified-Since", lm}} {
		resp, body := f.get("/crl/issuing.crl", hdr...)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s after a revocation: HTTP %d", hdr[0], resp.StatusCode)
		}
	}
}

// TestBadRequests: a client that sends its headers too slowly is cut off
// by ReadHeaderTimeout; oversized headers are 431; an oversized OCSP body
// is 413; garbage OCSP is malformedRequest.
func TestBadRequests(t *testing.T) {
	f := start(t, "")
	addr := strings.TrimPrefix(f.url, "http://")

	t.Run("slow headers", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /crl/issuing.crl HTTP/1.1\r\nHost: x\r\n") // never finished
		began := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("slow client held the connection %v", d)
		}
	})
	t.Run("huge header", func(t *testing.T) {
		resp, _ := f.get("/crl/issuing.crl", "X-Big", strings.Repeat("a", 64<<10))
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("HTTP %d, want 431", resp.StatusCode)
		}
	})
	t.Run("huge OCSP body", func(t *testing.T) {
		resp, _ := f.do("POST", "/ocsp", make([]byte, 1<<20), "Content-Type", "application/ocsp-request")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP %d, want 413", resp.StatusCode)
		}
	})
	t.Run("garbage OCSP", func(t *testing.T) {
		resp, body := f.do("POST", "/ocsp", []byte("garbage"), "Content-Type", "application/ocsp-request")
		// OCSPResponse { responseStatus malformedRequest (1) }
		if resp.StatusCode != 200 || string(body) != "\x30\x03\x0a\x01\x01" {
			t.Errorf("HTTP %d, body % x; want malformedRequest", resp.StatusCode, body)
		}
	})
	t.Run("pipelined keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "HEAD /ca/root.der HTTP/1.1\r\nHost: x\r\n\r\nHEAD /crl/root.crl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		r := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			resp, err := http.ReadResponse(r, &http.Request{Method: "HEAD"})
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("response %d: %v %v", i, err, resp)
			}
		}
	})
}

// TestLoopbackOnly: a non-loopback address is refused unless allowed.
func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true}, {"127.1.2.3:1", true},
		{":8080", false}, {"0.0.0.0:8080", false}, {"[::]:8080", false}, {"192.0.2.1:8080", false}, {"example.org:80", false}, {"garbage", false},
	} {
		if got := server.IsLoopback(tc.addr); got != tc.ok {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.addr, got, tc.ok)
		}
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = server.New(server.Config{Dir: t.TempDir(), Store: st, HTTPAddr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "--listen-any") {
		t.Fatalf("0.0.0.0 without AllowRemote: %v", err)
	}
	if cas, _ := st.CAs(context.Background()); len(cas) != 0 {
		t.Errorf("a refused start created %d CAs", len(cas))
	}
}

// TestConfigFile: the JSON config file, and its errors.
func TestConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name, in, err string
		want          server.File
	}{
		{"full", `{"dir": "/d", "http": "127.0.0.1:9", "allow_remote": true, "url": "http://x:9", "log_format": "json", "log_level": "debug"}`, "",
			server.File{Dir: "/d", HTTP: "127.0.0.1:9", AllowRemote: true, URL: "http://x:9", LogFormat: "json", LogLevel: "debug"}},
		{"empty object", `{}`, "", server.File{}},
		{"hybrid resumption", `{"tls_hybrid_resumption": true}`, "", server.File{TLSHybridResumption: true}},
		{"unknown key", `{"htttp": "x"}`, "unknown field", server.File{}},
		{"unknown key lists every key", `{"htttp": "x"}`, "keys: dir, store, http, ldap, ldaps, allow_remote, url, key_type, log_format, log_level, publish, certmap, tls_hybrid_resumption)", server.File{}},
		{"syntax", "{\n\"dir\": }", "line 2", server.File{}},
		{"two values", `{} {}`, "more than one", server.File{}},
		{"bad level", `{"log_level": "loud"}`, "log level", server.File{}},
		{"bad format", `{"log_format": "xml"}`, "log_format", server.File{}},
		{"publish", `{"publish": [{"name": "corp", "url": "ldap://h", "bind": "simple", "bind_dn": "cn=a", "password_file": "/p", "timeout": "3s"}]}`, "",
			server.File{Publish: []publish.Target{{Name: "corp", URL: "ldap://h", Bind: "simple", BindDN: "cn=a", PasswordFile: "/p", Timeout: 3 * time.Second}}}},
		{"publish bad bind", `{"publish": [{"name": "corp", "url": "ldap://h", "bind": "kerberos"}]}`, "bind must be", server.File{}},
		{"publish unknown key", `{"publish": [{"name": "corp", "uri": "ldap://h"}]}`, "unknown field", server.File{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := server.ParseFile("test.json", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestShutdown: Shutdown stops Serve promptly, and the port is free again.
func TestShutdown(t *testing.T) {
	f := start(t, "")
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Shutdown took %v", time.Since(began))
	if _, err := http.Get(f.url + "/healthz"); err == nil {
		t.Errorf("still answering after Shutdown")
	}
}

// TestHealthStoreDown: /healthz says 503 when the store cannot be read.
func TestHealthStoreDown(t *testing.T) {
	f := start(t, "")
	if resp, _ := f.get("/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthy server: HTTP %d", resp.StatusCode)
	}
	f.st.Close()
	resp, body := f.get("/healthz")
	var h server.Health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || h.Status != "unavailable" || h.Store == "ok" {
		t.Errorf("store closed: HTTP %d, %+v", resp.StatusCode, h)
	}
}

// TestExistingCA: a data directory made by `pkid init` without --url,
// with encrypted keys, is served with the passphrase (CRLs at the root
// paths); without it New fails with a sentence naming the passphrase.
func TestExistingCA(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{Passphrase: "s3cret"})
	c.Service.Close()
	_, err := server.New(server.Config{Dir: c.Dir, Store: c.Store, HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("encrypted CA without a passphrase: %v", err)
	}
	f := start(t, c.Dir, func(cfg *server.Config) {
		cfg.Passphrase = func() ([]byte, error) { return []byte("s3cret"), nil }
	})
	if f.boot.CreatedCA || !f.boot.CreatedAdmin {
		t.Errorf("CreatedCA=%v CreatedAdmin=%v; want only the admin certificate", f.boot.CreatedCA, f.boot.CreatedAdmin)
	}
	if _, err := f.crl(); err != nil {
		t.Errorf("CRL at the root path: %v", err)
	}
}
