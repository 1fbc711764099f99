package revocation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Config configures a Checker. The zero value is a safe default: hard-fail
// (a certificate whose status cannot be established fails the handshake),
// staple → OCSP → CRL, delta CRLs on, 5 s per fetch, 15 s per handshake,
// 1024 cached responses, 5 minutes of clock skew, the built-in LDAP fetcher for ldap://.
type Config struct {
	// SoftFail tolerates certificates whose status is unknown only because
	// no source was reachable (network errors, timeouts, HTTP errors, OCSP
	// tryLater) or because they name no usable source (none at all, or
	// only URL schemes without a Fetcher). A revoked
	// certificate, a bad signature, a stale or malformed CRL always fail.
	// The default, false, is hard-fail.
	SoftFail bool

	// Order lists the methods to try, first to last; the first definite
	// answer (good or revoked) wins. Nil means staple, OCSP, CRL.
	Order []Method

	// Time returns the current time; nil means time.Now.
	Time func() time.Time

	// HTTPClient is used for OCSP and for http:// and https:// CRLs; nil
	// means a client that does not follow redirects to other schemes.
	HTTPClient *http.Client

	// Fetchers maps URL schemes ("http", "https", "ldap", "ldaps") to the
	// Fetcher used for CRL distribution points; entries override the
	// built-in fetchers: HTTP for "http" and "https", and an LDAPFetcher
	// (anonymous, system roots for ldaps://) for "ldap" and "ldaps". Map a
	// scheme to nil to disable it: such a distribution point fails with a
	// clear error (and another distribution point URL, or OCSP, is tried).
	Fetchers map[string]Fetcher

	// CacheSize bounds the number of CRLs and OCSP responses kept in memory
	// (each until its nextUpdate). Zero means 1024; negative disables the
	// cache.
	CacheSize int

	// CacheMaxAge, when positive, refetches a cached CRL or OCSP response
	// after this long even if its nextUpdate is later, so revocations
	// published before nextUpdate are seen sooner.
	CacheMaxAge time.Duration

	// FetchTimeout bounds each fetch; zero means 5 s.
	FetchTimeout time.Duration

	// Timeout bounds the whole check in VerifyConnection; zero means 15 s.
	// CheckChain and Check use the caller's context instead.
	Timeout time.Duration

	// ClockSkew is the tolerance for thisUpdate in the future and
	// nextUpdate in the past; zero means 5 minutes, negative means none.
	ClockSkew time.Duration

	// MaxResponseSize bounds a fetched CRL or OCSP response; zero means
	// 32 MiB.
	MaxResponseSize int64

	// LeafOnly checks only the first certificate of each chain (the peer's
	// own), not the intermediate CAs. It suits PKIs whose CA certificates
	// name no revocation source, which hard-fail would otherwise reject.
	LeafOnly bool

	// DisableDeltaCRLs ignores delta CRLs (RFC 5280 §5.2.4).
	DisableDeltaCRLs bool

	// CRLs are CRLs the caller already has (files, a directory entry);
	// they are considered before any distribution point is fetched, and
	// also for certificates without a CRL distribution points extension.
	CRLs []*x509.RevocationList

	// Certificates may hold certificates that sign CRLs without being in
	// the chain: a CA's separate CRL-signing key, an indirect CRL issuer.
	// They are trusted only after their own path validates to the chain's
	// trust anchor and their own revocation status is good.
	Certificates []*x509.Certificate
}

// Checker checks chains for revocation. It is safe for concurrent use;
// create it once with New and share it, so its cache is shared too.
type Checker struct {
	cfg      Config
	cache    *cache
	http     *HTTPFetcher
	fetchers map[string]Fetcher
	order    []Method

	localOnce sync.Once
	local     []*crlInfo
	localErrs []localCRLError

	flightMu sync.Mutex
	flights  map[string]*flight
}

// localCRLError is a supplied CRL that could not be used, reported for
// certificates of its issuer.
type localCRLError struct {
	issuer []byte
	err    error
}

// flight is one fetch in progress; concurrent checks needing the same CRL
// or OCSP response wait for it instead of fetching again.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

// once runs fn for key unless a call for key is already running, in which
// case it waits for that call's result.
func (c *Checker) once(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	c.flightMu.Lock()
	if f, ok := c.flights[key]; ok {
		c.flightMu.Unlock()
		select {
		case <-f.done:
			return f.val, f.err
		case <-ctx.Done():
			return nil, unavailable(ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	if c.flights == nil {
		c.flights = make(map[string]*flight)
	}
	c.flights[key] = f
	c.flightMu.Unlock()
	f.val, f.err = fn()
	c.flightMu.Lock()
	delete(c.flights, key)
	c.flightMu.Unlock()
	close(f.done)
	return f.val, f.err
}

// New returns a Checker for cfg. cfg is copied; later changes to it have
// no effect.
func New(cfg Config) *Checker {
	c := &Checker{cfg: cfg}
	size := cfg.CacheSize
	if size == 0 {
		size = 1024
	}
	c.cache = newCache(size)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
					return fmt.Errorf("redirect to %s refused", req.URL.Scheme)
				}
				return nil
			},
		}
	}
	c.http = &HTTPFetcher{Client: client, MaxSize: cfg.MaxResponseSize}
	ldapFetcher := &LDAPFetcher{MaxSize: int(c.maxSize()) + 64<<10}
	c.fetchers = map[string]Fetcher{"http": c.http, "https": c.http, "ldap": ldapFetcher, "ldaps": ldapFetcher}
	for k, f := range cfg.Fetchers {
		if f == nil {
			delete(c.fetchers, k)
			continue
		}
		c.fetchers[k] = f
	}
	c.order = cfg.Order
	if len(c.order) == 0 {
		c.order = []Method{MethodStaple, MethodOCSP, MethodCRL}
	}
	return c
}

func (c *Checker) now() time.Time {
	if c.cfg.Time != nil {
		return c.cfg.Time()
	}
	return time.Now()
}

func (c *Checker) skew() time.Duration {
	switch {
	case c.cfg.ClockSkew < 0:
		return 0
	case c.cfg.ClockSkew == 0:
		return 5 * time.Minute
	}
	return c.cfg.ClockSkew
}

func (c *Checker) fetchTimeout() time.Duration {
	if c.cfg.FetchTimeout > 0 {
		return c.cfg.FetchTimeout
	}
	return 5 * time.Second
}

// cacheUntil is when a response with this nextUpdate leaves the cache.
func (c *Checker) cacheUntil(nextUpdate time.Time) time.Time {
	if c.cfg.CacheMaxAge > 0 {
		if limit := c.now().Add(c.cfg.CacheMaxAge); limit.Before(nextUpdate) {
			return limit
		}
	}
	return nextUpdate
}

func (c *Checker) maxSize() int64 {
	if c.cfg.MaxResponseSize > 0 {
		return c.cfg.MaxResponseSize
	}
	return 32 << 20
}

// maxURLs bounds the distribution point and responder URLs tried per
// certificate, whatever the certificate lists.
const maxURLs = 8

func (c *Checker) timeout() time.Duration {
	if c.cfg.Timeout > 0 {
		return c.cfg.Timeout
	}
	return 15 * time.Second
}

// localCRLs parses Config.CRLs once.
func (c *Checker) localCRLs() []*crlInfo {
	c.localOnce.Do(func() {
		for _, rl := range c.cfg.CRLs {
			ci, err := newCRLInfo(rl, fmt.Sprintf("the supplied CRL of %s (number %v)", rl.Issuer, rl.Number))
			if err != nil {
				c.localErrs = append(c.localErrs, localCRLError{rl.RawIssuer, fmt.Errorf("the supplied CRL of %s: %w", rl.Issuer, err)})
				continue
			}
			c.local = append(c.local, ci)
		}
	})
	return c.local
}

// VerifyConnection checks every verified chain of the connection (except
// each chain's trust anchor) and returns nil if one chain passes. Use it
// as tls.Config.VerifyConnection on clients and on servers that verify
// client certificates. The error names the certificate, the source and the
// reason; errors.As finds a *RevokedError or *UnknownError in it.
func (c *Checker) VerifyConnection(cs tls.ConnectionState) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	_, err := c.CheckConnection(ctx, cs)
	return err
}

// CheckConnection is VerifyConnection with a context, returning the status
// of each certificate of the first chain that passed (or, if none passed,
// of the first chain).
func (c *Checker) CheckConnection(ctx context.Context, cs tls.ConnectionState) ([]Status, error) {
	if len(cs.VerifiedChains) == 0 {
		if len(cs.PeerCertificates) == 0 {
			return nil, nil // a server whose client sent no certificate
		}
		return nil, errors.New("revocation: the peer's chain was not verified, so its revocation cannot be checked; do not set InsecureSkipVerify, and on servers use tls.VerifyClientCertIfGiven or tls.RequireAndVerifyClientCert")
	}
	var firstSt []Status
	var firstErr error
	for i, chain := range cs.VerifiedChains {
		st, err := c.checkChain(ctx, chain, cs.OCSPResponse)
		if err == nil {
			return st, nil
		}
		if i == 0 {
			firstSt, firstErr = st, err
		}
	}
	return firstSt, firstErr
}

// CheckChain checks chain[0] .. chain[len-2]; chain[len-1] is the trust
// anchor, as in the chains x509.Certificate.Verify returns. It returns the
// status of each checked certificate and, when one is revoked or (under
// hard-fail) unknown, an error: a *RevokedError or an *UnknownError.
func (c *Checker) CheckChain(ctx context.Context, chain []*x509.Certificate) ([]Status, error) {
	return c.checkChain(ctx, chain, nil)
}

// Check checks one certificate against its issuer, which also serves as
// trust anchor for any separate CRL issuer.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate) (Status, error) {
	st, err := c.checkChain(ctx, []*x509.Certificate{cert, issuer}, nil)
	if len(st) == 0 {
		return Status{Certificate: cert}, err
	}
	return st[0], err
}

func (c *Checker) checkChain(ctx context.Context, chain []*x509.Certificate, staple []byte) ([]Status, error) {
	if len(chain) < 2 {
		return nil, nil
	}
	var out []Status
	var firstErr error
	n := len(chain) - 1
	if c.cfg.LeafOnly {
		n = 1
	}
	for i := 0; i < n; i++ {
		var st Status
		if i == 0 {
			st = c.check(ctx, chain, i, staple, 0)
		} else {
			st = c.check(ctx, chain, i, nil, 0)
		}
		out = append(out, st)
		if firstErr != nil {
			continue
		}
		switch st.State {
		case Revoked:
			firstErr = revokedError(st)
		case Unknown:
			var ue *UnknownError
			if errors.As(st.Err, &ue) && c.cfg.SoftFail && onlyUnavailable(ue.Errs) {
				continue
			}
			firstErr = st.Err
		}
	}
	return out, firstErr
}

func revokedError(st Status) *RevokedError {
	return &RevokedError{
		Certificate: st.Certificate, Serial: st.Certificate.SerialNumber,
		Reason: st.Reason, RevokedAt: st.RevokedAt, Source: st.Source,
	}
}

// check establishes the status of chain[i] by trying each method in order.
func (c *Checker) check(ctx context.Context, chain []*x509.Certificate, i int, staple []byte, depth int) Status {
	cert, issuer := chain[i], chain[i+1]
	var errs []error
	for _, m := range c.order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, unavailable(fmt.Errorf("revocation check: %w", err)))
			break
		}
		switch m {
		case MethodStaple:
			if i != 0 || len(staple) == 0 {
				continue
			}
			st, err := c.ocspFromBytes(staple, cert, issuer, "the stapled OCSP response")
			if err == nil {
				return st
			}
			errs = append(errs, &SourceError{"the stapled OCSP response", err})
		case MethodOCSP:
			for i, u := range cert.OCSPServer {
				if i == maxURLs {
					break
				}
				st, err := c.ocspQuery(ctx, cert, issuer, u)
				if err == nil {
					return st
				}
				errs = append(errs, &SourceError{"the OCSP responder at " + u, err})
			}
		case MethodCRL:
			st, err := c.crlCheck(ctx, chain, i, depth)
			if err == nil {
				return st
			}
			var ce crlErrors
			switch {
			case errors.As(err, &ce):
				errs = append(errs, ce...)
			case !errors.Is(err, ErrNoSource):
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, ErrNoSource)
	}
	for _, e := range c.localErrs {
		if nameEqual(e.issuer, cert.RawIssuer) {
			errs = append(errs, e.err)
		}
	}
	return Status{Certificate: cert, State: Unknown, Err: &UnknownError{Certificate: cert, Errs: errs}}
}
