package doctor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// ScanOptions configures Scan. The zero value (plus Addr) scans with eight
// parallel connections, five seconds per connection and two minutes in all.
type ScanOptions struct {
	// Addr is the server as host:port.
	Addr string
	// ServerName is sent as SNI (RFC 6066 §3). Empty means the host part of
	// Addr when that is a name; IP addresses are never sent as SNI.
	ServerName string
	// Concurrency bounds the connections open at once (default 8).
	Concurrency int
	// Timeout bounds each connection: dial, ClientHello and the server's
	// first flight (default 5s).
	Timeout time.Duration
	// Deadline bounds the whole scan (default 2m). The context passed to
	// Scan may end it sooner.
	Deadline time.Duration
	// StartTLS is the plaintext protocol each connection is upgraded from
	// before the ClientHello: "ldap", "smtp", "imap", "postgres", or "" for
	// TLS from the first byte (as in Options.StartTLS).
	StartTLS string
	// Dial opens connections; nil uses net.Dialer. It must return a
	// connection ready for STARTTLS or the ClientHello.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Rand supplies ClientHello randoms and key shares; nil means
	// crypto/rand.
	Rand io.Reader
}

// ScanReport is what Scan found. Lists are in a stable order: versions
// oldest first, suites in the server's preference order when it enforces
// one (otherwise by code), groups and schemes by code.
type ScanReport struct {
	Target     string `json:"target"`
	ServerName string `json:"server_name,omitempty"`
	// Protocols has one entry per version tried, SSL 2.0 to TLS 1.3.
	Protocols []ProtocolResult `json:"protocols"`
	// CipherSuites has one list per supported version, newest first.
	CipherSuites     []SuiteList       `json:"cipher_suites"`
	Groups           []GroupResult     `json:"groups"`
	SignatureSchemes []SignatureResult `json:"signature_schemes"`
	Features         []Feature         `json:"features"`
	// Connections is the number of TCP connections the scan made.
	Connections int           `json:"connections"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	// Problems lists probes that ended in something other than an answer or
	// a refusal (timeouts, resets, malformed replies); findings they would
	// have produced may be missing.
	Problems []string `json:"problems,omitempty"`
}

// ProtocolResult says whether one protocol version is accepted.
type ProtocolResult struct {
	Version   tlsregistry.Version `json:"code"`
	Name      string              `json:"version"`
	Supported bool                `json:"supported"`
	Verdict   tlsregistry.Verdict `json:"verdict"`
	Reason    string              `json:"reason,omitempty"`
	// Detail says how the server refused, when it did.
	Detail string `json:"detail,omitempty"`
}

// SuiteList is the suites accepted in one protocol version.
type SuiteList struct {
	Version tlsregistry.Version `json:"code"`
	Name    string              `json:"version"`
	// ServerOrder reports that the server picks by its own preference; the
	// suites are then listed in that order.
	ServerOrder bool          `json:"server_order"`
	Suites      []SuiteResult `json:"suites"`
}

// SuiteResult is one accepted cipher suite.
type SuiteResult struct {
	Code    uint16              `json:"code"`
	Hex     string              `json:"hex"`
	IANA    string              `json:"iana"`
	OpenSSL string              `json:"openssl,omitempty"`
	Verdict tlsregistry.Verdict `json:"verdict"`
	Reason  string              `json:"reason"`
}

// GroupResult is one key-exchange group the server accepts in a version.
type GroupResult struct {
	Version tlsregistry.Version `json:"code"`
	Name    string              `json:"version"`
	ID      uint16              `json:"id"`
	Hex     string              `json:"hex"`
	Group   string              `json:"group"`
	Verdict tlsregistry.Verdict `json:"verdict"`
	Reason  string              `json:"reason"`
}

// SignatureResult is one signature scheme the server can sign its
// handshake with in a version (TLS 1.2 and 1.3 only).
type SignatureResult struct {
	Version tlsregistry.Version `json:"code"`
	Name    string              `json:"version"`
	Scheme  uint16              `json:"scheme"`
	Hex     string              `json:"hex"`
	IANA    string              `json:"iana"`
	Verdict tlsregistry.Verdict `json:"verdict"`
	Reason  string              `json:"reason"`
}

// Feature is a yes/no property of the server (secure renegotiation,
// compression, OCSP stapling, session tickets, fallback protection, cipher
// order).
type Feature struct {
	Name      string              `json:"name"`
	Supported bool                `json:"supported"`
	Verdict   tlsregistry.Verdict `json:"verdict"`
	Reason    string              `json:"reason"`
}

// scanVersions are the versions Scan tries, oldest first.
var scanVersions = []tlsregistry.Version{
	tlsregistry.SSL20, tlsregistry.SSL30, tlsregistry.TLS10,
	tlsregistry.TLS11, tlsregistry.TLS12, tlsregistry.TLS13,
}

// Scan enumerates what the server at opts.Addr accepts: protocol versions,
// cipher suites per version and their order, key-exchange groups,
// signature schemes, and renegotiation, compression, stapling, ticket and
// fallback behaviour. It writes its own ClientHellos and reads only the
// server's first flight, so it can offer anything, including suites no
// client library implements, and never completes a handshake.
//
// It fails when the server cannot be reached or does not speak TLS at all;
// a TLS server that refuses everything yields a report with no versions.
func Scan(ctx context.Context, opts ScanOptions) (*ScanReport, error) {
	if opts.Addr == "" {
		return nil, errors.New("scan: no server address; give HOST:PORT")
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w (give HOST:PORT)", opts.Addr, err)
	}
	if opts.ServerName == "" && net.ParseIP(host) == nil {
		opts.ServerName = host
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Deadline <= 0 {
		opts.Deadline = 2 * time.Minute
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Dial == nil {
		d := &net.Dialer{}
		opts.Dial = d.DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Deadline)
	defer cancel()

	start := time.Now()
	s := &scanner{opts: opts, sem: make(chan struct{}, opts.Concurrency)}
	rep := &ScanReport{Target: opts.Addr, ServerName: opts.ServerName}
	if err := s.run(ctx, rep); err != nil {
		return nil, err
	}
	rep.Connections = int(s.conns.Load())
	rep.Elapsed = time.Since(start)
	rep.Problems = s.problems
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		rep.Problems = append(rep.Problems, "the scan was interrupted; later findings are missing")
	case ctx.Err() != nil || rep.Elapsed >= opts.Deadline:
		rep.Problems = append(rep.Problems, fmt.Sprintf("the scan hit its %s deadline; later findings are missing", opts.Deadline))
	}
	return rep, nil
}

type scanner struct {
	opts  ScanOptions
	sem   chan struct{}
	conns atomic.Int64

	mu       sync.Mutex
	problems []string
}

func (s *scanner) problem(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := fmt.Sprintf(format, a...)
	if !slices.Contains(s.problems, msg) {
		s.problems = append(s.problems, msg)
	}
}

// probe errors, by what they say about the server.
var (
	errClosed  = errors.New("the server closed the connection without a TLS answer")
	errTimeout = errors.New("no answer before the timeout")
)

// dialError marks failures to connect at all.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// refused reports whether a probe ended in a plain refusal: an alert, or a
// server closing the connection, which is how many stacks refuse a version
// or suite they do not know.
func refused(f *serverFlight, err error) bool {
	if f != nil && f.alert != nil {
		return true
	}
	return errors.Is(err, errClosed)
}

// probe sends hello on a fresh connection and reads the reply until done
// reports that enough has arrived, an alert comes, or the connection ends.
func (s *scanner) probe(ctx context.Context, hello []byte, done func(*serverFlight) bool) (*serverFlight, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()

	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	s.conns.Add(1)
	conn, err := s.opts.Dial(cctx, "tcp", s.opts.Addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &dialError{fmt.Errorf("cannot connect to %s: %w; is the server running and the port right?", s.opts.Addr, syscall.ECONNREFUSED)}
		}
		return nil, &dialError{fmt.Errorf("cannot connect to %s: %w", s.opts.Addr, err)}
	}
	defer conn.Close()
	deadline, _ := cctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(cctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.opts.StartTLS != "" {
		if err := startTLS(conn, s.opts.StartTLS); err != nil {
			return nil, &dialError{fmt.Errorf("%s STARTTLS on %s: %w", s.opts.StartTLS, s.opts.Addr, err)}
		}
	}

	if _, err := conn.Write(hello); err != nil {
		return nil, classifyIOError(err, nil)
	}
	var buf []byte
	tmp := make([]byte, 16<<10)
	for {
		n, rerr := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if n > 0 {
			f, perr := parseServerFlight(buf)
			// A few bytes are not enough to tell HTTP or SMTP from a torn
			// record; wait for more unless the connection ended.
			if perr != nil && (rerr != nil || len(buf) >= 8 || !errors.Is(perr, errNotTLS)) {
				return f, perr
			}
			if perr == nil && (f.alert != nil || done(f)) {
				return f, nil
			}
			if len(buf) > maxFlight+1<<14 {
				return f, fmt.Errorf("the server sent more than %d bytes without finishing its first flight", maxFlight)
			}
		}
		if rerr != nil {
			f, _ := parseServerFlight(buf)
			if d, ok := ctx.Deadline(); ctx.Err() != nil || (ok && !time.Now().Before(d)) {
				return f, context.DeadlineExceeded
			}
			return f, classifyIOError(rerr, buf)
		}
	}
}

func classifyIOError(err error, got []byte) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		if len(got) > 0 {
			return fmt.Errorf("%w: the server stalled after %d bytes", errTimeout, len(got))
		}
		return fmt.Errorf("%w: the server accepted the connection but sent nothing", errTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, os.ErrDeadlineExceeded):
		if errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("%w (reset)", errClosed)
		}
		return errClosed
	}
	return err
}

// Predicates saying when a probe has read enough.
func needHello(f *serverFlight) bool { return f.hello != nil || f.sslv2 }

func needKeyExchange(f *serverFlight) bool {
	return f.keyExchange != nil || f.helloDone || f.encrypted ||
		(f.hello != nil && f.hello.version == uint16(tlsregistry.TLS13))
}

func needFlight(f *serverFlight) bool {
	return f.helloDone || f.encrypted || (f.hello != nil && f.hello.version == uint16(tlsregistry.TLS13))
}

// run performs the scan in two rounds: versions; then, in parallel, the
// suites of each version, groups, signature schemes and features.
func (s *scanner) run(ctx context.Context, rep *ScanReport) error {
	supported, err := s.scanVersions(ctx, rep)
	if err != nil {
		return err
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		lists     = map[tlsregistry.Version]*SuiteList{}
		groups13  []uint16
		groups12  []uint16
		legacyTop tlsregistry.Version // highest version below TLS 1.3
		features  []Feature
	)
	for _, v := range supported {
		if v == tlsregistry.SSL20 {
			continue
		}
		if v != tlsregistry.TLS13 {
			legacyTop = max(legacyTop, v)
		}
		wg.Go(func() {
			l := s.scanSuites(ctx, v)
			mu.Lock()
			lists[v] = l
			mu.Unlock()
		})
	}
	if slices.Contains(supported, tlsregistry.TLS13) {
		wg.Go(func() {
			g := s.scanGroups13(ctx)
			mu.Lock()
			groups13 = g
			mu.Unlock()
		})
	}
	// Everything else needs only the supported versions, so it runs beside
	// the suite chains; the semaphore bounds the connections.
	var (
		sigs     []SignatureResult
		dhe      *Feature
		fallback *Feature
	)
	if legacyTop != 0 {
		wg.Go(func() {
			f := s.scanFeatures(ctx, legacyTop)
			mu.Lock()
			features = f
			mu.Unlock()
		})
		wg.Go(func() { dhe = s.scanDHE(ctx, legacyTop) })
		wg.Go(func() {
			g := s.scanGroups12(ctx, legacyTop)
			mu.Lock()
			groups12 = g
			mu.Unlock()
		})
		if legacyTop == tlsregistry.TLS12 {
			wg.Go(func() {
				r := s.scanSignatures12(ctx)
				mu.Lock()
				sigs = append(sigs, r...)
				mu.Unlock()
			})
		}
	}
	if slices.Contains(supported, tlsregistry.TLS13) {
		wg.Go(func() {
			r := s.scanSignatures13(ctx)
			mu.Lock()
			sigs = append(sigs, r...)
			mu.Unlock()
		})
	}
	if len(supported) >= 2 {
		wg.Go(func() { fallback = s.scanFallback(ctx, supported) })
	}
	wg.Wait()

	for _, v := range slices.Backward(scanVersions) {
		if l := lists[v]; l != nil {
			rep.CipherSuites = append(rep.CipherSuites, *l)
		}
	}
	rep.Groups = append(groupResults(tlsregistry.TLS13, groups13), groupResults(legacyTop, groups12)...)
	slices.SortStableFunc(sigs, func(a, b SignatureResult) int {
		if a.Version != b.Version {
			return int(b.Version) - int(a.Version)
		}
		return int(a.Scheme) - int(b.Scheme)
	})
	rep.SignatureSchemes = sigs
	rep.Features = features
	if fallback != nil {
		rep.Features = append(rep.Features, *fallback)
	}
	if dhe != nil {
		rep.Features = append(rep.Features, *dhe)
	}
	for _, v := range scanVersions {
		if l := lists[v]; l != nil && len(l.Suites) > 1 {
			f := Feature{Name: "server cipher order (" + v.String() + ")", Supported: l.ServerOrder, Verdict: tlsregistry.VerdictNone,
				Reason: "the client's preference decides; harmless when every accepted suite is fine"}
			if l.ServerOrder {
				f.Reason = "the server picks the suite"
			} else if worst(l.Suites) > tlsregistry.Fine {
				f.Verdict, f.Reason = tlsregistry.Weak, "the client picks, and weaker suites are accepted; enable server order (ssl_prefer_server_ciphers, -serverpref)"
			}
			rep.Features = append(rep.Features, f)
		}
	}
	return nil
}

func worst(suites []SuiteResult) tlsregistry.Verdict {
	w := tlsregistry.VerdictNone
	for _, s := range suites {
		w = max(w, s.Verdict)
	}
	return w
}

func groupResults(v tlsregistry.Version, ids []uint16) []GroupResult {
	var out []GroupResult
	for _, id := range ids {
		g, _ := tlsregistry.GroupByID(id)
		out = append(out, GroupResult{Version: v, Name: v.String(), ID: id, Hex: fmt.Sprintf("%04X", id), Group: g.Name, Verdict: g.Verdict, Reason: g.Reason})
	}
	return out
}
