package tlshello

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// BenchmarkDecision is what the Resumer adds to a resumed handshake:
// parsing the recorded ClientHello, decrypting its ticket and checking
// the session, as configForClient does.
func BenchmarkDecision(b *testing.B) {
	p := newPKI(b, time.Now().Add(24*time.Hour))
	s := newTestServer(b, p, false)
	rec := helloWithTicket(b, s, clientConfig(p))
	h, err := Parse(rec)
	if err != nil {
		b.Fatal(err)
	}
	exts := []uint16{extSupportedVersions, extKeyShare, extPSKKeyExchangeModes, extPreSharedKey}
	chi := &tls.ClientHelloInfo{CipherSuites: h.CipherSuites, SupportedVersions: h.SupportedVersions,
		SupportedCurves: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}, Extensions: exts}
	// The server's Resumer holds the ticket keys that sealed rec.
	b.ReportAllocs()
	for b.Loop() {
		c := &Conn{}
		c.record(rec)
		chi.Conn = c
		if !s.resumer.willResume(chi) {
			b.Fatal("the ticket is not accepted")
		}
	}
}

// BenchmarkResumedHandshake: a TLS 1.3 resumption with a client
// certificate in the session, client and server in one process over
// loopback TCP, with the listener's hybrid configuration and with the Resumer
// (X25519). The difference is the ML-KEM-768 encapsulation and the larger
// key shares.
func BenchmarkResumedHandshake(b *testing.B) {
	p := newPKI(b, time.Now().Add(24*time.Hour))
	for _, bc := range []struct {
		name    string
		resumer bool
	}{{"hybrid", false}, {"resumer", true}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := &tls.Config{
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &p.server, nil },
				ClientAuth:     tls.RequestClientCert,
			}
			wrap := func(nc net.Conn) net.Conn { return nc }
			if bc.resumer {
				if _, err := NewResumer(srv, nil); err != nil {
					b.Fatal(err)
				}
				wrap = NewConn
			}
			cli := clientConfig(p)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			handshake := func() tls.ConnectionState {
				// Loopback TCP, not net.Pipe: both sides write at once.
				a, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				z, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan tls.ConnectionState, 1)
				go func() {
					sc := tls.Server(wrap(z), srv)
					sc.Handshake()
					sc.Write([]byte("x"))
					done <- sc.ConnectionState()
				}()
				cc := tls.Client(a, cli)
				cc.Handshake()
				cc.Read(make([]byte, 1))
				cs := <-done
				a.Close() // no close_notify: both ends would block writing it
				z.Close()
				return cs
			}
			handshake() // the ticket
			b.ReportAllocs()
			for b.Loop() {
				if cs := handshake(); !cs.DidResume {
					b.Fatal("not resumed")
				}
			}
		})
	}
}
