package ldap_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
)

// rawClient speaks LDAP with this package's codec, to send what the
// OpenLDAP tools will not.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	rd *bufio.Reader
}

func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	addr := strings.TrimPrefix(strings.TrimPrefix(url, "ldap://"), "ldaps://")
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, rd: bufio.NewReader(nc)}
}

func (c *rawClient) send(id int32, op ldap.Op, ctls ...ldap.Control) {
	c.t.Helper()
	b, err := (&ldap.Message{ID: id, Op: op, Controls: ctls}).Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) recv() (*ldap.Message, error) {
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	return ldap.ReadMessage(c.rd, 0)
}

func (c *rawClient) mustRecv() *ldap.Message {
	c.t.Helper()
	m, err := c.recv()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func resultCode(t testing.TB, m *ldap.Message) ldap.ResultCode {
	t.Helper()
	switch r := m.Op.(type) {
	case *ldap.BindResponse:
		return r.ResultCode
	case *ldap.SearchResultDone:
		return r.ResultCode
	case *ldap.ExtendedResponse:
		return r.ResultCode
	case *ldap.AddResponse:
		return r.ResultCode
	case *ldap.ModifyResponse:
		return r.ResultCode
	case *ldap.CompareResponse:
		return r.ResultCode
	case *ldap.DelResponse:
		return r.ResultCode
	}
	t.Fatalf("unexpected %s", ldap.OpName(m.Op.Tag()))
	return 0
}

// expectDisconnect reads until the server closes, requiring a Notice of
// Disconnection with code first when code is not 0.
func (c *rawClient) expectDisconnect(code ldap.ResultCode) {
	c.t.Helper()
	sawNotice := false
	for {
		m, err := c.recv()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("the server kept the connection open")
			}
			break
		}
		if ldap.IsNoticeOfDisconnection(m) {
			sawNotice = true
			if got := m.Op.(*ldap.ExtendedResponse).ResultCode; got != code {
				c.t.Errorf("notice of disconnection with %s, want %s", got, code)
			}
		}
	}
	if code != 0 && !sawNotice {
		c.t.Errorf("no notice of disconnection before close")
	}
}

var baseSearch = &ldap.SearchRequest{BaseObject: "", Scope: ldap.ScopeBaseObject, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}

// assertServing checks the server still answers on url.
func assertServing(t *testing.T, url string) {
	t.Helper()
	c := dialRaw(t, url)
	if strings.HasPrefix(url, "ldaps://") {
		tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
		c.nc, c.rd = tc, bufio.NewReader(tc)
	}
	defer c.nc.Close()
	c.send(1, baseSearch)
	for {
		m := c.mustRecv()
		if _, ok := m.Op.(*ldap.SearchResultDone); ok {
			if code := resultCode(t, m); code != ldap.ResultSuccess {
				t.Fatalf("root DSE search: %s", code)
			}
			return
		}
	}
}

func TestBadInput(t *testing.T) {
	ts := startServer(t, serverOpts{cfg: func(c *ldap.ServerConfig) { c.MaxMessageSize = 64 << 10 }})
	cases := []struct {
		name  string
		bytes []byte
		code  ldap.ResultCode // 0: closed without a notice is fine
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ldap.ResultProtocolError},
		{"indefinite length", []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00}, ldap.ResultProtocolError},
		{"gigabyte length", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01}, ldap.ResultProtocolError},
		{"over the size limit", []byte{0x30, 0x83, 0x01, 0x00, 0x00}, ldap.ResultProtocolError},
		{"wrong inner length", []byte{0x30, 0x05, 0x02, 0x07, 0x01, 0x42, 0x00}, ldap.ResultProtocolError},
		{"response sent as request", mustMarshal(t, &ldap.Message{ID: 1, Op: &ldap.BindResponse{}}), ldap.ResultProtocolError},
		{"deep nesting", deepFilter(200), ldap.ResultProtocolError},
		{"truncated", []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60}, 0},
	}
	for _, url := range []string{ts.ldapURL, ts.ldapsURL} {
		for _, c := range cases {
			t.Run(strings.SplitN(url, ":", 2)[0]+"/"+c.name, func(t *testing.T) {
				rc := dialRaw(t, url)
				if strings.HasPrefix(url, "ldaps://") {
					if c.name == "garbage" {
						// Garbage instead of a ClientHello: the TLS
						// handshake fails and the server hangs up.
						rc.write(c.bytes)
						rc.expectDisconnect(0)
						return
					}
					tc := tls.Client(rc.nc, &tls.Config{InsecureSkipVerify: true})
					rc.nc, rc.rd = tc, bufio.NewReader(tc)
				}
				rc.write(c.bytes)
				if c.name == "truncated" {
					rc.nc.(interface{ CloseWrite() error }).CloseWrite()
				}
				rc.expectDisconnect(c.code)
			})
		}
	}
	t.Run("invalid requests answered", func(t *testing.T) {
		rc := dialRaw(t, ts.ldapURL)
		steps := []struct {
			op   ldap.Op
			want ldap.ResultCode
		}{
			{&ldap.SearchRequest{BaseObject: "cn=\\zz", Scope: ldap.ScopeBaseObject, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}, ldap.ResultInvalidDNSyntax},
			{&ldap.AddRequest{Entry: "uid=x,ou=people,o=pkid", Attributes: []ldap.Attribute{{Type: "objectClass", Values: [][]byte{[]byte("inetOrgPerson")}}, {Type: "fooBar", Values: [][]byte{[]byte("1")}}}}, ldap.ResultUndefinedAttributeType},
			{&ldap.BindRequest{Version: 2, Name: "", Method: ldap.BindSimple}, ldap.ResultProtocolError},
			{&ldap.BindRequest{Version: 3, Method: ldap.BindSASL, Mechanism: "EXTERNAL"}, ldap.ResultInappropriateAuthentication},
			{&ldap.BindRequest{Version: 3, Method: ldap.BindSASL, Mechanism: "DIGEST-MD5"}, ldap.ResultAuthMethodNotSupported},
			{&ldap.ExtendedRequest{Name: "1.2.3.4"}, ldap.ResultProtocolError},
			{&ldap.ExtendedRequest{Name: ldap.OIDWhoAmI}, ldap.ResultSuccess},
		}
		for i, s := range steps {
			rc.send(int32(i+1), s.op)
			m := rc.mustRecv()
			if m.ID != int32(i+1) {
				t.Fatalf("step %d: response for message %d", i, m.ID)
			}
			if got := resultCode(t, m); got != s.want {
				t.Errorf("%s: %s, want %s", ldap.OpName(s.op.Tag()), got, s.want)
			}
		}
	})
	t.Run("critical control", func(t *testing.T) {
		rc := dialRaw(t, ts.ldapURL)
		rc.send(1, &ldap.DelRequest{DN: "o=pkid"}, ldap.Control{OID: "1.2.3.4", Criticality: true})
		if got := resultCode(t, rc.mustRecv()); got != ldap.ResultUnavailableCriticalExtension {
			t.Errorf("got %s", got)
		}
		rc.send(2, &ldap.DelRequest{DN: "o=nothere"}, ldap.Control{OID: "1.2.3.4"})
		if m := rc.mustRecv(); m.Op.Tag() != ldap.TagDelResponse || m.Op.(*ldap.DelResponse).ResultCode != ldap.ResultNoSuchObject {
			t.Errorf("non-critical unknown control must be ignored: %+v", m.Op)
		}
	})
	t.Run("invalid paged cookie", func(t *testing.T) {
		rc := dialRaw(t, ts.ldapURL)
		pr := &ldap.PagedResults{Size: 5, Cookie: []byte("forged")}
		rc.send(1, &ldap.SearchRequest{BaseObject: "o=pkid", Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}, pr.Control(true))
		if got := resultCode(t, rc.mustRecv()); got != ldap.ResultProtocolError {
			t.Errorf("got %s", got)
		}
	})
	assertServing(t, ts.ldapURL)
	assertServing(t, ts.ldapsURL)
}

func mustMarshal(t testing.TB, m *ldap.Message) []byte {
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deepFilter is a SearchRequest whose filter nests n NOTs, written by hand
// because the encoder refuses it.
func deepFilter(n int) []byte {
	inner := []byte{0x87, 0x02, 'c', 'n'}
	for range n {
		inner = append(tlv(0xa2, nil), append(lenBytes(len(inner)), inner...)...)
	}
	body := []byte{0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00}
	body = append(body, inner...)
	body = append(body, 0x30, 0x00)
	op := append([]byte{0x63}, append(lenBytes(len(body)), body...)...)
	msg := append([]byte{0x02, 0x01, 0x01}, op...)
	return append([]byte{0x30}, append(lenBytes(len(msg)), msg...)...)
}

func tlv(tag byte, _ []byte) []byte { return []byte{tag} }

func lenBytes(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n < 0x100:
		return []byte{0x81, byte(n)}
	default:
		return []byte{0x82, byte(n >> 8), byte(n)}
	}
}

func TestStartTLSRefusals(t *testing.T) {
	ts := startServer(t, serverOpts{})
	t.Run("twice", func(t *testing.T) {
		rc := dialRaw(t, ts.ldapURL)
		rc.send(1, &ldap.ExtendedRequest{Name: ldap.OIDStartTLS})
		if got := resultCode(t, rc.mustRecv()); got != ldap.ResultSuccess {
			t.Fatalf("StartTLS: %s", got)
		}
		tc := tls.Client(rc.nc, &tls.Config{InsecureSkipVerify: true})
		rc.nc, rc.rd = tc, bufio.NewReader(tc)
		rc.send(2, &ldap.ExtendedRequest{Name: ldap.OIDStartTLS})
		if got := resultCode(t, rc.mustRecv()); got != ldap.ResultOperationsError {
			t.Errorf("second StartTLS: %s, want operationsError", got)
		}
	})
	t.Run("over LDAPS", func(t *testing.T) {
		rc := dialRaw(t, ts.ldapsURL)
		tc := tls.Client(rc.nc, &tls.Config{InsecureSkipVerify: true})
		rc.nc, rc.rd = tc, bufio.NewReader(tc)
		rc.send(1, &ldap.ExtendedRequest{Name: ldap.OIDStartTLS})
		if got := resultCode(t, rc.mustRecv()); got != ldap.ResultOperationsError {
			t.Errorf("StartTLS on LDAPS: %s, want operationsError", got)
		}
	})
	t.Run("operations outstanding", func(t *testing.T) {
		ts := startServer(t, serverOpts{entries: 300})
		rc := dialRaw(t, ts.ldapURL)
		// A large search that the client does not read yet keeps an
		// operation in progress.
		big := &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}
		rc.send(1, big)
		rc.send(2, big)
		rc.send(3, &ldap.ExtendedRequest{Name: ldap.OIDStartTLS})
		var got ldap.ResultCode = 255
		for got == 255 {
			m := rc.mustRecv()
			if m.ID == 3 {
				got = resultCode(t, m)
			}
		}
		if got != ldap.ResultOperationsError && got != ldap.ResultSuccess {
			t.Errorf("StartTLS with operations outstanding: %s", got)
		}
		if got == ldap.ResultSuccess {
			t.Skip("the searches finished before StartTLS arrived")
		}
	})
}

// TestAbandon abandons a long paged-free search and checks no
// SearchResultDone arrives for it, while the connection stays usable.
func TestAbandon(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 400})
	rc := dialRaw(t, ts.ldapURL)
	rc.send(1, &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}})
	rc.send(2, &ldap.AbandonRequest{ID: 1})
	rc.send(3, &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI})
	for {
		m := rc.mustRecv()
		if m.ID == 1 && m.Op.Tag() == ldap.TagSearchResultDone {
			t.Log("search finished before the abandon arrived; allowed")
		}
		if m.ID == 3 {
			if got := resultCode(t, m); got != ldap.ResultSuccess {
				t.Fatalf("WhoAmI after abandon: %s", got)
			}
			break
		}
	}
}

// TestSlowReader: a client that sends searches and never reads is
// disconnected when its writes time out, and meanwhile others are served.
func TestSlowReader(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 200, cfg: func(c *ldap.ServerConfig) { c.WriteTimeout = 500 * time.Millisecond }})
	rc := dialRaw(t, ts.ldapURL)
	if tc, ok := rc.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	big := &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}}
	go func() {
		// Requests beyond the per-connection operation bound wait in the
		// socket, so send them from another goroutine.
		for i := range 400 {
			b, _ := (&ldap.Message{ID: int32(i + 1), Op: big}).Marshal()
			if _, err := rc.nc.Write(b); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	assertServing(t, ts.ldapURL)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("another client waited %v", d)
	}
	deadline := time.Now().Add(60 * time.Second) // the race detector slows searches down
	for ts.srv.Connections() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := ts.srv.Connections(); n != 0 {
		t.Errorf("the non-reading client is still connected (%d connections)", n)
	}
}

// TestManyIdleConnections holds 10,000 idle connections open (from a
// child process, so that neither side runs out of descriptors) and checks
// that a new client is served promptly and memory per connection stays
// small.
func TestManyIdleConnections(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	ts := startServer(t, serverOpts{})
	addr := strings.TrimPrefix(ts.ldapURL, "ldap://")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIdleClients$")
	cmd.Env = append(os.Environ(), "PKID_IDLE_ADDR="+addr, "PKID_IDLE_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for ts.srv.Connections() < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := ts.srv.Connections(); got < n {
		t.Fatalf("only %d of %d connections open", got, n)
	}
	start := time.Now()
	assertServing(t, ts.ldapURL)
	served := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / int64(n)
	t.Logf("%d idle connections; a new client served in %v; about %d bytes of heap and stack per idle connection", n, served, per)
	if served > 2*time.Second {
		t.Errorf("a new client waited %v", served)
	}
	if per > 32<<10 {
		t.Errorf("%d bytes per idle connection", per)
	}
}

// TestHelperIdleClients is the child process of TestManyIdleConnections.
func TestHelperIdleClients(t *testing.T) {
	addr := os.Getenv("PKID_IDLE_ADDR")
	if addr == "" {
		t.Skip("helper process only")
	}
	n, _ := strconv.Atoi(os.Getenv("PKID_IDLE_N"))
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

var (
	_ = io.EOF
	_ sync.Mutex
	_ x509.Certificate
)

// TestLimits checks the connection limit, the idle timeout and the
// operation time limit.
func TestLimits(t *testing.T) {
	t.Run("max connections", func(t *testing.T) {
		ts := startServer(t, serverOpts{cfg: func(c *ldap.ServerConfig) { c.MaxConnections = 2 }})
		a, b := dialRaw(t, ts.ldapURL), dialRaw(t, ts.ldapURL)
		for _, c := range []*rawClient{a, b} {
			c.send(1, &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI})
			c.mustRecv()
		}
		dialRaw(t, ts.ldapURL).expectDisconnect(ldap.ResultBusy)
		a.nc.Close()
		deadline := time.Now().Add(5 * time.Second)
		for ts.srv.Connections() > 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c := dialRaw(t, ts.ldapURL)
		c.send(1, &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI})
		if got := resultCode(t, c.mustRecv()); got != ldap.ResultSuccess {
			t.Errorf("after a slot freed: %s", got)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		ts := startServer(t, serverOpts{cfg: func(c *ldap.ServerConfig) { c.IdleTimeout = 200 * time.Millisecond }})
		c := dialRaw(t, ts.ldapURL)
		start := time.Now()
		c.expectDisconnect(ldap.ResultUnavailable)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("idle connection closed after %v", d)
		}
	})
	t.Run("operation time limit", func(t *testing.T) {
		ts := startServer(t, serverOpts{entries: 20, cfg: func(c *ldap.ServerConfig) { c.OperationTimeout = time.Nanosecond }})
		c := dialRaw(t, ts.ldapURL)
		c.send(1, &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}})
		for {
			m := c.mustRecv()
			if m.Op.Tag() == ldap.TagSearchResultDone {
				if got := resultCode(t, m); got != ldap.ResultTimeLimitExceeded {
					t.Errorf("search past the operation time limit: %s", got)
				}
				break
			}
		}
	})
}

// TestPagedCookieBoundToConnection: a cookie works on the connection
// that got it, and not on another.
func TestPagedCookieBoundToConnection(t *testing.T) {
	ts := startServer(t, serverOpts{entries: 10})
	req := &ldap.SearchRequest{BaseObject: peopleDN, Scope: ldap.ScopeSingleLevel, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}, Attributes: []string{"1.1"}}
	page := func(c *rawClient, id int32, cookie []byte) (int, []byte, ldap.ResultCode) {
		c.send(id, req, (&ldap.PagedResults{Size: 4, Cookie: cookie}).Control(true))
		n := 0
		for {
			m := c.mustRecv()
			if m.Op.Tag() == ldap.TagSearchResultEntry {
				n++
				continue
			}
			var next []byte
			if ctl := ldap.FindControl(m.Controls, ldap.OIDPagedResults); ctl != nil {
				pr, err := ldap.DecodePagedResults(ctl.Value)
				if err != nil {
					t.Fatal(err)
				}
				next = pr.Cookie
			}
			return n, next, resultCode(t, m)
		}
	}
	a, b := dialRaw(t, ts.ldapURL), dialRaw(t, ts.ldapURL)
	n, cookie, code := page(a, 1, nil)
	if n != 4 || len(cookie) == 0 || code != ldap.ResultSuccess {
		t.Fatalf("first page: %d entries, cookie %x, %s", n, cookie, code)
	}
	if _, _, code := page(b, 1, cookie); code != ldap.ResultProtocolError {
		t.Errorf("cookie on another connection: %s, want protocolError", code)
	}
	total := n
	for i := int32(2); len(cookie) > 0; i++ {
		n, cookie, code = page(a, i, cookie)
		if code != ldap.ResultSuccess {
			t.Fatalf("page %d: %s", i, code)
		}
		total += n
	}
	if total != 10 {
		t.Errorf("pages held %d entries, want 10", total)
	}
}
