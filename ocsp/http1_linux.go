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

// write writes all of b, with raw system calls like read.
func (c *leanConn) write(b []byte) error {
	if c.rc == nil {
		_, err := c.c.Write(b)
		return err
	}
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case 0:
				b = b[r:]
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // socket buffer full: wait until writable
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
