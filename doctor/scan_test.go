package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// scanServe accepts connections on a loopback listener until the test ends and
// hands each to handle.
func scanServe(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// scanReadHello reads what the client sent first, so replies follow a request
// as they would on a real server.
func scanReadHello(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	_, _ = c.Read(buf)
}

// TestScanBadServers proves that servers which are not TLS, misbehave or
// stall give one clear error within the timeouts.
func TestScanBadServers(t *testing.T) {
	closed := scanFreeAddr(t)
	cases := []struct {
		name    string
		addr    func(t *testing.T) string
		wantErr string
	}{
		{"closed port", func(t *testing.T) string { return closed }, "connection refused"},
		{"garbage", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				scanReadHello(c)
				_, _ = c.Write([]byte("\x00\xffgarbage that is no protocol at all\x01\x02"))
			})
		}, "not TLS"},
		{"http", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
			go func() { _ = srv.Serve(l) }()
			t.Cleanup(func() { srv.Close() })
			return l.Addr().String()
		}, "speaks HTTP"},
		{"http in pieces", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				scanReadHello(c)
				_, _ = c.Write([]byte("HT"))
				time.Sleep(50 * time.Millisecond)
				_, _ = c.Write([]byte("TP/1.1 400 Bad Request\r\n\r\n"))
			})
		}, "speaks HTTP"},
		{"smtp banner", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				_, _ = c.Write([]byte("220 mail.example ESMTP\r\n"))
				scanReadHello(c)
			})
		}, "SMTP"},
		{"stalls", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				scanReadHello(c)
				time.Sleep(3 * time.Second)
			})
		}, "sent nothing"},
		{"stalls mid-record", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				scanReadHello(c)
				_, _ = c.Write([]byte{22, 3, 3, 0, 90, 2, 0, 0})
				time.Sleep(3 * time.Second)
			})
		}, "stalled after 8 bytes"},
		{"resets", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) {
				scanReadHello(c)
				_ = c.(*net.TCPConn).SetLinger(0)
			})
		}, "closed the connection"},
		{"closes", func(t *testing.T) string {
			return scanServe(t, func(c net.Conn) { scanReadHello(c) })
		}, "closed the connection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.addr(t)
			start := time.Now()
			rep, err := scanFor(t, addr, func(o *ScanOptions) { o.Timeout = 300 * time.Millisecond; o.Deadline = 10 * time.Second })
			if err == nil {
				t.Fatalf("Scan succeeded against a bad server:\n%s", reportText(rep))
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tc.wantErr)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("scan took %s; the 300ms connection timeout should bound it", d)
			}
		})
	}
}

// TestScanDeadline proves the whole-scan deadline stops a scan of a server
// that answers the version probes but stalls afterwards.
func TestScanDeadline(t *testing.T) {
	_, _, cert, key := scanKey(t, t.TempDir(), "ec")
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	var n int
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	addr := scanServe(t, func(c net.Conn) {
		<-mu
		n++
		first := n <= 6
		mu <- struct{}{}
		if !first {
			time.Sleep(5 * time.Second)
			return
		}
		_ = tls.Server(c, cfg).Handshake()
	})
	start := time.Now()
	rep, err := scanFor(t, addr, func(o *ScanOptions) { o.Timeout = 3 * time.Second; o.Deadline = 1500 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("scan took %s, want it stopped by the 1.5s deadline", d)
	}
	if len(rep.Problems) == 0 || !strings.Contains(strings.Join(rep.Problems, "\n"), "deadline") {
		t.Errorf("problems %q, want the deadline named", rep.Problems)
	}
}

// TestScanGoServer scans crypto/tls servers, whose configuration says
// exactly what must be found, including the X25519MLKEM768 hybrid.
func TestScanGoServer(t *testing.T) {
	_, _, ecCert, ecKey := scanKey(t, t.TempDir(), "ec")
	pair := tls.Certificate{Certificate: [][]byte{ecCert.Raw}, PrivateKey: ecKey}
	start := func(cfg *tls.Config) string {
		return scanServe(t, func(c net.Conn) {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_ = tls.Server(c, cfg).Handshake()
		})
	}
	t.Run("tls12", func(t *testing.T) {
		addr := start(&tls.Config{
			Certificates: []tls.Certificate{pair},
			MinVersion:   tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
			CurvePreferences: []tls.CurveID{tls.CurveP384, tls.X25519},
		})
		rep := mustScan(t, addr)
		v := rep.view()
		if want := []tlsregistry.Version{tlsregistry.TLS12}; !slices.Equal(v.Versions, want) {
			t.Errorf("versions %v, want %v", v.Versions, want)
		}
		if want := []uint16{0xC02B, 0xCCA9}; !slices.Equal(v.Suites[tlsregistry.TLS12], want) {
			t.Errorf("suites %04X, want %04X (the RSA suite cannot work with an EC key)", v.Suites[tlsregistry.TLS12], want)
		}
		if want := []uint16{0x0018, 0x001D}; !slices.Equal(v.Groups[tlsregistry.TLS12], want) {
			t.Errorf("groups %04X, want %04X", v.Groups[tlsregistry.TLS12], want)
		}
		if got := sigCodes(rep, tlsregistry.TLS12); !slices.Contains(got, 0x0403) {
			t.Errorf("signature schemes %04X lack ecdsa_secp256r1_sha256", got)
		}
	})
	t.Run("tls13-mlkem", func(t *testing.T) {
		addr := start(&tls.Config{
			Certificates:     []tls.Certificate{pair},
			MinVersion:       tls.VersionTLS13,
			CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.CurveP256},
		})
		rep := mustScan(t, addr)
		v := rep.view()
		if want := []uint16{0x0017, 0x11EC}; !slices.Equal(v.Groups[tlsregistry.TLS13], want) {
			t.Errorf("groups %04X, want %04X", v.Groups[tlsregistry.TLS13], want)
		}
		if want := []uint16{0x1301, 0x1302, 0x1303}; !slices.Equal(v.Suites[tlsregistry.TLS13], want) {
			t.Errorf("suites %04X, want %04X", v.Suites[tlsregistry.TLS13], want)
		}
		if got := sigCodes(rep, tlsregistry.TLS13); !slices.Equal(got, []uint16{0x0403}) {
			t.Errorf("signature schemes %04X, want [0403]", got)
		}
	})
}

// TestScanReportJSON checks the JSON field names the CLI's --json exposes.
func TestScanReportJSON(t *testing.T) {
	rep := &ScanReport{
		Target:       "127.0.0.1:1",
		Protocols:    []ProtocolResult{{Version: tlsregistry.TLS12, Name: "TLS 1.2", Supported: true, Verdict: tlsregistry.Fine}},
		CipherSuites: []SuiteList{{Version: tlsregistry.TLS12, Name: "TLS 1.2", Suites: []SuiteResult{suiteResult(0xC02B)}}},
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"iana":"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"`, `"openssl":"ECDHE-ECDSA-AES128-GCM-SHA256"`, `"hex":"C02B"`, `"verdict":"fine"`, `"version":"TLS 1.2"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
}

// TestScanNoAddress checks the usage errors.
func TestScanNoAddress(t *testing.T) {
	for _, addr := range []string{"", "no-port"} {
		if _, err := Scan(context.Background(), ScanOptions{Addr: addr}); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
			t.Errorf("Scan(%q) error %v, want one asking for HOST:PORT", addr, err)
		}
	}
}

// TestScanTarget scans PKID_SCAN_ADDR when it is set and prints the report
// and the wall time; bench/scan-compare.sh drives it beside sslscan.
func TestScanTarget(t *testing.T) {
	addr := os.Getenv("PKID_SCAN_ADDR")
	if addr == "" {
		t.Skip("set PKID_SCAN_ADDR=HOST:PORT to scan a server")
	}
	start := time.Now()
	rep, err := Scan(context.Background(), ScanOptions{Addr: addr})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PKID_SCAN_JSON") != "" {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		_ = rep.WriteText(os.Stdout)
	}
	fmt.Printf("pkid-scan-seconds %.6f\n", elapsed.Seconds())
	if path := os.Getenv("PKID_SSLSCAN_OUTPUT"); path != "" {
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, got := parseSSLScan(t, string(out)), rep.view()
		if want.String() != got.String() {
			t.Fatalf("pkid and sslscan differ:\npkid:\n%s\nsslscan:\n%s", got, want)
		}
	}
}

// BenchmarkScan measures a full scan of a loopback openssl s_server; run
// bench/scan-compare.sh for the ratio against sslscan.
func BenchmarkScan(b *testing.B) {
	addr := scanOpenSSL(b, "ec")
	for b.Loop() {
		rep, err := Scan(context.Background(), ScanOptions{Addr: addr})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Connections), "conns/op")
	}
}

// countingConn tracks how many connections are open at once.
type countingConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// TestScanConcurrencyBound checks that no more than Concurrency
// connections are ever open.
func TestScanConcurrencyBound(t *testing.T) {
	_, _, cert, key := scanKey(t, t.TempDir(), "ec")
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}}
	addr := scanServe(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_ = tls.Server(c, cfg).Handshake()
	})
	var open, peak atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		n := open.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		return &countingConn{Conn: c, open: &open}, nil
	}
	rep := mustScan(t, addr, func(o *ScanOptions) { o.Concurrency = 3; o.Dial = dial })
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak of %d connections open at once, want at most 3 with Concurrency 3", p)
	}
	if open.Load() != 0 {
		t.Errorf("%d connections left open", open.Load())
	}
	if rep.Connections < 20 {
		t.Errorf("only %d connections made", rep.Connections)
	}
}

// sslv2ServerHello is an SSL 2.0 SERVER-HELLO with a dummy certificate and
// two cipher kinds.
func sslv2ServerHello() []byte {
	cert := []byte("not really a certificate")
	specs := []byte{0x01, 0x00, 0x80, 0x07, 0x00, 0xC0}
	connID := make([]byte, 16)
	body := []byte{4, 0, 1, 0x00, 0x02, 0, byte(len(cert)), 0, byte(len(specs)), 0, byte(len(connID))}
	body = append(append(append(body, cert...), specs...), connID...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

// TestScanSSLv2 scans a stub that answers SSL 2.0 CLIENT-HELLOs (no SSL 2.0
// server is installed) and refuses everything else.
func TestScanSSLv2(t *testing.T) {
	f, err := parseServerFlight(sslv2ServerHello())
	if err != nil || !f.sslv2 || f.sslv2Ciphers != 2 {
		t.Fatalf("parse SERVER-HELLO: %+v %v", f, err)
	}
	addr := scanServe(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 3)
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		if b[0]&0x80 != 0 && b[2] == 1 {
			_, _ = c.Write(sslv2ServerHello())
			return
		}
		_, _ = c.Write([]byte{21, 3, 1, 0, 2, 2, 70}) // protocol_version
	})
	rep := mustScan(t, addr)
	if p := rep.Protocols[0]; p.Version != tlsregistry.SSL20 || !p.Supported || p.Verdict != tlsregistry.Insecure {
		t.Errorf("SSL 2.0 result %+v, want supported and insecure", p)
	}
	if v := rep.view().Versions; !slices.Equal(v, []tlsregistry.Version{tlsregistry.SSL20}) {
		t.Errorf("versions %v, want SSL 2.0 only", v)
	}
}

// sslv3Stub answers SSL 3.0 ClientHellos offering 0x002F or 0x000A with an
// SSL 3.0 ServerHello for the first of those it finds, and refuses
// everything else with handshake_failure.
func sslv3Stub(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil || hdr[0] != contentHandshake {
		return
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(c, body); err != nil || len(body) < 4+2+32+1 {
		return
	}
	refuse := func() { _, _ = c.Write([]byte{21, 3, 0, 0, 2, 2, 40}) }
	r := &byteReader{b: body[4:]}
	version := r.u16()
	r.bytes(32)
	r.vec(1)
	suites := &byteReader{b: r.vec(2)}
	if r.bad || version != 0x0300 {
		refuse()
		return
	}
	var offered []uint16
	for len(suites.b) >= 2 {
		offered = append(offered, suites.u16())
	}
	for _, pick := range []uint16{0x002F, 0x000A} {
		if slices.Contains(offered, pick) {
			sh := []byte{3, 0}
			sh = append(sh, make([]byte, 32)...)
			sh = append(sh, 0, byte(pick>>8), byte(pick), 0)
			msg := appendVec([]byte{hsServerHello}, 3, sh)
			rec := appendVec([]byte{contentHandshake, 3, 0}, 2, msg)
			_, _ = c.Write(rec)
			return
		}
	}
	refuse()
}

// TestScanSSLv3 scans the SSL 3.0 stub: the version is found, graded
// insecure, and elimination finds exactly the two suites it takes.
func TestScanSSLv3(t *testing.T) {
	addr := scanServe(t, sslv3Stub)
	rep := mustScan(t, addr)
	v := rep.view()
	if !slices.Equal(v.Versions, []tlsregistry.Version{tlsregistry.SSL30}) {
		t.Fatalf("versions %v, want SSL 3.0 only\n%s", v.Versions, reportText(rep))
	}
	if got := v.Suites[tlsregistry.SSL30]; !slices.Equal(got, []uint16{0x000A, 0x002F}) {
		t.Errorf("SSL 3.0 suites %04X, want [000A 002F]", got)
	}
	for _, p := range rep.Protocols {
		if p.Version == tlsregistry.SSL30 && p.Verdict != tlsregistry.Insecure {
			t.Errorf("SSL 3.0 verdict %s, want insecure", p.Verdict)
		}
	}
	if _, order := suiteCodes(rep, tlsregistry.SSL30); !order {
		t.Error("the stub always prefers 002F, so the scan should report server order")
	}
}

// TestScanLongListRefused scans a stub that, like some appliances, refuses
// ClientHellos offering more than 128 suites: the shorter retry finds the
// version anyway.
func TestScanLongListRefused(t *testing.T) {
	addr := scanServe(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
		if _, err := io.ReadFull(c, body); err != nil || hdr[0] != contentHandshake || len(body) < 4+2+32+1 {
			return
		}
		r := &byteReader{b: body[4:]}
		version := r.u16()
		r.bytes(32)
		r.vec(1)
		suites := r.vec(2)
		if r.bad || version != 0x0302 || len(suites)/2 > 128 || !bytes.Contains(suites, []byte{0x00, 0x2F}) {
			_, _ = c.Write([]byte{21, 3, 1, 0, 2, 2, 40})
			return
		}
		sh := append(append([]byte{3, 2}, make([]byte, 32)...), 0, 0x00, 0x2F, 0)
		_, _ = c.Write(appendVec([]byte{contentHandshake, 3, 2}, 2, appendVec([]byte{hsServerHello}, 3, sh)))
	})
	rep := mustScan(t, addr)
	v := rep.view()
	if !slices.Equal(v.Versions, []tlsregistry.Version{tlsregistry.TLS11}) || !slices.Equal(v.Suites[tlsregistry.TLS11], []uint16{0x002F}) {
		t.Errorf("found %s, want TLS 1.1 with 002F", v)
	}
}
