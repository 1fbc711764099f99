package server

import (
	"context"
	"net"
	"syscall"
)

// listenTCP listens on addr for connections that are accepted many times
// a second (LDAP logins: connect, TLS, bind, unbind). Go's net.Listen
// enables TCP keep-alive on every accepted connection with four
// setsockopt(2) calls (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
// TCP_KEEPCNT), a fifth of the system calls of a resumed LDAPS login.
// Linux copies these options from the listening socket to each socket it
// accepts (and arms the keep-alive timer for them, tcp_create_openreq_child),
// so listenTCP sets them once, on the listener, with Go's defaults: probes
// after 15 s idle, every 15 s, 9 of them. TestListenKeepAlive checks an
// accepted connection carries them.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{
		KeepAlive: -1, // set on the listener instead, below
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				for _, o := range []struct{ level, opt, v int }{
					{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepAliveIdle},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, keepAliveInterval},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
				} {
					if serr = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); serr != nil {
						return
					}
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	return lc.Listen(context.Background(), "tcp", addr)
}

// Keep-alive of accepted connections: net.KeepAliveConfig's defaults.
const (
	keepAliveIdle     = 15 // seconds
	keepAliveInterval = 15 // seconds
	keepAliveCount    = 9
)
