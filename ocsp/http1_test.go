package ocsp

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// leanEnv runs the same fixture behind net/http (NewServer) and behind a
// LeanServer whose fallback is NewServer, each on 127.0.0.1.
type leanEnv struct {
	f            *fixture
	std, lean    string // addresses
	srv          *LeanServer
	served       atomic.Int64
	fallbackHits atomic.Int64
}

func newLeanEnv(t *testing.T, mod func(*Config)) *leanEnv {
	t.Helper()
	e := &leanEnv{f: newFixture(t, "p256", mod)}
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	std := NewServer(e.f.r)
	go std.Serve(ln1)
	t.Cleanup(func() { std.Close() })
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.fallbackHits.Add(1)
		e.f.r.ServeHTTP(w, r)
	}))
	e.srv = NewLeanServer(e.f.r, fb)
	e.srv.Served = func(code int) { e.served.Add(1) }
	go e.srv.Serve(ln2)
	t.Cleanup(func() { e.srv.Close() })
	e.std, e.lean = ln1.Addr().String(), ln2.Addr().String()
	return e
}

// roundTrip writes raw to addr and reads n responses.
func roundTrip(t *testing.T, addr, raw string, n int) []*http.Response {
	var req *http.Request
	if strings.HasPrefix(raw, "HEAD ") {
		req = &http.Request{Method: "HEAD"}
	}
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for range n {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("response %d of %q: %v", len(out)+1, raw, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, resp)
	}
	return out
}

func bodyOf(r *http.Response) []byte { b, _ := io.ReadAll(r.Body); return b }

// TestLeanServerMatchesNetHTTP: for every kind of request, the lean loop
// (or the net/http fallback it hands over to) answers exactly as net/http
// alone does: status, headers (but Date) and body, and the requests it
// must leave to net/http reach the fallback.
func TestLeanServerMatchesNetHTTP(t *testing.T) {
	e := newLeanEnv(t, func(c *Config) { c.MaxRequestBytes = 4096 })
	f := e.f
	der := request(t, f.ca1, crypto.SHA1, f.revoked)
	std := base64.StdEncoding.EncodeToString(der)
	for i := 0; !strings.Contains(std, "+") && i < 200; i++ {
		f.revoked = f.ca1.leaf(t, "revoked")
		f.db.set(f.ca1.name, f.revoked.SerialNumber, Status{Status: Revoked, RevokedAt: f.revokedAt, Reason: 1})
		der = request(t, f.ca1, crypto.SHA1, f.revoked)
		std = base64.StdEncoding.EncodeToString(der)
	}
	good := request(t, f.ca1, crypto.SHA1, f.good)
	multi := request(t, f.ca1, crypto.SHA1, f.good, f.revoked)
	nonce := buildRequest(reqSpec{certIDs: [][]byte{certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber)},
		exts: [][]byte{extension(oidNonce, false, octetString([]byte("0123456789abcdef")))}})
	post := func(path, extra string, body []byte) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	}
	get := func(path, extra string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n" }
	// Prime the cache so that both servers serve the same pre-signed bytes.
	for _, d := range [][]byte{der, good} {
		if _, st := f.r.Respond(context.Background(), d); st != Successful {
			t.Fatal(st)
		}
	}
	etag := roundTrip(t, e.std, get("/ocsp/"+url.PathEscape(std), ""), 1)[0].Header.Get("Etag")

	for _, tt := range []struct {
		name     string
		raw      string
		lean     bool // answered by the loop, not the fallback
		signed   bool // signed per request: compare OCSP status, not bytes
		closeEnd bool // the connection closes after the response
	}{
		{"GET URL-escaped", get("/ocsp/"+url.PathEscape(std), ""), true, false, false},
		{"GET query-escaped", get("/ocsp/"+url.QueryEscape(std), ""), true, false, false},
		{"GET unescaped", get("/ocsp/"+std, ""), true, false, false},
		{"GET double-escaped", get("/ocsp/"+url.QueryEscape(url.QueryEscape(std)), ""), true, false, false},
		{"GET URL-safe alphabet", get("/ocsp/"+base64.RawURLEncoding.EncodeToString(der), ""), true, false, false},
		{"GET bad base64", get("/ocsp/%21%21not-base64%21%21", ""), true, false, false},
		{"GET empty", get("/ocsp/", ""), true, false, false},
		{"GET several CertIDs", get("/ocsp/"+url.QueryEscape(base64.StdEncoding.EncodeToString(multi)), ""), true, true, false},
		{"GET nonce", get("/ocsp/"+url.QueryEscape(base64.StdEncoding.EncodeToString(nonce)), ""), true, true, false},
		{"GET Connection close", get("/ocsp/"+std, "Connection: close\r\n"), true, false, true},
		{"GET other headers", get("/ocsp/"+std, "User-Agent: t\r\nAccept: */*\r\nConnection: keep-alive\r\n"), true, false, false},
		{"POST", post("/ocsp", "Content-Type: application/ocsp-request\r\n", good), true, false, false},
		{"POST trailing slash", post("/ocsp/", "", good), true, false, false},
		{"POST garbage", post("/ocsp", "", []byte("garbage")), true, false, false},
		{"POST empty", post("/ocsp", "", nil), true, false, false},
		{"POST nonce", post("/ocsp", "", nonce), true, true, false},
		{"GET If-None-Match", get("/ocsp/"+std, "If-None-Match: "+etag+"\r\n"), false, false, false},
		{"GET If-Modified-Since", get("/ocsp/"+std, "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\n"), false, false, false},
		{"HEAD", "HEAD /ocsp/" + std + " HTTP/1.1\r\nHost: x\r\n\r\n", false, false, false},
		{"HTTP/1.0", "GET /ocsp/" + std + " HTTP/1.0\r\n\r\n", false, false, true},
		{"no Host", "GET /ocsp/" + std + " HTTP/1.1\r\n\r\n", false, false, true},
		{"two Hosts", get("/ocsp/"+std, "Host: y\r\n"), false, false, true},
		{"mount point", get("/ocsp", ""), false, false, false},
		{"elsewhere", get("/crl/x.crl", ""), false, false, false},
		{"query", get("/ocsp/"+std+"?x=1", ""), false, false, false},
		{"bad escape", get("/ocsp/MEow%zz", ""), false, false, true},
		{"POST wrong type", post("/ocsp", "Content-Type: text/plain\r\n", good), false, false, false},
		{"POST type parameter", post("/ocsp", "Content-Type: application/ocsp-request; charset=binary\r\n", good), false, false, false},
		{"POST too large", post("/ocsp", "", make([]byte, 5000)), false, false, false},
		{"POST chunked", "POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(good)), 16) + "\r\n" + string(good) + "\r\n0\r\n\r\n", false, false, false},
		{"PUT", "PUT /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false, false, false},
		{"bare LF", "GET /ocsp/" + std + " HTTP/1.1\nHost: x\n\n", false, false, false},
		{"folded header", get("/ocsp/"+std, "X-A: 1\r\n b\r\n"), false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served, hits := e.served.Load(), e.fallbackHits.Load()
			want := roundTrip(t, e.std, tt.raw, 1)[0]
			got := roundTrip(t, e.lean, tt.raw, 1)[0]
			if dl, dh := e.served.Load()-served, e.fallbackHits.Load()-hits; tt.lean && (dl != 1 || dh != 0) || !tt.lean && dl != 0 {
				t.Errorf("lean loop served %d, fallback %d; want the loop: %v", dl, dh, tt.lean)
			}
			if got.StatusCode != want.StatusCode {
				t.Fatalf("HTTP %d, net/http says %d", got.StatusCode, want.StatusCode)
			}
			gb, wb := bodyOf(got), bodyOf(want)
			if tt.signed {
				if ocspStatus(t, gb) != ocspStatus(t, wb) {
					t.Errorf("OCSP status %v, net/http's %v", ocspStatus(t, gb), ocspStatus(t, wb))
				}
			} else if !bytes.Equal(gb, wb) {
				t.Errorf("body %q, net/http's %q", gb, wb)
			}
			if closeMaxAge(got.Header.Get("Cache-Control"), want.Header.Get("Cache-Control")) {
				// The two answers straddled a second.
				got.Header.Del("Cache-Control")
				want.Header.Del("Cache-Control")
			}
			for _, h := range []http.Header{got.Header, want.Header} {
				if tt.lean && h.Get("Date") == "" {
					t.Errorf("no Date header: %v", h)
				}
				h.Del("Date")
				if tt.signed {
					h.Del("Content-Length")
					h.Del("Cache-Control") // max-age may differ by a second
				}
			}
			if !equalHeaders(got.Header, want.Header) {
				t.Errorf("headers\n%v\nnet/http's\n%v", got.Header, want.Header)
			}
			if got.Close != want.Close || tt.closeEnd && !got.Close {
				t.Errorf("close: lean %v, net/http %v, want %v", got.Close, want.Close, tt.closeEnd)
			}
		})
	}
}

// closeMaxAge reports whether two Cache-Control values are the same but
// for a max-age one second apart.
func closeMaxAge(a, b string) bool {
	age := func(v string) (int, string, bool) {
		n, rest, ok := strings.Cut(strings.TrimPrefix(v, "max-age="), ",")
		i, err := strconv.Atoi(n)
		return i, rest, ok && err == nil && strings.HasPrefix(v, "max-age=")
	}
	x, xr, ok1 := age(a)
	y, yr, ok2 := age(b)
	return ok1 && ok2 && xr == yr && (x-y == 1 || y-x == 1)
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// TestLeanServerKeepAlive: pipelined and sequential requests on one
// connection are all answered by the loop, and a request it hands off
// leaves the rest of that connection (pipelined bytes included) to
// net/http, which answers them correctly.
func TestLeanServerKeepAlive(t *testing.T) {
	e := newLeanEnv(t, nil)
	f := e.f
	good := request(t, f.ca1, crypto.SHA1, f.good)
	revoked := request(t, f.ca1, crypto.SHA1, f.revoked)
	post := func(body []byte) string {
		return "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	}
	raw := post(good) + post(revoked) + "GET /ocsp/" + base64.StdEncoding.EncodeToString(good) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	resps := roundTrip(t, e.lean, raw, 3)
	for i, want := range []*[]byte{&good, &revoked, &good} {
		cert := f.good
		if want == &revoked {
			cert = f.revoked
		}
		if resps[i].StatusCode != 200 {
			t.Fatalf("response %d: HTTP %d", i, resps[i].StatusCode)
		}
		parseFor(t, bodyOf(resps[i]), cert, f.ca1)
	}
	if n := e.served.Load(); n != 3 {
		t.Errorf("loop served %d, want 3", n)
	}

	// A PUT in the middle: it and everything after it go to net/http.
	raw = post(good) + "PUT /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + post(revoked)
	resps = roundTrip(t, e.lean, raw, 3)
	if resps[0].StatusCode != 200 || resps[1].StatusCode != 405 || resps[2].StatusCode != 200 {
		t.Fatalf("HTTP %d, %d, %d; want 200, 405, 200", resps[0].StatusCode, resps[1].StatusCode, resps[2].StatusCode)
	}
	parseFor(t, bodyOf(resps[2]), f.revoked, f.ca1)
	if n, h := e.served.Load(), e.fallbackHits.Load(); n != 4 || h != 2 {
		t.Errorf("loop served %d, fallback %d; want 4 and 2", n, h)
	}

	// A Go client over keep-alive: one connection, every request in the loop.
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	var conns atomic.Int64
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conns.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for i := range 50 {
		d, cert := good, f.good
		if i%2 == 1 {
			d, cert = revoked, f.revoked
		}
		resp, err := cl.Post("http://"+e.lean+"/ocsp", ContentTypeRequest, bytes.NewReader(d))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		parseFor(t, b, cert, f.ca1)
	}
	if conns.Load() != 1 || e.served.Load() != 54 {
		t.Errorf("%d connections, %d served by the loop; want 1 and 54", conns.Load(), e.served.Load())
	}
}

// TestLeanServerTimeouts: the loop times connections out as net/http
// does, each case run against both: a client that never finishes its
// request head is cut off ReadHeaderTimeout after it connected, one that
// never sends its whole body gets 408 ReadTimeout after it connected, and
// an idle keep-alive connection closes IdleTimeout after its last
// response — not earlier, although an earlier deadline (the header
// deadline of a head that came in pieces) fires meanwhile, and not later,
// although no other traffic wakes the server, and the clock restarts
// with each response.
func TestLeanServerTimeouts(t *testing.T) {
	f := newFixture(t, "p256", nil)
	const rht, rt, it = 200 * time.Millisecond, 300 * time.Millisecond, 1500 * time.Millisecond
	timeouts := func(s *http.Server) *http.Server {
		s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout = rht, rt, it
		return s
	}
	lean := NewLeanServer(f.r, timeouts(NewServer(f.r)))
	std := timeouts(NewServer(f.r))
	servers := map[string]string{}
	for name, srv := range map[string]interface{ Serve(net.Listener) error }{"lean": lean, "net/http": std} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		servers[name] = ln.Addr().String()
	}
	t.Cleanup(func() { lean.Close(); std.Close() }) // after the parallel subtests
	good := string(request(t, f.ca1, crypto.SHA1, f.good))
	post := "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(good)) + "\r\n\r\n" + good
	const slack = time.Second // a loaded machine may close late, never early
	for _, tt := range []struct {
		name   string
		pieces []string // written 100 ms apart
		codes  []int    // the responses before the close
		min    time.Duration
		from   string // the clock starts at "connect" or the "response"
	}{
		{"head never ends", []string{"GET /ocsp/MEow HTTP/1.1\r\nHost: x\r\n"}, nil, rht, "connect"},
		{"idle from the start", nil, nil, rht, "connect"},
		{"body never ends", []string{"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0"}, []int{408}, rt, "connect"},
		{"idle after a request", []string{post}, []int{200}, it, "response"},
		{"idle after a head in pieces", []string{post[:10], post[10:]}, []int{200}, it, "response"},
		{"idle after two requests", []string{post, post}, []int{200, 200}, it, "response"},
	} {
		for name, addr := range servers {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				start := time.Now()
				for i, p := range tt.pieces {
					if i > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					io.WriteString(c, p)
				}
				c.SetReadDeadline(time.Now().Add(it + slack))
				br := bufio.NewReader(c)
				for _, code := range tt.codes {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != code {
						t.Fatalf("HTTP %d, want %d", resp.StatusCode, code)
					}
					if code == 408 {
						if !resp.Close || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
							resp.Header.Get("X-Content-Type-Options") != "nosniff" || string(body) != msgBodyTimeout+"\n" {
							t.Errorf("408 answer: close %v, headers %v, body %q", resp.Close, resp.Header, body)
						}
					}
				}
				if tt.from == "response" {
					start = time.Now()
				}
				_, err = br.ReadByte()
				d := time.Since(start)
				var ne net.Error
				if err == nil || errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection still open after %v: %v", d, err)
				}
				if d < tt.min-20*time.Millisecond || d > tt.min+slack {
					t.Errorf("closed %v after the %s, want %v", d.Round(time.Millisecond), tt.from, tt.min)
				}
			})
		}
	}
}

// TestLeanServerShutdown: Shutdown closes idle connections, lets the
// fallback finish, makes Serve return http.ErrServerClosed, and a
// connection that arrives mid-request still gets its answer.
func TestLeanServerShutdown(t *testing.T) {
	f := newFixture(t, "p256", nil)
	srv := NewLeanServer(f.r, NewServer(f.r))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	good := request(t, f.ca1, crypto.SHA1, f.good)
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	handed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer handed.Close()
	io.WriteString(handed, "HEAD /ocsp/"+base64.StdEncoding.EncodeToString(good)+" HTTP/1.1\r\nHost: x\r\n\r\n")
	handed.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(handed), &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	partial, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	io.WriteString(partial, "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(good))+"\r\n\r\n")
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	time.Sleep(100 * time.Millisecond)
	partial.Write(good) // the request in flight completes
	partial.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(partial), nil)
	if err != nil {
		t.Fatalf("request in flight during Shutdown: %v", err)
	}
	if !resp.Close {
		t.Error("response during Shutdown lacks Connection: close")
	}
	parseFor(t, bodyOf(resp), f.good, f.ca1)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errc; err != http.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	for name, c := range map[string]net.Conn{"idle": idle, "handed off": handed} {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s connection after Shutdown: %v, want EOF", name, err)
		}
	}
}

func BenchmarkLeanServerPost(b *testing.B) {
	f, der := benchFixture(b)
	srv := NewLeanServer(f.r, NewServer(f.r))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	benchConn(b, ln.Addr().String(), "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: "+strconv.Itoa(len(der))+"\r\n\r\n"+string(der))
}

func BenchmarkNetHTTPPost(b *testing.B) {
	f, der := benchFixture(b)
	srv := NewServer(f.r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	benchConn(b, ln.Addr().String(), "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: "+strconv.Itoa(len(der))+"\r\n\r\n"+string(der))
}

// benchConn sends raw over one keep-alive connection b.N times, one at a
// time, reading each response.
func benchConn(b *testing.B, addr, raw string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.WriteString(c, raw); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// TestLeanServerPartialReads: a request that arrives a byte at a time,
// and a body larger than the first read buffer followed by a pipelined
// request, are read whole and answered by the loop.
func TestLeanServerPartialReads(t *testing.T) {
	e := newLeanEnv(t, nil)
	f := e.f
	good := request(t, f.ca1, crypto.SHA1, f.good)
	big := buildRequest(reqSpec{certIDs: repeat(certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber), 90)})
	if len(big) <= 4096 {
		t.Fatalf("big request of %d bytes fits the first buffer", len(big))
	}
	post := func(body []byte) string {
		return "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	}
	c, err := net.Dial("tcp", e.lean)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	raw := post(good)
	for i := range len(raw) {
		if _, err := c.Write([]byte{raw[i]}); err != nil {
			t.Fatal(err)
		}
		if i%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	parseFor(t, bodyOf(resp), f.good, f.ca1)

	io.WriteString(c, post(big)+post(good))
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || ocspStatus(t, b) != Successful {
			t.Fatalf("response %d: HTTP %d, %x", i, resp.StatusCode, b)
		}
	}
	if n := e.served.Load(); n != 3 || e.fallbackHits.Load() != 0 {
		t.Errorf("loop served %d, fallback %d; want 3 and 0", n, e.fallbackHits.Load())
	}
}

// loopConn is an in-memory net.Conn for the loop benchmarks: every Read
// returns the same request, every Write is discarded. It measures the
// loop's own work per request (parsing, answering, formatting), without
// the kernel's.
type loopConn struct {
	net.Conn // nil: only the methods below are called
	req      []byte
	n        int
}

func (c *loopConn) Read(p []byte) (int, error)       { return copy(p, c.req), nil }
func (c *loopConn) Write(p []byte) (int, error)      { c.n++; return len(p), nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *loopConn) Close() error                     { return nil }

// benchLoop answers raw b.N times through one leanConn.
func benchLoop(b *testing.B, f *fixture, raw string) {
	srv := NewLeanServer(f.r, NewServer(f.r))
	srv.start(&net.TCPAddr{})
	defer srv.Close()
	lc := srv.newConn(&loopConn{req: []byte(raw)})
	b.ReportAllocs()
	for b.Loop() {
		h, ok := lc.readHead()
		if !ok || h == nil || !lc.eligible(h) || !lc.readBody(h) || !lc.answer(h) {
			b.Fatal("request not answered by the loop")
		}
	}
}

func BenchmarkLoopPost(b *testing.B) {
	f, der := benchFixture(b)
	benchLoop(b, f, "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: "+
		strconv.Itoa(len(der))+"\r\nContent-Type: application/ocsp-request\r\nAccept-Encoding: gzip\r\n\r\n"+string(der))
}

func BenchmarkLoopGet(b *testing.B) {
	f, der := benchFixture(b)
	benchLoop(b, f, "GET /ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(der))+
		" HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
}

// TestLeanServerCacheControl: the max-age the loop sends for a pre-signed
// response follows the Responder's clock (never a stale value formatted
// earlier) and MaxAge, exactly as net/http's path says.
func TestLeanServerCacheControl(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	t0 := time.Now().UTC().Truncate(time.Second)
	clock.Store(&t0)
	for _, tt := range []struct {
		name   string
		maxAge time.Duration
	}{
		{"until nextUpdate", 0},
		{"MaxAge", time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock.Store(&t0)
			e := newLeanEnv(t, func(c *Config) {
				c.Now = func() time.Time { return *clock.Load() }
				c.MaxAge = tt.maxAge
			})
			der := request(t, e.f.ca1, crypto.SHA1, e.f.good)
			raw := "GET /ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der)) + " HTTP/1.1\r\nHost: x\r\n\r\n"
			next := parseFor(t, bodyOf(roundTrip(t, e.lean, raw, 1)[0]), e.f.good, e.f.ca1).NextUpdate
			for _, step := range []time.Duration{0, 10 * time.Second, 59*time.Minute + 30*time.Second, 2 * time.Hour, 7 * time.Hour} {
				now := t0.Add(step)
				clock.Store(&now)
				left := next.Sub(now)
				if tt.maxAge > 0 {
					left = min(left, tt.maxAge)
				}
				want := "max-age=" + strconv.Itoa(int(left/time.Second)) + ", public, no-transform, must-revalidate"
				for name, addr := range map[string]string{"lean": e.lean, "net/http": e.std} {
					if got := roundTrip(t, addr, raw, 1)[0].Header.Get("Cache-Control"); got != want {
						t.Errorf("%v on: %s sends Cache-Control %q, want %q", step, name, got, want)
					}
				}
			}
			if n := e.served.Load(); n != 6 {
				t.Errorf("the loop answered %d requests, want 6", n)
			}
		})
	}
}

// TestLeanServerWriteTimeout: a client that sends requests but never
// reads the answers does not hold its connection (and goroutine) forever:
// once the socket buffers are full, the write blocked longest gives up
// after WriteTimeout and the connection is closed.
func TestLeanServerWriteTimeout(t *testing.T) {
	f := newFixture(t, "p256", nil)
	fb := NewServer(f.r)
	fb.WriteTimeout = 300 * time.Millisecond
	srv := NewLeanServer(f.r, fb)
	var served atomic.Int64
	srv.Served = func(int) { served.Add(1) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	der := request(t, f.ca1, crypto.SHA1, f.good)
	get := "GET /ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der)) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for range 20000 { // about 20 MB of answers: more than any socket buffer holds
		if _, err := io.WriteString(c, get); err != nil {
			break // the server closed the connection
		}
	}
	time.Sleep(time.Second) // past WriteTimeout, still reading nothing
	// Now drain: the answers end with the connection closed, not a hang.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %d bytes of answers: %v", n, err)
	}
	if s := served.Load(); s == 0 || s >= 20000 {
		t.Errorf("the loop answered %d of 20000 requests, want some but not all", s)
	}
}

// TestLeanServerAnswerInPlace: a request that arrives whole in one read
// is answered without leaving the read that got it (readMore), and the
// connection then behaves as after any answer: the next request, however
// late, is answered (no wake-up lost while the read waits on); a request
// with Connection: close ends the connection after its answer; a request
// in pieces, or after a larger one that grew the buffer, takes the usual
// path; Shutdown closes a connection idle after an answer.
func TestLeanServerAnswerInPlace(t *testing.T) {
	e := newLeanEnv(t, nil)
	f := e.f
	good := request(t, f.ca1, crypto.SHA1, f.good)
	big := buildRequest(reqSpec{certIDs: repeat(certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber), 400)})
	if len(big) <= 16<<10 {
		t.Fatalf("big request of %d bytes would not grow the buffer past what shrink keeps", len(big))
	}
	post := func(body []byte, extra string) string {
		return "POST /ocsp HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
	}
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", e.lean)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	answer := func(c net.Conn, br *bufio.Reader, raw string, want int) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("HTTP %d, want %d", resp.StatusCode, want)
		}
		if len(raw) < 1000 { // the big request has too many CertIDs: malformedRequest
			parseFor(t, b, f.good, f.ca1)
		}
		return resp
	}
	eof := func(br *bufio.Reader, what string) {
		t.Helper()
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s: read %v, want EOF", what, err)
		}
	}

	c, br := dial()
	for i, pause := range []time.Duration{0, 0, 50 * time.Millisecond, 0, 200 * time.Millisecond} {
		time.Sleep(pause)
		if resp := answer(c, br, post(good, ""), 200); resp.Close {
			t.Fatalf("request %d: Connection: close on a keep-alive answer", i)
		}
	}
	answer(c, br, post(big, ""), 200) // grows the buffer; shrink drops it
	answer(c, br, post(good, ""), 200)
	raw := post(good, "")
	io.WriteString(c, raw[:20])
	time.Sleep(20 * time.Millisecond)
	answer(c, br, raw[20:], 200)
	if resp := answer(c, br, post(good, "Connection: close\r\n"), 200); !resp.Close {
		t.Error("answer to Connection: close lacks it")
	}
	eof(br, "after Connection: close")
	if n := e.served.Load(); n != 9 || e.fallbackHits.Load() != 0 {
		t.Errorf("loop served %d, fallback %d; want 9 and 0", n, e.fallbackHits.Load())
	}
	// The five keep-alive requests at least came whole, each in one read.
	if n := e.srv.inPlace.Load(); rawIO && n < 5 {
		t.Errorf("%d requests answered inside the read, want at least 5", n)
	}

	c, br = dial()
	answer(c, br, post(good, ""), 200)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	eof(br, "idle after an answer, after Shutdown")
}
