//go:build !linux

package ocsp

// rawIO is off where the loop has no raw read and write: it uses net.Conn.
const rawIO = false

func (c *leanConn) read(p []byte) (int, error) { return c.c.Read(p) }

func (c *leanConn) write(b []byte) error {
	_, err := c.c.Write(b)
	return err
}
