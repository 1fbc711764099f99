//go:build linux

package ocsp

import (
	"io"
	"syscall"
	"unsafe"
)

// rawIO makes the loop read and write its sockets with raw system calls
// (see leanConn.read).
const rawIO = true

// read reads into p. Through the RawConn, the read(2) on the non-blocking
// socket is a raw system call: unlike net.Conn.Read it does not enter the
// scheduler's syscall state, which wakes the runtime's sysmon thread
// whenever the process was idle — at a few thousand requests a second
// that is a futex wake-up and several context switches per request.
// Waiting for data, deadlines and closing still go through the netpoller.
func (c *leanConn) read(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.c.Read(p)
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the netpoller
			}
			n, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// write writes b, with raw system calls like read, and returns how much
// of it was written; a nil error means all of it. It sets c.blocked when
// it had to wait for the socket to drain.
func (c *leanConn) write(b []byte) (int, error) {
	if c.rc == nil {
		return c.c.Write(b)
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch e {
			case 0:
				n += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				c.blocked = true
				return false // socket buffer full: wait until writable
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = errno
	}
	return n, err
}
