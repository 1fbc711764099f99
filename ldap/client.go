package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Client defaults.
const (
	// DefaultClientTimeout bounds dialing and each request/response
	// exchange when ClientConfig.Timeout is zero.
	DefaultClientTimeout = 10 * time.Second
	// DefaultMaxEntries bounds the entries one Search returns when
	// ClientConfig.MaxEntries is zero.
	DefaultMaxEntries = 1000
)

// ClientConfig configures Dial. The zero value dials without TLS for
// ldap:// (and verifies the server against the system roots for ldaps://),
// with DefaultClientTimeout and DefaultMaxEntries.
type ClientConfig struct {
	// TLSConfig is used for ldaps:// and StartTLS. A client certificate in
	// it is what BindExternal authenticates with. When ServerName is empty
	// the URL's host is used. nil means a default config.
	TLSConfig *tls.Config
	// StartTLS upgrades an ldap:// connection with the StartTLS extended
	// operation (RFC 4511 §4.14) before Dial returns; a server that refuses
	// makes Dial fail rather than continue in clear text.
	StartTLS bool
	// Timeout bounds the dial (TCP and TLS handshake) and every operation
	// (writing the request and reading the whole response); zero means
	// DefaultClientTimeout. A context deadline that is sooner wins.
	Timeout time.Duration
	// MaxMessageSize bounds each response message; zero means
	// DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxEntries bounds the entries of one Search, which fails with
	// ResultSizeLimitExceeded beyond it; zero means DefaultMaxEntries.
	MaxEntries int
}

// Client is a synchronous LDAPv3 client connection: one operation at a
// time (concurrent calls are serialised). It is small on purpose; it serves
// pkid's CRL fetcher, publisher and tests. Operations that fail with an
// LDAP result return an *Error carrying the ResultCode and the server's
// diagnostic message; after a network or protocol error the connection is
// closed and every later call fails.
type Client struct {
	cfg ClientConfig

	mu     sync.Mutex
	conn   net.Conn
	br     *bufio.Reader
	nextID int32
	err    error // sticky: set when the connection became unusable
}

// ErrClientClosed is returned by operations on a closed Client.
var ErrClientClosed = errors.New("ldap: client closed")

// Dial connects to the server of an ldap:// or ldaps:// URL (RFC 4516; only
// the scheme and host are used), with TLS for ldaps:// and, if
// cfg.StartTLS, StartTLS for ldap://. cfg may be nil.
func Dial(ctx context.Context, url string, cfg *ClientConfig) (*Client, error) {
	var c ClientConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultClientTimeout
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	u, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return nil, fmt.Errorf("ldap: dial %s: scheme %q is not ldap or ldaps", url, u.Scheme)
	}
	if u.Scheme == "ldaps" && c.StartTLS {
		return nil, fmt.Errorf("ldap: dial %s: StartTLS on an ldaps:// URL (it is TLS already)", url)
	}
	addr := u.Addr()
	dctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ldap: dial %s: %w", addr, err)
	}
	cl := &Client{cfg: c, conn: conn, br: bufio.NewReader(conn)}
	switch {
	case u.Scheme == "ldaps":
		err = cl.handshake(dctx, addr)
	case c.StartTLS:
		err = cl.startTLS(dctx, addr)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return cl, nil
}

func (c *Client) tlsConfig(addr string) *tls.Config {
	var tc *tls.Config
	if c.cfg.TLSConfig != nil {
		tc = c.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	return tc
}

func (c *Client) handshake(ctx context.Context, addr string) error {
	tc := tls.Client(c.conn, c.tlsConfig(addr))
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("ldap: TLS handshake with %s: %w", addr, err)
	}
	c.conn = tc
	c.br = bufio.NewReader(tc)
	return nil
}

func (c *Client) startTLS(ctx context.Context, addr string) error {
	resp, err := c.exchange(ctx, &ExtendedRequest{Name: OIDStartTLS})
	if err != nil {
		return fmt.Errorf("ldap: StartTLS with %s: %w", addr, err)
	}
	er, ok := resp.(*ExtendedResponse)
	if !ok {
		return fmt.Errorf("ldap: StartTLS with %s: unexpected %s", addr, OpName(resp.Tag()))
	}
	if err := er.Err(); err != nil {
		return fmt.Errorf("ldap: StartTLS with %s refused: %w", addr, err)
	}
	return c.handshake(ctx, addr)
}

// Bind performs a simple bind (RFC 4513 §5.1); an empty dn and password is
// an anonymous bind.
func (c *Client) Bind(ctx context.Context, dn, password string) error {
	return c.bind(ctx, &BindRequest{Version: 3, Name: dn, Method: BindSimple, Password: []byte(password)})
}

// BindExternal performs a SASL EXTERNAL bind (RFC 4513 §5.2.3), which
// authenticates with the TLS client certificate; authzID ("" for none, or
// "dn:..." / "u:...") asks to act as another identity.
func (c *Client) BindExternal(ctx context.Context, authzID string) error {
	// An empty (present) credentials field is the initial response that
	// says "no authzId"; without it Cyrus SASL servers answer with a
	// challenge (saslBindInProgress).
	cred := []byte(authzID)
	return c.bind(ctx, &BindRequest{Version: 3, Method: BindSASL, Mechanism: "EXTERNAL", Credentials: cred})
}

func (c *Client) bind(ctx context.Context, req *BindRequest) error {
	resp, err := c.exchange(ctx, req)
	if err != nil {
		return err
	}
	br, ok := resp.(*BindResponse)
	if !ok {
		return c.fail(fmt.Errorf("ldap: bind: unexpected %s", OpName(resp.Tag())))
	}
	return br.Err()
}

// Search runs req and returns its entries; continuation references are
// ignored. More than ClientConfig.MaxEntries entries fail with an *Error
// of code ResultSizeLimitExceeded (and the connection is closed, since the
// rest of the answer would have to be read).
func (c *Client) Search(ctx context.Context, req *SearchRequest) ([]*SearchResultEntry, error) {
	var entries []*SearchResultEntry
	_, err := c.do(ctx, req, func(m *Message) (bool, error) {
		switch op := m.Op.(type) {
		case *SearchResultEntry:
			if len(entries) >= c.cfg.MaxEntries {
				return true, c.fail(Errorf(ResultSizeLimitExceeded, "more than %d entries", c.cfg.MaxEntries))
			}
			entries = append(entries, op)
			return false, nil
		case *SearchResultReference:
			return false, nil
		case *SearchResultDone:
			return true, op.Err()
		}
		return true, c.fail(fmt.Errorf("ldap: search: unexpected %s", OpName(m.Op.Tag())))
	})
	if err != nil {
		return entries, err
	}
	return entries, nil
}

// Add adds an entry (RFC 4511 §4.7).
func (c *Client) Add(ctx context.Context, req *AddRequest) error {
	return c.simple(ctx, req, TagAddResponse)
}

// Modify changes an entry (RFC 4511 §4.6).
func (c *Client) Modify(ctx context.Context, req *ModifyRequest) error {
	return c.simple(ctx, req, TagModifyResponse)
}

// Delete removes a leaf entry (RFC 4511 §4.8).
func (c *Client) Delete(ctx context.Context, dn string) error {
	return c.simple(ctx, &DelRequest{DN: dn}, TagDelResponse)
}

func (c *Client) simple(ctx context.Context, req Op, want byte) error {
	resp, err := c.exchange(ctx, req)
	if err != nil {
		return err
	}
	if resp.Tag() != want {
		return c.fail(fmt.Errorf("ldap: %s answered with %s", OpName(req.Tag()), OpName(resp.Tag())))
	}
	switch r := resp.(type) {
	case *AddResponse:
		return r.Err()
	case *ModifyResponse:
		return r.Err()
	case *DelResponse:
		return r.Err()
	}
	return nil
}

// exchange sends req and returns its single response operation.
func (c *Client) exchange(ctx context.Context, req Op) (Op, error) {
	var resp Op
	_, err := c.do(ctx, req, func(m *Message) (bool, error) {
		resp = m.Op
		return true, nil
	})
	return resp, err
}

// do sends req and passes each message answering it to handle until handle
// says it was the last. Deadlines come from the client's Timeout and ctx;
// cancelling ctx interrupts a blocked read or write.
func (c *Client) do(ctx context.Context, req Op, handle func(*Message) (bool, error)) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.nextID++
	if c.nextID > MaxMessageID || c.nextID <= 0 {
		c.nextID = 1
	}
	id := c.nextID
	pkt, err := (&Message{ID: id, Op: req}).Marshal()
	if err != nil {
		return id, fmt.Errorf("ldap: encode %s: %w", OpName(req.Tag()), err)
	}
	deadline := time.Now().Add(c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		// If the cancellation already fired, it may set its past deadline
		// after a later operation set a fresh one: never reuse the
		// connection then.
		if !stop() {
			c.fail(fmt.Errorf("ldap: %s: %w", OpName(req.Tag()), context.Cause(ctx)))
		}
	}()
	wrap := func(err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return c.fail(fmt.Errorf("ldap: %s: %w", OpName(req.Tag()), err))
	}
	if _, err := c.conn.Write(pkt); err != nil {
		return id, wrap(err)
	}
	for {
		m, err := ReadMessage(c.br, c.cfg.MaxMessageSize)
		if err != nil {
			return id, wrap(err)
		}
		if IsNoticeOfDisconnection(m) {
			r := m.Op.(*ExtendedResponse)
			return id, c.fail(&Error{Code: r.ResultCode, Message: "notice of disconnection: " + r.DiagnosticMessage})
		}
		if m.ID != id {
			continue // an answer to an operation we gave up on
		}
		last, err := handle(m)
		if last || err != nil {
			return id, err
		}
	}
}

// fail makes the connection unusable after err (unless err is an LDAP
// result, which leaves the connection in a known state) and returns err.
func (c *Client) fail(err error) error {
	var le *Error
	if errors.As(err, &le) && le.Code != ResultSizeLimitExceeded && !strings.HasPrefix(le.Message, "notice of disconnection") {
		return err
	}
	if c.err == nil {
		c.err = fmt.Errorf("ldap: connection unusable after: %w", err)
		c.conn.Close()
	}
	return err
}

// Close sends an UnbindRequest (best effort, without waiting) and closes
// the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == ErrClientClosed {
		return nil
	}
	if c.err == nil {
		c.nextID++
		if pkt, err := (&Message{ID: c.nextID, Op: &UnbindRequest{}}).Marshal(); err == nil {
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			c.conn.Write(pkt)
		}
	}
	c.err = ErrClientClosed
	return c.conn.Close()
}
