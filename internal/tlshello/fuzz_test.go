package tlshello

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and a Conn fed the same bytes in pieces
// stops recording exactly when Parse stops needing more (once the
// message is complete or can no longer be one), never keeping more than
// MaxRecorded bytes.
func FuzzParse(f *testing.F) {
	f.Add(hello(goodVersions, goodShare, goodModes, goodPSK))
	f.Add(hello())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err == nil {
			for _, id := range h.PSKIdentities {
				if len(id.Identity) == 0 {
					t.Fatal("empty PSK identity accepted")
				}
			}
			if h.PSKIdentities != nil && h.Binders == 0 {
				t.Fatal("pre_shared_key without binders accepted")
			}
		} else if !errors.Is(err, ErrIncomplete) && !errors.Is(err, errMalformed) {
			t.Fatalf("unexpected error type: %v", err)
		}
		c := &Conn{}
		for rest := b; len(rest) > 0 && !c.done; {
			k := min(len(rest), 1+int(rest[0])%512)
			c.record(rest[:k])
			rest = rest[k:]
		}
		rec := c.Recorded()
		if len(rec) > MaxRecorded {
			t.Fatal("recorded more than MaxRecorded")
		}
		if len(b) <= MaxRecorded {
			// The recording stopped when Parse had what it needs: parsing
			// what was recorded gives Parse's answer on all of b.
			if _, rerr := Parse(rec); (rerr == nil) != (err == nil) || errors.Is(rerr, ErrIncomplete) != errors.Is(err, ErrIncomplete) {
				t.Fatalf("Parse of all: %v; of the %d bytes recorded: %v", err, len(rec), rerr)
			}
		}
	})
}
