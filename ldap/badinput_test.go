package ldap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/pkid/pkid/internal/ber"
)

// Every proper prefix of every valid message is truncated: framing reports
// io.ErrUnexpectedEOF, decoding a fatal protocolError, never a panic.
func TestTruncatedMessages(t *testing.T) {
	for _, v := range messageVectors {
		wire := bx(t, v.hex)
		for n := 1; n < len(wire); n++ {
			_, err := ReadMessage(bufio.NewReader(bytes.NewReader(wire[:n])), 0)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s[:%d]: ReadMessage err = %v", v.name, n, err)
			}
			_, err = DecodeMessage(wire[:n])
			var pe *ProtocolError
			if !errors.As(err, &pe) || !pe.Fatal {
				t.Fatalf("%s[:%d]: DecodeMessage err = %v", v.name, n, err)
			}
		}
	}
}

func TestMessageSizeLimit(t *testing.T) {
	m := &Message{ID: 1, Op: &AddRequest{Entry: "cn=big", Attributes: []Attribute{{Type: "description", Values: [][]byte{make([]byte, 2000)}}}}}
	wire, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMessage(bufio.NewReader(bytes.NewReader(wire)), len(wire)); err != nil {
		t.Fatalf("message at the limit: %v", err)
	}
	_, err = ReadMessage(bufio.NewReader(bytes.NewReader(wire)), len(wire)-1)
	var pe *ProtocolError
	if !errors.As(err, &pe) || !pe.Fatal || !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("message over the limit: %v", err)
	}
}

// A client claiming a gigabyte and sending a few bytes costs a few
// kilobytes; one claiming more than the limit costs nothing.
func TestGigabyteClaims(t *testing.T) {
	tests := []struct {
		name  string
		wire  []byte
		limit int
		want  error
	}{
		{"over the default limit", bx(t, "30 84 40 00 00 00 02 01 01"), 0, ber.ErrTooLarge},
		{"8-octet length", bx(t, "30 88 7f ff ff ff ff ff ff ff 02 01 01"), 0, ber.ErrTooLarge},
		{"under a 2 GiB limit", bx(t, "30 84 40 00 00 00 02 01 01 63 84 3f ff ff f0"), 2 << 30, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range 50 {
				_, err := ReadMessage(bufio.NewReader(bytes.NewReader(tt.wire)), tt.limit)
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / 50; per > 16<<10 {
				t.Errorf("%d bytes allocated per read", per)
			}
		})
	}
}

func searchWithFilter(t testing.TB, filter []byte) []byte {
	t.Helper()
	// A SearchRequest around raw filter bytes, so filters the encoder
	// would refuse can be sent.
	e := ber.NewEncoder(nil)
	env := e.Begin(ber.TagSequence)
	e.Int(ber.TagInteger, 1)
	s := e.Begin(TagSearchRequest)
	e.String(ber.TagOctetString, "dc=x")
	e.Int(ber.TagEnumerated, 2)
	e.Int(ber.TagEnumerated, 0)
	e.Int(ber.TagInteger, 0)
	e.Int(ber.TagInteger, 0)
	e.Bool(ber.TagBoolean, false)
	e.Raw(filter)
	a := e.Begin(ber.TagSequence)
	e.End(a)
	e.End(s)
	e.End(env)
	return e.Bytes()
}

func TestDeepNesting(t *testing.T) {
	leaf := bx(t, "87 02 'cn'")
	nest := func(n int) []byte {
		f := leaf
		for range n {
			f = wrapTLV(0xa2, f)
		}
		return f
	}
	// Envelope and SearchRequest take two levels of MaxDepth.
	if _, err := DecodeMessage(searchWithFilter(t, nest(MaxDepth-2))); err != nil {
		t.Fatalf("%d nested nots: %v", MaxDepth-2, err)
	}
	for _, n := range []int{MaxDepth - 1, 100, 1000} {
		_, err := DecodeMessage(searchWithFilter(t, nest(n)))
		var pe *ProtocolError
		if !errors.As(err, &pe) || !pe.Fatal || !errors.Is(err, ErrTooDeep) {
			t.Errorf("%d nested nots: %v", n, err)
		}
	}
	// Deep nesting in a control or a trailing element is refused too.
	deep := bx(t, "05 00")
	for range 100 {
		deep = wrapTLV(0x30, deep)
	}
	msg := wrapTLV(0x30, append(bx(t, "02 01 01 42 00"), deep...))
	if _, err := DecodeMessage(msg); !errors.Is(err, ber.ErrTooDeep) {
		t.Errorf("deep trailing element: %v", err)
	}
}

func TestFilterElementLimit(t *testing.T) {
	var items []byte
	for range MaxFilterElements - 1 { // plus the and
		items = append(items, 0x87, 0x00)
	}
	_, err := DecodeMessage(searchWithFilter(t, wrapTLVLong(0xa0, items)))
	if err != nil {
		t.Fatalf("%d elements: %v", MaxFilterElements, err)
	}
	items = append(items, 0x87, 0x00)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = DecodeMessage(searchWithFilter(t, wrapTLVLong(0xa0, items)))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("filter with too many elements accepted")
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 2<<20 {
		t.Errorf("refusing the filter allocated %d bytes", a)
	}
}

func wrapTLVLong(tag byte, content []byte) []byte {
	n := len(content)
	return append([]byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}, content...)
}

// Binary garbage: random-looking input never panics and is always a fatal
// protocol error.
func TestGarbage(t *testing.T) {
	seed := uint32(1)
	for i := range 2000 {
		n := i % 64
		b := make([]byte, n)
		for j := range b {
			seed = seed*1664525 + 1013904223
			b[j] = byte(seed >> 24)
		}
		if i%2 == 0 && n > 2 {
			b[0], b[1] = 0x30, byte(n-2)
		}
		if _, err := DecodeMessage(b); err != nil {
			checkProtocolError(t, err)
		}
	}
}
