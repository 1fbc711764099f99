//go:build !linux

package server

import "net"

// listenTCP is net.Listen (with its per-connection keep-alive) where the
// kernel's inheritance of socket options is not relied on.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
