package tlshello

import (
	"net"
	"slices"
)

// MaxRecorded bounds what a Conn records: a ClientHello of up to
// maxHelloLength bytes, fragmented over up to maxRecords records.
const MaxRecorded = maxHelloLength + maxRecords*recordHeaderLen

// Conn is a net.Conn whose reads are recorded until the first handshake
// message is complete, MaxRecorded bytes were read or Recorded is
// called, whichever comes first. Wrap an accepted connection in it
// before tls.Server (NewConn); GetConfigForClient then finds it as
// ClientHelloInfo.Conn. Recording and Recorded belong to the goroutine
// that runs the handshake, as crypto/tls's reads and callbacks do.
type Conn struct {
	net.Conn
	rec  []byte
	done bool
	// Bytes read ahead into rec and not yet returned by Read, and the
	// error that came with them.
	pend    []byte
	pendErr error
	// Progress through rec, so each byte is looked at once however the
	// client fragments its records and segments.
	next    int     // offset of the next record header in rec
	records int     // records seen
	hdr     [4]byte // the handshake message header, as it arrives
	hdrLen  int
	body    int // message bytes seen
}

// NewConn wraps nc for recording; its signature fits
// ldap.ServerConfig.TLSConn.
func NewConn(nc net.Conn) net.Conn { return &Conn{Conn: nc} }

// Read reads from the wrapped connection and records what it read while
// recording lasts. While it records it reads as much as the kernel holds
// (up to MaxRecorded in all) and hands the surplus to the next Reads:
// crypto/tls reads a record header with room for 512 more bytes, so a
// ClientHello with a post-quantum key share and a session ticket (about
// 2 KB) would otherwise take two read(2) calls.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pend) > 0 {
		n := copy(p, c.pend)
		c.pend = c.pend[n:]
		if len(c.pend) == 0 {
			err := c.pendErr
			c.pend, c.pendErr = nil, nil
			return n, err
		}
		return n, nil
	}
	if c.done || len(p) == 0 {
		return c.Conn.Read(p)
	}
	if c.rec == nil {
		c.rec = make([]byte, 0, recordBuffer)
	}
	room := MaxRecorded - len(c.rec)
	if cap(c.rec)-len(c.rec) < min(room, len(p)) {
		c.rec = slices.Grow(c.rec, min(room, max(len(p), recordBuffer)))
	}
	start := len(c.rec)
	n, err := c.Conn.Read(c.rec[start:min(cap(c.rec), start+room)])
	if n == 0 {
		return 0, err
	}
	c.rec = c.rec[:start+n]
	c.advance()
	k := copy(p, c.rec[start:])
	if k < n {
		c.pend, c.pendErr = c.rec[start+k:], err
		return k, nil
	}
	return k, err
}

// record records b as if Read had read it.
func (c *Conn) record(b []byte) {
	if c.rec == nil {
		c.rec = make([]byte, 0, recordBuffer)
	}
	c.rec = append(c.rec, b[:min(len(b), MaxRecorded-len(c.rec))]...)
	c.advance()
}

// advance looks at what was recorded since the last call and ends the
// recording when it can.
func (c *Conn) advance() { c.done = len(c.rec) >= MaxRecorded || c.scan() }

// recordBuffer is the first size of the recording buffer: a ClientHello
// of today's clients, post-quantum key share and ticket included, fits.
const recordBuffer = 4096

// scan walks the complete records not yet seen and reports whether
// recording can stop: the first handshake message is complete, or the
// records cannot carry one (Parse then says why).
func (c *Conn) scan() bool {
	for c.records < maxRecords {
		if len(c.rec)-c.next < recordHeaderLen {
			return false
		}
		h := c.rec[c.next:]
		n := int(h[3])<<8 | int(h[4])
		if h[0] != recordTypeHandshake || h[1] != 3 || n == 0 || n > maxRecordLen {
			return true
		}
		if len(h) < recordHeaderLen+n {
			return false
		}
		frag := h[recordHeaderLen : recordHeaderLen+n]
		k := copy(c.hdr[c.hdrLen:], frag)
		c.hdrLen += k
		c.body += n - k
		c.next += recordHeaderLen + n
		c.records++
		if c.hdrLen == len(c.hdr) {
			l := int(c.hdr[1])<<16 | int(c.hdr[2])<<8 | int(c.hdr[3])
			if c.hdr[0] != handshakeClientHello || 4+l > maxHelloLength || c.body >= l {
				return true
			}
		}
	}
	return true // more records than a ClientHello may take
}

// Recorded stops recording and hands over what was recorded: the
// records that carried the ClientHello (and possibly bytes after it), or
// a prefix of them when the message was larger than MaxRecorded. A
// second call returns nil. The caller must not modify the bytes: Read may
// still have to hand out their tail, read ahead.
func (c *Conn) Recorded() []byte {
	b := c.rec
	c.rec, c.done = nil, true
	return b
}
