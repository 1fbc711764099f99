package tlshello

import "net"

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
// recording lasts.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.done && n > 0 {
		c.record(p[:n])
	}
	return n, err
}

func (c *Conn) record(b []byte) {
	if c.rec == nil {
		c.rec = make([]byte, 0, 4096)
	}
	if room := MaxRecorded - len(c.rec); len(b) > room {
		b = b[:room]
	}
	c.rec = append(c.rec, b...)
	c.done = len(c.rec) >= MaxRecorded || c.scan()
}

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
// second call returns nil.
func (c *Conn) Recorded() []byte {
	b := c.rec
	c.rec, c.done = nil, true
	return b
}
