package ocsp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// LeanServer serves HTTP/1.1 for a Responder with a loop of its own on
// each connection: an OCSP GET or POST is parsed, answered and written
// with one read and one write system call, no goroutine, header map or
// context per request. Any request the loop does not fully understand
// (another path or method, HEAD, HTTP/1.0, conditional GET, a chunked or
// oversized body, an Expect or Transfer-Encoding header, a header it
// cannot validate, ...) hands the connection, with everything read so far,
// to Fallback, which serves it from then on: every behaviour of the
// net/http path (404, 405, 413, 415, 431, 304, /metrics, CRLs) stays that
// path's. Fallback's handler must send Prefix to the Responder (as Mount
// does), and its timeouts apply to the loop as net/http applies them:
// ReadHeaderTimeout from accept for the first request and from the first
// bytes of a later one (a head not whole by then closes the connection),
// ReadTimeout from the same start to the end of a POST body (late: 408
// Request Timeout, then close), WriteTimeout for each response,
// IdleTimeout from a response to the next request's first bytes, and
// MaxHeaderBytes. The deadlines are re-armed only when one fires early,
// not per request. Create it with NewLeanServer.
type LeanServer struct {
	// Served, if set, is called after each request the loop answered, with
	// the HTTP status code; requests handed to Fallback are counted by its
	// handler. Set it before Serve.
	Served func(code int)

	resp     *Responder
	fallback *http.Server

	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	maxHeaderBytes                                            int

	ctx    context.Context
	cancel context.CancelFunc

	startOnce sync.Once
	handoff   *handoffListener
	closing   atomic.Bool
	mu        sync.Mutex // guards lns and conns
	lns       []net.Listener
	conns     map[*leanConn]struct{}

	inPlace atomic.Int64 // requests answered inside the read (answerWhole), for tests
}

// NewLeanServer returns a LeanServer for r that hands what it does not
// serve itself to fallback (typically NewServer(r.Mount(mux))).
func NewLeanServer(r *Responder, fallback *http.Server) *LeanServer {
	s := &LeanServer{resp: r, fallback: fallback, conns: map[*leanConn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func (s *LeanServer) start(addr net.Addr) {
	s.startOnce.Do(func() {
		f := s.fallback
		s.readHeaderTimeout, s.readTimeout, s.writeTimeout, s.idleTimeout = f.ReadHeaderTimeout, f.ReadTimeout, f.WriteTimeout, f.IdleTimeout
		if s.readHeaderTimeout <= 0 {
			s.readHeaderTimeout = s.readTimeout
		}
		if s.idleTimeout <= 0 {
			s.idleTimeout = s.readTimeout
		}
		s.maxHeaderBytes = f.MaxHeaderBytes
		if s.maxHeaderBytes <= 0 {
			s.maxHeaderBytes = http.DefaultMaxHeaderBytes
		}
		s.handoff = &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
		go f.Serve(s.handoff)
	})
}

// Serve accepts connections on ln and serves them until Shutdown or Close,
// when it returns http.ErrServerClosed.
func (s *LeanServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.start(ln.Addr())
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() { // as net/http: back off on EMFILE and the like
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		lc := s.newConn(c)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			return http.ErrServerClosed
		}
		s.conns[lc] = struct{}{}
		s.mu.Unlock()
		go lc.serve()
	}
}

func (s *LeanServer) newConn(c net.Conn) *leanConn {
	lc := &leanConn{srv: s, c: c}
	if sc, ok := c.(syscall.Conn); ok && rawIO {
		lc.rc, _ = sc.SyscallConn()
	}
	return lc
}

// Shutdown stops accepting, closes idle connections, waits for requests in
// flight to be answered (Fallback's too) and returns, or returns ctx's
// error when ctx ends first (the connections are closed then).
func (s *LeanServer) Shutdown(ctx context.Context) error {
	s.closeListeners()
	errc := make(chan error, 1)
	go func() { errc <- s.fallback.Shutdown(ctx) }()
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if s.closeConns(true) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			s.closeConns(false)
			s.cancel()
			return ctx.Err()
		case <-t.C:
			t.Reset(wait)
		}
	}
	err := <-errc
	s.cancel()
	return err
}

// Close closes the listeners and every connection at once.
func (s *LeanServer) Close() error {
	s.closeListeners()
	err := s.fallback.Close()
	s.closeConns(false)
	s.cancel()
	return err
}

func (s *LeanServer) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing.Store(true)
	for _, ln := range s.lns {
		ln.Close()
	}
	s.lns = nil
	if s.handoff != nil {
		// Fallback.Shutdown closes it too, unless Fallback.Serve has not
		// started yet; then nothing would accept a handed-off connection.
		s.handoff.Close()
	}
}

// closeConns closes the idle connections (all with idleOnly false) and
// returns how many remain.
func (s *LeanServer) closeConns(idleOnly bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !idleOnly || c.idle.Load() {
			c.c.Close()
			delete(s.conns, c)
		}
	}
	return len(s.conns)
}

func (s *LeanServer) forget(c *leanConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// leanConn is one connection served by the loop.
type leanConn struct {
	srv  *LeanServer
	c    net.Conn
	rc   syscall.RawConn // c's descriptor, for read and write; nil: use c
	idle atomic.Bool     // waiting for a request with nothing buffered

	buf        []byte // read buffer; buf[start:end] is unread
	start, end int
	out        []byte // the response being written
	path, der  []byte // the unescaped path and the decoded GET request
	req        Request
	h          head // the head of the request being served

	// Timeouts, as net/http's (see deadline). The deadlines set on c may
	// be earlier than the ones that apply — a request's header deadline
	// left set while the connection idles, the idle deadline of an earlier
	// request: when one fires, the loop sets the one that applies and
	// waits on. So a busy connection resets no timer per request, and an
	// idle one still closes when its own timeout is up, with no other
	// traffic to wake the server.
	wait     int       // what the next read waits for: waitFirst, waitIdle, waitHead or waitBody
	since    time.Time // when that wait began
	rdl, wdl time.Time // the read and write deadlines set on c; zero: none
	timedOut bool      // the last failed read hit its deadline
	blocked  bool      // the last write waited for the socket to drain
}

// What a connection waits for, which says which timeout applies.
const (
	waitFirst = iota // the first request, since accept: ReadHeaderTimeout (as net/http: the first head's clock starts at accept)
	waitIdle         // the next request, since the last response: IdleTimeout
	waitHead         // the rest of a head, since its first bytes: ReadHeaderTimeout
	waitBody         // the rest of a body, since the head's first bytes: ReadTimeout
)

func (c *leanConn) serve() {
	s := c.srv
	defer func() {
		if v := recover(); v != nil {
			s.resp.log.Error("ocsp: panic serving a connection", "remote", c.c.RemoteAddr().String(), "panic", v)
			c.c.Close()
			s.forget(c)
		}
	}()
	c.wait, c.since = waitFirst, time.Now()
	for {
		h, ok := c.readHead()
		if ok && (h == nil || !c.eligible(h)) {
			c.handOff()
			return
		}
		if ok && !c.readBody(h) {
			if c.timedOut {
				c.requestTimeout()
			}
			ok = false
		}
		// A failed read (EOF, error, a timeout of the head) closes the
		// connection, as net/http does; a failed write too.
		if !ok || !c.answer(h) {
			c.c.Close()
			s.forget(c)
			return
		}
	}
}

// head is what the loop needs of a request head.
type head struct {
	post          bool
	target        []byte // the request-target as sent
	contentLength int64
	contentType   []byte // nil when absent
	close         bool   // Connection: close
	n             int    // length of the head
}

// readHead returns the next request head (c.h); nil with ok true means
// "hand off" (the head is foreign or too large); ok false means the
// connection ended (EOF, an error or a timeout), which closes it as
// net/http would.
func (c *leanConn) readHead() (h *head, ok bool) {
	s := c.srv
	for {
		if c.end > c.start {
			c.h = head{}
			switch parseHead(c.buf[c.start:c.end], &c.h) {
			case headComplete:
				return &c.h, true
			case headForeign:
				return nil, true
			}
			if c.end-c.start >= s.maxHeaderBytes {
				return nil, true // net/http answers 431
			}
			if c.wait == waitIdle { // the first bytes of a head that is not whole yet
				c.wait, c.since = waitHead, time.Now()
			}
		} else {
			c.start, c.end = 0, 0
			c.idle.Store(true)
			if s.closing.Load() {
				return nil, false
			}
		}
		if !c.fill(s.maxHeaderBytes) {
			return nil, false
		}
		c.idle.Store(false)
	}
}

// fill reads more into buf, keeping at least room bytes of space for the
// unread data. It waits at most until the deadline of c.wait.
func (c *leanConn) fill(room int) bool {
	if c.buf == nil {
		c.buf = make([]byte, 4096)
	}
	if c.end == len(c.buf) { // the callers ensure room > c.end-c.start
		if c.start > 0 {
			c.end = copy(c.buf, c.buf[c.start:c.end])
			c.start = 0
		} else {
			nb := make([]byte, max(min(2*len(c.buf), room), c.end+1))
			c.end = copy(nb, c.buf[c.start:c.end])
			c.buf = nb
		}
	}
	c.rearm()
	c.timedOut = false
	for {
		err := c.readMore()
		if err == nil {
			return true
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return false // EOF, an error, or the end after a request answered in place
		}
		// An earlier deadline than this wait's fired: wait on.
		t := c.deadline()
		if !t.IsZero() && !time.Now().Before(t) {
			c.timedOut = true
			return false
		}
		c.setReadDeadline(t)
	}
}

// deadline returns the read deadline of what the connection waits for,
// as net/http sets it; zero means none.
func (c *leanConn) deadline() time.Time {
	s := c.srv
	d := s.readHeaderTimeout
	switch c.wait {
	case waitIdle:
		d = s.idleTimeout
	case waitBody:
		d = s.readTimeout
	}
	if d <= 0 {
		return time.Time{}
	}
	return c.since.Add(d)
}

// readConn reads into buf[end:] through net.Conn: the readMore of
// connections without raw I/O. It returns nil when it read something (or
// nothing and no error).
func (c *leanConn) readConn() error {
	n, err := c.c.Read(c.buf[c.end:])
	c.end += n
	if n > 0 {
		return nil
	}
	return err
}

// rearm sets the read deadline of what the connection now waits for when
// it is earlier than the one set (see leanConn's timeouts).
func (c *leanConn) rearm() {
	if t := c.deadline(); !t.IsZero() && (c.rdl.IsZero() || t.Before(c.rdl)) {
		c.setReadDeadline(t)
	}
}

func (c *leanConn) setReadDeadline(t time.Time) {
	c.rdl = t
	c.c.SetReadDeadline(t)
}

// eligible reports whether the loop answers h itself: an OCSP GET under
// the prefix, or a POST to it with no or the exact OCSP Content-Type and
// a body within MaxRequestBytes. It leaves the unescaped path in c.path.
func (c *leanConn) eligible(h *head) bool {
	r := c.srv.resp
	var ok bool
	if c.path, ok = unescapePath(c.path[:0], h.target); !ok {
		return false // net/http answers 400
	}
	p := c.path
	if h.post {
		if string(p) != r.prefix && (len(p) != len(r.prefix)+1 || string(p[:len(r.prefix)]) != r.prefix || p[len(r.prefix)] != '/') {
			return false
		}
		return (h.contentType == nil || string(h.contentType) == ContentTypeRequest) && h.contentLength <= r.cfg.MaxRequestBytes
	}
	return h.contentLength == 0 && len(p) > len(r.prefix) && string(p[:len(r.prefix)]) == r.prefix && p[len(r.prefix)] == '/'
}

// answerWhole answers a request that came whole in the n bytes just read
// into the empty buffer at buf[end:], when it is an OCSP GET or POST the
// loop serves with nothing after it; keep reports whether the connection
// stays open (its buffer empty again). Anything else it leaves unread
// (ok false), for readHead to take as always.
func (c *leanConn) answerWhole(n int) (ok, keep bool) {
	h := &c.h
	*h = head{}
	if parseHead(c.buf[c.end:c.end+n], h) != headComplete || h.n+int(h.contentLength) != n || !c.eligible(h) {
		return false, false
	}
	c.end += n
	c.idle.Store(false)
	c.srv.inPlace.Add(1)
	keep = c.answer(h)
	c.start, c.end = 0, 0
	c.idle.Store(true)
	return true, keep
}

// readBody makes sure the body of h is in buf, waiting for it until
// ReadTimeout after the head's first bytes.
func (c *leanConn) readBody(h *head) bool {
	need := h.n + int(h.contentLength)
	if c.end-c.start >= need {
		return true
	}
	if c.wait == waitIdle { // the head came whole: its first bytes are about now
		c.since = time.Now()
	}
	c.wait = waitBody
	for c.end-c.start < need {
		if !c.fill(need) {
			return false
		}
	}
	return true
}

// answer answers the request whose head is h (and body follows it in
// buf), writes the response and reports whether to keep the connection.
func (c *leanConn) answer(h *head) bool {
	s := c.srv
	r := s.resp
	method := http.MethodGet
	var a answer
	code := http.StatusOK
	var ch getHeaders
	if h.post {
		method = http.MethodPost
		body := c.buf[c.start+h.n : c.start+h.n+int(h.contentLength)]
		a = r.answer(s.ctx, body, &c.req)
	} else {
		enc := c.path[len(r.prefix)+1:]
		der, ok := decodeGetPath(unsafe.String(unsafe.SliceData(enc), len(enc)), c.der[:0])
		if ok {
			c.der = der[:0]
		}
		if !ok || len(der) == 0 {
			a = answer{der: errorResponse(MalformedRequest), status: MalformedRequest, result: ResultMalformed}
			code = http.StatusBadRequest
			ch = getHeaders{cacheControl: hdrNoStore}
		} else {
			a = r.answer(s.ctx, der, &c.req)
			if e := a.e; e != nil { // Cache-Control: see below
				ch = getHeaders{etag: e.hdrETag, lastModified: e.hdrLastModified, expires: e.hdrExpires}
			} else {
				ch = r.cachingHeaders(&a)
			}
		}
	}
	c.start += h.n + int(h.contentLength)
	r.count(method, a.result)
	keep := !h.close && !s.closing.Load()

	b := c.out[:0]
	if code == http.StatusOK {
		b = append(b, "HTTP/1.1 200 OK\r\n"...)
	} else {
		b = append(b, "HTTP/1.1 400 Bad Request\r\n"...)
	}
	switch {
	case a.e != nil && !h.post:
		// A pre-signed response's max-age changes every second: formatted
		// here, it costs no allocation (cachingHeaders would make one for
		// each entry each second it is asked for).
		b = append(b, "Cache-Control: "...)
		b = appendCacheControl(b, a.e.nextUpdate, r.cfg.Now(), r.cfg.MaxAge)
		b = append(b, "\r\n"...)
	case ch.cacheControl != nil:
		b = appendHeader(b, "Cache-Control: ", ch.cacheControl[0])
	}
	if !keep {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(a.der)), 10)
	b = append(b, "\r\nContent-Type: application/ocsp-response\r\nDate: "...)
	now := time.Now()
	b = appendDate(b, now)
	b = append(b, "\r\n"...)
	if ch.etag != nil {
		b = appendHeader(b, "Etag: ", ch.etag[0])
	}
	if ch.expires != nil {
		b = appendHeader(b, "Expires: ", ch.expires[0])
	}
	if ch.lastModified != nil {
		b = appendHeader(b, "Last-Modified: ", ch.lastModified[0])
	}
	b = append(b, "\r\n"...)
	b = append(b, a.der...)
	c.out = b
	if s.Served != nil {
		s.Served(code)
	}
	if !c.send(b, now) {
		return false
	}
	c.wait, c.since = waitIdle, now
	if c.blocked { // the idle clock starts when the response is out, as net/http's
		c.since = time.Now()
	}
	c.shrink()
	return keep
}

// send writes all of b within WriteTimeout from now.
func (c *leanConn) send(b []byte, now time.Time) bool {
	wt := c.srv.writeTimeout
	if wt > 0 && c.wdl.Before(now) {
		c.wdl = now.Add(wt)
		c.c.SetWriteDeadline(c.wdl)
	}
	c.blocked = false
	for len(b) > 0 {
		n, err := c.write(b)
		b = b[n:]
		if err == nil {
			continue
		}
		if t := now.Add(wt); wt > 0 && errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(t) {
			c.wdl = t // an earlier request's deadline fired: this write has until t
			c.c.SetWriteDeadline(t)
			continue
		}
		return false
	}
	return true
}

// msgBodyTimeout is the text of the 408 answer to a POST whose body did
// not arrive within ReadTimeout, from the loop and from ServeHTTP alike.
const msgBodyTimeout = "the OCSP request body did not arrive within the read timeout"

// rstAvoidanceDelay is net/http's: how long a connection closed with
// unread input waits after its last answer, so that the reset its close
// sends does not destroy the answer before the client reads it.
const rstAvoidanceDelay = 500 * time.Millisecond

// requestTimeout answers a POST whose body did not arrive in time as
// Fallback's handler does (408, Connection: close) and closes the write
// side; the caller closes the connection.
func (c *leanConn) requestTimeout() {
	s := c.srv
	s.resp.count(http.MethodPost, ResultRejected)
	if s.Served != nil {
		s.Served(http.StatusRequestTimeout)
	}
	now := time.Now()
	b := append(c.out[:0], "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(msgBodyTimeout)+1), 10)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "...)
	b = appendDate(b, now)
	b = append(b, "\r\nX-Content-Type-Options: nosniff\r\n\r\n"...)
	b = append(b, msgBodyTimeout+"\n"...)
	c.out = b
	if !c.send(b, now) {
		return
	}
	if cw, ok := c.c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		time.Sleep(rstAvoidanceDelay)
	}
}

// shrink drops buffers a large request or response grew, so that an idle
// keep-alive connection holds a few kilobytes, not MaxRequestBytes.
func (c *leanConn) shrink() {
	const keep = 16 << 10
	if cap(c.out) > keep {
		c.out = nil
	}
	if cap(c.der) > keep {
		c.der = nil
	}
	if cap(c.path) > keep {
		c.path = nil
	}
	if len(c.buf) > keep && c.start == c.end {
		c.buf, c.start, c.end = nil, 0, 0
	}
}

func appendHeader(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

type dateValue struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[dateValue]

// appendDate appends the Date header value for now, formatted once a
// second.
func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return append(b, d.b...)
	}
	d := &dateValue{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	dateCache.Store(d)
	return append(b, d.b...)
}

// handOff gives the connection, and what was read of it, to Fallback.
func (c *leanConn) handOff() {
	s := c.srv
	s.forget(c)
	c.c.SetDeadline(time.Time{})
	pc := &prefixConn{Conn: c.c}
	if c.end > c.start {
		pc.pending = append([]byte(nil), c.buf[c.start:c.end]...)
	}
	if !s.handoff.hand(pc) {
		c.c.Close()
	}
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// CloseWrite lets net/http half-close the connection as it does a TCP one.
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// handoffListener is the listener Fallback serves: it yields the
// connections the loop hands off.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

func (l *handoffListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// Results of parseHead.
const (
	headIncomplete = iota
	headComplete
	headForeign // valid or not, the loop leaves it to net/http
)

// parseHead parses a request head at the start of b, strictly: a request
// line "GET|POST origin-form HTTP/1.1" and header lines ending in CRLF,
// exactly one Host, at most one Content-Length (digits) and Content-Type,
// Connection only keep-alive or close, a Content-Length on every POST and
// none but 0 on a GET, and no header that changes how the request is read
// or answered (Transfer-Encoding, Expect, Upgrade, If-None-Match,
// If-Modified-Since). Anything else is headForeign, for net/http.
func parseHead(b []byte, h *head) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > 0 && !validStart(b) {
			return headForeign
		}
		return headIncomplete
	}
	if i == 0 || b[i-1] != '\r' {
		return headForeign
	}
	line := b[:i-1]
	switch {
	case hasPrefix(line, "GET "):
		line = line[4:]
	case hasPrefix(line, "POST "):
		h.post = true
		line = line[5:]
	default:
		return headForeign
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || string(line[sp+1:]) != "HTTP/1.1" || line[0] != '/' {
		return headForeign
	}
	h.target = line[:sp]
	if !all(h.target, classPath) {
		return headForeign
	}
	pos := i + 1
	hosts, lengths := 0, 0
	for {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			return headIncomplete
		}
		line := b[pos : pos+j]
		pos += j + 1
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return headForeign
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return headForeign
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !all(name, classToken) || !all(value, classValue) {
			return headForeign
		}
		switch len(name) { // then the name, case-insensitively
		case 4:
			if !equalFold(name, "host") {
				break
			}
			hosts++
			if !all(value, classHost) {
				return headForeign
			}
		case 14:
			if !equalFold(name, "content-length") {
				break
			}
			lengths++
			if len(value) == 0 || len(value) > 18 {
				return headForeign
			}
			var n int64
			for _, ch := range value {
				if ch < '0' || ch > '9' {
					return headForeign
				}
				n = n*10 + int64(ch-'0')
			}
			h.contentLength = n
		case 12:
			if !equalFold(name, "content-type") {
				break
			}
			if h.contentType != nil {
				return headForeign
			}
			h.contentType = value
		case 10:
			if !equalFold(name, "connection") {
				break
			}
			for len(value) > 0 {
				tok := value
				if k := bytes.IndexByte(value, ','); k >= 0 {
					tok, value = value[:k], value[k+1:]
				} else {
					value = nil
				}
				switch tok = trimOWS(tok); {
				case equalFold(tok, "close"):
					h.close = true
				case equalFold(tok, "keep-alive"), len(tok) == 0:
				default:
					return headForeign
				}
			}
		case 17, 6, 7, 13:
			if equalFold(name, "transfer-encoding") || equalFold(name, "expect") || equalFold(name, "upgrade") ||
				equalFold(name, "if-none-match") || equalFold(name, "if-modified-since") {
				return headForeign
			}
		}
	}
	if hosts != 1 || lengths > 1 || h.post && lengths == 0 || !h.post && h.contentLength != 0 {
		return headForeign
	}
	h.n = pos
	return headComplete
}

// validStart reports whether b may begin a request the loop serves, so
// that anything else is handed off before its head is complete.
func validStart(b []byte) bool {
	for _, m := range []string{"GET /", "POST /"} {
		n := min(len(b), len(m))
		if string(b[:n]) == m[:n] {
			return true
		}
	}
	return false
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares an ASCII header name with a lower-case one.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// Byte classes of parseHead, as bits of byteClass.
const (
	classToken = 1 << iota // a tchar of RFC 9110 §5.6.2
	classPath              // pchar and "/" of RFC 3986, the bytes of an origin-form path (no query, no fragment)
	classHost              // a reg-name, IPv4 or bracketed IPv6 address and a port
	classValue             // a field-value byte the loop takes: VCHAR, SP, HTAB (obs-text is net/http's)
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0 {
			t[c] |= classToken
		}
		if alnum || strings.IndexByte("/%-._~!$&'()*+,;=:@", byte(c)) >= 0 {
			t[c] |= classPath
		}
		if alnum || strings.IndexByte(".-:[]_", byte(c)) >= 0 {
			t[c] |= classHost
		}
		if ' ' <= c && c < 0x7f || c == '\t' {
			t[c] |= classValue
		}
	}
	return t
}()

// all reports whether every byte of b is of class.
func all(b []byte, class uint8) bool {
	for _, c := range b {
		if byteClass[c]&class == 0 {
			return false
		}
	}
	return true
}

// unescapePath appends the percent-decoded path to dst, as net/url does
// for URL.Path ('+' stays '+'); ok is false for a bad escape.
func unescapePath(dst, p []byte) ([]byte, bool) {
	for {
		i := bytes.IndexByte(p, '%')
		if i < 0 {
			return append(dst, p...), true
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return dst, false
		}
		dst = append(dst, p[:i]...)
		dst = append(dst, unhex(p[i+1])<<4|unhex(p[i+2]))
		p = p[i+3:]
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
