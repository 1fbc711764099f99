package tlshello

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// pki is a CA, a server certificate for 127.0.0.1 and a client
// certificate valid until clientNotAfter.
type pki struct {
	roots  *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newPKI(t testing.TB, clientNotAfter time.Time) *pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlshello test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, name string, notAfter time.Time, eku x509.ExtKeyUsage) tls.Certificate {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{eku},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, k.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: k}
	}
	p := &pki{roots: x509.NewCertPool()}
	p.roots.AddCert(caCert)
	p.server = leaf(2, "127.0.0.1", now.Add(30*24*time.Hour), x509.ExtKeyUsageServerAuth)
	p.client = leaf(3, "client", clientNotAfter, x509.ExtKeyUsageClientAuth)
	return p
}

// result is what the server saw of one handshake.
type result struct {
	state tls.ConnectionState
	err   error
}

// testServer is a TLS server as pkid's LDAP listeners set one up
// (RequestClientCert, GetCertificate, automatic ticket keys) with a
// Resumer, over Conn-wrapped connections; skew moves its clock.
type testServer struct {
	addr    string
	resumer *Resumer
	results chan result
	skew    atomic.Int64
}

func newTestServer(t testing.TB, p *pki, hybridOnly bool) *testServer {
	t.Helper()
	s := &testServer{results: make(chan result, 16)}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &p.server, nil },
		ClientAuth:     tls.RequestClientCert,
		Time:           func() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) },
	}
	wrap := func(nc net.Conn) net.Conn { return nc }
	if !hybridOnly {
		r, err := NewResumer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.resumer, wrap = r, NewConn
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(wrap(nc), cfg)
				err := tc.Handshake()
				if err == nil {
					_, err = tc.Write([]byte("x")) // after the ticket
				}
				s.results <- result{tc.ConnectionState(), err}
				tc.Close() // peers like openssl s_client -ign_eof end on it
			}()
		}
	}()
	return s
}

func (s *testServer) next(t testing.TB) result {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the server saw no handshake")
		return result{}
	}
}

// dial runs one handshake as a client with cfg over a connection that
// wrap may alter, reads the server's byte (and with it the session
// ticket) and returns the server's view.
func (s *testServer) dial(t testing.TB, cfg *tls.Config, wrap func(net.Conn) net.Conn) (result, error) {
	t.Helper()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		nc = wrap(nc)
	}
	tc := tls.Client(nc, cfg)
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	err = tc.Handshake()
	if err == nil {
		_, err = io.ReadFull(tc, make([]byte, 1))
	}
	return s.next(t), err
}

func clientConfig(p *pki) *tls.Config {
	return &tls.Config{RootCAs: p.roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{p.client},
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}
}

// TestResumedHandshakeIsClassical: a Go client (offering X25519MLKEM768
// and X25519 key shares, crypto/tls's default) gets the hybrid exchange on
// its full handshake and X25519 when it resumes; a client offering X25519
// only gets X25519 both times; a client limited to TLS 1.2 resumes as
// before. Resumed sessions keep the client certificate.
func TestResumedHandshakeIsClassical(t *testing.T) {
	p := newPKI(t, time.Now().Add(30*24*time.Hour))
	for _, tc := range []struct {
		name            string
		curves          []tls.CurveID
		maxVersion      uint16
		full, resumed   tls.CurveID
		resumedCountAdd uint64
	}{
		{"default client", nil, 0, tls.X25519MLKEM768, tls.X25519, 3},
		{"X25519 only", []tls.CurveID{tls.X25519}, 0, tls.X25519, tls.X25519, 3},
		{"P-256 only", []tls.CurveID{tls.CurveP256}, 0, tls.CurveP256, tls.CurveP256, 3},
		{"TLS 1.2", nil, tls.VersionTLS12, tls.X25519, tls.X25519, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, p, false)
			cfg := clientConfig(p)
			cfg.CurvePreferences, cfg.MaxVersion = tc.curves, tc.maxVersion
			r, err := s.dial(t, cfg, nil)
			if err != nil || r.err != nil {
				t.Fatalf("full handshake: client %v, server %v", err, r.err)
			}
			if r.state.DidResume || r.state.CurveID != tc.full {
				t.Fatalf("full handshake: resumed %v, group %v; want a full handshake on %v", r.state.DidResume, r.state.CurveID, tc.full)
			}
			// The ticket a resumed handshake issues (sealed with the
			// listener's keys, not the classical configuration's own)
			// resumes in turn.
			for i := range 3 {
				r, err = s.dial(t, cfg, nil)
				if err != nil || r.err != nil {
					t.Fatalf("resumption %d: client %v, server %v", i+1, err, r.err)
				}
				if !r.state.DidResume || r.state.CurveID != tc.resumed {
					t.Fatalf("resumption %d: resumed %v, group %v; want resumed on %v", i+1, r.state.DidResume, r.state.CurveID, tc.resumed)
				}
				if len(r.state.PeerCertificates) == 0 {
					t.Error("the resumed session lost the client certificate")
				}
			}
			if got, _, _ := s.resumer.Counts(); got != tc.resumedCountAdd {
				t.Errorf("Resumer chose the classical configuration %d times, want %d", got, tc.resumedCountAdd)
			}
			// Each of those resumptions took the session Resumer had
			// decrypted, and none was left behind.
			if got := s.resumer.handed.Load(); got != tc.resumedCountAdd {
				t.Errorf("crypto/tls took %d sessions from Resumer, want %d", got, tc.resumedCountAdd)
			}
			s.resumer.mu.Lock()
			if n := len(s.resumer.sessions); n != 0 {
				t.Errorf("%d decrypted sessions left after the handshakes", n)
			}
			s.resumer.mu.Unlock()
		})
	}
}

// TestRefusedTicketStaysHybrid: whenever crypto/tls will not resume —
// a ticket from another server (unknown key), a garbled ticket, an
// expired session, a client certificate that expired since — the
// handshake is a full one on X25519MLKEM768, never a full handshake on
// X25519, and no handshake is aborted.
func TestRefusedTicketStaysHybrid(t *testing.T) {
	p := newPKI(t, time.Now().Add(2*24*time.Hour))
	ticketFrom := func(t *testing.T, s *testServer) (*tls.Config, *tls.ClientSessionState) {
		cache := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		cfg := clientConfig(p)
		cfg.ClientSessionCache = cache
		if r, err := s.dial(t, cfg, nil); err != nil || r.err != nil {
			t.Fatalf("full handshake: client %v, server %v", err, r.err)
		}
		if cache.last == nil {
			t.Fatal("the client got no session ticket")
		}
		return cfg, cache.last
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *testServer) *tls.Config
	}{
		{"unknown ticket key", func(t *testing.T, s *testServer) *tls.Config {
			other := newTestServer(t, p, false)
			cfg, _ := ticketFrom(t, other)
			return cfg // holds other's ticket, under the same cache key
		}},
		{"garbled ticket", func(t *testing.T, s *testServer) *tls.Config {
			cfg, st := ticketFrom(t, s)
			ticket, state, err := st.ResumptionState()
			if err != nil {
				t.Fatal(err)
			}
			ticket = append([]byte(nil), ticket...)
			ticket[len(ticket)/2] ^= 0x40
			garbled, err := tls.NewResumptionState(ticket, state)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ClientSessionCache.Put("127.0.0.1", garbled)
			return cfg
		}},
		{"session older than 7 days", func(t *testing.T, s *testServer) *tls.Config {
			cfg, _ := ticketFrom(t, s)
			s.skew.Store(int64(7*24*time.Hour + time.Hour))
			// The client's clock too, or it would not offer the ticket.
			cfg.Time = func() time.Time { return time.Now().Add(7*24*time.Hour - time.Hour) }
			return cfg
		}},
		{"client certificate expired", func(t *testing.T, s *testServer) *tls.Config {
			cfg, _ := ticketFrom(t, s)
			s.skew.Store(int64(3 * 24 * time.Hour))
			return cfg
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, p, false)
			cfg := tc.setup(t, s)
			r, err := s.dial(t, cfg, nil)
			if err != nil || r.err != nil {
				t.Fatalf("handshake: client %v, server %v; want a full handshake", err, r.err)
			}
			if r.state.DidResume || r.state.CurveID != tls.X25519MLKEM768 {
				t.Fatalf("resumed %v, group %v; want a full handshake on X25519MLKEM768", r.state.DidResume, r.state.CurveID)
			}
			if resumed, _, refused := s.resumer.Counts(); resumed != 0 || refused != 0 {
				t.Errorf("Resumer: %d classical, %d refused; want 0 and 0", resumed, refused)
			}
		})
	}
}

// recordingCache keeps the last session put into it.
type recordingCache struct {
	tls.ClientSessionCache
	last *tls.ClientSessionState
}

func (c *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.last = cs
	}
	c.ClientSessionCache.Put(key, cs)
}

// TestStolenTicketFails: a client that presents a valid ticket without
// its PSK (here: the PSK of another session) does not get a full
// handshake on X25519: crypto/tls checks the binder and fails the
// handshake.
func TestStolenTicketFails(t *testing.T) {
	p := newPKI(t, time.Now().Add(30*24*time.Hour))
	s := newTestServer(t, p, false)
	grab := func() *tls.ClientSessionState {
		cache := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		cfg := clientConfig(p)
		cfg.ClientSessionCache = cache
		if r, err := s.dial(t, cfg, nil); err != nil || r.err != nil {
			t.Fatalf("full handshake: client %v, server %v", err, r.err)
		}
		return cache.last
	}
	victim, attacker := grab(), grab()
	ticket, _, err := victim.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	_, ownState, err := attacker.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tls.NewResumptionState(ticket, ownState)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(p)
	cfg.ClientSessionCache.Put("127.0.0.1", forged)
	r, _ := s.dial(t, cfg, nil)
	if r.err == nil {
		t.Fatalf("the handshake with a stolen ticket succeeded (resumed %v, group %v)", r.state.DidResume, r.state.CurveID)
	}
}

// TestFragmentedClientHello: a ClientHello split over many TLS records,
// or written a few bytes per TCP segment, is reassembled and the session
// still resumes on X25519.
func TestFragmentedClientHello(t *testing.T) {
	p := newPKI(t, time.Now().Add(30*24*time.Hour))
	for _, tc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"records of 100 bytes", func(nc net.Conn) net.Conn { return &refragment{Conn: nc, size: 100} }},
		{"TCP segments of 7 bytes", func(nc net.Conn) net.Conn {
			nc.(*net.TCPConn).SetNoDelay(true)
			return &trickle{Conn: nc, size: 7}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, p, false)
			cfg := clientConfig(p)
			if r, err := s.dial(t, cfg, tc.wrap); err != nil || r.err != nil || r.state.CurveID != tls.X25519MLKEM768 {
				t.Fatalf("full handshake: client %v, server %v, group %v", err, r.err, r.state.CurveID)
			}
			r, err := s.dial(t, cfg, tc.wrap)
			if err != nil || r.err != nil {
				t.Fatalf("resumption: client %v, server %v", err, r.err)
			}
			if !r.state.DidResume || r.state.CurveID != tls.X25519 {
				t.Fatalf("resumed %v, group %v; want resumed on X25519", r.state.DidResume, r.state.CurveID)
			}
		})
	}
}

// refragment rewrites the first handshake record the client writes as
// records of at most size bytes.
type refragment struct {
	net.Conn
	size int
	done bool
}

func (c *refragment) Write(b []byte) (int, error) {
	if c.done || len(b) < 5 || b[0] != recordTypeHandshake {
		return c.Conn.Write(b)
	}
	c.done = true
	n := int(b[3])<<8 | int(b[4])
	if len(b) < 5+n {
		return 0, errors.New("refragment: partial record")
	}
	var out []byte
	for body := b[5 : 5+n]; len(body) > 0; {
		k := min(c.size, len(body))
		out = append(out, b[0], b[1], b[2], byte(k>>8), byte(k))
		out = append(out, body[:k]...)
		body = body[k:]
	}
	if _, err := c.Conn.Write(append(out, b[5+n:]...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// trickle writes the first flight size bytes at a time, pausing between
// writes so that they arrive as separate segments.
type trickle struct {
	net.Conn
	size int
	done bool
}

func (c *trickle) Write(b []byte) (int, error) {
	if c.done {
		return c.Conn.Write(b)
	}
	c.done = true
	for i := 0; i < len(b); i += c.size {
		if _, err := c.Conn.Write(b[i:min(i+c.size, len(b))]); err != nil {
			return i, err
		}
		time.Sleep(200 * time.Microsecond)
	}
	return len(b), nil
}

// TestGuardRefusesDowngrade: should crypto/tls run a full handshake on the
// classical configuration after all (its ticket checks disagreeing with
// Resumer's), the certificate callback refuses when the client offered a
// post-quantum group, and serves when it did not.
func TestGuardRefusesDowngrade(t *testing.T) {
	p := newPKI(t, time.Now().Add(24*time.Hour))
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &p.server, nil }}
	r, err := NewResumer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		groups []tls.CurveID
		want   error
	}{
		{"client offered X25519MLKEM768", []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, ErrDowngrade},
		{"client offered SecP256r1MLKEM768", []tls.CurveID{tls.CurveP256, tls.SecP256r1MLKEM768}, ErrDowngrade},
		{"classical client", []tls.CurveID{tls.X25519, tls.CurveP256}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := r.classical.GetCertificate(&tls.ClientHelloInfo{SupportedCurves: tc.groups})
			if !errors.Is(err, tc.want) || (err == nil) != (c != nil) {
				t.Fatalf("GetCertificate: %v, %v; want error %v", c != nil, err, tc.want)
			}
		})
	}
	if _, _, refused := r.Counts(); refused != 2 {
		t.Errorf("refused %d, want 2", refused)
	}
}

// TestNewResumerRefuses configurations it cannot serve.
func TestNewResumerRefuses(t *testing.T) {
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"no GetCertificate", &tls.Config{Certificates: []tls.Certificate{{}}}},
		{"GetConfigForClient set", &tls.Config{GetCertificate: get, GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }}},
		{"own session wrapping", &tls.Config{GetCertificate: get, WrapSession: func(tls.ConnectionState, *tls.SessionState) ([]byte, error) { return nil, nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewResumer(tc.cfg, nil); err == nil {
				t.Fatal("NewResumer accepted it")
			}
		})
	}
}

// TestHandedSessionsBounded: sessions no handshake took (it failed between
// the choice of configuration and the ticket check) do not pile up, and a
// ticket Resumer did not decrypt is decrypted as crypto/tls would.
func TestHandedSessionsBounded(t *testing.T) {
	p := newPKI(t, time.Now().Add(24*time.Hour))
	s := newTestServer(t, p, false)
	r := s.resumer
	for i := range maxHanded + 10 {
		r.hand([]byte(fmt.Sprintf("ticket %d", i)), &tls.SessionState{})
	}
	r.mu.Lock()
	n := len(r.sessions)
	r.mu.Unlock()
	if n == 0 || n > maxHanded {
		t.Errorf("%d sessions kept, want 1..%d", n, maxHanded)
	}
	id := []byte(fmt.Sprintf("ticket %d", maxHanded+9))
	if got, err := r.unwrap(id, tls.ConnectionState{}); err != nil || got == nil {
		t.Errorf("unwrap of a handed ticket: %v, %v", got, err)
	}
	// Taken once: the second time it is decrypted, and these bytes are
	// no ticket of the listener's.
	if got, err := r.unwrap(id, tls.ConnectionState{}); err != nil || got != nil {
		t.Errorf("second unwrap: %v, %v; want no session", got, err)
	}
}
