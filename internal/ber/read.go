package ber

import (
	"bufio"
	"fmt"
	"io"
)

// readChunk is the first allocation for a packet body and the smallest
// growth step; the buffer then at most doubles per step, and only after
// the previous step's bytes have arrived.
const readChunk = 4096

// DefaultMaxPacket is the packet size limit ReadPacket applies when given
// none: 1 MiB, enough for an entry carrying a large CRL.
const DefaultMaxPacket = 1 << 20

// ReadPacket reads one complete top-level element from r and returns it,
// header included, in a newly allocated slice. The element's tag must be
// wantTag (0 accepts any). An element longer than limit bytes (header
// included; DefaultMaxPacket when limit <= 0) is refused with an error wrapping ErrTooLarge before its body
// is read; the caller should then close the connection, because the
// stream cannot be resynchronised.
//
// Memory grows only with the bytes that actually arrive: a peer that
// announces a 1 GiB element and sends ten bytes costs about readChunk
// bytes, not a gigabyte. io.EOF is returned only when the stream ends
// cleanly before the first byte; a stream ending inside an element gives
// io.ErrUnexpectedEOF.
func ReadPacket(r *bufio.Reader, wantTag byte, limit int) ([]byte, error) {
	var hdr [10]byte
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	hdr[0] = tag
	if wantTag != 0 && tag != wantTag {
		return nil, &SyntaxError{0, fmt.Sprintf("packet tag 0x%02x, want 0x%02x", tag, wantTag)}
	}
	if tag&0x1F == 0x1F {
		return nil, &SyntaxError{0, fmt.Sprintf("high tag number form (tag 0x%02x) is not used by LDAP", tag)}
	}
	l, err := r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	hdr[1] = l
	h := 2
	var n uint64
	switch {
	case l < 0x80:
		n = uint64(l)
	case l == 0x80:
		return nil, &SyntaxError{1, "indefinite length form is not allowed (RFC 4511 §5.1)"}
	case l == 0xFF:
		return nil, &SyntaxError{1, "reserved length octet 0xff"}
	default:
		k := int(l & 0x7F)
		if k > 8 {
			return nil, &SyntaxError{1, fmt.Sprintf("length of %d octets", k)}
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return nil, unexpected(err)
		}
		for _, c := range hdr[2 : 2+k] {
			n = n<<8 | uint64(c)
		}
		h += k
	}
	if limit <= 0 {
		limit = DefaultMaxPacket
	}
	if n > uint64(limit) || h+int(n) > limit {
		return nil, fmt.Errorf("%w: element of %d bytes, limit %d", ErrTooLarge, n+uint64(h), limit)
	}
	total := h + int(n)
	first := min(total, h+readChunk)
	buf := make([]byte, h, first)
	copy(buf, hdr[:h])
	for len(buf) < total {
		step := min(total-len(buf), max(len(buf), readChunk))
		if cap(buf)-len(buf) < step {
			nb := make([]byte, len(buf), len(buf)+step)
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, unexpected(err)
		}
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
