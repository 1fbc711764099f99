package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pkid/pkid/internal/tlsregistry"
	"github.com/pkid/pkid/lint"
	"github.com/pkid/pkid/revocation"
)

// Options says whom to probe and how. The zero value of every field except
// Addr is a sensible default.
type Options struct {
	// Addr is the server, host:port.
	Addr string
	// StartTLS is the plaintext protocol to upgrade from: "ldap", "smtp",
	// "imap", "postgres", or "" for TLS from the first byte.
	StartTLS string
	// ServerName is sent as SNI and checked against the certificate; ""
	// means the host part of Addr.
	ServerName string
	// Certificate, when set, is offered if the server asks for a client
	// certificate (and is linted as a client certificate either way).
	Certificate *tls.Certificate
	// RootCAs are the trust anchors; nil means the system roots.
	RootCAs *x509.CertPool
	// MinVersion and MaxVersion bound the versions offered (tls.VersionTLS12
	// ...); zero means TLS 1.0 and TLS 1.3. TLS12Only and TLS13Only are
	// shorthands that override them.
	MinVersion, MaxVersion uint16
	TLS12Only, TLS13Only   bool
	// ALPN lists application protocols to offer; nil offers none.
	ALPN []string
	// KeyLogWriter receives the session secrets in NSS key log format, for
	// Wireshark.
	KeyLogWriter io.Writer
	// Timeout bounds the whole probe; zero means 10 seconds.
	Timeout time.Duration
	// Revocation checks the verified chain; nil skips revocation checking.
	Revocation *revocation.Checker
	// Time returns the current time for verification; nil means time.Now.
	Time func() time.Time
	// HTTPClient fetches AIA caIssuers certificates when the chain is
	// incomplete; nil means a client with a 3-second timeout.
	HTTPClient *http.Client
	// NoResume skips the second connection that tests session resumption.
	NoResume bool
	// NoRetry skips the extra handshakes made after a failure to learn what
	// the server would accept (a broader offer, another version).
	NoRetry bool
	// TicketWait bounds how long to wait after the handshake for TLS 1.3
	// session tickets or a late alert (a server rejecting our certificate
	// in TLS 1.3 says so only after the handshake); zero means 500 ms when
	// the server asked for a client certificate, 150 ms otherwise.
	TicketWait time.Duration
}

// Report is everything one probe learned. Fields are empty when the probe
// did not get that far.
type Report struct {
	Addr       string `json:"addr"`
	ServerName string `json:"server_name"`
	StartTLS   string `json:"starttls,omitempty"`
	// Connected: the TCP connection (and STARTTLS) succeeded.
	Connected bool `json:"connected"`
	// HandshakeOK: the TLS handshake completed and the server did not
	// reject it right after.
	HandshakeOK bool `json:"handshake_ok"`
	// Error is why the connection or handshake failed.
	Error string `json:"error,omitempty"`
	// NotTLS names what the server sent instead of TLS ("HTTP", ...).
	NotTLS string `json:"not_tls,omitempty"`
	// Alert is the alert the server sent, and Stage when.
	Alert *Alert `json:"alert,omitempty"`

	Version     string `json:"version,omitempty"`
	VersionCode uint16 `json:"version_code,omitempty"`
	Suite       *Suite `json:"cipher_suite,omitempty"`
	Group       string `json:"group,omitempty"`
	GroupID     uint16 `json:"group_id,omitempty"`
	ALPN        string `json:"alpn,omitempty"`

	// Offer is what our ClientHello offered, read from the wire.
	Offer Offer `json:"offer"`

	// Chain is the server's certificates in the order sent (the first
	// 16); ChainSent counts all of them.
	Chain        []Certificate `json:"chain,omitempty"`
	ChainSent    int           `json:"chain_sent"`
	Verification Verification  `json:"verification"`
	Revocation   *Revocation   `json:"revocation,omitempty"`
	OCSPStaple   *Staple       `json:"ocsp_staple,omitempty"`

	CertificateRequest *CertificateRequest `json:"certificate_request,omitempty"`
	ClientCertificate  *ClientCertificate  `json:"client_certificate,omitempty"`

	Session Session `json:"session"`
	Timings Timings `json:"timings"`

	// Retries are the extra handshakes made after a failure, and what
	// they showed.
	Retries []Retry `json:"retries,omitempty"`

	// Problems explains every failure found; empty when all is well.
	Problems []Explanation `json:"problems,omitempty"`

	err         error // the connection or handshake error
	verifyErr   error // the chain verification error (with hostname)
	revErr      error
	sentCert    bool
	requested   bool
	serverHello bool
}

// Err returns the connection or handshake error, if any.
func (r *Report) Err() error { return r.err }

// Alert is a TLS alert the server sent.
type Alert struct {
	Code uint8  `json:"code"`
	Name string `json:"name"`
	// Stage says when it came: "in answer to our ClientHello", "after we
	// sent our certificate", "after we sent no certificate", "after the
	// handshake", "during the handshake".
	Stage string `json:"stage"`
}

// Suite names a cipher suite three ways.
type Suite struct {
	Code    uint16 `json:"code"`
	Hex     string `json:"hex"` // as GSKit writes it, e.g. C02B
	IANA    string `json:"iana"`
	OpenSSL string `json:"openssl,omitempty"`
	// KeyExchange and Auth as tlsregistry describes them (RSA, ECDHE, ...).
	KeyExchange string `json:"kx,omitempty"`
	Auth        string `json:"auth,omitempty"`
}

// Offer is what our ClientHello offered.
type Offer struct {
	Versions []string `json:"versions,omitempty"`
	Suites   []Suite  `json:"suites,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	SigAlgs  []string `json:"signature_algorithms,omitempty"`
}

// Verification is the result of checking the server's chain.
type Verification struct {
	// Verified: the chain leads to a trusted root and the hostname matches.
	Verified bool `json:"verified"`
	// ChainOK: the chain is valid ignoring the hostname.
	ChainOK bool `json:"chain_ok"`
	// Hostname is the name checked; HostnameOK whether the leaf covers it.
	Hostname   string `json:"hostname"`
	HostnameOK bool   `json:"hostname_ok"`
	// Chains are the verified chains, as subjects from leaf to root.
	Chains [][]string `json:"chains,omitempty"`
	Error  string     `json:"error,omitempty"`
	// ClientWouldSay is the error a default crypto/tls client would abort
	// the handshake with ("" when it would succeed).
	ClientWouldSay string `json:"client_would_say,omitempty"`
	// MissingIssuer names the CA that could not be found when the chain
	// does not lead to a trusted root.
	MissingIssuer string `json:"missing_issuer,omitempty"`
	// IntermediatesSent counts the certificates after the leaf.
	IntermediatesSent int `json:"intermediates_sent"`
	// AIA is the attempt to fetch the missing issuer from the Authority
	// Information Access caIssuers URL.
	AIA *AIAFetch `json:"aia,omitempty"`
	// Expired and NotYetValid list the subjects of certificates outside
	// their validity period.
	Expired     []string `json:"expired,omitempty"`
	NotYetValid []string `json:"not_yet_valid,omitempty"`

	chains [][]*x509.Certificate
}

// AIAFetch reports fetching an issuer from an AIA caIssuers URL.
type AIAFetch struct {
	URL     string `json:"url"`
	Error   string `json:"error,omitempty"`
	Subject string `json:"subject,omitempty"`
	// CompletesChain: with the fetched certificate the chain verifies.
	CompletesChain bool `json:"completes_chain"`
}

// Revocation is the revocation status of the verified chain.
type Revocation struct {
	Statuses []RevocationStatus `json:"statuses"`
	Error    string             `json:"error,omitempty"`
}

// RevocationStatus is one certificate's status.
type RevocationStatus struct {
	Subject    string    `json:"subject"`
	Serial     string    `json:"serial"`
	State      string    `json:"state"`            // good, revoked, unknown
	Method     string    `json:"method,omitempty"` // staple, OCSP, CRL
	Source     string    `json:"source,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// CertificateRequest is what the server asked of a client certificate.
type CertificateRequest struct {
	// AcceptableCAs are the certificate_authorities names, as text.
	AcceptableCAs []string `json:"acceptable_cas"`
	// CertificateTypes (TLS 1.2 and earlier only), as OpenSSL prints them:
	// "RSA sign", "ECDSA sign", ...; read from the wire.
	CertificateTypes []string `json:"certificate_types,omitempty"`
	// SignatureAlgorithms as OpenSSL prints them ("ECDSA+SHA256").
	SignatureAlgorithms []string `json:"signature_algorithms"`
	SigAlgCodes         []uint16 `json:"signature_algorithm_codes"`

	rawCAs [][]byte
}

// ClientCertificate is our own --cert: what it is, whether the server
// asked for it, and whether it fits the request.
type ClientCertificate struct {
	Certificate Certificate `json:"certificate"`
	Sent        bool        `json:"sent"`
	// MatchesAcceptableCA: a certificate of our chain was issued by, or is,
	// one of the CAs the server named (true when it named none).
	MatchesAcceptableCA bool   `json:"matches_acceptable_ca"`
	MatchedCA           string `json:"matched_ca,omitempty"`
	// Unsuitable says why crypto/tls thinks the certificate does not fit the
	// request (key type, signature algorithms, CA names).
	Unsuitable string `json:"unsuitable,omitempty"`
}

// Staple is the OCSP response stapled in the handshake.
type Staple struct {
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	ProducedAt time.Time `json:"produced_at,omitzero"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// Session reports session resumption.
type Session struct {
	// TicketReceived: the server sent a session ticket.
	TicketReceived bool `json:"ticket_received"`
	// SessionIDLength is the TLS 1.2 ServerHello session_id length (a
	// server-side cache; crypto/tls resumes only with tickets).
	SessionIDLength int `json:"session_id_length"`
	// ResumeTried: a second connection offered the ticket; Resumed: the
	// server accepted it.
	ResumeTried bool          `json:"resume_tried"`
	Resumed     bool          `json:"resumed"`
	ResumeTime  time.Duration `json:"resume_time,omitempty"`
	ResumeError string        `json:"resume_error,omitempty"`
}

// Timings of the probe's steps (in JSON, nanoseconds).
type Timings struct {
	Connect    time.Duration `json:"connect"`
	StartTLS   time.Duration `json:"starttls,omitempty"`
	Handshake  time.Duration `json:"handshake"`
	Verify     time.Duration `json:"verify"`
	Revocation time.Duration `json:"revocation,omitempty"`
	Total      time.Duration `json:"total"`
}

// Retry is an extra handshake made after a failure to learn more.
type Retry struct {
	// Purpose says what was changed: "every cipher suite crypto/tls
	// implements", "TLS 1.3", "TLS 1.0–1.3".
	Purpose   string `json:"purpose"`
	OK        bool   `json:"ok"`
	Version   string `json:"version,omitempty"`
	Suite     *Suite `json:"cipher_suite,omitempty"`
	ServerKey string `json:"server_key,omitempty"` // key type of the server's certificate
	Error     string `json:"error,omitempty"`
}

// Probe connects to opts.Addr, makes a TLS handshake and reports what it
// carried, whether the chain verifies, and why anything failed. It returns
// a nil Report only for unusable Options; otherwise the Report is filled as
// far as the probe got, its Problems explain every failure, and the error
// is the connection or handshake error.
func Probe(ctx context.Context, opts Options) (*Report, error) {
	p, err := newProber(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r := &Report{Addr: opts.Addr, ServerName: p.serverName, StartTLS: opts.StartTLS}
	if opts.Certificate != nil && len(opts.Certificate.Certificate) > 0 {
		r.ClientCertificate = p.ourCertificate()
	}
	err = p.run(ctx, r)
	r.Timings.Total = time.Since(start)
	r.Problems = Explain(r)
	return r, err
}

type prober struct {
	opts       Options
	host       string
	serverName string
	timeout    time.Duration
	now        func() time.Time
	minV, maxV uint16
}

func newProber(opts Options) (*prober, error) {
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: want HOST:PORT: %w", opts.Addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return nil, fmt.Errorf("address %q: port must be 1–65535", opts.Addr)
	}
	switch opts.StartTLS {
	case "", "ldap", "smtp", "imap", "postgres":
	default:
		return nil, fmt.Errorf("unknown STARTTLS protocol %q (want ldap, smtp, imap or postgres)", opts.StartTLS)
	}
	if opts.TLS12Only && opts.TLS13Only {
		return nil, errors.New("TLS 1.2 only and TLS 1.3 only exclude each other")
	}
	p := &prober{opts: opts, host: host, serverName: opts.ServerName, timeout: opts.Timeout, now: opts.Time}
	if p.serverName == "" {
		p.serverName = host
	}
	if p.timeout <= 0 {
		p.timeout = 10 * time.Second
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.minV, p.maxV = opts.MinVersion, opts.MaxVersion
	if p.minV == 0 {
		p.minV = tls.VersionTLS10
	}
	if p.maxV == 0 {
		p.maxV = tls.VersionTLS13
	}
	switch {
	case opts.TLS12Only:
		p.minV, p.maxV = tls.VersionTLS12, tls.VersionTLS12
	case opts.TLS13Only:
		p.minV, p.maxV = tls.VersionTLS13, tls.VersionTLS13
	}
	if p.minV > p.maxV {
		return nil, fmt.Errorf("minimum version %s is above maximum %s", versionName(p.minV), versionName(p.maxV))
	}
	return p, nil
}

// ourCertificate summarises and lints --cert as a client certificate.
func (p *prober) ourCertificate() *ClientCertificate {
	certs := parseChain(p.opts.Certificate.Certificate)
	if len(certs) == 0 {
		return &ClientCertificate{Certificate: Certificate{Subject: "(unparsable)", Lint: lint.Certificate(p.opts.Certificate.Certificate[0], lint.Options{Now: p.now, Purpose: lint.PurposeClient})}}
	}
	return &ClientCertificate{Certificate: summarize(certs[0], certs[1:], lint.PurposeClient, p.now)}
}

func parseChain(ders [][]byte) []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// attempt is one connection: dial, STARTTLS, handshake.
type attempt struct {
	conn      *tls.Conn
	wire      *wireConn
	cri       *tls.CertificateRequestInfo
	sentCert  bool
	unsuited  error
	cache     *notifyingCache
	connected bool
	connect   time.Duration
	starttls  time.Duration
	handshake time.Duration

	rawCertReq  *rawCertificateRequest
	serverHello bool
}

func (p *prober) dial(ctx context.Context, a *attempt) error {
	t0 := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.opts.Addr)
	a.connect = time.Since(t0)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", p.opts.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if p.opts.StartTLS != "" {
		t1 := time.Now()
		err := startTLS(conn, p.opts.StartTLS)
		a.starttls = time.Since(t1)
		if err != nil {
			conn.Close()
			return err
		}
	}
	a.connected = true
	a.wire = &wireConn{Conn: conn}
	return nil
}

func (p *prober) config(a *attempt, minV, maxV uint16, suites []uint16) *tls.Config {
	cfg := &tls.Config{
		ServerName:         p.serverName,
		InsecureSkipVerify: true, // verified below, so failures are reported, not fatal
		MinVersion:         minV,
		MaxVersion:         maxV,
		CipherSuites:       suites,
		NextProtos:         p.opts.ALPN,
		Time:               p.opts.Time,
		ClientSessionCache: a.cache,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			a.cri = cri
			if p.opts.Certificate == nil || len(p.opts.Certificate.Certificate) == 0 {
				return &tls.Certificate{}, nil
			}
			a.unsuited = cri.SupportsCertificate(p.opts.Certificate)
			a.sentCert = true
			return p.opts.Certificate, nil
		},
	}
	if net.ParseIP(p.serverName) != nil {
		cfg.ServerName = "" // no SNI for addresses (RFC 6066 §3)
	}
	return cfg
}

// handshake runs one full attempt; a.conn is open on success.
func (p *prober) handshake(ctx context.Context, a *attempt, cfg *tls.Config) error {
	if err := p.dial(ctx, a); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { a.wire.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	a.conn = tls.Client(a.wire, cfg)
	t0 := time.Now()
	err := a.conn.HandshakeContext(ctx)
	a.handshake = time.Since(t0)
	if err != nil {
		a.conn.Close()
		if ctx.Err() != nil && !isRemoteAlert(err) {
			return fmt.Errorf("TLS handshake with %s: no answer within the timeout: %w", p.opts.Addr, err)
		}
		return fmt.Errorf("TLS handshake with %s: %w", p.opts.Addr, err)
	}
	return nil
}

func (p *prober) run(ctx context.Context, r *Report) error {
	a := &attempt{cache: newNotifyingCache()}
	cfg := p.config(a, p.minV, p.maxV, nil)
	cfg.KeyLogWriter = p.opts.KeyLogWriter
	err := p.handshake(ctx, a, cfg)
	r.Connected = a.connected
	r.Timings.Connect, r.Timings.StartTLS, r.Timings.Handshake = a.connect, a.starttls, a.handshake
	if a.wire != nil {
		p.readWire(r, a)
	}
	r.requested, r.sentCert = a.cri != nil, a.sentCert
	p.certificateRequest(r, a)
	if err != nil {
		r.err, r.Error = err, err.Error()
		p.noteAlert(r, err, false)
		if !p.opts.NoRetry && r.Connected && r.NotTLS == "" && ctx.Err() == nil {
			p.retry(ctx, r)
		}
		return err
	}
	cs := a.conn.ConnectionState()
	// A TLS 1.3 server judges our certificate after its Finished, so a
	// rejection arrives as an alert after the handshake; tickets arrive
	// then too. Read until one of them or TicketWait.
	if cs.Version == tls.VersionTLS13 {
		if err := p.afterHandshake(ctx, a); err != nil {
			r.err, r.Error = err, err.Error()
			p.noteAlert(r, err, true)
		}
	}
	// Close before anything else: single-threaded servers (s_server) serve
	// the resumption connection only after this one ends.
	a.conn.Close()
	r.HandshakeOK = r.err == nil
	p.connection(r, cs)
	// Linting the chain, checking revocation and resuming are independent
	// and each costs a few milliseconds: run them side by side.
	var wg sync.WaitGroup
	wg.Go(func() { p.chain(r, cs) })
	t0 := time.Now()
	p.verify(ctx, r, cs)
	r.Timings.Verify = time.Since(t0)
	p.staple(r, cs)
	if p.opts.Revocation != nil && !r.Verification.ChainOK {
		r.Revocation = &Revocation{Error: "not checked: revocation is checked on a verified chain, and this one does not verify"}
	}
	if p.opts.Revocation != nil && r.Verification.ChainOK {
		wg.Go(func() {
			t0 := time.Now()
			p.revocation(ctx, r, cs)
			r.Timings.Revocation = time.Since(t0)
		})
	}
	r.Session.TicketReceived = a.cache.gotTicket()
	if r.HandshakeOK && r.Session.TicketReceived && !p.opts.NoResume {
		p.resume(ctx, r, a.cache)
	}
	wg.Wait()
	return r.err
}

func isRemoteAlert(err error) bool {
	_, ok := remoteAlert(err)
	return ok
}

// errClosedAfterHandshake reports a server that hung up right after the
// handshake, without an alert and without a session ticket.
var errClosedAfterHandshake = errors.New("the server closed the connection right after the handshake, without an alert")

// afterHandshake reads until a session ticket or an alert arrives, or
// TicketWait passes.
func (p *prober) afterHandshake(ctx context.Context, a *attempt) error {
	wait := p.opts.TicketWait
	switch {
	case wait > 0:
	case a.cri != nil:
		wait = 500 * time.Millisecond // the server may still judge our certificate
	default:
		wait = 150 * time.Millisecond // only tickets to wait for
	}
	dl := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	a.conn.SetReadDeadline(dl)
	done := make(chan struct{})
	go func() {
		select {
		case <-a.cache.ticket:
			// A server that rejects our certificate sends its alert
			// instead of tickets, so a ticket ends the wait.
			a.conn.SetReadDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	defer close(done)
	buf := make([]byte, 512)
	for {
		_, err := a.conn.Read(buf)
		if err == nil {
			continue // application data (an LDAP notice, a banner): ignore
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if isRemoteAlert(err) {
			return fmt.Errorf("TLS handshake with %s: the server rejected it after the handshake: %w", p.opts.Addr, err)
		}
		if a.cache.gotTicket() {
			return nil // closed after giving us a ticket: fine
		}
		// Some servers (slapd with GnuTLS) check the client certificate
		// after a TLS 1.3 handshake and hang up without an alert.
		return fmt.Errorf("TLS handshake with %s: %w (%v)", p.opts.Addr, errClosedAfterHandshake, err)
	}
}

// readWire reads what crypto/tls does not expose from the recorded bytes.
func (p *prober) readWire(r *Report, a *attempt) {
	in := parseFlight(a.wire.received(), true)
	out := parseFlight(a.wire.sent(), false)
	r.NotTLS = in.NotTLS
	if h := out.Hello; h != nil {
		for _, v := range h.Versions {
			if !tlsregistry.IsGREASE(v) {
				r.Offer.Versions = append(r.Offer.Versions, versionName(v))
			}
		}
		if len(r.Offer.Versions) == 0 {
			r.Offer.Versions = []string{versionName(h.Version)}
		}
		for _, c := range h.Suites {
			if !tlsregistry.IsGREASE(c) {
				r.Offer.Suites = append(r.Offer.Suites, suiteOf(c))
			}
		}
		for _, g := range h.Groups {
			r.Offer.Groups = append(r.Offer.Groups, groupName(g))
		}
		for _, s := range h.SigAlgs {
			r.Offer.SigAlgs = append(r.Offer.SigAlgs, sigAlgName(s))
		}
	}
	if h := in.Hello; h != nil && h.Version <= tls.VersionTLS12 {
		r.Session.SessionIDLength = len(h.SessionID)
	}
	if in.Alert != nil {
		r.Alert = &Alert{Code: in.Alert[1], Name: alertName(in.Alert[1])}
		r.Alert.Stage = p.stage(in, a)
	}
	if in.CertReq != nil {
		a.rawCertReq = in.CertReq
	}
	r.serverHello = in.Hello != nil
}

// stage says when an alert came.
func (p *prober) stage(in flight, a *attempt) string {
	switch {
	case in.Hello == nil:
		return "in answer to our ClientHello"
	case a.sentCert:
		return "after we sent our certificate"
	case a.cri != nil:
		return "after we sent no certificate"
	}
	return "during the handshake"
}

// noteAlert fills r.Alert from the handshake error when the wire did not
// show it (TLS 1.3 alerts are encrypted).
func (p *prober) noteAlert(r *Report, err error, afterHandshake bool) {
	code, ok := remoteAlert(err)
	if !ok {
		return
	}
	if r.Alert != nil && r.Alert.Code == code {
		return
	}
	r.Alert = &Alert{Code: code, Name: alertName(code)}
	switch {
	case afterHandshake && r.sentCert:
		r.Alert.Stage = "after we sent our certificate (TLS 1.3: after the handshake)"
	case afterHandshake && r.requested:
		r.Alert.Stage = "after we sent no certificate (TLS 1.3: after the handshake)"
	case afterHandshake:
		r.Alert.Stage = "after the handshake"
	case r.sentCert:
		r.Alert.Stage = "after we sent our certificate"
	case r.requested:
		r.Alert.Stage = "after we sent no certificate"
	case !r.serverHello:
		r.Alert.Stage = "in answer to our ClientHello"
	default:
		r.Alert.Stage = "during the handshake"
	}
}

func (p *prober) connection(r *Report, cs tls.ConnectionState) {
	r.VersionCode = cs.Version
	r.Version = versionName(cs.Version)
	s := suiteOf(cs.CipherSuite)
	r.Suite = &s
	if cs.CurveID != 0 {
		r.GroupID = uint16(cs.CurveID)
		r.Group = groupName(uint16(cs.CurveID))
	}
	r.ALPN = cs.NegotiatedProtocol
}

// chain summarises and lints the server's certificates.
func (p *prober) chain(r *Report, cs tls.ConnectionState) {
	certs := cs.PeerCertificates
	r.ChainSent = len(certs)
	if len(certs) > maxChain {
		certs = certs[:maxChain]
	}
	for i, c := range certs {
		purpose := lint.PurposeUnknown
		if i == 0 {
			purpose = lint.PurposeServer
		}
		r.Chain = append(r.Chain, summarize(c, cs.PeerCertificates, purpose, p.now))
	}
}

// maxChain bounds how many certificates of a chain are summarised and
// linted; crypto/tls already bounds the certificate message to 256 KiB.
const maxChain = 16

// notifyingCache is a ClientSessionCache that says when a ticket arrives.
type notifyingCache struct {
	tls.ClientSessionCache
	ticket chan struct{}
	once   sync.Once
	mu     sync.Mutex
	got    bool
}

func newNotifyingCache() *notifyingCache {
	return &notifyingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4), ticket: make(chan struct{})}
}

func (c *notifyingCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs == nil {
		return
	}
	c.mu.Lock()
	c.got = true
	c.mu.Unlock()
	c.once.Do(func() { close(c.ticket) })
}

func (c *notifyingCache) gotTicket() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got
}

// resume makes a second connection offering the ticket.
func (p *prober) resume(ctx context.Context, r *Report, cache *notifyingCache) {
	r.Session.ResumeTried = true
	a := &attempt{cache: cache}
	cfg := p.config(a, p.minV, p.maxV, nil)
	t0 := time.Now()
	err := p.handshake(ctx, a, cfg)
	r.Session.ResumeTime = time.Since(t0)
	if err != nil {
		r.Session.ResumeError = err.Error()
		return
	}
	r.Session.Resumed = a.conn.ConnectionState().DidResume
	a.conn.Close()
}
