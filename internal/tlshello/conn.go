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
	if len(c.rec) >= MaxRecorded || helloComplete(c.rec) {
		c.done = true
	}
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
