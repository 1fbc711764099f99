//go:build linux

package ocsp

import (
	"errors"
	"io"
	"syscall"
	"unsafe"
)

// rawIO makes the loop read and write its sockets with raw system calls
// (see leanConn.readMore).
const rawIO = true

// errEnded ends a connection after a request readMore answered in place:
// the client asked to close, the server is shutting down, or the answer
// could not be written.
var errEnded = errors.New("ocsp: connection ended after its last answer")

// readMore reads into buf[end:] and returns nil when it read something.
// Through the RawConn, the read(2) on the non-blocking socket is a raw
// system call: unlike net.Conn.Read it does not enter the scheduler's
// syscall state, which wakes the runtime's sysmon thread whenever the
// process was idle — at a few thousand requests a second that is a futex
// wake-up and several context switches per request. Waiting for data,
// deadlines and closing still go through the netpoller.
//
// At a request boundary (nothing buffered), a request that arrives whole
// in one short read is answered inside the read (answerWhole), and the
// read then waits for the next one without first reading again: a short
// read drained the socket, and the netpoller reports any data that comes
// later. Go's poller forgets a pending wake-up when a read begins, so each
// read that begins must try the socket once (the EAGAIN read this loop
// saves on every keep-alive request but the first).
func (c *leanConn) readMore() error {
	if c.rc == nil {
		return c.readConn()
	}
	inPlace := c.start == c.end && (c.wait == waitIdle || c.wait == waitFirst)
	var n int
	var errno syscall.Errno
	var shrunk, ended, waitNext bool
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			if waitNext {
				waitNext = false
				return false // wait for the netpoller, then read
			}
			p := c.buf[c.end:]
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the netpoller
			default:
				errno = e
				return true
			}
			n = int(r)
			if n == 0 || !inPlace || n == len(p) {
				return true // EOF, or bytes for readHead (a full buffer may have more behind it)
			}
			ok, keep := c.answerWhole(n)
			if !ok {
				return true
			}
			n = 0
			if ended = !keep; ended {
				return true
			}
			if shrunk = c.buf == nil; shrunk { // shrink dropped a grown buffer: fill makes a new one
				return true
			}
			c.rearm()
			waitNext = true
		}
	})
	switch {
	case err != nil:
		return err
	case ended:
		return errEnded
	case errno != 0:
		return errno
	case n > 0:
		c.end += n
		return nil
	case shrunk:
		return nil // fill returns with nothing read; readHead waits again
	}
	return io.EOF
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
