package tlshello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// captureConn records what a client writes before its first read.
type captureConn struct {
	net.Conn
	out *bytes.Buffer
}

func (c captureConn) Write(b []byte) (int, error) {
	c.out.Write(b)
	return c.Conn.Write(b)
}

// helloWithTicket returns the records of a Go client's ClientHello that
// offers a session ticket of s (after a first, full handshake).
func helloWithTicket(t testing.TB, s *testServer, cfg *tls.Config) []byte {
	t.Helper()
	if r, err := s.dial(t, cfg, nil); err != nil || r.err != nil {
		t.Fatalf("full handshake: client %v, server %v", err, r.err)
	}
	var out bytes.Buffer
	if _, err := s.dial(t, cfg, func(nc net.Conn) net.Conn { return captureConn{nc, &out} }); err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	n := 5 + (int(b[3])<<8 | int(b[4]))
	return b[:n]
}

func TestParseGoClientHello(t *testing.T) {
	p := newPKI(t, time.Now().Add(24*time.Hour))
	s := newTestServer(t, p, false)
	h, err := Parse(helloWithTicket(t, s, clientConfig(p)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.PSKIdentities) != 1 || h.Binders != 1 || len(h.PSKIdentities[0].Identity) < 32 {
		t.Errorf("pre_shared_key: %d identities, %d binders", len(h.PSKIdentities), h.Binders)
	}
	if !slices.Equal(h.PSKModes, []uint8{pskModeDHE}) {
		t.Errorf("psk_key_exchange_modes %v, want [1]", h.PSKModes)
	}
	if !slices.Contains(h.KeyShares, tls.X25519MLKEM768) || !slices.Contains(h.KeyShares, tls.X25519) {
		t.Errorf("key shares %v, want X25519MLKEM768 and X25519", h.KeyShares)
	}
	if !slices.Contains(h.SupportedVersions, tls.VersionTLS13) || !slices.Contains(h.CipherSuites, tls.TLS_AES_128_GCM_SHA256) {
		t.Errorf("versions %x, suites %x", h.SupportedVersions, h.CipherSuites)
	}
}

// hello builds a ClientHello record from its extensions.
func hello(exts ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(handshakeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(tls.VersionTLS12)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.TLS_AES_128_GCM_SHA256) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		if exts != nil {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, e := range exts {
					b.AddBytes(e)
				}
			})
		}
	})
	msg := b.BytesOrPanic()
	return append([]byte{recordTypeHandshake, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func ext(typ uint16, body []byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(body) >> 8), byte(len(body))}, body...)
}

var (
	goodVersions = ext(extSupportedVersions, []byte{2, 3, 4})
	goodModes    = ext(extPSKKeyExchangeModes, []byte{1, 1})
	goodShare    = ext(extKeyShare, []byte{0, 5, 0, 29, 0, 1, 9})
	goodPSK      = ext(extPreSharedKey, append([]byte{0, 7, 0, 1, 0xaa, 0, 0, 0, 1, 0, 33, 32}, make([]byte, 32)...))
)

func TestParse(t *testing.T) {
	good := hello(goodVersions, goodShare, goodModes, goodPSK)
	for _, tc := range []struct {
		name string
		in   []byte
		want error // nil, ErrIncomplete or errMalformed
	}{
		{"complete", good, nil},
		{"no extensions", hello(), nil},
		{"trailing records ignored", append(slices.Clone(good), 20, 3, 3, 0, 1, 1), nil},
		{"truncated", good[:len(good)-1], ErrIncomplete},
		{"header only", good[:5], ErrIncomplete},
		{"empty", nil, ErrIncomplete},
		{"not handshake", append([]byte{23}, good[1:]...), errMalformed},
		{"record version 2", append([]byte{22, 2}, good[2:]...), errMalformed},
		{"zero-length record", []byte{22, 3, 1, 0, 0}, errMalformed},
		{"record over 2^14", []byte{22, 3, 1, 0x40, 1}, errMalformed},
		{"server hello", func() []byte { b := slices.Clone(good); b[5] = 2; return b }(), errMalformed},
		{"repeated extension", hello(goodVersions, goodVersions), errMalformed},
		{"pre_shared_key not last", hello(goodPSK, goodModes), errMalformed},
		{"empty key share", hello(ext(extKeyShare, []byte{0, 4, 0, 29, 0, 0})), errMalformed},
		{"odd versions", hello(ext(extSupportedVersions, []byte{3, 3, 4, 3})), errMalformed},
		{"empty modes", hello(ext(extPSKKeyExchangeModes, []byte{0})), errMalformed},
		{"short binder", hello(ext(extPreSharedKey, append([]byte{0, 7, 0, 1, 0xaa, 0, 0, 0, 1, 0, 32, 31}, make([]byte, 31)...))), errMalformed},
		{"identity overruns", hello(ext(extPreSharedKey, []byte{0, 7, 0, 9, 0xaa, 0, 0, 0, 1, 0, 0})), errMalformed},
		{"extension overruns", hello([]byte{0, 43, 0, 9, 2, 3, 4}), errMalformed},
		{"message over 16 KiB", []byte{22, 3, 1, 0, 4, 1, 0, 0x40, 0x01}, errMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse(tc.in)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Parse: %v, want %v", err, tc.want)
			}
			if tc.want == nil && tc.name == "complete" {
				if len(h.PSKIdentities) != 1 || !bytes.Equal(h.PSKIdentities[0].Identity, []byte{0xaa}) || h.PSKIdentities[0].ObfuscatedTicketAge != 1 || h.Binders != 1 ||
					!slices.Equal(h.KeyShares, []tls.CurveID{tls.X25519}) || !slices.Equal(h.PSKModes, []uint8{1}) || !slices.Equal(h.SupportedVersions, []uint16{tls.VersionTLS13}) {
					t.Errorf("parsed %+v", h)
				}
			}
			if complete := recordAll(tc.in).done; complete != (err != ErrIncomplete) {
				t.Errorf("Conn stops recording: %v; Parse error %v", complete, err)
			}
		})
	}
}

// TestParseFragments: the same ClientHello in records of every size from
// 1 byte up parses to the same result; more than maxRecords records is
// refused.
func TestParseFragments(t *testing.T) {
	good := hello(goodVersions, goodShare, goodModes, goodPSK)
	want, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	body := good[5:]
	for size := 1; size <= len(body); size++ {
		var b []byte
		for rest := body; len(rest) > 0; {
			k := min(size, len(rest))
			b = append(b, 22, 3, 1, byte(k>>8), byte(k))
			b = append(b, rest[:k]...)
			rest = rest[k:]
		}
		got, err := Parse(b)
		records := (len(body) + size - 1) / size
		if records > maxRecords {
			if err == nil {
				t.Errorf("size %d: %d records accepted", size, records)
			}
			continue
		}
		if err != nil || !slices.Equal(got.KeyShares, want.KeyShares) || len(got.PSKIdentities) != 1 {
			t.Errorf("records of %d bytes: %v", size, err)
		}
	}
}

// TestConnRecordsOnlyTheHello: a Conn stops recording once the
// ClientHello is complete, whatever the read sizes, and never records
// more than MaxRecorded.
func TestConnRecordsOnlyTheHello(t *testing.T) {
	good := hello(goodVersions, goodShare, goodModes, goodPSK)
	after := bytes.Repeat([]byte{23}, 3000)
	for _, chunk := range []int{1, 7, 64, len(good), len(good) + 100} {
		a, b := net.Pipe()
		go func() {
			all := append(slices.Clone(good), after...)
			for len(all) > 0 {
				k := min(chunk, len(all))
				b.Write(all[:k])
				all = all[k:]
			}
			b.Close()
		}()
		c := NewConn(a).(*Conn)
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf[:chunk]); err != nil {
				break
			}
		}
		rec := c.Recorded()
		if !bytes.HasPrefix(rec, good) || len(rec) >= len(good)+chunk {
			t.Errorf("reads of %d: recorded %d bytes for a %d-byte hello", chunk, len(rec), len(good))
		}
		if c.Recorded() != nil {
			t.Error("second Recorded returned bytes")
		}
	}
	a, b := net.Pipe()
	go func() {
		b.Write([]byte{22, 3, 1, 0x40, 0})
		for range 8 {
			b.Write(make([]byte, 4096))
		}
		b.Close()
	}()
	c := NewConn(a).(*Conn)
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	if n := len(c.Recorded()); n > MaxRecorded {
		t.Errorf("recorded %d bytes, more than MaxRecorded (%d)", n, MaxRecorded)
	}
}

// TestNotAfter reads notAfter as crypto/x509 does, in both time forms.
func TestNotAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"UTCTime", time.Date(2031, 2, 28, 23, 59, 58, 0, time.UTC)},
		{"UTCTime 2049", time.Date(2049, 12, 31, 0, 0, 1, 0, time.UTC)},
		{"GeneralizedTime", time.Date(2051, 6, 1, 12, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t, tc.at)
			got, err := notAfter(p.client.Certificate[0])
			if err != nil || !got.Equal(tc.at) {
				t.Fatalf("notAfter %v, %v; want %v", got, err, tc.at)
			}
		})
	}
	for _, bad := range []string{"310230000000Z", "3102280000Z", "31022800000+", "3a0228000000Z", "311328000000Z", "310228240000Z"} {
		if _, ok := derTime(cbasn1.UTCTime, []byte(bad)); ok {
			t.Errorf("derTime accepted %q", bad)
		}
	}
}

// TestWriteFuzzCorpus writes real ClientHellos as seeds for FuzzParse
// when TLSHELLO_WRITE_CORPUS is set (run once; the seeds are committed).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("TLSHELLO_WRITE_CORPUS") == "" {
		t.Skip("set TLSHELLO_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzParse")
	}
	p := newPKI(t, time.Now().Add(24*time.Hour))
	s := newTestServer(t, p, false)
	seeds := map[string][]byte{
		"go-default-ticket": helloWithTicket(t, s, clientConfig(p)),
		"synthetic":         hello(goodVersions, goodShare, goodModes, goodPSK),
	}
	cfg := clientConfig(p)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	seeds["go-x25519-ticket"] = helloWithTicket(t, s, cfg)
	var out bytes.Buffer
	s.dial(t, clientConfig(p), func(nc net.Conn) net.Conn { return captureConn{nc, &out} })
	seeds["go-full"] = out.Bytes()[:5+int(out.Bytes()[3])<<8|int(out.Bytes()[4])]
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n[]byte("+quote(b)+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func quote(b []byte) string {
	var s bytes.Buffer
	s.WriteByte('"')
	for _, c := range b {
		s.WriteString(`\x`)
		s.WriteByte("0123456789abcdef"[c>>4])
		s.WriteByte("0123456789abcdef"[c&15])
	}
	s.WriteByte('"')
	return s.String()
}

// recordAll records b through a Conn in one read.
func recordAll(b []byte) *Conn {
	c := &Conn{}
	if len(b) > 0 {
		c.record(b)
	}
	return c
}

// countConn counts the reads on the connection it wraps.
type countConn struct {
	net.Conn
	reads int
}

func (c *countConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// TestConnReadAhead: while recording, Conn reads what the kernel holds in
// one read and serves crypto/tls's small reads from it; the byte stream a
// reader sees is the one sent, whatever its buffer sizes, and the end of
// the stream comes after the last byte.
func TestConnReadAhead(t *testing.T) {
	good := hello(goodVersions, goodShare, goodModes, goodPSK)
	after := bytes.Repeat([]byte("after"), 700)
	stream := append(slices.Clone(good), after...)
	for _, size := range []int{1, 7, 5 + 512, len(good), 8192} {
		a, b := net.Pipe()
		go func() {
			b.Write(good) // one segment: the whole hello
			b.Write(after)
			b.Close()
		}()
		cc := &countConn{Conn: a}
		c := NewConn(cc).(*Conn)
		var got []byte
		buf := make([]byte, size)
		readsForHello := 0
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if readsForHello == 0 && len(got) >= len(good) {
				readsForHello = cc.reads
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reads of %d: %v", size, err)
			}
		}
		if !bytes.Equal(got, stream) {
			t.Errorf("reads of %d: got %d bytes, not the %d sent", size, len(got), len(stream))
		}
		if readsForHello != 1 {
			t.Errorf("reads of %d: the %d-byte hello took %d reads of the connection, want 1", size, len(good), readsForHello)
		}
		if rec := c.Recorded(); !bytes.Equal(rec, good) {
			t.Errorf("reads of %d: recorded %d bytes, want the %d of the hello", size, len(rec), len(good))
		}
	}
}
