package ber

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
)

func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNextHeaders(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		tag     byte
		content string
		wantErr string
	}{
		{name: "short form", in: "04 03 616263", tag: 0x04, content: "616263"},
		{name: "empty", in: "04 00", tag: 0x04, content: ""},
		{name: "long form minimal", in: "04 81 03 616263", tag: 0x04, content: "616263"},
		{name: "long form 4 octets non-minimal like AD", in: "04 84 00000003 616263", tag: 0x04, content: "616263"},
		{name: "long form 8 octets", in: "04 88 0000000000000001 61", tag: 0x04, content: "61"},
		{name: "indefinite", in: "30 80 0400 0000", wantErr: "indefinite"},
		{name: "reserved ff", in: "04 ff", wantErr: "reserved"},
		{name: "9 length octets", in: "04 89 000000000000000001 61", wantErr: "length of 9 octets"},
		{name: "high tag number", in: "1f 20 01 00", wantErr: "high tag number"},
		{name: "truncated header", in: "04", wantErr: "truncated element header"},
		{name: "truncated length", in: "04 82 01", wantErr: "truncated length"},
		{name: "length beyond data", in: "04 05 6162", wantErr: "exceeds"},
		{name: "huge length", in: "04 84 7fffffff 61", wantErr: "exceeds"},
		{name: "max uint64 length", in: "04 88 ffffffffffffffff 61", wantErr: "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(h(t, tt.in), 0)
			tag, c, err := d.Next()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("err %T is not a *SyntaxError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tag != tt.tag || !bytes.Equal(c, h(t, tt.content)) || !d.Empty() {
				t.Fatalf("got tag %02x content %x empty %v", tag, c, d.Empty())
			}
		})
	}
}

func TestPrimitives(t *testing.T) {
	ints := []struct {
		in   string
		want int64
	}{
		{"02 01 00", 0}, {"02 01 7f", 127}, {"02 02 0080", 128}, {"02 01 80", -128},
		{"02 02 ff7f", -129}, {"02 04 7fffffff", math.MaxInt32},
		{"02 08 7fffffffffffffff", math.MaxInt64}, {"02 08 8000000000000000", math.MinInt64},
	}
	for _, tt := range ints {
		d := NewDecoder(h(t, tt.in), 0)
		v, err := d.Int(TagInteger)
		if err != nil || v != tt.want {
			t.Errorf("Int(%s) = %d, %v; want %d", tt.in, v, err, tt.want)
		}
		e := NewEncoder(nil)
		e.Int(TagInteger, tt.want)
		if got := hex.EncodeToString(e.Bytes()); got != strings.ReplaceAll(tt.in, " ", "") {
			t.Errorf("encode %d = %s, want %s", tt.want, got, tt.in)
		}
	}
	for _, bad := range []string{"02 00", "02 09 000000000000000001", "04 01 00", "22 00"} {
		d := NewDecoder(h(t, bad), 0)
		if _, err := d.Int(TagInteger); err == nil {
			t.Errorf("Int(%s) succeeded", bad)
		}
	}
	bools := []struct {
		in   string
		want bool
		ok   bool
	}{{"01 01 ff", true, true}, {"01 01 00", false, true}, {"01 01 01", true, true}, {"01 00", false, false}, {"01 02 ffff", false, false}}
	for _, tt := range bools {
		d := NewDecoder(h(t, tt.in), 0)
		v, err := d.Bool(TagBoolean)
		if (err == nil) != tt.ok || v != tt.want {
			t.Errorf("Bool(%s) = %v, %v", tt.in, v, err)
		}
	}
	// OCTET STRING must be primitive (RFC 4511 §5.1): the constructed form
	// has another tag byte and is refused.
	d := NewDecoder(h(t, "24 05 04 03 616263"), 0)
	if _, err := d.OctetString(TagOctetString); err == nil {
		t.Error("constructed OCTET STRING accepted")
	}
}

func TestEncoderLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20} {
		e := NewEncoder(nil)
		outer := e.Begin(TagSequence)
		inner := e.Begin(TagSequence)
		e.OctetString(TagOctetString, bytes.Repeat([]byte{'x'}, n))
		e.End(inner)
		e.Int(TagInteger, 5)
		e.End(outer)
		b := e.Bytes()
		if err := Validate(b, 4); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		d := NewDecoder(b, 0)
		s, _ := d.Enter(TagSequence)
		in, err := s.Enter(TagSequence)
		if err != nil {
			t.Fatal(err)
		}
		v, err := in.OctetString(TagOctetString)
		if err != nil || len(v) != n {
			t.Fatalf("n=%d: got %d bytes, %v", n, len(v), err)
		}
		if x, err := s.Int(TagInteger); err != nil || x != 5 {
			t.Fatalf("n=%d: trailing int %d %v", n, x, err)
		}
		// Minimal lengths, whatever the back-patching had to do.
		content := len(b) - 2
		if b[1] >= 0x80 {
			content -= int(b[1] & 0x7f)
		}
		if want := minimalHeader(content); !bytes.Equal(b[1:1+len(want)], want) {
			t.Errorf("n=%d: outer length % x, want % x", n, b[1:1+len(want)], want)
		}
	}
	e := NewEncoder(nil)
	e.OctetString(TagOctetString, make([]byte, 200))
	if got := e.Bytes()[:3]; !bytes.Equal(got, []byte{0x04, 0x81, 200}) {
		t.Errorf("200-byte string header % x", got)
	}
}

func minimalHeader(n int) []byte {
	if n < 128 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

func TestDepthLimit(t *testing.T) {
	nest := func(n int) []byte {
		b := []byte{0x05, 0x00}
		for range n {
			b = append([]byte{0x30, byte(len(b))}, b...)
		}
		return b
	}
	if err := Validate(nest(32), 32); err != nil {
		t.Errorf("32 levels: %v", err)
	}
	if err := Validate(nest(33), 32); !errors.Is(err, ErrTooDeep) {
		t.Errorf("33 levels: %v, want ErrTooDeep", err)
	}
	// Finish checks trailing elements the same way.
	d := NewDecoder(append([]byte{0x30, 0x02, 0x02, 0x01}, 0), 0)
	s, err := d.Enter(TagSequence)
	if err == nil {
		err = s.Finish()
	}
	if err == nil {
		t.Error("garbage inside a SEQUENCE accepted")
	}
}

func TestReadPacket(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		limit   int
		want    string
		wantErr error
		errText string
	}{
		{name: "small", in: "30 03 020101", want: "30 03 020101"},
		{name: "long form", in: "30 84 00000003 020101", want: "30 84 00000003 020101"},
		{name: "at limit", in: "30 03 020101", limit: 5, want: "30 03 020101"},
		{name: "over limit", in: "30 04 02020101", limit: 5, wantErr: ErrTooLarge},
		{name: "limit below header size", in: "30 84 00000003 020101", limit: 1, wantErr: ErrTooLarge},
		{name: "gigabyte claim", in: "30 84 40000000 0201", wantErr: ErrTooLarge},
		{name: "empty stream", in: "", wantErr: io.EOF},
		{name: "truncated body", in: "30 05 0201", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated length", in: "30 82 01", wantErr: io.ErrUnexpectedEOF},
		{name: "indefinite", in: "30 80 020101 0000", errText: "indefinite"},
		{name: "wrong tag", in: "31 03 020101", errText: "packet tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(h(t, tt.in)))
			got, err := ReadPacket(r, TagSequence, tt.limit)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %q", err, tt.errText)
				}
			default:
				if err != nil || !bytes.Equal(got, h(t, tt.want)) {
					t.Fatalf("got %x, %v", got, err)
				}
			}
		})
	}
}

// A peer that claims a huge element and sends little must cost about what
// it sent, not what it claimed.
func TestReadPacketMemoryBounded(t *testing.T) {
	claim := []byte{0x30, 0x84, 0x00, 0xff, 0xff, 0xff} // 16 MiB, under a 64 MiB limit
	body := bytes.Repeat([]byte{0x04}, 10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 100 {
		r := bufio.NewReader(io.MultiReader(bytes.NewReader(claim), bytes.NewReader(body)))
		if _, err := ReadPacket(r, TagSequence, 64<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / 100
	// bufio's 4 KiB buffer plus the first 4 KiB chunk, far below 16 MiB.
	if perCall > 16<<10 {
		t.Errorf("each truncated read allocated %d bytes; claim was 16 MiB", perCall)
	}
}

// Memory grows with the bytes that arrive: a 1 MiB message costs a small
// multiple of 1 MiB.
func TestReadPacketGrowth(t *testing.T) {
	n := 1 << 20
	e := NewEncoder(nil)
	m := e.Begin(TagSequence)
	e.OctetString(TagOctetString, make([]byte, n))
	e.End(m)
	msg := e.Bytes()
	allocs := testing.AllocsPerRun(5, func() {
		r := bufio.NewReader(bytes.NewReader(msg))
		if _, err := ReadPacket(r, TagSequence, 2<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 16 {
		t.Errorf("%v allocations to read 1 MiB", allocs)
	}
}

func TestStringsAndCount(t *testing.T) {
	pkt := h(t, "30 0a 04 02 6869 04 00 80 02 6f6b")
	for _, shared := range []bool{false, true} {
		d := NewDecoder(pkt, 0)
		if shared {
			d.WithStrings(string(pkt))
		}
		s, err := d.Enter(TagSequence)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Count(); n != 3 {
			t.Errorf("Count = %d, want 3", n)
		}
		a, err1 := s.String(TagOctetString)
		b, err2 := s.String(TagOctetString)
		_, c, err3 := s.Next()
		if err1 != nil || err2 != nil || err3 != nil || a != "hi" || b != "" || s.StringOf(c) != "ok" {
			t.Errorf("shared=%v: %q %q %q %v %v %v", shared, a, b, s.StringOf(c), err1, err2, err3)
		}
		if err := s.End(); err != nil {
			t.Error(err)
		}
	}
	// Count stops at malformed data instead of failing.
	d := NewDecoder(h(t, "04 00 04 05 61"), 0)
	if n := d.Count(); n != 1 {
		t.Errorf("Count over malformed data = %d, want 1", n)
	}
}
