package doctor

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/tlsregistry"
)

var updateFlights = flag.Bool("update-flights", false, "capture testdata/flights/*.bin and the FuzzParseServerHello seeds again from openssl s_server")

// flightCaptures are the first flights saved under testdata/flights: the
// server set-up, the ClientHello sent, and what the parser must find.
var flightCaptures = []struct {
	name   string
	key    string
	flags  []string
	hello  func(s *scanner) []byte
	expect func(t *testing.T, f *serverFlight)
}{
	{
		name: "tls13-serverhello", key: "ec",
		hello: func(s *scanner) []byte {
			return s.hello(tlsregistry.TLS13, suitesByVersion[tlsregistry.TLS13], func(h *clientHello) {
				ks, _ := newKeyShare(0x001D, nil)
				h.keyShares = []keyShare{ks}
			})
		},
		expect: func(t *testing.T, f *serverFlight) {
			h := f.hello
			if h == nil || h.version != 0x0304 || h.retry || h.group != 0x001D || h.cipher != 0x1301 || !f.encrypted {
				t.Errorf("got %+v (encrypted %v), want a TLS 1.3 ServerHello with x25519 and TLS_AES_128_GCM_SHA256 followed by encrypted records", h, f.encrypted)
			}
		},
	},
	{
		name: "tls13-helloretry", key: "ec",
		hello: func(s *scanner) []byte {
			return s.hello(tlsregistry.TLS13, suitesByVersion[tlsregistry.TLS13], func(h *clientHello) {
				h.groups, h.keyShares = []uint16{0x0018}, nil
			})
		},
		expect: func(t *testing.T, f *serverFlight) {
			h := f.hello
			if h == nil || !h.retry || h.version != 0x0304 || h.group != 0x0018 {
				t.Errorf("got %+v, want a HelloRetryRequest for secp384r1", h)
			}
		},
	},
	{
		name: "tls12-ecdhe-ecdsa", key: "ec",
		hello: func(s *scanner) []byte {
			return s.hello(tlsregistry.TLS12, suitesByVersion[tlsregistry.TLS12], func(h *clientHello) { h.groups = []uint16{0x0017} })
		},
		expect: func(t *testing.T, f *serverFlight) {
			h := f.hello
			if h == nil || h.version != 0x0303 || !h.renegInfo || !h.sessionTicket {
				t.Fatalf("got %+v, want a TLS 1.2 ServerHello with renegotiation_info and session_ticket", h)
			}
			if f.certificates != 1 || !f.helloDone {
				t.Errorf("certificates %d, helloDone %v; want 1 and true", f.certificates, f.helloDone)
			}
			if k := f.keyExchange; k == nil || k.group != 0x0017 || !k.hasScheme {
				t.Errorf("ServerKeyExchange %+v, want secp256r1 with a signature scheme", k)
			}
		},
	},
	{
		name: "tls12-dhe-rsa", key: "rsa", flags: []string{"-cipher", "DHE-RSA-AES128-GCM-SHA256", "-no_tls1_3"},
		hello: func(s *scanner) []byte {
			return s.hello(tlsregistry.TLS12, []uint16{0x009E}, nil)
		},
		expect: func(t *testing.T, f *serverFlight) {
			if f.hello == nil || f.hello.cipher != 0x009E {
				t.Fatalf("got %+v, want TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", f.hello)
			}
			if k := f.keyExchange; k == nil || k.dhBits < 2048 || !k.hasScheme {
				t.Errorf("ServerKeyExchange %+v, want a DH prime of at least 2048 bits and a signature scheme", k)
			}
		},
	},
	{
		name: "alert-protocol-version", key: "ec", flags: []string{"-tls1_3"},
		hello: func(s *scanner) []byte {
			return s.hello(tlsregistry.TLS12, suitesByVersion[tlsregistry.TLS12], nil)
		},
		expect: func(t *testing.T, f *serverFlight) {
			if f.alert == nil || f.alert.Code != 70 || f.hello != nil {
				t.Errorf("alert %+v hello %+v, want protocol_version and no ServerHello", f.alert, f.hello)
			}
		},
	},
}

// captureFlight sends hello to addr and returns everything the server sent
// until its first flight ended.
func captureFlight(t *testing.T, addr string, hello []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if f, perr := parseServerFlight(buf); perr == nil && (f.alert != nil || f.helloDone || f.encrypted || (f.hello != nil && f.hello.retry)) {
			return buf
		}
		if err != nil {
			return buf
		}
	}
}

// TestParseCapturedFlights parses first flights captured from openssl
// s_server (refresh with -update-flights).
func TestParseCapturedFlights(t *testing.T) {
	for _, fc := range flightCaptures {
		t.Run(fc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "flights", fc.name+".bin")
			if *updateFlights {
				addr := scanOpenSSL(t, fc.key, fc.flags...)
				s := &scanner{opts: ScanOptions{Rand: rand.Reader}}
				raw := captureFlight(t, addr, fc.hello(s))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, raw, 0o644); err != nil {
					t.Fatal(err)
				}
				seed := filepath.Join("testdata", "fuzz", "FuzzParseServerHello", fc.name)
				_ = os.MkdirAll(filepath.Dir(seed), 0o755)
				if err := os.WriteFile(seed, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", raw), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (capture with go test -run TestParseCapturedFlights -update-flights)", err)
			}
			f, err := parseServerFlight(raw)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			fc.expect(t, f)
			// Every prefix of a real flight is either partial or, when it
			// ends on a record boundary, a valid shorter flight.
			for i := range len(raw) {
				if _, err := parseServerFlight(raw[:i]); err != nil {
					t.Fatalf("prefix of %d bytes: %v", i, err)
				}
			}
		})
	}
}

// TestParseServerFlightErrors covers malformed replies.
func TestParseServerFlightErrors(t *testing.T) {
	rec := func(typ byte, body ...byte) []byte {
		return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	cases := []struct {
		name    string
		in      []byte
		wantErr string // "" means no error
		check   func(*serverFlight) bool
	}{
		{"empty", nil, "", func(f *serverFlight) bool { return f.partial }},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n"), "speaks HTTP", nil},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), "SSH", nil},
		{"bad record version", []byte{22, 9, 9, 0, 1, 0}, "record version", nil},
		{"oversized record", []byte{22, 3, 3, 0xFF, 0xFF}, "exceeds the TLS limit", nil},
		{"short alert", rec(21, 2), "alert record", nil},
		{"alert", rec(21, 2, 40), "", func(f *serverFlight) bool { return f.alert != nil && f.alert.Name == "handshake_failure" }},
		{"unknown alert", rec(21, 2, 250), "", func(f *serverFlight) bool { return f.alert != nil && f.alert.Name == "alert(250)" }},
		{"truncated hello", rec(22, 2, 0, 0, 3, 3, 3, 0), "truncated", nil},
		{"huge message", rec(22, 2, 0xFF, 0xFF, 0xFF), "claims", nil},
		{"partial message", rec(22, 2, 0, 0, 80, 3, 3), "", func(f *serverFlight) bool { return f.partial && f.hello == nil }},
		{"ske before hello", rec(22, 12, 0, 0, 0), "before ServerHello", nil},
		{"sslv2 error", []byte{0x80, 3, 0, 0, 1}, "", func(f *serverFlight) bool { return !f.sslv2 }},
		{"sslv2 junk", []byte{0x80, 3, 9, 0, 1}, "not TLS", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseServerFlight(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(f) {
				t.Errorf("flight %+v fails the check", f)
			}
		})
	}
}

// TestClientHelloLayout checks the ClientHello bytes against RFC 8446 §4.1.2
// and record fragmentation.
func TestClientHelloLayout(t *testing.T) {
	h := &clientHello{version: 0x0303, suites: []uint16{0x1301, 0xC02B}, serverName: "example.test",
		groups: []uint16{0x001D}, sigSchemes: []uint16{0x0403}, versions: []uint16{0x0304}, withKeyShare: true, renegInfo: true}
	b := h.marshal()
	if b[0] != contentHandshake || b[1] != 3 || b[2] != 1 {
		t.Fatalf("record header % X, want 16 03 01", b[:3])
	}
	if n := int(b[3])<<8 | int(b[4]); n != len(b)-5 {
		t.Fatalf("record length %d, want %d", n, len(b)-5)
	}
	msg := b[5:]
	if msg[0] != hsClientHello || int(msg[1])<<16|int(msg[2])<<8|int(msg[3]) != len(msg)-4 {
		t.Fatalf("handshake header % X wrong for %d bytes", msg[:4], len(msg))
	}
	for _, want := range [][]byte{{0x13, 0x01, 0xC0, 0x2B}, []byte("example.test"), {0x00, 0x2B, 0x00, 0x03, 0x02, 0x03, 0x04}, {0x00, 0x33, 0x00, 0x02, 0x00, 0x00}, {0xFF, 0x01, 0x00, 0x01, 0x00}} {
		if !bytes.Contains(msg, want) {
			t.Errorf("ClientHello lacks % X", want)
		}
	}
	// A hello longer than one record is split into 2^14-byte fragments.
	big := &clientHello{version: 0x0303, suites: make([]uint16, 9000)}
	b = big.marshal()
	if n := int(b[3])<<8 | int(b[4]); n != 1<<14 {
		t.Errorf("first fragment %d bytes, want %d", n, 1<<14)
	}
	if b[5+1<<14] != contentHandshake {
		t.Errorf("second record type %d, want handshake", b[5+1<<14])
	}
	v2 := sslv2ClientHello([16]byte{})
	if v2[0]&0x80 == 0 || int(v2[0]&0x7F)<<8|int(v2[1]) != len(v2)-2 || v2[2] != 1 {
		t.Errorf("SSL 2.0 CLIENT-HELLO header % X malformed", v2[:5])
	}
}

// FuzzParseServerHello feeds arbitrary server replies to the first-flight
// parser, seeded with real flights from openssl s_server.
func FuzzParseServerHello(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "flights", "*.bin"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := parseServerFlight(b)
		if fl == nil {
			t.Fatal("nil flight")
		}
		if err != nil {
			return
		}
		// Parsing must be deterministic.
		again, err2 := parseServerFlight(b)
		if err2 != nil || (again.hello == nil) != (fl.hello == nil) {
			t.Fatalf("re-parse differs: %v", err2)
		}
	})
}
