package doctor

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawServer accepts connections on loopback and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	return l.Addr().String()
}

// goTLSServer serves handshakes with the given certificate chain.
func goTLSServer(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{*cert}}
	return rawServer(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			tc.Read(make([]byte, 1))
		}
	})
}

func TestProbeBadInput(t *testing.T) {
	p := newTestPKI(t)

	// 100 certificates: the leaf and 99 copies of the intermediate.
	long := p.server.tlsCert()
	for i := 0; i < 99; i++ {
		long.Certificate = append(long.Certificate, p.inter.cert.Raw)
	}
	// A certificate whose subject is 64 KB.
	bt := leafTemplate("big")
	bt.Subject = pkix.Name{CommonName: "big", OrganizationalUnit: []string{strings.Repeat("x", 64<<10)}}
	big := issue(t, p.dir, "big", bt, newKey(t, "ec"), p.inter)

	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cases := []struct {
		name    string
		addr    func(t *testing.T) string
		timeout time.Duration
		want    string // explanation ID
		mention string // in Observed
		check   func(t *testing.T, r *Report)
	}{
		{name: "closed port", addr: func(*testing.T) string { return closed }, want: "connection_refused", mention: "connection refused"},
		{
			name: "garbage", want: "not_tls", mention: "binary data",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					c.Read(make([]byte, 512))
					b := make([]byte, 300)
					rand.Read(b)
					b[0] = 0x99
					c.Write(b)
				})
			},
		},
		{
			name: "TLS header announcing 64 KB then garbage", want: "not_tls",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					c.Read(make([]byte, 512))
					c.Write([]byte{0x16, 0x03, 0x03, 0xff, 0xff, 1, 2, 3})
				})
			},
		},
		{
			name: "stalls after the ClientHello", timeout: 500 * time.Millisecond, want: "timeout", mention: "did not complete the TLS handshake in time",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					c.Read(make([]byte, 512))
					time.Sleep(3 * time.Second)
				})
			},
			check: func(t *testing.T, r *Report) {
				if r.Timings.Total > 2*time.Second {
					t.Errorf("the timeout did not fire: %v", r.Timings.Total)
				}
			},
		},
		{
			name: "stalls mid-handshake (ServerHello, then nothing)", timeout: 500 * time.Millisecond, want: "timeout",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					c.Read(make([]byte, 512))
					// A TLS 1.2 ServerHello for ECDHE-ECDSA-AES128-GCM, then silence.
					sh := []byte{0x02, 0, 0, 38, 3, 3}
					sh = append(sh, make([]byte, 32)...)
					sh = append(sh, 0, 0xc0, 0x2b, 0)
					c.Write(append([]byte{0x16, 3, 3, 0, byte(len(sh))}, sh...))
					time.Sleep(3 * time.Second)
				})
			},
		},
		{
			name: "HTTP on the port", want: "not_tls", mention: "this is HTTP, not TLS",
			addr: func(t *testing.T) string {
				srv := httptest.NewServer(http.NotFoundHandler())
				t.Cleanup(srv.Close)
				return strings.TrimPrefix(srv.URL, "http://")
			},
		},
		{
			name: "SMTP greeting on the port", want: "not_tls", mention: "--starttls smtp",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) { c.Write([]byte("220 mail.example ESMTP\r\n")); c.Read(make([]byte, 512)) })
			},
		},
		{
			name: "100-certificate chain", want: "",
			addr: func(t *testing.T) string { return goTLSServer(t, long) },
			check: func(t *testing.T, r *Report) {
				if len(r.Chain) != maxChain || r.ChainSent != 100 {
					t.Errorf("chain summarised %d certificates, want the bound %d", len(r.Chain), maxChain)
				}
			},
		},
		{
			name: "64 KB subject", want: "",
			addr: func(t *testing.T) string { return goTLSServer(t, big.tlsCert(p.inter)) },
			check: func(t *testing.T, r *Report) {
				if !r.HandshakeOK || len(r.Chain) == 0 || len(r.Chain[0].Subject) > maxName+64 {
					t.Errorf("handshake %v, subject length %d", r.HandshakeOK, len(r.Chain[0].Subject))
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := probe(t, Options{Addr: tc.addr(t), ServerName: "localhost", RootCAs: p.rootPool, Timeout: tc.timeout})
			if tc.want == "" {
				if len(r.Problems) != 0 {
					t.Errorf("problems: %+v", r.Problems)
				}
			} else {
				e := findProblem(t, r, tc.want)
				mustContain(t, "observed", e.Observed, tc.mention)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
