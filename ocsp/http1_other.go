//go:build !linux

package ocsp

// rawIO is off where the loop has no raw read and write: it uses net.Conn.
const rawIO = false

func (c *leanConn) readMore() error { return c.readConn() }

// write writes b; c.blocked stays false, so an idle connection's clock
// starts when its response began to be written.
func (c *leanConn) write(b []byte) (int, error) { return c.c.Write(b) }
