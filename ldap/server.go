package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero fields of ServerConfig.
const (
	DefaultMaxConnections   = 20000
	DefaultMaxOpsPerConn    = 16
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultReadTimeout      = 30 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultOperationTimeout = 2 * time.Minute
	DefaultMaxPagedSearches = 8
)

// Identity is who a connection is bound as: what a Backend receives with
// every operation and what an access-control decision starts from.
type Identity struct {
	// DN is the entry the client authenticated as; "" is anonymous.
	DN string
	// Mechanism is "SIMPLE", a SASL mechanism name such as "EXTERNAL",
	// or "" for anonymous.
	Mechanism string
	// Chain is, for EXTERNAL, the verified client certificate chain
	// (leaf first) the identity was mapped from.
	Chain []*x509.Certificate
	// Rule names, for EXTERNAL, the mapping rule that found the entry and
	// how it matched; the bind's log line carries it.
	Rule string
}

// Anonymous reports whether id has not authenticated.
func (id Identity) Anonymous() bool { return id.DN == "" }

// AuthzID is the authorization identity as WhoAmI returns it (RFC 4532
// §2, RFC 4513 §5.2.1.8): "dn:<DN>", or "" for anonymous.
func (id Identity) AuthzID() string {
	if id.DN == "" {
		return ""
	}
	return "dn:" + id.DN
}

// Page asks a Backend for one page of a paged search (RFC 2696).
type Page struct {
	// Size is the page size (at least 1).
	Size int
	// Cookie is the backend's cookie from the previous page; nil for the
	// first page. The frontend never shows it to the client: the client
	// holds a connection-bound token instead.
	Cookie []byte
}

// Backend is the directory a Server serves, in slapd's split between the
// protocol frontend and the backends that hold data. Errors that are not
// *Error become operationsError (ctx errors: timeLimitExceeded or an
// abandoned operation). Requests alias the message buffer; a Backend must
// not keep them after returning.
type Backend interface {
	// Bind verifies a simple bind (RFC 4513 §5.1): an empty name and
	// password is anonymous; a name with an empty password must be
	// refused with unwillingToPerform (§5.1.2).
	Bind(ctx context.Context, name string, password []byte) (Identity, error)
	// Search runs req, calling send for each entry; with page set it
	// returns the cookie for the next page (nil after the last).
	Search(ctx context.Context, id Identity, req *SearchRequest, page *Page, send func(*SearchResultEntry) error) (next []byte, err error)
	// Compare reports whether the entry holds the asserted value.
	Compare(ctx context.Context, id Identity, req *CompareRequest) (bool, error)
	// Add, Modify, Delete and ModifyDN change the tree.
	Add(ctx context.Context, id Identity, req *AddRequest) error
	Modify(ctx context.Context, id Identity, req *ModifyRequest) error
	Delete(ctx context.Context, id Identity, dn string) error
	ModifyDN(ctx context.Context, id Identity, req *ModifyDNRequest) error
	// PasswordModify changes a password (RFC 3062): user "" means id's
	// own entry; a nil new password asks the backend to generate one and
	// return it.
	PasswordModify(ctx context.Context, id Identity, user string, oldPassword, newPassword []byte) (generated []byte, err error)
}

// ExternalBackend is implemented by a Backend that accepts SASL EXTERNAL
// (RFC 4513 §5.2.3). The frontend has already checked that the connection
// is TLS-protected and that the client's chain verifies against
// ServerConfig.ClientCAs for client authentication at the time of the
// bind; BindExternal checks revocation and maps the chain (leaf first) to
// an entry, honouring authzID ("" or "dn:..." as sent) only when the
// mapped identity may assume it. Failures should be invalidCredentials
// naming the certificate's serial and the reason.
type ExternalBackend interface {
	BindExternal(ctx context.Context, chain []*x509.Certificate, authzID string) (Identity, error)
}

// ChainVerifyingBackend is implemented by a Backend that verifies the
// client's certificate chain itself at a SASL EXTERNAL bind, against
// trust anchors of its own that may change while the server runs. The
// frontend then neither needs nor uses ServerConfig.ClientCAs: it hands
// over the chain as the client presented it in the handshake
// (tls.ConnectionState.PeerCertificates: leaf first, then the
// intermediates the client sent), of which the TLS layer proved only
// that the client holds the leaf's private key (CertificateVerify). Set
// TLS.ClientAuth to tls.RequestClientCert so that an expired, untrusted
// or wrong-purpose certificate reaches the bind and gets an LDAP answer
// instead of a TLS alert.
//
// BindExternalPresented verifies the chain (trust anchors, clientAuth
// extended key usage, validity now, revocation), maps it to an entry and
// honours authzID as ExternalBackend does. Failures caused by the
// certificate are invalidCredentials naming its serial and the reason.
// The Identity's Chain is the verified path, leaf first.
type ChainVerifyingBackend interface {
	BindExternalPresented(ctx context.Context, presented []*x509.Certificate, authzID string) (Identity, error)
}

// ServerConfig configures a Server. Every field but Backend has a safe
// zero value.
type ServerConfig struct {
	// Backend answers the operations. Required.
	Backend Backend
	// TLS is used for LDAPS listeners (ServeTLS) and StartTLS. With nil,
	// StartTLS is answered with unavailable and ServeTLS fails.
	// For SASL EXTERNAL set ClientAuth to tls.RequestClientCert: the
	// chain is verified at the bind (here against ClientCAs, or by a
	// ChainVerifyingBackend), so that a refused certificate gets
	// invalidCredentials naming the reason rather than a TLS alert, and
	// a simple or anonymous bind on the same connection still works.
	// tls.VerifyClientCertIfGiven with ClientCAs works too, but refuses
	// such a client at the handshake.
	TLS *tls.Config
	// TLSConn, if set, wraps the connection each TLS handshake runs over
	// (an LDAPS connection as accepted, a StartTLS one after the
	// response) before tls.Server; TLS.GetConfigForClient finds the
	// wrapper as ClientHelloInfo.Conn. pkid serve uses it to record the
	// ClientHello (internal/tlshello). Deadlines are still set on the
	// accepted connection.
	TLSConn func(net.Conn) net.Conn
	// ClientCAs are the trust anchors (and intermediates are taken from
	// the peer) for SASL EXTERNAL; nil falls back to TLS.ClientCAs. With
	// neither, EXTERNAL is refused, unless the Backend is a
	// ChainVerifyingBackend.
	ClientCAs *x509.CertPool
	// MaxMessageSize bounds one request (DefaultMaxMessageSize).
	MaxMessageSize int
	// MaxConnections bounds open connections (DefaultMaxConnections);
	// beyond it a new client gets a Notice of Disconnection (busy).
	MaxConnections int
	// MaxOpsPerConn bounds the operations in progress on one connection
	// (DefaultMaxOpsPerConn); the server stops reading from a client that
	// reaches it until one finishes.
	MaxOpsPerConn int
	// IdleTimeout closes a connection with no operation in progress and
	// nothing received for that long (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one message once its first byte arrived
	// (DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the client; a client that does not
	// read its results within it is disconnected (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// OperationTimeout bounds one operation (DefaultOperationTimeout);
	// a search's own time limit applies when smaller.
	OperationTimeout time.Duration
	// MaxPagedSearches bounds the paged searches a connection may keep
	// open (DefaultMaxPagedSearches); the oldest is dropped beyond it.
	MaxPagedSearches int
	// Logger receives a line per bind (info) and per operation (debug);
	// slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock for certificate checks; time.Now when nil.
	Now func() time.Time
}

// Server is an LDAPv3 server (RFC 4511): the protocol frontend that reads
// requests, dispatches them to a Backend and writes the responses, over
// plain LDAP with StartTLS and over LDAPS.
type Server struct {
	cfg   ServerConfig
	log   *slog.Logger
	slots chan struct{} // connection slots

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup // connections

	open   atomic.Int64
	inline inlineWatch
	chains chainCache // client certificate chains verified at EXTERNAL binds
	// connWorkers runs the connections' readers: a TLS handshake grows a
	// goroutine's stack to tens of kilobytes (key exchange, certificate
	// parsing), which a fresh goroutine per connection pays in stack
	// copies at every short-lived login; kept readers pay once.
	connWorkers *workerPool
}

// NewServer returns a Server for cfg.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("ldap: ServerConfig.Backend is required")
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxOpsPerConn <= 0 {
		cfg.MaxOpsPerConn = DefaultMaxOpsPerConn
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = DefaultOperationTimeout
	}
	if cfg.MaxPagedSearches <= 0 {
		cfg.MaxPagedSearches = DefaultMaxPagedSearches
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientCAs == nil && cfg.TLS != nil {
		cfg.ClientCAs = cfg.TLS.ClientCAs
	}
	return &Server{
		cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.MaxConnections),
		listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{},
		connWorkers: newWorkerPool(maxConnWorkers),
	}, nil
}

// tlsConn is the connection a TLS handshake runs over: nc, wrapped by
// ServerConfig.TLSConn when set.
func (s *Server) tlsConn(nc net.Conn) net.Conn {
	if s.cfg.TLSConn != nil {
		return s.cfg.TLSConn(nc)
	}
	return nc
}

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("ldap: server closed")

// Serve accepts plain LDAP connections on ln (StartTLS upgrades them when
// ServerConfig.TLS is set) until ctx ends or Shutdown is called; it
// closes ln and returns ErrServerClosed then.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, false)
}

// ServeTLS accepts LDAPS connections on ln: TLS from the first byte with
// ServerConfig.TLS.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("ldap: ServeTLS needs ServerConfig.TLS")
	}
	return s.serve(ctx, ln, true)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, useTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.Shutdown(context.Background()) })
	defer stop()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("LDAP accept", "err", err, "retry", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("ldap: accept on %s: %w", ln.Addr(), err)
		}
		delay = 0
		select {
		case s.slots <- struct{}{}:
		default:
			s.log.Warn("LDAP connection refused", "remote", nc.RemoteAddr().String(), "reason", "max connections", "max", s.cfg.MaxConnections)
			go refuse(nc, s.cfg.WriteTimeout)
			continue
		}
		c := s.newConn(nc, useTLS)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			<-s.slots
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.open.Add(1)
		s.connWorkers.run(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				s.open.Add(-1)
				<-s.slots
				s.wg.Done()
			}()
			c.serve()
		})
	}
}

// refuse tells a client over the connection limit why it is dropped.
func refuse(nc net.Conn, timeout time.Duration) {
	defer nc.Close()
	b, err := NoticeOfDisconnection(ResultBusy, "too many connections; try again later").Marshal()
	if err != nil {
		return
	}
	nc.SetWriteDeadline(time.Now().Add(timeout))
	nc.Write(b)
}

// Connections returns the number of open connections.
func (s *Server) Connections() int { return int(s.open.Load()) }

// Shutdown stops accepting, lets operations in progress finish until ctx
// ends, then sends each client a Notice of Disconnection (unavailable) and
// closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.listeners = map[net.Listener]struct{}{}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.stopReading()
	}
	done := make(chan struct{})
	go func() {
		for _, c := range conns {
			c.ops.Wait()
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	for _, c := range conns {
		c.disconnect(ResultUnavailable, "the server is shutting down")
	}
	s.wg.Wait()
	s.connWorkers.stop()
	return err
}
