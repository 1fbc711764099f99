package ocsp

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

func do(t testing.TB, h http.Handler, method, target, contentType string, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func ocspStatus(t testing.TB, body []byte) ResponseStatus {
	t.Helper()
	in := cryptobyte.String(body)
	var seq cryptobyte.String
	var st int
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Enum(&st) {
		t.Fatalf("body is not an OCSPResponse: %x", body)
	}
	return ResponseStatus(st)
}

func TestHTTPPost(t *testing.T) {
	f := newFixture(t, "p256", func(c *Config) { c.MaxRequestBytes = 4096 })
	good := request(t, f.ca1, crypto.SHA1, f.good)
	big := buildRequest(reqSpec{certIDs: repeat(certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber), 90)})
	for _, tt := range []struct {
		name, path, ct string
		body           []byte
		code           int
		status         ResponseStatus
	}{
		{"good", "/ocsp", ContentTypeRequest, good, 200, Successful},
		{"trailing slash", "/ocsp/", ContentTypeRequest, good, 200, Successful},
		{"no content type", "/ocsp", "", good, 200, Successful},
		{"content type with parameter", "/ocsp", ContentTypeRequest + "; charset=binary", good, 200, Successful},
		{"wrong content type", "/ocsp", "application/x-www-form-urlencoded", good, 415, -1},
		{"garbage", "/ocsp", ContentTypeRequest, []byte("garbage"), 200, MalformedRequest},
		{"truncated", "/ocsp", ContentTypeRequest, good[:len(good)-3], 200, MalformedRequest},
		{"empty body", "/ocsp", ContentTypeRequest, []byte{}, 200, MalformedRequest},
		{"over the size limit", "/ocsp", ContentTypeRequest, append(big, make([]byte, 4096)...), 413, -1},
		{"other path", "/crl", ContentTypeRequest, good, 404, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, f.r, "POST", tt.path, tt.ct, tt.body, nil)
			if w.Code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.status < 0 {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != ContentTypeResponse {
				t.Errorf("Content-Type %q", ct)
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %q for %d bytes", cl, w.Body.Len())
			}
			if st := ocspStatus(t, w.Body.Bytes()); st != tt.status {
				t.Errorf("OCSP status %v, want %v", st, tt.status)
			}
		})
	}
	// A chunked body without Content-Length is cut at the limit too.
	req := httptest.NewRequest("POST", "/ocsp", io.MultiReader(bytes.NewReader(make([]byte, 5000))))
	req.ContentLength = -1
	w := httptest.NewRecorder()
	f.r.ServeHTTP(w, req)
	if w.Code != 413 {
		t.Errorf("chunked oversized body: HTTP %d", w.Code)
	}
	if w := do(t, f.r, "PUT", "/ocsp", ContentTypeRequest, good, nil); w.Code != 405 || w.Header().Get("Allow") == "" {
		t.Errorf("PUT: HTTP %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if n := f.metrics.count(ResultRejected); n != 5 {
		t.Errorf("%d rejections counted, want 5", n)
	}
}

func TestHTTPGet(t *testing.T) {
	f := newFixture(t, "p256", nil)
	der := request(t, f.ca1, crypto.SHA1, f.revoked)
	std := base64.StdEncoding.EncodeToString(der)
	// A request whose base64 has '+' and '/' makes the escaping cases real.
	for i := 0; !strings.Contains(std, "+") && i < 200; i++ {
		f.revoked = f.ca1.leaf(t, "revoked")
		f.db.set(f.ca1.name, f.revoked.SerialNumber, Status{Status: Revoked, RevokedAt: f.revokedAt, Reason: 1})
		der = request(t, f.ca1, crypto.SHA1, f.revoked)
		std = base64.StdEncoding.EncodeToString(der)
	}
	t.Logf("base64 request: %s", std)
	for _, tt := range []struct {
		name, path string
	}{
		{"URL-escaped", "/ocsp/" + url.PathEscape(std)},
		{"query-escaped", "/ocsp/" + url.QueryEscape(std)},
		{"unescaped", "/ocsp/" + std},
		{"no padding", "/ocsp/" + strings.TrimRight(std, "=")},
		{"plus turned into space", "/ocsp/" + strings.ReplaceAll(url.PathEscape(std), "+", "%20")},
		{"URL-safe alphabet", "/ocsp/" + base64.RawURLEncoding.EncodeToString(der)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://x"+tt.path, nil)
			w := httptest.NewRecorder()
			f.r.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("HTTP %d: %x", w.Code, w.Body.Bytes())
			}
			resp := parseFor(t, w.Body.Bytes(), f.revoked, f.ca1)
			if resp.Status != xocsp.Revoked {
				t.Fatalf("status %d", resp.Status)
			}
			h := w.Header()
			if h.Get("Content-Type") != ContentTypeResponse || h.Get("ETag") == "" {
				t.Errorf("headers %v", h)
			}
			if lm, _ := http.ParseTime(h.Get("Last-Modified")); !lm.Equal(resp.ThisUpdate) {
				t.Errorf("Last-Modified %q, thisUpdate %v", h.Get("Last-Modified"), resp.ThisUpdate)
			}
			if ex, _ := http.ParseTime(h.Get("Expires")); !ex.Equal(resp.NextUpdate) {
				t.Errorf("Expires %q, nextUpdate %v", h.Get("Expires"), resp.NextUpdate)
			}
			cc := h.Get("Cache-Control")
			var age int
			if _, err := fmtSscanf(cc, &age); err != nil || !strings.HasSuffix(cc, ", public, no-transform, must-revalidate") {
				t.Fatalf("Cache-Control %q", cc)
			}
			if left := time.Until(resp.NextUpdate); time.Duration(age)*time.Second > left+time.Second || time.Duration(age)*time.Second < left-5*time.Second {
				t.Errorf("max-age=%d, but nextUpdate is %v away", age, left)
			}
		})
	}

	w := do(t, f.r, "GET", "/ocsp/"+url.PathEscape(std), "", nil, nil)
	etag, lm := w.Header().Get("ETag"), w.Header().Get("Last-Modified")
	for _, tt := range []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match list", map[string]string{"If-None-Match": `"x", ` + etag}, 304},
		{"If-None-Match other", map[string]string{"If-None-Match": `"other"`}, 200},
		{"If-Modified-Since thisUpdate", map[string]string{"If-Modified-Since": lm}, 304},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": time.Unix(0, 0).UTC().Format(http.TimeFormat)}, 200},
		{"If-None-Match wins", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lm}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, f.r, "GET", "/ocsp/"+url.PathEscape(std), "", nil, tt.hdr)
			if w.Code != tt.code {
				t.Errorf("HTTP %d, want %d", w.Code, tt.code)
			}
			if tt.code == 304 && (w.Body.Len() != 0 || w.Header().Get("ETag") != etag) {
				t.Errorf("304 with body %d bytes, ETag %q", w.Body.Len(), w.Header().Get("ETag"))
			}
		})
	}

	for _, tt := range []struct {
		name, path string
		code       int
		status     ResponseStatus
	}{
		{"bad base64", "/ocsp/%21%21not-base64%21%21", 400, MalformedRequest},
		{"bad escape", "/ocsp/MEow%25zz", 400, MalformedRequest},
		{"empty", "/ocsp/", 400, MalformedRequest},
		{"base64 of garbage", "/ocsp/" + base64.StdEncoding.EncodeToString([]byte("garbage")), 200, MalformedRequest},
		{"unknown issuer", "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, nil, make([]byte, 20), make([]byte, 20), f.good.SerialNumber)}}))), 200, Unauthorized},
		{"mount point itself", "/ocsp", 404, -1},
		{"elsewhere", "/other/" + url.PathEscape(std), 404, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, f.r, "GET", tt.path, "", nil, nil)
			if w.Code != tt.code {
				t.Fatalf("HTTP %d, want %d", w.Code, tt.code)
			}
			if tt.status >= 0 {
				if st := ocspStatus(t, w.Body.Bytes()); st != tt.status {
					t.Errorf("OCSP status %v, want %v", st, tt.status)
				}
				if w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("error response cacheable: %q", w.Header().Get("Cache-Control"))
				}
			}
		})
	}
}

func fmtSscanf(cc string, age *int) (int, error) {
	rest, ok := strings.CutPrefix(cc, "max-age=")
	if !ok {
		return 0, io.ErrUnexpectedEOF
	}
	n, _, _ := strings.Cut(rest, ",")
	v, err := strconv.Atoi(n)
	*age = v
	return 1, err
}

func TestHTTPMaxAge(t *testing.T) {
	f := newFixture(t, "p256", func(c *Config) { c.MaxAge = time.Minute })
	der := request(t, f.ca1, crypto.SHA1, f.good)
	w := do(t, f.r, "GET", "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(der)), "", nil, nil)
	if cc := w.Header().Get("Cache-Control"); cc != "max-age=60, public, no-transform, must-revalidate" {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestHTTPRootPrefix(t *testing.T) {
	f := newFixture(t, "p256", func(c *Config) { c.Prefix = "/" })
	der := request(t, f.ca1, crypto.SHA256, f.good)
	if w := do(t, f.r, "POST", "/", ContentTypeRequest, der, nil); w.Code != 200 || ocspStatus(t, w.Body.Bytes()) != Successful {
		t.Errorf("POST /: HTTP %d", w.Code)
	}
	if w := do(t, f.r, "GET", "/"+url.PathEscape(base64.StdEncoding.EncodeToString(der)), "", nil, nil); w.Code != 200 {
		t.Errorf("GET /<b64>: HTTP %d", w.Code)
	}
}

func TestHTTPNonceNotCacheable(t *testing.T) {
	f := newFixture(t, "p256", nil)
	id := certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber)
	der := buildRequest(reqSpec{certIDs: [][]byte{id}, exts: [][]byte{extension(oidNonce, false, octetString([]byte("0123456789abcdef")))}})
	w := do(t, f.r, "GET", "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(der)), "", nil, nil)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("ETag") != "" {
		t.Errorf("nonce GET: HTTP %d, headers %v", w.Code, w.Header())
	}
}

// TestServerSlowClient: NewServer's ReadHeaderTimeout closes a connection
// whose request headers never finish (the handler cannot see it).
func TestServerSlowClient(t *testing.T) {
	f := newFixture(t, "p256", nil)
	srv := NewServer(f.r)
	if srv.ReadHeaderTimeout != ReadHeaderTimeout || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes != MaxHeaderBytes {
		t.Fatalf("NewServer timeouts %+v", srv)
	}
	srv.ReadHeaderTimeout = 200 * time.Millisecond // keep the test short
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ocsp/MEow HTTP/1.1\r\nHost: x\r\n") // never finishes the headers
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(c).ReadByte()
	for err == nil {
		_, err = c.Read(make([]byte, 512))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("slow client held the connection for %v (%v)", d, err)
	}

	// And a normal client is served over the real listener.
	der := request(t, f.ca1, crypto.SHA1, f.good)
	resp, err := http.Post("http://"+ln.Addr().String()+"/ocsp", ContentTypeRequest, bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parseFor(t, body, f.good, f.ca1)
}

// TestMount: behind Mount, a GET whose base64 holds "//" reaches the
// responder; a bare ServeMux would redirect it to a cleaned, broken path.
func TestMount(t *testing.T) {
	f := newFixture(t, "p256", nil)
	p, err := prepare(f.ca1.issuer(), testStart)
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	var b64 string
	for i := range 20000 {
		der = buildRequest(reqSpec{certIDs: [][]byte{[]byte(certIDKey(p, crypto.SHA1, oidSHA1, big.NewInt(int64(i)+1<<40), true))}})
		if b64 = base64.StdEncoding.EncodeToString(der); strings.Contains(b64, "//") {
			break
		}
	}
	if !strings.Contains(b64, "//") {
		t.Skip("no request with // in its base64 found")
	}
	mux := http.NewServeMux()
	mux.Handle("/ocsp/", f.r)
	mux.HandleFunc("/crl/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "crl") })
	if w := do(t, mux, "GET", "/ocsp/"+b64, "", nil, nil); w.Code/100 != 3 {
		t.Errorf("ServeMux alone: HTTP %d; if it no longer redirects, Mount is no longer needed", w.Code)
	}
	h := f.r.Mount(mux)
	w := do(t, h, "GET", "/ocsp/"+b64, "", nil, nil)
	if w.Code != 200 || ocspStatus(t, w.Body.Bytes()) != Successful {
		t.Errorf("through Mount: HTTP %d", w.Code)
	}
	if w := do(t, h, "POST", "/ocsp", ContentTypeRequest, der, nil); w.Code != 200 {
		t.Errorf("POST through Mount: HTTP %d", w.Code)
	}
	if w := do(t, h, "GET", "/crl/x", "", nil, nil); w.Body.String() != "crl" {
		t.Errorf("other paths not passed on: %q", w.Body.String())
	}
	if w := do(t, h, "GET", "/ocspx", "", nil, nil); w.Code != 404 {
		t.Errorf("/ocspx: HTTP %d", w.Code)
	}
}

func TestHTTPMetricsAndHead(t *testing.T) {
	f := newFixture(t, "p256", nil)
	der := request(t, f.ca1, crypto.SHA1, f.good)
	get := "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
	do(t, f.r, "POST", "/ocsp", ContentTypeRequest, der, nil) // signed (miss)
	w := do(t, f.r, "GET", get, "", nil, nil)                 // cached
	do(t, f.r, "GET", get, "", nil, map[string]string{"If-None-Match": w.Header().Get("ETag")})
	multi := request(t, f.ca1, crypto.SHA1, f.good, f.revoked)
	mw := do(t, f.r, "GET", "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(multi)), "", nil, nil)
	if !strings.HasPrefix(mw.Header().Get("Cache-Control"), "max-age=") || mw.Header().Get("Expires") == "" {
		t.Errorf("multi-certificate GET headers %v", mw.Header())
	}
	do(t, f.r, "POST", "/ocsp", ContentTypeRequest, []byte{0x30, 0}, nil)
	h := do(t, f.r, "HEAD", get, "", nil, nil)
	if h.Code != 200 || h.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Errorf("HEAD: %d, Content-Length %q", h.Code, h.Header().Get("Content-Length"))
	}
	for res, want := range map[Result]int{ResultSigned: 2, ResultCached: 2, ResultNotModified: 1, ResultMalformed: 1} {
		if got := f.metrics.count(res); got != want {
			t.Errorf("%s counted %d times, want %d", res, got, want)
		}
	}
	if f.metrics.signed.Load() != 2 {
		t.Errorf("%d signatures, want 2 (the miss and the two-certificate request)", f.metrics.signed.Load())
	}
}
