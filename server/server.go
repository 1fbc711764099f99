package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/ocsp"
	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/store"
)

// Server is `pkid serve`: the HTTP listener with the OCSP responder, CRLs
// and CA certificates of every CA in the store, kept current by the
// store's change feed. Create it with New, run it with Serve, stop it by
// ending Serve's context or with Shutdown.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      store.Store
	svc     *ca.Service
	ln      net.Listener
	http    *http.Server     // net/http: everything lean hands over
	lean    *ocsp.LeanServer // the HTTP listener: OCSP itself, the rest via http
	resp    *ocsp.Responder
	metrics *metrics
	boot    *Bootstrap
	ldap    *ldapState // nil without LDAP listeners
	start   int64      // feed revision read before the initial state was loaded

	revision atomic.Int64 // last change-feed revision applied
	crlKick  chan struct{}
	routes   atomic.Pointer[map[string]resource]

	mu  sync.Mutex // guards cas and the mutable caState fields
	cas []*caState

	serving  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown
	done     chan struct{} // closed when Serve has stopped everything

	pub *publish.Publisher // nil without Config.Publish

	storeHealth storeHealth // see cluster.go
}

// caState is one CA as served.
type caState struct {
	id    string
	recp  atomic.Pointer[store.CA] // replaced when the CA's record changes
	cert  *published
	signs bool // pkid holds its key: it signs CRLs and has a responder

	issuer   *ocsp.Issuer // nil until the responder certificate is set
	dirty    bool
	forceCRL bool // sign a new full CRL even if no revocation changed
	pending  []pending
	crls     crlSet
}

func (c *caState) rec() *store.CA { return c.recp.Load() }

// New prepares a Server: it listens (unless Config.HTTPListener is set),
// creates the CA hierarchy and the administrator's certificate on a first
// run (see Bootstrap), sets up a delegated OCSP responder certificate per
// CA and makes sure every CA has a current CRL. Serve then answers
// requests.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is required")
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.CRLDelay <= 0 {
		cfg.CRLDelay = DefaultCRLDelay
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, st: cfg.Store, metrics: newMetrics(),
		crlKick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.svc = ca.New(cfg.Store, ca.Options{Passphrase: cfg.Passphrase, Time: cfg.Now, Where: cfg.Dir})
	ok := false
	defer func() {
		if !ok {
			s.svc.Close()
			if s.ln != nil && cfg.HTTPListener == nil {
				s.ln.Close()
			}
		}
	}()

	s.ln = cfg.HTTPListener
	if s.ln == nil {
		if err := checkLoopback(cfg.HTTPAddr, cfg.AllowRemote, "--http"); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w (is another pkid serve running? choose another address with --http)", cfg.HTTPAddr, err)
		}
		s.ln = ln
	} else if err := checkLoopback(s.ln.Addr().String(), cfg.AllowRemote, "the listener's address"); err != nil {
		return nil, err
	}
	base := cfg.URL
	if base == "" {
		base = baseURL(s.ln.Addr())
	}

	ctx := context.Background()
	rev, err := s.st.Revision(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the store: %w", err)
	}
	s.start = rev
	s.revision.Store(rev)
	if s.boot, err = s.bootstrap(ctx, base); err != nil {
		return nil, err
	}
	s.resp, err = ocsp.New(ocsp.Config{
		Lookup:   s.lookup,
		Validity: cfg.OCSPValidity,
		Prefix:   urlPath(ca.OCSPURL(s.boot.URL)),
		Metrics:  newOCSPMetrics(s.metrics),
		Logger:   s.log,
		Now:      cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	if err := s.reloadCAs(ctx); err != nil {
		return nil, err
	}
	if err := s.setupLDAP(ctx); err != nil {
		return nil, err
	}
	s.http = ocsp.NewServer(s.Handler())
	if cfg.ReadHeaderTimeout > 0 {
		s.http.ReadHeaderTimeout = cfg.ReadHeaderTimeout
	}
	s.http.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	// With debug logging, one log line per request is net/http's
	// middleware's job: every request stays there (s.lean nil).
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		s.lean = ocsp.NewLeanServer(s.resp, s.http)
		s.lean.Served = s.metrics.counter("ocsp")
	}
	if err := s.newPublisher(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Bootstrap describes the data directory: what this run created and where
// the files for clients are.
func (s *Server) Bootstrap() *Bootstrap { return s.boot }

// Addr is the HTTP listener's address (with the real port when the
// configured one was 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the http base URL of the listener, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Service is the issuance service the server signs with; tests and the
// command line may issue and revoke through it.
func (s *Server) Service() *ca.Service { return s.svc }

// Serve answers HTTP requests and follows the store until ctx ends or
// Shutdown is called; then it stops accepting, lets requests in flight
// finish (up to Config.ShutdownTimeout) and returns nil. It may be called
// once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice")
	}
	defer close(s.done)
	defer s.svc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(func(ctx context.Context) { s.follow(ctx, s.start) })
	run(s.runCRLs)
	run(s.renewResponders)
	run(s.watchStoreHealth)
	run(func(ctx context.Context) { s.resp.Run(ctx) })
	if s.pub != nil {
		run(func(ctx context.Context) { s.pub.Run(ctx) })
	}
	run(func(ctx context.Context) {
		for _, c := range s.caList() {
			if c.signs {
				if err := s.prepareOCSP(ctx, c.id); err != nil && ctx.Err() == nil {
					s.log.Warn("OCSP pre-signing", "ca", c.id, "err", err)
				}
			}
		}
	})

	errc := make(chan error, 3)
	go func() { errc <- fmt.Errorf("HTTP server: %w", s.serveHTTP()) }()
	if s.ldap != nil {
		s.serveLDAP(ctx, errc)
		run(s.renewLDAPCert)
	}
	s.log.Info("serving", "http", s.URL(), "dir", s.cfg.Dir, "cas", len(s.caList()))

	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	case <-s.stop:
	}
	sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer scancel()
	if serr := s.shutdownHTTP(sctx); serr != nil {
		s.closeHTTP()
	}
	if s.ldap != nil {
		s.ldap.srv.Shutdown(sctx)
	}
	cancel()
	wg.Wait()
	s.log.Info("stopped", "http", s.URL())
	return err
}

// Shutdown stops a running Serve gracefully and waits for it to return,
// or for ctx to end. Without Serve it just releases the listener.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	if !s.serving.Load() {
		s.svc.Close()
		if s.ldap != nil {
			s.ldap.srv.Shutdown(ctx)
			for _, ln := range []net.Listener{s.ldap.ln, s.ldap.lns} {
				if ln != nil {
					ln.Close()
				}
			}
		}
		return s.ln.Close()
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.closeHTTP()
		return ctx.Err()
	}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// serveHTTP serves the HTTP listener: through the lean OCSP loop, which
// hands every other request to net/http, or (with debug logging) through
// net/http alone.
func (s *Server) serveHTTP() error {
	if s.lean != nil {
		return s.lean.Serve(s.ln)
	}
	return s.http.Serve(s.ln)
}

func (s *Server) shutdownHTTP(ctx context.Context) error {
	if s.lean != nil {
		return s.lean.Shutdown(ctx)
	}
	return s.http.Shutdown(ctx)
}

func (s *Server) closeHTTP() {
	if s.lean != nil {
		s.lean.Close()
		return
	}
	s.http.Close()
}

func (s *Server) caList() []*caState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cas)
}

func (s *Server) caByID(id string) *caState {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cas {
		if c.id == id {
			return c
		}
	}
	return nil
}

// reloadCAs serves every CA of the store: new ones get a responder
// certificate and a CRL; changed records (URL, delta CRLs) are taken over.
func (s *Server) reloadCAs(ctx context.Context) error {
	recs, err := s.st.CAs(ctx)
	if err != nil {
		return fmt.Errorf("read CAs: %w", err)
	}
	var errs []error
	for _, rec := range recs {
		if c := s.caByID(rec.ID); c != nil {
			s.mu.Lock()
			old := c.rec()
			changed := old.DeltaCRL != rec.DeltaCRL || old.URL != rec.URL || old.LDAPURL != rec.LDAPURL
			c.recp.Store(rec)
			// The full CRL names the delta CRLs (freshestCRL): re-sign it.
			c.forceCRL = c.forceCRL || changed
			s.mu.Unlock()
			if changed && c.signs {
				s.markDirty(c, pending{})
			}
			continue
		}
		cert, err := x509.ParseCertificate(rec.CertDER)
		if err != nil {
			errs = append(errs, fmt.Errorf("certificate of CA %q: %w", rec.ID, err))
			continue
		}
		c := &caState{id: rec.ID, cert: newPublished(rec.CertDER, "CERTIFICATE", cert.NotBefore), signs: len(rec.KeyPEM) > 0}
		c.recp.Store(rec)
		if c.signs {
			a, err := s.svc.Authority(ctx, rec.ID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := s.serveOCSP(ctx, c, a); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := s.updateCRL(ctx, c); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		s.mu.Lock()
		s.cas = append(s.cas, c)
		s.mu.Unlock()
	}
	s.setRoutes()
	return errors.Join(errs...)
}

// urlPath is the path of a URL ("/ocsp" of "http://host:8080/ocsp").
func urlPath(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Path == "" {
		return "/"
	}
	return p.Path
}

// pemPath is the PEM sibling of a DER resource path: /ca/ID.der →
// /ca/ID.pem, /crl/ID.crl → /crl/ID.pem.
func pemPath(p string) string {
	if i := strings.LastIndexByte(p, '.'); i > strings.LastIndexByte(p, '/') {
		p = p[:i]
	}
	return p + ".pem"
}
